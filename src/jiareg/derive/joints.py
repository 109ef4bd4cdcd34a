"""Joint sets and active-joint counts from per-joint examinations (SPEC R-JADAS-3, R-CORESET-1).

A joint examination is a `joint_exams` row: patient_id, visit_date, joint, side, swollen,
tender, painful_motion, limited_motion. The JADAS-27 and JADAS-71 sets are data files
(`data/joints_27.csv`, `data/joints_71.csv`: joint_id, side, region) whose composition is
unverified — from memory and reviewed by the clinical lead (data/README.md). JADAS-10 counts
active joints anywhere.

Counting convention (jiareg choice): the records list the examined joints; a joint of the set
with no record is not active (registry forms record abnormal joints); a record whose activity
is unknown makes the count unknown (None/NULL), never imputed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Final, Literal

import ibis
import ibis.expr.types as ir

from jiareg.derive.logic3 import all3, any3
from jiareg.errors import DerivationError

__all__ = [
    "JOINT_SET_SIZES",
    "JointExam",
    "JointSet",
    "active_joint_count",
    "active_joint_counts_table",
    "joint_is_active",
    "joint_is_active_expr",
    "joint_set",
]

JointSet = Literal[27, 71]
JOINT_SET_SIZES: Final[tuple[JointSet, ...]] = (27, 71)


@dataclass(frozen=True, slots=True)
class JointExam:
    """One examined joint at one visit; a flag None = not assessed."""

    joint: str
    side: str
    swollen: bool | None = None
    tender: bool | None = None
    painful_motion: bool | None = None
    limited_motion: bool | None = None


@cache
def joint_set(size: JointSet) -> frozenset[tuple[str, str]]:
    """The (joint_id, side) pairs of the 27- or 71-joint set, read from the shipped data file.

    JADAS-27: cervical spine, elbows, wrists, MCP 1-3, PIP 1-5, hips, knees, ankles; JADAS-71:
    the 71-joint count. Both lists are unverified — from memory (SPEC §12.3) and live in
    `data/joints_27.csv`, `data/joints_71.csv` for the clinical lead's review.
    Source: Consolaro 2009 (Arthritis Rheum 61:658). SPEC R-JADAS-3.

    >>> len(joint_set(27)), ("knee", "left") in joint_set(27), ("dip2", "right") in joint_set(71)
    (27, True, True)
    """
    if size not in JOINT_SET_SIZES:
        raise DerivationError(f"joint set {size!r}; expected 27 or 71")
    text = files("jiareg.derive").joinpath("data", f"joints_{size}.csv").read_text("utf-8")
    members = frozenset((r["joint_id"], r["side"]) for r in csv.DictReader(text.splitlines()))
    if len(members) != size:
        raise DerivationError(
            f"data/joints_{size}.csv lists {len(members)} joints; expected {size}"
        )
    return members


def joint_is_active(
    swollen: bool | None,
    tender: bool | None,
    painful_motion: bool | None,
    limited_motion: bool | None,
) -> bool | None:
    """Active arthritis in one joint: swelling, or limited motion with pain on motion or tenderness.

    Three-valued: None when the flags that would decide are not assessed. Swelling "not due to
    bony enlargement" is the examiner's call, recorded as `swollen`. Source: ACR/PRINTO
    convention as restated with the Wallace criteria (unverified — from memory). SPEC
    R-CORESET-1.

    >>> joint_is_active(False, True, None, True), joint_is_active(False, True, None, False)
    (True, False)
    >>> joint_is_active(None, False, False, True) is None
    True
    """
    painful = any3((tender, painful_motion))
    return any3((swollen, all3((limited_motion, painful))))


def active_joint_count(
    exams: Iterable[JointExam], joint_set_size: JointSet | None = None
) -> int | None:
    """Number of active joints among `exams`, in the 27/71 set or anywhere (None = any joint).

    Joints outside the set are ignored; a set joint with unknown activity makes the count None
    (see the module docstring). Source: SPEC R-JADAS-1, R-JADAS-3.

    >>> knee = JointExam("knee", "left", swollen=True)
    >>> toe = JointExam("toe_ip2", "right", swollen=True)
    >>> active_joint_count([knee, toe]), active_joint_count([knee, toe], 27)
    (2, 1)
    """
    members = None if joint_set_size is None else joint_set(joint_set_size)
    count = 0
    for exam in exams:
        if members is not None and (exam.joint, exam.side) not in members:
            continue
        active = joint_is_active(
            exam.swollen, exam.tender, exam.painful_motion, exam.limited_motion
        )
        if active is None:
            return None
        count += active
    return count


def joint_is_active_expr(
    swollen: ir.Value, tender: ir.Value, painful_motion: ir.Value, limited_motion: ir.Value
) -> ir.BooleanValue:
    """Ibis twin of `joint_is_active` (SQL three-valued AND/OR give the same truth table).

    Source: SPEC R-CORESET-1 (ajc definition, unverified — from memory).
    """
    s, t, p, m = (c.cast("boolean") for c in (swollen, tender, painful_motion, limited_motion))
    return s | (m & (t | p))


def active_joint_counts_table(joint_exams: ir.Table) -> ir.Table:
    """Ibis: per (patient_id, visit_date) the active counts `active_joints_any`, `_27`, `_71`.

    Same rule as `active_joint_count`: NULL where a counted joint's activity is unknown.
    Sides are compared as stored (NULL side reads as ""). Source: SPEC R-JADAS-3.
    """
    t = joint_exams.mutate(
        active=joint_is_active_expr(
            joint_exams.swollen,
            joint_exams.tender,
            joint_exams.painful_motion,
            joint_exams.limited_motion,
        ),
        side_key=joint_exams.side.fill_null(""),
    )
    for size in JOINT_SET_SIZES:
        pairs = [f"{j}|{s}" for j, s in sorted(joint_set(size))]
        t = t.mutate(**{f"in_{size}": (t.joint.concat("|", t.side_key)).isin(pairs)})
    aggregates: dict[str, ir.Value] = {}
    for name, member in (
        ("any", ibis.literal(True)),
        *((str(size), t[f"in_{size}"]) for size in JOINT_SET_SIZES),
    ):
        counted = member & t.active
        unknown = member & t.active.isnull()
        aggregates[f"active_joints_{name}"] = ibis.ifelse(
            unknown.any(), ibis.null("int64"), counted.ifelse(1, 0).sum().cast("int64")
        )
    return t.group_by(["patient_id", "visit_date"]).aggregate(**aggregates)
