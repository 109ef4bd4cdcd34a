"""Server-rendered SVG plots, written directly as SVG text: the patient timeline.

One time axis, five stacked panels: biologic courses with each infusion (dose mg / weight kg),
steroid dose in prednisone equivalents (mg/day, derive/steroids), JADAS10 and cJADAS10
(derive/ via `jiareg.web.scores`), joint counts and globals, ESR and CHAQ. Each visit's
point carries the SVG id `<series>-<visit date>` (e.g. `jadas10-2019-10-20`).

Written by hand rather than with matplotlib: a timeline is a few hundred elements, and
matplotlib spent ~0.25 s of CPU on each (holding the GIL, so every other request of the
server waited); this takes about a millisecond.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any, Final
from xml.sax.saxutils import escape, quoteattr

from jiareg.derive.steroids import peq_mg_day
from jiareg.errors import DerivationError

__all__ = ["timeline_svg"]

_INK: Final = "#1f2937"
_GRID: Final = "#e5e7eb"
_AXIS: Final = "#9ca3af"
_COLOURS: Final = ("#2563eb", "#d97706", "#059669", "#7c3aed", "#dc2626", "#0891b2")
_MAX_DOSE_LABELS: Final = 14
_WIDTH: Final = 1000
_LEFT: Final = 100
_RIGHT: Final = 830  # the plot area's right edge; legends go beyond it
_TOP: Final = 28
_GAP: Final = 46  # between panels (room for each panel's title)
_PANELS: Final = (120, 74, 101, 101, 92)  # heights: courses, steroids, activity, core set, ESR
_MONTHS: Final = (1, 2, 3, 6, 12, 24, 60, 120)
_MAX_TICKS: Final = 10
_MONTH_NAMES: Final = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
]

_MIN_SPAN_DAYS: Final = 62
Series = tuple[str, str, str, Callable[[dict[str, Any]], Any]]  # key, label, colour, value


def _span(detail: dict[str, Any]) -> tuple[date, date]:
    dates: list[date] = [v["visit_date"] for v in detail["visits"]]
    dates += [a["date"] for a in detail["administrations"]]
    for key in ("treatments", "steroids"):
        for row in detail[key]:
            dates += [d for d in (row["start_date"], row["stop_date"]) if d is not None]
    if not dates:
        today = date.today()
        return today - timedelta(days=30), today
    lo, hi = min(dates), max(dates)
    # at least two months shown, so even a single date has a month tick on the axis
    pad = timedelta(days=max(7, (hi - lo).days // 30, (_MIN_SPAN_DAYS - (hi - lo).days) // 2))
    return lo - pad, hi + pad


def _room_for_labels(dates: list[date], start: date, end: date) -> bool:
    """True when consecutive doses are at least 1/10 of the axis apart (labels fit)."""
    span = max((end - start).days, 1)
    gaps = [(b - a).days for a, b in pairwise(dates)]
    return len(dates) <= _MAX_DOSE_LABELS and all(g * 10 >= span for g in gaps)


def _num(x: float) -> str:
    """A coordinate with at most one decimal.

    >>> _num(3.0), _num(2.25), _num(-0.04)
    ('3', '2.2', '0')
    """
    text = f"{x:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _text(x: float, y: float, text: str, *, size: float = 11, anchor: str = "start") -> str:
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size:g}" text-anchor="{anchor}">'
        f"{escape(text)}</text>"
    )


def _nice_max(value: float) -> float:
    """The axis top: `value` rounded up to 1, 2, 2.5 or 5 times a power of ten (at least 1).

    >>> _nice_max(7.3), _nice_max(23), _nice_max(0)
    (10.0, 25.0, 1.0)
    """
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value))


def _divisions(top: float) -> int:
    """How many equal steps split 0..`top` into round values (1, 2, 2.5 or 5 x 10^k).

    >>> _divisions(25), _divisions(20), _divisions(3), _divisions(1)
    (5, 4, 3, 5)
    """
    for n in (5, 4, 3, 6):
        step = top / n
        mantissa = step / 10 ** math.floor(math.log10(step))
        if any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5)):
            return n
    return 4


def _month_ticks(start: date, end: date) -> list[date]:
    """The first days of months at the smallest step of `_MONTHS` giving at most 10 ticks."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = next((m for m in _MONTHS if months / m <= _MAX_TICKS), _MONTHS[-1])
    ticks: list[date] = []
    index = start.year * 12 + start.month  # the month after start's (first days only)
    while True:
        year, month = divmod(index, 12)
        tick = date(year, month + 1, 1)
        if tick > end:
            return ticks
        if index % step == 0:
            ticks.append(tick)
        index += 1


