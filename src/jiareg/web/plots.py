"""Server-rendered SVG plots (matplotlib, no pyplot state): the patient timeline.

One time axis, five stacked panels: biologic courses with each infusion (dose mg / weight kg),
steroid dose in prednisone equivalents (mg/day, derive/steroids), JADAS10 and cJADAS10
(derive/ via `jiareg.web.scores`), joint counts and globals, ESR and CHAQ.
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any, Final

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from jiareg.derive.steroids import peq_mg_day
from jiareg.errors import DerivationError

__all__ = ["timeline_svg"]

_INK: Final = "#1f2937"
_GRID: Final = "#e5e7eb"
_COLOURS: Final = ("#2563eb", "#d97706", "#059669", "#7c3aed", "#dc2626", "#0891b2")
_MAX_DOSE_LABELS: Final = 14
_RC: Final[dict[str, Any]] = {
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.edgecolor": "#9ca3af",
    "axes.labelcolor": _INK,
    "xtick.color": _INK,
    "ytick.color": _INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


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
    pad = timedelta(days=max(7, (hi - lo).days // 30))
    return lo - pad, hi + pad


def _room_for_labels(dates: list[date], start: date, end: date) -> bool:
    """True when consecutive doses are at least 1/10 of the axis apart (labels fit)."""
    span = max((end - start).days, 1)
    gaps = [(b - a).days for a, b in pairwise(dates)]
    return len(dates) <= _MAX_DOSE_LABELS and all(g * 10 >= span for g in gaps)


def _courses(ax: Axes, detail: dict[str, Any], start: date, end: date) -> None:
    drugs = list(dict.fromkeys(t["drug"] for t in detail["treatments"]))
    drugs += [a["drug"] for a in detail["administrations"] if a["drug"] not in drugs]
    for i, drug in enumerate(drugs):
        colour = _COLOURS[i % len(_COLOURS)]
        for t in (t for t in detail["treatments"] if t["drug"] == drug):
            stop = t["stop_date"] or end
            ax.barh(
                i,
                (stop - t["start_date"]).days,
                left=t["start_date"],
                height=0.5,
                color=colour,
                alpha=0.25,
                edgecolor=colour,
            )
            if t["stop_reason"]:
                ax.annotate(
                    t["stop_reason"].replace("_", " "),
                    (stop, i),
                    xytext=(3, 6),
                    textcoords="offset points",
                    fontsize=7,
                    color=_INK,
                )
        given = [a for a in detail["administrations"] if a["drug"] == drug]
        ax.plot([a["date"] for a in given], [i] * len(given), "o", color=colour, markersize=4)
        if not given:
            continue
        if _room_for_labels([a["date"] for a in given], start, end):
            for a in given:
                weight = f" / {a['weight_kg']:g} kg" if a["weight_kg"] is not None else ""
                ax.annotate(
                    f"{a['dose_mg']:g} mg{weight}",
                    (a["date"], i),
                    xytext=(0, -11),
                    textcoords="offset points",
                    fontsize=6.5,
                    ha="center",
                    color=_INK,
                )
        else:  # too close to label one by one: summarise doses and weights
            doses = [a["dose_mg"] for a in given]
            weights = [a["weight_kg"] for a in given if a["weight_kg"] is not None]
            text = f"{len(given)} doses, {min(doses):g}-{max(doses):g} mg"
            if weights:
                text += f" at {min(weights):g}-{max(weights):g} kg"
            ax.annotate(
                text,
                (given[0]["date"], i),
                xytext=(0, -12),
                textcoords="offset points",
                fontsize=7,
                ha="right",
                color=_INK,
            )
    ax.set_yticks(range(len(drugs)), drugs)
    ax.set_ylim(-0.8, max(len(drugs), 1) - 0.2)
    ax.set_title("Biologic courses and infusions (dose / weight)", loc="left", fontsize=9)


def _steroids(ax: Axes, detail: dict[str, Any], end: date) -> None:
    xs: list[Any] = []
    ys: list[float] = []
    for s in detail["steroids"]:
        try:
            peq = float(peq_mg_day(s["drug"], str(s["daily_dose_mg"])))
        except DerivationError:
            continue
        xs += [s["start_date"], s["stop_date"] or end]
        ys += [peq, peq]
    if xs:
        ax.fill_between(xs, ys, step=None, color="#f59e0b", alpha=0.3, linewidth=0)
        ax.plot(xs, ys, color="#b45309", linewidth=1.5)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("mg/day")
    ax.set_title("Steroids, prednisone equivalent", loc="left", fontsize=9)


def _series(visits: list[dict[str, Any]], get: Any) -> tuple[list[Any], list[float]]:
    pairs = [(v["visit_date"], get(v)) for v in visits]
    kept = [(d, float(y)) for d, y in pairs if y is not None]
    return [d for d, _ in kept], [y for _, y in kept]


def _line(
    ax: Axes, visits: list[dict[str, Any]], get: Any, label: str, colour: str, key: str
) -> None:
    """One series; each visit's point carries the SVG id `<key>-<visit date>`."""
    xs, ys = _series(visits, get)
    if not xs:
        return
    ax.plot(xs, ys, "-", label=label, color=colour, linewidth=1.4)
    for x, y in zip(xs, ys, strict=True):
        ax.plot([x], [y], "o", color=colour, markersize=3.5, gid=f"{key}-{x.isoformat()}")


