"""Kaplan–Meier estimate of time to an event (e.g. first ACR Pedi 30 response)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

KAPLAN_MEIER: Final = (
    "Kaplan-Meier product-limit estimate, computed exactly (rational product); median = smallest "
    "time with S(t) <= 1/2; pointwise 95 % CI by the exponential Greenwood (log(-log)) method; "
    "median CI from the CI curves (lifelines)"
)
MIDPOINT_CONVENTION: Final = (
    "R survfit convention (optional, for comparison): where S(t) is exactly 1/2 on a flat "
    "segment, the midpoint between t and the next event time"
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
    `median_midpoint` is the same median under R's midpoint convention (labelled by
    `midpoint_convention`; differs only where S is exactly 1/2 on a flat segment).
    """

    n: int
    n_events: int
    median: float | None
    median_ci: tuple[float | None, float | None]
    table: tuple[KaplanMeierRow, ...]
    method: str = KAPLAN_MEIER
    reference: str = KAPLAN_MEIER_REFERENCE
    median_midpoint: float | None = None
    midpoint_convention: str = MIDPOINT_CONVENTION


def kaplan_meier(durations: Sequence[float], events: Sequence[bool]) -> KaplanMeierResult:
    """Kaplan–Meier estimate of the probability of remaining event-free over time.

    `durations[i]` is the time to the event when `events[i]` is true, otherwise the time of
    censoring (last observation). The survival is the exact rational product of
    (at risk − events) / at risk (a float product gives 0.5000000000000001 where S is exactly
    1/2, R-NUM-1); the table shows it as floats (equal to lifelines' to 1e-12). The median is
    the smallest time with S(t) ≤ 1/2, decided exactly (SPEC §12b.8). Everyone with the event:
    the curve reaches 0 and the median is defined. Nobody: the curve stays at 1, the median is
    None (not reached). The median CI limits are read from lifelines' log(-log) CI curves: they
    are irrational functions of S, so no exact tie at 1/2 arises there.
    Source: Kaplan & Meier, JASA 1958; SPEC §12b.8.

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
    bounds = fitter.confidence_interval_
    table = fitter.event_table
    times = [float(t) for t in table.index]
    at_risk = [int(n) for n in table["at_risk"]]
    observed = [int(d) for d in table["observed"]]
    exact = _exact_survival(at_risk, observed)
    rows = tuple(
        KaplanMeierRow(
            time=time,
            at_risk=at_risk[i],
            events=observed[i],
            censored=int(table["censored"].iloc[i]),
            survival=float(exact[i]),
            ci_low=_finite(bounds.iloc[i, 0]),
            ci_high=_finite(bounds.iloc[i, 1]),
        )
        for i, time in enumerate(times)
    )
    ci = median_survival_times(bounds)
    median, midpoint = _median(times, observed, exact)
    return KaplanMeierResult(
        n=len(durations),
        n_events=sum(bool(e) for e in events),
        median=median,
        median_ci=(_finite(ci.iloc[0, 0]), _finite(ci.iloc[0, 1])),
        table=rows,
        median_midpoint=midpoint,
    )


def _exact_survival(at_risk: Sequence[int], observed: Sequence[int]) -> list[Fraction]:
    """S just after each time: the running product of (at risk − events) / at risk."""
    survival, out = Fraction(1), []
    for n, d in zip(at_risk, observed, strict=True):
        if d:
            survival *= Fraction(n - d, n)
        out.append(survival)
    return out


def _median(
    times: Sequence[float], observed: Sequence[int], survival: Sequence[Fraction]
) -> tuple[float | None, float | None]:
    """Smallest time with S ≤ 1/2, and R's midpoint where S is exactly 1/2 (then the next event)."""
    half = Fraction(1, 2)
    for i, s in enumerate(survival):
        if s <= half:
            later = [t for t, d in zip(times[i + 1 :], observed[i + 1 :], strict=True) if d]
            if s == half and later:
                return times[i], (times[i] + later[0]) / 2
            return times[i], times[i]
    return None, None


def _finite(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]  # numpy/pandas scalar
    return number if math.isfinite(number) else None