def _tick_label(tick: date, first: bool) -> str:
    """The year at January, the month and year at the first tick, else the month's name.

    >>> _tick_label(date(2020, 1, 1), False), _tick_label(date(2020, 4, 1), True)
    ('2020', 'Apr 2020')
    """
    if tick.month == 1:
        return str(tick.year)
    name = _MONTH_NAMES[tick.month - 1]
    return f"{name} {tick.year}" if first else name


@dataclass(frozen=True, slots=True)
class _Panel:
    """One panel's box and the time axis it shares with the others."""

    top: float
    height: float
    start: date
    end: date

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def x(self, when: date) -> float:
        span = max((self.end - self.start).days, 1)
        return _LEFT + (when - self.start).days / span * (_RIGHT - _LEFT)

    def y(self, value: float, top_value: float) -> float:
        return self.bottom - value / top_value * self.height

    def frame(self, title: str, ticks: Sequence[date]) -> list[str]:
        out = [
            f'<line x1="{_num(self.x(t))}" x2="{_num(self.x(t))}" y1="{_num(self.top)}" '
            f'y2="{_num(self.bottom)}" stroke="{_GRID}"/>'
            for t in ticks
        ]
        out.append(
            f'<path d="M{_LEFT} {_num(self.top)}V{_num(self.bottom)}H{_RIGHT}" fill="none" '
            f'stroke="{_AXIS}"/>'
        )
        out.append(_text(_LEFT, self.top - 8, title, size=12))
        return out

    def value_axis(self, top_value: float, label: str | None, *, right: bool = False) -> list[str]:
        x = _RIGHT if right else _LEFT
        sign = 1 if right else -1
        anchor = "start" if right else "end"
        out = []
        if right:
            out.append(
                f'<line x1="{x}" x2="{x}" y1="{_num(self.top)}" y2="{_num(self.bottom)}" '
                f'stroke="{_AXIS}"/>'
            )
        steps = _divisions(top_value)
        for i in range(steps + 1):
            value = top_value * i / steps
            y = self.y(value, top_value)
            out.append(
                f'<line x1="{x}" x2="{x + 4 * sign}" y1="{_num(y)}" y2="{_num(y)}" '
                f'stroke="{_AXIS}"/>'
            )
            out.append(_text(x + 7 * sign, y + 4, f"{value:g}", size=10, anchor=anchor))
        if label:
            lx, ly = x + (52 if right else 40) * sign, (self.top + self.bottom) / 2
            out.append(
                f'<text x="{_num(lx)}" y="{_num(ly)}" font-size="11" text-anchor="middle" '
                f'transform="rotate(-90 {_num(lx)} {_num(ly)})">{escape(label)}</text>'
            )
        return out