def timeline_svg(detail: dict[str, Any]) -> bytes:
    """The patient's timeline as an SVG document (see the module docstring).

    Rendering takes most of a second, so documents are cached by the content of the record:
    any change to the patient's data gives a new key, hence a fresh plot.
    """
    return _render_cached(json.dumps(detail, sort_keys=True, default=str))


@lru_cache(maxsize=256)
def _render_cached(detail_json: str) -> bytes:
    return _render(json.loads(detail_json, object_hook=_dates))


def _dates(obj: dict[str, Any]) -> dict[str, Any]:
    """JSON object hook: ISO dates back to `date` for the date columns of the record."""
    for key, value in obj.items():
        if isinstance(value, str) and (key.endswith("_date") or key == "date"):
            obj[key] = date.fromisoformat(value)
    return obj


def _render(detail: dict[str, Any]) -> bytes:
    start, end = _span(detail)
    visits = detail["visits"]
    with rc_context(_RC):  # type: ignore[arg-type]
        fig = Figure(figsize=(10, 9.2))
        fig.subplots_adjust(left=0.1, right=0.83, top=0.97, bottom=0.05, hspace=0.42)
        axes = fig.subplots(5, 1, sharex=True, height_ratios=(1.3, 0.8, 1.1, 1.1, 1.0))
        _courses(axes[0], detail, start, end)
        _steroids(axes[1], detail, end)
        ax = axes[2]
        _line(ax, visits, lambda v: v["scores"].get("jadas10"), "JADAS10", _COLOURS[0], "jadas10")
        _line(
            ax, visits, lambda v: v["scores"].get("cjadas10"), "cJADAS10", _COLOURS[2], "cjadas10"
        )
        ax.set_ylim(bottom=0)
        ax.set_title("Disease activity", loc="left", fontsize=9)
        ax = axes[3]
        for i, (key, label) in enumerate(
            (
                ("active_joints", "active joints"),
                ("lom_joints", "limited joints"),
                ("phys_global", "physician global"),
                ("parent_global", "parent global"),
            )
        ):
            _line(ax, visits, lambda v, k=key: v.get(k), label, _COLOURS[i + 1], key)
        ax.set_ylim(bottom=0)
        ax.set_title("Core set: joints and globals", loc="left", fontsize=9)
        ax = axes[4]
        _line(ax, visits, lambda v: v.get("esr"), "ESR (mm/h)", _COLOURS[4], "esr")
        ax.set_ylim(bottom=0)
        ax.set_ylabel("ESR mm/h")
        chaq = ax.twinx()
        _line(chaq, visits, lambda v: v.get("chaq"), "CHAQ", _COLOURS[3], "chaq")
        chaq.set_ylim(0, 3)
        chaq.set_ylabel("CHAQ 0-3")
        chaq.spines["right"].set_visible(True)
        ax.set_title("Core set: ESR and CHAQ", loc="left", fontsize=9)
        for a in axes:
            a.grid(axis="x", color=_GRID, linewidth=0.8)
            if a is not axes[0] and a.get_legend_handles_labels()[0]:
                a.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7.5, frameon=False)
        handles = chaq.get_legend_handles_labels()
        if handles[0]:
            chaq.legend(loc="lower left", bbox_to_anchor=(1.06, 0.0), fontsize=7.5, frameon=False)
        locator = AutoDateLocator()  # type: ignore[no-untyped-call]
        axes[-1].xaxis.set_major_locator(locator)
        axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        axes[-1].set_xlim(start, end)
        out = io.BytesIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
