"""Corticosteroid periods over time: the dose on a day, and the change over time on treatment.

A steroid record (`steroids` table) is a period at one daily dose: `start_date` is the first
day and `stop_date` the last day at that dose, inclusive (SPEC §12b.6, the data dictionary's
"last day at this dose"); an empty stop date is ongoing. Only oral and `other` (daily
systemic) records count toward the daily prednisone equivalent; IV pulses and joint injections
are reported apart (`jiareg.derive.steroids.counts_toward_peq`, R-STEROID-2.2).

The change over the time on treatment (SPEC §12b.10): the founding poster's "During the
treatment, 4 patients reduced dose (< 50 %)" compares the baseline dose (on the first day on
the index drug) with the last dose while on it (its last day: the course's stop date, or the
cut-off while ongoing), with the lowest dose reached in between reported beside it.
Source: Russo & Katsicas, Pediatr Rheumatol 2011;9(Suppl 1):P186 (poster); SPEC §12b.6,
§12b.10, R-STEROID-2, R-STEROID-3.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

import ibis

from jiareg.derive.config import DEFAULT_CONFIG, ClinicalConfig
from jiareg.derive.exact import UNITS, to_fraction, units_expr
from jiareg.derive.steroids import (
    SteroidChange,
    SteroidDose,
    counts_toward_peq,
    peq_mg_day,
    peq_route_expr,
    steroid_change,
    steroid_change_expr,
)
from jiareg.errors import DerivationError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "OnTreatmentSteroids",
    "SteroidPeriod",
    "peq_on",
    "steroid_active_on_expr",
    "steroid_on_treatment",
    "steroid_on_treatment_table",
]


@dataclass(frozen=True, slots=True)
class SteroidPeriod:
    """One `steroids` record: a daily dose from `start_date` through `stop_date` (inclusive).

    `route` is one of `jiareg.vocab.STEROID_ROUTES`; None (an older file) is oral.
    """

    drug: str
    daily_dose_mg: object
    start_date: date
    stop_date: date | None = None
    route: str | None = None

    def active_on(self, day: date) -> bool:
        """On `day` at this dose: start_date ≤ day ≤ stop_date (stop None = ongoing)."""
        return self.start_date <= day and (self.stop_date is None or day <= self.stop_date)


def peq_on(
    periods: Iterable[SteroidPeriod], day: date, *, config: ClinicalConfig = DEFAULT_CONFIG
) -> Fraction:
    """Daily prednisone equivalent (mg/day) on `day`: the sum over periods counting that day.

    The stop date is the last day at the dose (SPEC §12b.6): a visit on it still sees the
    dose. Only oral/other routes count (R-STEROID-2.2). No period → 0.
    Source: SPEC R-STEROID-2, §12b.6.

    >>> p = SteroidPeriod("prednisolone", 10, date(2024, 1, 1), date(2024, 3, 1))
    >>> peq_on([p], date(2024, 3, 1)), peq_on([p], date(2024, 3, 2))
    (Fraction(10, 1), Fraction(0, 1))
    """
    return sum(
        (
            peq_mg_day(p.drug, p.daily_dose_mg, config=config)
            for p in periods
            if p.active_on(day) and counts_toward_peq(p.route)
        ),
        Fraction(0),
    )


def steroid_active_on_expr(
    start_date: ir.DateValue, stop_date: ir.DateValue, day: ir.DateValue
) -> ir.BooleanValue:
    """Ibis twin of `SteroidPeriod.active_on`: start ≤ day and (stop NULL or day ≤ stop).

    Source: SPEC §12b.6 (the stop date is the last day at the dose).
    """
    return (start_date <= day) & (stop_date.isnull() | (day <= stop_date))


@dataclass(frozen=True, slots=True)
class OnTreatmentSteroids:
    """Steroid doses over one time on treatment (mg/day of prednisone equivalent).

    `change` compares `baseline_peq_mg_day` with `last_peq_mg_day` (R-STEROID-3 categories);
    `lowest_peq_mg_day` is the lowest dose on any day of the window, first reached on
    `lowest_on`.
    """

    baseline_peq_mg_day: Fraction
    last_peq_mg_day: Fraction
    lowest_peq_mg_day: Fraction
    lowest_on: date
    change: SteroidChange | None


def _change_days(periods: Iterable[SteroidPeriod], start: date, end: date) -> list[date]:
    """The days in [start, end] where the total dose can change: start and period edges."""
    days = {start}
    for p in periods:
        edges = [p.start_date] + ([p.stop_date + timedelta(days=1)] if p.stop_date else [])
        days.update(d for d in edges if start < d <= end)
    return sorted(days)


def steroid_on_treatment(
    periods: Iterable[SteroidPeriod],
    *,
    start: date,
    end: date,
    baseline_weight_kg: object = None,
    last_weight_kg: object = None,
    basis: Literal["mg_kg_day", "mg_day"] = DEFAULT_CONFIG.steroid_basis,
    config: ClinicalConfig = DEFAULT_CONFIG,
) -> OnTreatmentSteroids:
    """Steroid change over the time on the index drug, from `start` to `end` (both inclusive).

    Baseline = the dose on `start` (first day on the index drug); last = the dose on `end`
    (the course's last day, or the data cut-off while ongoing); lowest = the lowest dose on
    any day in between. The category (R-STEROID-3) compares baseline with last on `basis`;
    mg/kg/day uses `baseline_weight_kg` and `last_weight_kg` (needed for a dose > 0).
    Source: SPEC §12b.10 (poster: "During the treatment, 4 patients reduced dose (< 50 %)"),
    R-STEROID-3.

    >>> ps = [SteroidPeriod("prednisone", 20, date(2024, 1, 1), date(2024, 2, 29)),
    ...       SteroidPeriod("prednisone", 5, date(2024, 3, 1), date(2024, 4, 30)),
    ...       SteroidPeriod("prednisone", 15, date(2024, 5, 1))]
    >>> r = steroid_on_treatment(ps, start=date(2024, 1, 10), end=date(2024, 6, 30),
    ...                          basis="mg_day")
    >>> r.change.category, r.lowest_peq_mg_day, r.lowest_on
    ('REDUCED_LT50', Fraction(5, 1), datetime.date(2024, 3, 1))
    """
    if end < start:
        raise DerivationError(f"time on treatment ends ({end}) before it starts ({start})")
    kept = list(periods)
    doses = [(peq_on(kept, day, config=config), day) for day in _change_days(kept, start, end)]
    lowest, lowest_on = min(doses, key=lambda pair: pair[0])
    baseline, last = doses[0][0], peq_on(kept, end, config=config)
    change = steroid_change(
        SteroidDose(baseline, to_fraction(baseline_weight_kg)),
        SteroidDose(last, to_fraction(last_weight_kg)),
        basis=basis,
    )
    return OnTreatmentSteroids(baseline, last, lowest, lowest_on, change)


def _factor_lcm(config: ClinicalConfig) -> int:
    return math.lcm(*(f.denominator for f in config.steroid_factors.values()))


def _scaled_peq_expr(steroids: ir.Table, config: ClinicalConfig) -> ir.IntegerValue:
    """PEQ × lcm(factor denominators) × UNITS as an exact int64 (NULL for an unknown drug)."""
    scale = _factor_lcm(config)
    drug = steroids.drug.lower().strip()
    multiplier = ibis.cases(
        *[(drug == name, int(f * scale)) for name, f in config.steroid_factors.items()],
        else_=ibis.null("int64"),
    )
    return units_expr(steroids.daily_dose_mg) * multiplier


def steroid_on_treatment_table(
    steroids: ir.Table,
    windows: ir.Table,
    *,
    basis: Literal["mg_kg_day", "mg_day"] = DEFAULT_CONFIG.steroid_basis,
    config: ClinicalConfig = DEFAULT_CONFIG,
) -> ir.Table:
    """Ibis twin of `steroid_on_treatment`, one row per window.

    `steroids`: patient_id, drug, daily_dose_mg, start_date, stop_date and optionally route
    (absent or NULL = oral). `windows`: patient_id, start_date, end_date (the time on the
    index drug, both inclusive) and, for the mg/kg/day basis, baseline_weight_kg and
    last_weight_kg. Returns windows' columns plus baseline_peq_mg_day, last_peq_mg_day,
    lowest_peq_mg_day (float64, for display) and change_category (decided on exact
    integers, R-NUM-1). Source: SPEC §12b.10, R-STEROID-3.
    """
    counted = (
        steroids.filter(peq_route_expr(steroids.route)) if "route" in steroids.columns else steroids
    )
    recs = counted.select(
        rid=counted.patient_id,
        rstart=counted.start_date,
        rstop=counted.stop_date,
        peq=_scaled_peq_expr(counted, config),
    )
    w = windows.select(wid=windows.patient_id, ws=windows.start_date, we=windows.end_date)
    inside = w.join(recs, w.wid == recs.rid)
    next_day = inside.rstop + ibis.interval(days=1)
    days = ibis.union(
        w.select("wid", "ws", "we", day=w.ws),
        w.select("wid", "ws", "we", day=w.we),
        inside.filter((inside.rstart > inside.ws) & (inside.rstart <= inside.we)).select(
            "wid", "ws", "we", day=inside.rstart
        ),
        inside.filter(next_day.notnull() & (next_day > inside.ws) & (next_day <= inside.we)).select(
            "wid", "ws", "we", day=next_day.cast("date")
        ),
        distinct=True,
    )
    on = days.left_join(
        recs,
        (days.wid == recs.rid) & steroid_active_on_expr(recs.rstart, recs.rstop, days.day),
    )
    per_day = on.group_by(["wid", "ws", "we", "day"]).aggregate(peq=on.peq.sum().fill_null(0))
    summary = per_day.group_by(["wid", "ws", "we"]).aggregate(
        b=per_day.peq.max(where=per_day.day == per_day.ws),
        f=per_day.peq.max(where=per_day.day == per_day.we),
        low=per_day.peq.min(),
    )
    out = windows.join(
        summary,
        (windows.patient_id == summary.wid)
        & (windows.start_date == summary.ws)
        & (windows.end_date == summary.we),
    )
    scale = _factor_lcm(config) * UNITS
    weights = (
        {"baseline_weight": out.baseline_weight_kg, "followup_weight": out.last_weight_kg}
        if basis == "mg_kg_day"
        else {}
    )
    # the scaled integers divided by UNITS: units_expr() inside gives them back exactly
    category = steroid_change_expr(out.b / UNITS, out.f / UNITS, **weights)
    return out.select(
        *windows.columns,
        baseline_peq_mg_day=out.b.cast("float64") / scale,
        last_peq_mg_day=out.f.cast("float64") / scale,
        lowest_peq_mg_day=out.low.cast("float64") / scale,
        change_category=category,
    )
