"""Endpoint kind `remission`: clinical remission on / off medication at each timepoint.

The rule is `jiareg.derive.inactive.remission_status` (Wallace 2004; SPEC R-CID-3): inactive
disease continuously for ≥ `config.remission_on_days` (182) on medication, or ≥
`config.remission_off_days` (365) off medication, consecutive visits ≤
`config.max_visit_gap_days` (120) apart. It is evaluated at the patient's visit chosen for the
timepoint, from the patient's dated registry visits up to that visit.

jiareg choices (docs/reference/protocol.md, "Clinical remission"):

- the visits are the patient's registry visits **from the index date on** (remission on the
  index biologic is counted from its start; earlier visits are not looked at), each with its
  per-visit inactive disease (`jiareg.study.visits.with_inactive_disease`, the protocol's
  `cid_criteria`);
- **on medication** at a visit = on the index biologic on that date (visit day ≤ the index
  course's stop day, `index_course`; ongoing without a stop) or inside another recorded
  `treatments` course (start ≤ date, no stop or stop ≥ date); otherwise off medication;
- a timepoint visit before the index date (e.g. baseline) is not evaluable (undetermined).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Final, Literal

from pydantic import Field

from jiareg.derive.inactive import CidVisit, remission_status
from jiareg.study.endpoints.base import (
    Denominators,
    EndpointDetails,
    EndpointKind,
    EndpointSpec,
    Name,
    PlanInputs,
    SummaryContext,
    register,
)
from jiareg.study.endpoints.common import NO_VISIT, at_timepoint, flag
from jiareg.study.endpoints.missing import stop_days
from jiareg.study.visits import with_inactive_disease

if TYPE_CHECKING:
    import pandas as pd
    from ibis.expr.types import Table

    from jiareg.derive.inactive import RemissionStatus

__all__ = ["UNDETERMINED", "RemissionDetails", "RemissionEndpoint", "remission_by_timepoint"]

UNDETERMINED: Final = "remission_undetermined"
"""Not evaluable: inactive disease or medication status unknown at a visit of the run, so
remission could be neither proved nor ruled out."""


class RemissionEndpoint(EndpointSpec):
    """Clinical remission on / off medication (Wallace 2004, SPEC R-CID-3) at each timepoint;
    `missing: observed` only (patients without a determined status are not evaluable)."""

    kind: Literal["remission"]
    at: tuple[Name, ...]
    missing: Literal["observed"] = "observed"


class RemissionDetails(EndpointDetails):
    """`endpoints.<id>`: the patients in remission (on or off medication) are the headline;
    `off_medication` splits it (on medication = headline − off); the others are in the
    denominators (`evaluable - headline`: no remission)."""

    kind: Literal["remission"]
    off_medication: dict[str, int] = Field(default_factory=dict, exclude_if=lambda value: not value)
    """Timepoint → patients in clinical remission off medication (≥ `remission_off_days`);
    only the timepoints with any (absent: nobody off medication)."""
    on_days: int
    """Days of continuous inactive disease on medication needed (`config.remission_on_days`)."""
    off_days: int
    """Days needed off medication (`config.remission_off_days`)."""
    max_gap_days: int
    """Longest gap between consecutive visits of a run (`config.max_visit_gap_days`)."""


def plan(endpoint: RemissionEndpoint, inputs: PlanInputs) -> Mapping[str, Table]:
    """`dated`: every cohort patient's registry visit from the index date on, with its day
    and per-visit inactive disease."""
    visits, index = inputs.registry["visits"], inputs.index
    joined = visits.join(index, visits.patient_id == index.patient_id)
    later = joined.filter(joined.visit_date >= joined.index_date)
    scored = with_inactive_disease(later, inputs.protocol)
    return {
        "dated": scored.select(
            "patient_id",
            "visit_date",
            "inactive_disease",
            day=scored.visit_date.delta(scored.index_date, unit="day").cast("int64"),
        )
    }


def _on_other_course(courses: pd.DataFrame) -> dict[str, list[tuple[date, date | None]]]:
    """Patient → the (start, stop) of every recorded treatment course."""
    out: dict[str, list[tuple[date, date | None]]] = {}
    for pid, start, stop in zip(
        courses["patient_id"], courses["start_date"], courses["stop_date"], strict=True
    ):
        if isinstance(start, date):
            out.setdefault(str(pid), []).append((start, stop if isinstance(stop, date) else None))
    return out


def _series(ctx: SummaryContext, endpoint: RemissionEndpoint) -> dict[str, list[CidVisit]]:
    """Patient → dated visits with inactive disease and medication status (module docstring)."""
    dated = ctx.planned("dated", endpoint)
    stops = {str(p): day for p, day in stop_days(ctx.frames).items()}
    courses = _on_other_course(ctx.frames["courses"])
    out: dict[str, list[CidVisit]] = {}
    for pid, when, inactive, day in zip(
        dated["patient_id"],
        dated["visit_date"],
        dated["inactive_disease"],
        dated["day"],
        strict=True,
    ):
        key = str(pid)
        stop = stops.get(key)
        on = (stop is None or int(day) <= stop) or any(
            start <= when and (end is None or end >= when) for start, end in courses.get(key, [])
        )
        out.setdefault(key, []).append(CidVisit(when, flag(inactive), on))
    return out


def remission_by_timepoint(
    endpoint: RemissionEndpoint, ctx: SummaryContext
) -> dict[str, dict[str, RemissionStatus | None]]:
    """Timepoint → each patient with a visit there → `remission_status` (None: undetermined)."""
    series = _series(ctx, endpoint)
    config = ctx.protocol.config
    out = {}
    for name in endpoint.at:
        rows = at_timepoint(ctx.frames["visits"], name)
        statuses: dict[str, RemissionStatus | None] = {}
        for pid, when in zip(rows["patient_id"], rows["visit_date"], strict=True):
            mine = series.get(str(pid), [])
            if not any(v.visit_date == when for v in mine):  # a visit before the index date
                statuses[str(pid)] = None
                continue
            statuses[str(pid)] = remission_status(
                mine,
                when,
                remission_on_days=config.remission_on_days,
                remission_off_days=config.remission_off_days,
                max_visit_gap_days=config.max_visit_gap_days,
            )
        out[name] = statuses
    return out


def summarise(
    endpoint: RemissionEndpoint, ctx: SummaryContext
) -> tuple[dict[str, int], RemissionDetails]:
    """Timepoint → patients in clinical remission (on or off medication)."""
    per_timepoint = remission_by_timepoint(endpoint, ctx)
    cohort = len(ctx.frames["patients"])
    headline, off, denominators = {}, {}, {}
    for name, statuses in per_timepoint.items():
        values = list(statuses.values())
        on_n = values.count("remission_on_medication")
        off_n = values.count("remission_off_medication")
        headline[name] = on_n + off_n
        if off_n:
            off[name] = off_n
        undetermined = values.count(None)
        evaluable = len(values) - undetermined
        reasons = {NO_VISIT: cohort - len(values), UNDETERMINED: undetermined}
        denominators[name] = Denominators(
            cohort=cohort,
            evaluable=evaluable,
            not_evaluable={reason: n for reason, n in sorted(reasons.items()) if n},
        )
    config = ctx.protocol.config
    return headline, RemissionDetails(
        kind="remission",
        denominators=denominators,
        off_medication=off,
        on_days=config.remission_on_days,
        off_days=config.remission_off_days,
        max_gap_days=config.max_visit_gap_days,
    )


KIND = register(
    EndpointKind(
        name="remission",
        spec=RemissionEndpoint,
        details=RemissionDetails,
        headline=dict[str, int],
        summarise=summarise,
        plan=plan,
    )
)
