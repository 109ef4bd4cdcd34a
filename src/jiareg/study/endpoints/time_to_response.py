"""Endpoint kind `time_to_response`: days and administrations from the index date to the first
follow-up visit meeting an ACR Pedi level, with the Kaplan–Meier estimate (patients without a
response censored at their last follow-up visit; `jiareg.stats.kaplan_meier`)."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from jiareg.stats import kaplan_meier
from jiareg.study.endpoints.base import (
    EndpointDetails,
    EndpointKind,
    EndpointSpec,
    SummaryContext,
    register,
)
from jiareg.study.endpoints.common import (
    Number,
    Range,
    ResultModel,
    SparseResultModel,
    range_of,
)

__all__ = [
    "CurvePoint",
    "TimeToResponseDetails",
    "TimeToResponseEndpoint",
    "TimeToResponseHeadline",
]


class TimeToResponseEndpoint(EndpointSpec):
    """Days and administrations from the index date to the first visit meeting `level`."""

    kind: Literal["time_to_response"]
    level: Literal[30, 50, 70, 90, 100] = 30


class TimeToResponseHeadline(SparseResultModel):
    """Patients, responses, the Kaplan–Meier median (days, 95 % CI) and the responders'
    administrations and days to response (absent when no patient had a follow-up visit)."""

    n: int
    """Patients with a follow-up visit (`denominators.follow_up.evaluable`)."""
    n_events: int
    """Patients who met the level at a follow-up visit."""
    median_days: Number | None
    """Kaplan–Meier median days to the first response (null: not reached)."""
    median_days_ci95: list[Number | None] | None = None
    """95 % confidence interval of the median (a null end: not estimable)."""
    administrations: Range | None = None
    """Of the responders: administrations given before the responding visit."""
    days: Range | None = None
    """Of the responders: days from the index date to the responding visit."""


class CurvePoint(ResultModel):
    """One row of the Kaplan–Meier table."""

    time: Number
    """Days from the index date."""
    at_risk: int
    """Patients not yet responded nor censored just before `time`."""
    events: int
    """First responses at `time`."""
    censored: int
    """Patients censored at `time` (their last follow-up visit, without a response)."""
    survival: Number
    """Proportion not yet responded after `time`."""
    ci_low: Number | None
    """Lower end of its pointwise 95 % confidence interval."""
    ci_high: Number | None
    """Upper end."""


class TimeToResponseDetails(EndpointDetails, SparseResultModel):
    """`endpoints.<id>`: the level, the estimator and its curve."""

    kind: Literal["time_to_response"]
    level: int
    """ACR Pedi level of the response."""
    method: str | None = None
    """The estimator and its intervals (absent when no patient had a follow-up visit)."""
    curve: list[CurvePoint] | None = None
    """The Kaplan–Meier table, one row per distinct time."""


def summarise(
    endpoint: TimeToResponseEndpoint, ctx: SummaryContext
) -> tuple[TimeToResponseHeadline, TimeToResponseDetails]:
    """First visit meeting the level per patient (rows of the `time_to_response` table)."""
    scored = ctx.frames["responses"]  # sorted by patient_id, visit_date
    visits = scored[scored["patient_id"].isin(ctx.frames["patients"]["patient_id"])]
    met = visits[visits["acr_pedi_level"].fillna(-1) >= endpoint.level]
    first_met = met.groupby("patient_id", sort=False).head(1)
    last = visits.groupby("patient_id", sort=False).tail(1)
    censored = last[~last["patient_id"].isin(first_met["patient_id"])]
    first = pd.concat([first_met, censored]).sort_values("patient_id", kind="stable")
    previous = ctx.tables["time_to_response"]
    table = pd.DataFrame(
        {
            "patient_id": first["patient_id"],
            "level": endpoint.level,
            "event": first["patient_id"].isin(first_met["patient_id"]),
            "day": first["day"].astype("int64"),
            "administration_number": first["administration_number"].astype("int64"),
        },
        columns=list(previous.columns),
    ).reset_index(drop=True)
    ctx.tables["time_to_response"] = pd.concat(
        [frame for frame in (previous, table) if len(frame)] or [table]
    )
    if table.empty:
        empty = TimeToResponseHeadline(n=0, n_events=0, median_days=None)
        return empty, TimeToResponseDetails(kind="time_to_response", level=endpoint.level)
    fit = kaplan_meier(list(table["day"].astype(float)), list(table["event"]))
    responders = table[table["event"]]
    headline = TimeToResponseHeadline(
        n=fit.n,
        n_events=fit.n_events,
        median_days=fit.median,
        median_days_ci95=list(fit.median_ci),
        administrations=range_of(responders["administration_number"]),
        days=range_of(responders["day"]),
    )
    curve = [
        CurvePoint(
            time=r.time,
            at_risk=r.at_risk,
            events=r.events,
            censored=r.censored,
            survival=r.survival,
            ci_low=r.ci_low,
            ci_high=r.ci_high,
        )
        for r in fit.table
    ]
    details = TimeToResponseDetails(
        kind="time_to_response", level=endpoint.level, method=fit.method, curve=curve
    )
    return headline, details


KIND = register(
    EndpointKind(
        name="time_to_response",
        spec=TimeToResponseEndpoint,
        details=TimeToResponseDetails,
        headline=TimeToResponseHeadline,
        summarise=summarise,
    )
)