def _legend(x: float, y: float, entries: Sequence[tuple[str, str]]) -> list[str]:
    out = []
    for i, (label, colour) in enumerate(entries):
        row = y + 15 * i
        out.append(
            f'<line x1="{_num(x)}" x2="{_num(x + 16)}" y1="{_num(row)}" y2="{_num(row)}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        out.append(_text(x + 21, row + 4, label, size=10))
    return out


def _series_points(
    visits: list[dict[str, Any]], value: Callable[[dict[str, Any]], Any]
) -> list[tuple[date, float]]:
    return [(v["visit_date"], float(y)) for v in visits if (y := value(v)) is not None]


def _lines(
    panel: _Panel, visits: list[dict[str, Any]], series: Sequence[Series], top_value: float
) -> tuple[list[str], list[tuple[str, str]]]:
    """Each series as a line with one point per visit (id `<key>-<date>`); legend entries."""
    out: list[str] = []
    legend = []
    for key, label, colour, value in series:
        points = _series_points(visits, value)
        if not points:
            continue
        legend.append((label, colour))
        xy = [(panel.x(d), panel.y(v, top_value)) for d, v in points]
        path = " ".join(f"{_num(x)},{_num(y)}" for x, y in xy)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.4"/>')
        out += [
            f'<circle id={quoteattr(f"{key}-{d.isoformat()}")} cx="{_num(x)}" '
            f'cy="{_num(y)}" r="3" fill="{colour}"><title>{escape(label)} {v:g} '
            f"({d.isoformat()})</title></circle>"
            for (d, v), (x, y) in zip(points, xy, strict=True)
        ]
    return out, legend


def _top(visits: list[dict[str, Any]], series: Sequence[Series]) -> float:
    values = [v for s in series for _, v in _series_points(visits, s[3])]
    return _nice_max(max(values, default=0.0))


def _courses(panel: _Panel, detail: dict[str, Any], ticks: Sequence[date]) -> list[str]:
    drugs = list(dict.fromkeys(t["drug"] for t in detail["treatments"]))
    drugs += [a["drug"] for a in detail["administrations"] if a["drug"] not in drugs]
    rows = max(len(drugs), 1)
    out = panel.frame("Biologic courses and infusions (dose / weight)", ticks)
    for i, drug in enumerate(drugs):
        colour = _COLOURS[i % len(_COLOURS)]
        y = panel.top + (i + 0.5) * panel.height / rows
        out.append(_text(_LEFT - 7, y + 4, drug, size=10, anchor="end"))
        for t in (t for t in detail["treatments"] if t["drug"] == drug):
            x0, x1 = panel.x(t["start_date"]), panel.x(t["stop_date"] or panel.end)
            out.append(
                f'<rect x="{_num(x0)}" y="{_num(y - 9)}" width="{_num(max(x1 - x0, 1))}" '
                f'height="18" fill="{colour}" fill-opacity="0.25" stroke="{colour}"/>'
            )
            if t["stop_reason"]:
                out.append(_text(x1 + 3, y - 11, t["stop_reason"].replace("_", " "), size=9))
        given = [a for a in detail["administrations"] if a["drug"] == drug]
        out += [
            f'<circle cx="{_num(panel.x(a["date"]))}" cy="{_num(y)}" r="4" fill="{colour}"/>'
            for a in given
        ]
        if not given:
            continue
        if _room_for_labels([a["date"] for a in given], panel.start, panel.end):
            for a in given:
                weight = f" / {a['weight_kg']:g} kg" if a["weight_kg"] is not None else ""
                dose = f"{a['dose_mg']:g} mg" if a["dose_mg"] is not None else "? mg"
                out.append(
                    _text(panel.x(a["date"]), y + 21, dose + weight, size=8.5, anchor="middle")
                )
        else:  # too close to label one by one: summarise doses and weights
            doses = [a["dose_mg"] for a in given if a["dose_mg"] is not None]
            weights = [a["weight_kg"] for a in given if a["weight_kg"] is not None]
            text = f"{len(given)} doses"
            if doses:
                text += f", {min(doses):g}-{max(doses):g} mg"
            if weights:
                text += f" at {min(weights):g}-{max(weights):g} kg"
            out.append(_text(panel.x(given[0]["date"]) - 4, y + 22, text, size=9, anchor="end"))
    return out


def _steroids(panel: _Panel, detail: dict[str, Any], ticks: Sequence[date]) -> list[str]:
    spans: list[tuple[date, date, float]] = []
    for s in detail["steroids"]:
        try:
            peq = float(peq_mg_day(s["drug"], str(s["daily_dose_mg"])))
        except DerivationError:
            continue
        spans.append((s["start_date"], s["stop_date"] or panel.end, peq))
    top_value = _nice_max(max((p for *_, p in spans), default=0.0))
    out = panel.frame("Steroids, prednisone equivalent", ticks)
    out += panel.value_axis(top_value, "mg/day")
    for begin, stop, peq in spans:
        x0, x1, y = panel.x(begin), panel.x(stop), panel.y(peq, top_value)
        out.append(
            f'<rect x="{_num(x0)}" y="{_num(y)}" width="{_num(max(x1 - x0, 1))}" '
            f'height="{_num(panel.bottom - y)}" fill="#f59e0b" fill-opacity="0.3"/>'
        )
        out.append(
            f'<line x1="{_num(x0)}" x2="{_num(x1)}" y1="{_num(y)}" y2="{_num(y)}" '
            f'stroke="#b45309" stroke-width="1.5"/>'
        )
    return out


def _score(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda v: v["scores"].get(name)


def _field(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda v: v.get(name)


def timeline_svg(detail: dict[str, Any]) -> bytes:
    """The patient's timeline as an SVG document (see the module docstring)."""
    start, end = _span(detail)
    visits = detail["visits"]
    panels = []
    top = float(_TOP)
    for height in _PANELS:
        panels.append(_Panel(top, height, start, end))
        top += height + _GAP
    ticks = _month_ticks(start, end)
    courses, steroids, activity, core, labs = panels
    body = _courses(courses, detail, ticks) + _steroids(steroids, detail, ticks)

    for panel, title, series, label in (
        (
            activity,
            "Disease activity",
            (
                ("jadas10", "JADAS10", _COLOURS[0], _score("jadas10")),
                ("cjadas10", "cJADAS10", _COLOURS[2], _score("cjadas10")),
            ),
            None,
        ),
        (
            core,
            "Core set: joints and globals",
            (
                ("active_joints", "active joints", _COLOURS[1], _field("active_joints")),
                ("lom_joints", "limited joints", _COLOURS[2], _field("lom_joints")),
                ("phys_global", "physician global", _COLOURS[3], _field("phys_global")),
                ("parent_global", "parent global", _COLOURS[4], _field("parent_global")),
            ),
            None,
        ),
        (
            labs,
            "Core set: ESR and CHAQ",
            (("esr", "ESR (mm/h)", _COLOURS[4], _field("esr")),),
            "ESR mm/h",
        ),
    ):
        top_value = _top(visits, series)
        body += panel.frame(title, ticks) + panel.value_axis(top_value, label)
        lines, legend = _lines(panel, visits, series, top_value)
        if panel is labs:  # CHAQ on its own 0-3 axis at the right, in the same legend
            chaq: Sequence[Series] = (("chaq", "CHAQ", _COLOURS[3], _field("chaq")),)
            chaq_lines, chaq_legend = _lines(labs, visits, chaq, 3.0)
            lines += labs.value_axis(3.0, "CHAQ 0-3", right=True) + chaq_lines
            legend += chaq_legend
        x = _RIGHT + (72 if panel is labs else 14)
        body += lines + _legend(x, panel.top + 6, legend)
    body += [
        _text(labs.x(t), labs.bottom + 16, _tick_label(t, i == 0), size=10, anchor="middle")
        for i, t in enumerate(ticks)
    ]
    height = int(labs.bottom + 30)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" font-family="DejaVu Sans, sans-serif" fill="{_INK}">'
        f'<rect width="{_WIDTH}" height="{height}" fill="#fff"/>'
    )
    return (head + "".join(body) + "</svg>").encode()
