"""The clickable joint homunculus: the 71 joints of derive/'s `joints_71.csv` placed on a body.

The figure faces the viewer in the anatomical position, so the patient's right side is drawn on
the viewer's left and the thumbs and big toes point outwards and inwards as on a real body.
Positions are drawing coordinates only; which joints exist comes from the shipped joint set.

>>> spots = joint_spots()
>>> len(spots), spots[0].joint, spots[0].side
(71, 'temporomandibular', 'left')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from jiareg.derive.joints import joint_set

__all__ = ["HEIGHT", "WIDTH", "JointSpot", "joint_spots"]

WIDTH: Final = 300
HEIGHT: Final = 540

# (x, y) of the patient's RIGHT-side joint (drawn on the viewer's left); the left side mirrors.
_RIGHT: Final[dict[str, tuple[float, float]]] = {
    "temporomandibular": (136, 62),
    "cervical_spine": (150, 96),
    "sternoclavicular": (139, 124),
    "acromioclavicular": (116, 120),
    "shoulder": (101, 134),
    "elbow": (84, 200),
    "wrist": (70, 258),
    "hip": (128, 300),
    "knee": (131, 392),
    "ankle": (133, 462),
    "subtalar": (133, 476),
    "midtarsal": (133, 490),
}
_ORDER: Final = {name: i for i, name in enumerate(_RIGHT)}


_DIGIT_ROWS: Final[tuple[tuple[str, float, float, float], ...]] = (
    # prefix, y, x of digit 0, x step. Thumbs point outwards (lateral); big toes inwards.
    ("mcp", 284.0, 34.0, 9.0),
    ("pip", 300.0, 34.0, 9.0),
    ("dip", 314.0, 34.0, 9.0),
    ("mtp", 508.0, 151.0, -8.0),
    ("toe_ip", 522.0, 151.0, -8.0),
)


def _digit_xy(joint: str) -> tuple[float, float] | None:
    """Hand and foot joints: digit 1 (thumb, big toe) to 5, one row per joint level."""
    for prefix, y, x0, step in _DIGIT_ROWS:
        digit = joint.removeprefix(prefix)
        if digit != joint and digit.isdigit():
            return x0 + step * int(digit), y
    return None


@dataclass(frozen=True, slots=True)
class JointSpot:
    """One clickable joint: its `joint_exams` key (joint, side), label and drawing position."""

    joint: str
    side: str
    label: str
    x: float
    y: float
    r: float


def _position(joint: str, side: str) -> tuple[float, float, float]:
    digit = _digit_xy(joint)
    x, y = digit if digit is not None else _RIGHT[joint]
    radius = 3.6 if digit is not None else 6.5
    if side == "left":
        x = WIDTH - x
    return x, y, radius


def joint_spots() -> list[JointSpot]:
    """Every joint of the 71-joint set with its position, head to toe, left before right."""
    spots = []
    for joint, side in joint_set(71):
        x, y, r = _position(joint, side)
        label = f"{side} {joint.replace('_', ' ')}".strip()
        spots.append(JointSpot(joint, side, label, x, y, r))
    return sorted(spots, key=lambda s: (s.y, _ORDER.get(s.joint, 99), s.joint, s.side))
