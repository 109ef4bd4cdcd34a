"""Endpoint kind `adverse_events`: events with onset from the index date, the serious ones and
the exposure-adjusted rate per 100 patient-years (exact Garwood CI,
`jiareg.stats.incidence_per_100py`; exposure = index date to last administration +
`config.risk_window_days`)."""

from __future__ import annotations

from collections import Counter
from typing import Literal

from jiareg.stats import incidence_per_100py
from jiareg.study.endpoints.base import (
    EndpointDetails,
    EndpointKind,
    EndpointSpec,
    SummaryContext,
    register,
)
from jiareg.study.endpoints.common import DAYS_PER_YEAR, Number, flag

__all__ = ["AdverseEventsDetails", "AdverseEventsEndpoint"]


class AdverseEventsEndpoint(EndpointSpec):
    """Adverse events with onset from the index date (count, serious, per 100 patient-years)."""

    kind: Literal["adverse_events"]


class AdverseEventsDetails(EndpointDetails):
    """`endpoints.<id>`: the serious events, the patients, the exposure, the rate with its CI
    and the events by term (the number of events is the headline)."""

    kind: Literal["adverse_events"]
    serious: int
    """Events recorded as serious."""
    patients_with_event: int
    """Patients with at least one event."""
    patient_years: Number
    """Exposure: index date to last administration plus `config.risk_window_days`, summed
    over the cohort, in years of 365.25 days."""
    rate_per_100py: Number | None
    """Events per 100 patient-years (null without exposure)."""
    rate_ci95: list[Number] | None
    """Exact 95 % confidence interval of the rate (Garwood)."""
    rate_method: str | None
    """How `rate_ci95` was computed."""
    by_term: dict[str, int]
    """Event term → events."""


def summarise(
    endpoint: AdverseEventsEndpoint, ctx: SummaryContext
) -> tuple[int, AdverseEventsDetails]:
    """The event count (headline) and the details."""
    events, patients = ctx.frames["adverse_events"], ctx.frames["patients"]
    window = ctx.protocol.config.risk_window_days
    days = sum(
        (last - first).days + window
        for first, last in zip(patients["index_date"], patients["last_date"], strict=True)
    )
    rate = incidence_per_100py(len(events), days / DAYS_PER_YEAR) if days > 0 else None
    details = AdverseEventsDetails(
        kind="adverse_events",
        serious=int(sum(bool(s) for s in events["serious"] if flag(s))),
        patients_with_event=int(events["patient_id"].nunique()),
        patient_years=round(days / DAYS_PER_YEAR, 4),
        rate_per_100py=rate.rate_per_100py if rate else None,
        rate_ci95=list(rate.ci) if rate else None,
        rate_method=rate.method if rate else None,
        by_term=dict(sorted(Counter(events["term"]).items())),
    )
    return len(events), details


KIND = register(
    EndpointKind(
        name="adverse_events",
        spec=AdverseEventsEndpoint,
        details=AdverseEventsDetails,
        headline=int,
        summarise=summarise,
    )
)
