"""Index date, administration numbers and the visit chosen for each timepoint, as Ibis tables.

Pure Ibis (`ibis._`-free joins, no SQL, no `.first()`), so the same plan runs on DuckDB,
PostgreSQL and Spark. Days count from the index date (the first administration of the
exposure drug, day 0); `day = visit_date - index_date` in whole days.

Choices where the SPEC is silent (documented in docs/reference/protocol.md):
- a window includes both ends (a visit on day -30 or day 0 belongs to [-30, 0]);
- `pick: nearest` breaks a tie (one visit as far before the target as another after it) in
  favour of the **earlier** visit — the one not influenced by the later course of treatment;
- an anchor `before_administration: n` takes visits after the day of administration n-1 up to
  and including the day of administration n (a visit on an infusion day is the pre-infusion
  assessment, as the baseline "on or before the first dose" of SPEC R-ACRPEDI-3; so "before
  the 3rd infusion" is a visit after infusion 2's day up to infusion 3's day); a patient who
  never received administration n has no visit there;
- follow-up = visits after day 0 up to the last administration of the exposure drug plus
  `config.risk_window_days`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

if TYPE_CHECKING:
    from ibis.expr.types import IntegerValue, Table

    from jiareg.study.protocol import Protocol, Timepoint

__all__ = [
    "exposure_administrations",
    "follow_up_visits",
    "index_dates",
    "timepoint_visits",
    "visits_with_day",
]


def exposure_administrations(
    administrations: Table, protocol: Protocol, drug: str | None = None
) -> Table:
    """Administrations of the exposure drug (`drug`, else the protocol's first arm's),
    numbered 1, 2, ... per patient by date."""
    drug = drug or protocol.study_arms()[0].exposure.drug
    given = administrations.filter(administrations.drug == drug)
    number = ibis.row_number().over(group_by=given.patient_id, order_by=given.date) + 1
    return given.mutate(administration_number=number.cast("int64"))


def index_dates(exposure: Table) -> Table:
    """Per patient: index_date (first administration), last_date and n_administrations."""
    return exposure.group_by("patient_id").aggregate(
        index_date=exposure.date.min(),
        last_date=exposure.date.max(),
        n_administrations=exposure.count(),
    )


def visits_with_day(visits: Table, index: Table) -> Table:
    """Visits of indexed patients with `day` (from the index date) and `last_day` added."""
    joined = visits.join(index, visits.patient_id == index.patient_id)
    return joined.select(
        *[joined[c] for c in visits.columns],
        index_date=joined.index_date,
        day=joined.visit_date.delta(joined.index_date, unit="day").cast("int64"),
        last_day=joined.last_date.delta(joined.index_date, unit="day").cast("int64"),
    )


def _administration_day(exposure: Table, index: Table, number: int, name: str) -> Table:
    nth = exposure.filter(exposure.administration_number == number)
    joined = nth.join(index, nth.patient_id == index.patient_id)
    return joined.select(
        patient_id=joined.patient_id,
        **{name: joined.date.delta(joined.index_date, unit="day").cast("int64")},
    )


def _candidates(dated: Table, exposure: Table, index: Table, timepoint: Timepoint) -> Table:
    if timepoint.window is not None:
        window = timepoint.window
        return dated.filter(dated.day.between(window.from_day, window.to_day))
    number = timepoint.before_administration
    assert number is not None  # the protocol model guarantees one of window / anchor
    after = _administration_day(exposure, index, number - 1, "after_day")
    upto = _administration_day(exposure, index, number, "upto_day")
    bounds = after.join(upto, after.patient_id == upto.patient_id).select(
        "patient_id", "after_day", "upto_day"
    )
    joined = dated.join(bounds, dated.patient_id == bounds.patient_id)
    inside = joined.filter((joined.day > joined.after_day) & (joined.day <= joined.upto_day))
    return inside.select(*dated.columns)


def _pick_key(candidates: Table, timepoint: Timepoint) -> IntegerValue:
    """An integer per visit whose per-patient minimum is the visit to keep (unique per day)."""
    if timepoint.pick == "first":
        return candidates.day
    if timepoint.pick == "last":
        return -candidates.day
    target = timepoint.target_day
    assert target is not None
    distance = (candidates.day - target).abs()
    return distance * 2 + (candidates.day > target).ifelse(1, 0)


def timepoint_visits(dated: Table, exposure: Table, index: Table, timepoint: Timepoint) -> Table:
    """The one visit per patient chosen for `timepoint`, with a `timepoint` name column.

    Joins each patient's candidates to their minimum pick key (no `.first()`, which
    PostgreSQL lacks); visits are unique per (patient_id, visit_date), so one row remains.
    """
    candidates = _candidates(dated, exposure, index, timepoint)
    keyed = candidates.mutate(_pick=_pick_key(candidates, timepoint))
    best = keyed.group_by("patient_id").aggregate(_best=keyed._pick.min())
    chosen = keyed.join(best, (keyed.patient_id == best.patient_id) & (keyed._pick == best._best))
    return chosen.select(*dated.columns, timepoint=ibis.literal(timepoint.name, "string"))


def follow_up_visits(dated: Table, protocol: Protocol) -> Table:
    """Visits after day 0 up to the last administration + `config.risk_window_days`."""
    horizon = dated.last_day + protocol.config.risk_window_days
    return dated.filter((dated.day > 0) & (dated.day <= horizon))
