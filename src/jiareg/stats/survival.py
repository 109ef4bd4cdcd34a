"""Kaplan–Meier estimate of time to an event (e.g. first ACR Pedi 30 response)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

KAPLAN_MEIER: Final = (
    "Kaplan-Meier product-limit estimate; pointwise 95 % CI by the exponential Greenwood "
    "(log(-log)) method; median CI from the CI curves (lifelines)"
)
KAPLAN_MEIER_REFERENCE: Final = (
    "Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. "
    "J Am Stat Assoc 1958;53:457-481; lifelines (Davidson-Pilon, JOSS 2019;4(40):1317)"
)


@dataclass(frozen=True, slots=True)
class KaplanMeierRow:
    """The estimate just after `time`: at risk, events and censorings; CI None if undefined."""

    time: float
    at_risk: int
    events: int
    censored: int
    survival: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True, slots=True)
class KaplanMeierResult:
    """Median time to event with its CI and the survival table.

    `median` is None when the curve never reaches 0.5 (median not reached, e.g. nobody had
    the event); a CI limit is None when its curve does not reach 0.5 (not estimable).
    """

    n: int
    n_events: int
    median: float | None
    median_ci: tuple[float | None, float | None]
    table: tuple[KaplanMeierRow, ...]
    method: str = KAPLAN_MEIER
    reference: str = KAPLAN_MEIER_REFERENCE


def kaplan_meier(durations: Sequence[float], events: Sequence[bool]) -> KaplanMeierResult:
    """Kaplan–Meier estimate of the probability of remaining event-free over time.

    `durations[i]` is the time to the event when `events[i]` is true, otherwise the time of
    censoring (last observation). The median is the first time the estimate falls to 0.5 or
    below. Everyone with the event: the curve reaches 0 and the median is defined. Nobody:
    the curve stays at 1, the median is None (not reached).
    Source: Kaplan & Meier, JASA 1958.

    >>> r = kaplan_meier([14, 14, 28, 42], [True, True, True, False])
    >>> r.median, [row.survival for row in r.table]
    (14.0, [1.0, 0.5, 0.25, 0.25])
    """
    if len(durations) != len(events):
        raise ValueError(f"kaplan_meier: {len(durations)} durations but {len(events)} event flags")
    if not durations:
        raise ValueError("kaplan_meier: no subjects")
    if any(not d >= 0 for d in durations):
        raise ValueError(f"kaplan_meier: expected durations >= 0, got {list(durations)}")
    fitter = KaplanMeierFitter().fit(list(durations), [bool(e) for e in events])
    survival = fitter.survival_function_.iloc[:, 0]
    bounds = fitter.confidence_interval_
    table = fitter.event_table
    rows = tuple(
        KaplanMeierRow(
            time=float(time),
            at_risk=int(table.loc[time, "at_risk"]),
            events=int(table.loc[time, "observed"]),
            censored=int(table.loc[time, "censored"]),
            survival=float(survival.loc[time]),
            ci_low=_finite(bounds.iloc[i, 0]),
            ci_high=_finite(bounds.iloc[i, 1]),
        )
        for i, time in enumerate(survival.index)
    )
    ci = median_survival_times(bounds)
    return KaplanMeierResult(
        n=len(durations),
        n_events=sum(bool(e) for e in events),
        median=_finite(fitter.median_survival_time_),
        median_ci=(_finite(ci.iloc[0, 0]), _finite(ci.iloc[0, 1])),
        table=rows,
    )


def _finite(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]  # numpy/pandas scalar
    return number if math.isfinite(number) else None
