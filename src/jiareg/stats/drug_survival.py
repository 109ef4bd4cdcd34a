"""Drug survival: time on a drug by group, stopping by reason (competing risks), Cox models.

Kaplan–Meier curves and the log-rank test come from lifelines, as do the Cox model and its
Schoenfeld-residual test. The cumulative incidence by cause (Aalen–Johansen) is computed here:
lifelines' AalenJohansenFitter breaks tied times between causes by random jitter, while the
estimator itself handles ties (every event at t_j leaves the risk set together). Floats
throughout.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import StatisticalWarning
from lifelines.statistics import multivariate_logrank_test, proportional_hazard_test
from lifelines.utils import median_survival_times
from numpy.typing import NDArray
from scipy.stats import norm

LOG_RANK_REFERENCE: Final = (
    "Mantel N. Evaluation of survival data and two new rank order statistics arising in its "
    "consideration. Cancer Chemother Rep 1966;50:163-170; lifelines multivariate_logrank_test"
)
AALEN_JOHANSEN_REFERENCE: Final = (
    "Aalen OO, Johansen S. An empirical transition matrix for non-homogeneous Markov chains "
    "based on censored observations. Scand J Stat 1978;5:141-150; variance: Collett D. "
    "Modelling Survival Data in Medical Research, 3rd ed. CRC 2015, section 12.2"
)
COX_REFERENCE: Final = (
    "Cox DR. Regression models and life-tables. J R Stat Soc B 1972;34:187-220 (Efron ties, "
    "lifelines CoxPHFitter); PH test: Grambsch PM, Therneau TM. Biometrika 1994;81:515-526"
)

KM_METHOD: Final = "Kaplan-Meier (lifelines), exponential Greenwood CI; log-rank test"
KM_WEIGHTED: Final = (
    "inverse-probability-weighted Kaplan-Meier (Cole SR, Hernán MA. Adjusted survival curves "
    "with inverse probability weights. Comput Methods Programs Biomed 2004;75:45-49)"
)

PhTransform = Literal["km", "rank", "identity", "log"]
Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """The Kaplan–Meier estimate just after `time` with its pointwise CI (None if undefined)."""

    time: float
    at_risk: int
    events: int
    survival: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True, slots=True)
class GroupCurve:
    """One group's curve; `median` None = not reached, a CI limit None = not estimable."""

    group: str
    n: int
    n_events: int
    median: float | None
    median_ci: tuple[float | None, float | None]
    table: tuple[CurvePoint, ...]


@dataclass(frozen=True, slots=True)
class LogRank:
    """The log-rank χ² statistic on `df` degrees of freedom (groups − 1) and its p-value."""

    statistic: float
    df: int
    p_value: float
    reference: str = LOG_RANK_REFERENCE


@dataclass(frozen=True, slots=True)
class GroupSurvival:
    """Kaplan–Meier curves by group (sorted by label) and the log-rank test between them."""

    curves: tuple[GroupCurve, ...]
    log_rank: LogRank | None  # None with a single group, or with weights
    method: str


@dataclass(frozen=True, slots=True)
class IncidencePoint:
    """Cumulative incidence of one cause at `time` with its CI (None where F is 0 or 1)."""

    time: float
    at_risk: int
    events: int
    incidence: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True, slots=True)
class CauseIncidence:
    """The Aalen–Johansen cumulative incidence curve of one cause (at every event time)."""

    cause: str
    n_events: int
    table: tuple[IncidencePoint, ...]


@dataclass(frozen=True, slots=True)
class CompetingRisks:
    """Cumulative incidence of each cause (sorted), other causes competing."""

    n: int
    n_censored: int
    causes: tuple[CauseIncidence, ...]
    reference: str = AALEN_JOHANSEN_REFERENCE


@dataclass(frozen=True, slots=True)
class CoxTerm:
    """A covariate's log hazard ratio, hazard ratio with CI, z and p (Wald)."""

    covariate: str
    coef: float
    se: float
    hazard_ratio: float
    ci: tuple[float, float]
    z: float
    p_value: float


@dataclass(frozen=True, slots=True)
class PhTest:
    """Schoenfeld-residual test of proportional hazards for one covariate (χ², 1 df)."""

    covariate: str
    statistic: float
    p_value: float


@dataclass(frozen=True, slots=True)
class CoxResult:
    """A fitted Cox model, its likelihood-ratio test, concordance and PH check."""

    n: int
    n_events: int
    terms: tuple[CoxTerm, ...]
    log_likelihood: float
    lr_statistic: float
    lr_df: int
    lr_p_value: float
    concordance: float
    stratified: bool
    robust: bool
    ph_transform: PhTransform
    ph_tests: tuple[PhTest, ...]
    reference: str = COX_REFERENCE


def kaplan_meier_by_group(
    durations: Sequence[float],
    events: Sequence[int],
    groups: Sequence[Hashable],
    weights: Sequence[float] | None = None,
) -> GroupSurvival:
    """Kaplan–Meier curve of each group and the log-rank test of equal curves.

    `durations[i]` is the time on drug to stopping (`events[i]` true) or to the last
    observation while still on it. Groups are labelled by `str(group)`.
    With `weights` (IPTW) the curves are the weighted, confounder-adjusted Kaplan–Meier
    estimates (Cole & Hernán 2004): the survival and median use the weights, `at_risk` and
    `events` stay patient counts, and there is no CI (Greenwood's formula ignores that the
    weights were estimated) and no log-rank test (compare arms with a weighted Cox model).
    Source: Kaplan & Meier, JASA 1958; Mantel 1966 (lifelines).
    """
    frame = _frame(durations, events)
    if len(groups) != len(frame):
        raise ValueError(f"kaplan_meier_by_group: {len(frame)} durations, {len(groups)} groups")
    frame["group"] = [str(g) for g in groups]
    if weights is not None:
        frame["weight"] = np.asarray(weights, dtype=np.float64)
        if len(weights) != len(frame) or not (frame["weight"] >= 0).all():
            raise ValueError("kaplan_meier_by_group: one weight >= 0 per subject expected")
        frame = frame[frame["weight"] > 0]
    curves = tuple(_curve(str(label), part) for label, part in frame.groupby("group", sort=True))
    log_rank = None
    if len(curves) > 1 and weights is None:
        test = multivariate_logrank_test(frame["duration"], frame["group"], frame["event"])
        log_rank = LogRank(
            float(test.test_statistic), int(test.degrees_of_freedom), float(test.p_value)
        )
    method = KM_WEIGHTED if weights is not None else KM_METHOD
    return GroupSurvival(curves, log_rank, method)


def cumulative_incidence(
    durations: Sequence[float], causes: Sequence[str | None], *, confidence: float = 0.95
) -> CompetingRisks:
    """Aalen–Johansen cumulative incidence of each cause, the others competing.

    `causes[i]` is the reason the drug was stopped, None while still on it (censored).
    F_k(t) = Σ_{t_j ≤ t} S(t_j−) d_kj / n_j, S the Kaplan–Meier estimate of stopping for any
    reason, n_j at risk and d_kj stops for cause k at t_j; Σ_k F_k(t) + S(t) = 1. Variance
    (Collett 2015, as lifelines' AalenJohansenFitter): Σ (F(t) − F(t_j))² d_j/(n_j(n_j − d_j))
    + Σ S(t_j−)² d_kj(n_j − d_kj)/n_j³ − 2 Σ (F(t) − F(t_j)) S(t_j−) d_kj/n_j²; CI on the
    log(−log) scale. Source: Aalen & Johansen, Scand J Stat 1978.

    >>> r = cumulative_incidence([1, 2, 3, 4], ["ae", "inefficacy", None, "ae"])
    >>> [(p.time, p.incidence) for p in r.causes[0].table]
    [(1.0, 0.25), (2.0, 0.25), (4.0, 0.75)]
    """
    frame = _frame(durations, [c is not None for c in causes])
    frame["cause"] = list(causes)
    times = np.sort(frame.loc[frame["event"], "duration"].unique())
    ordered = np.sort(frame["duration"].to_numpy())
    at_risk = (len(ordered) - np.searchsorted(ordered, times, side="left")).astype(np.float64)
    stopped = frame[frame["event"]]
    d_all = stopped.groupby("duration").size().reindex(times).to_numpy(dtype=np.float64)
    survival = np.cumprod(1 - d_all / at_risk)
    lagged = np.concatenate([[1.0], survival[:-1]])
    z = float(norm.ppf(0.5 + confidence / 2))
    results = []
    for cause in sorted({str(c) for c in stopped["cause"]}):
        mine = stopped[stopped["cause"] == cause].groupby("duration").size()
        d_k = mine.reindex(times, fill_value=0).to_numpy(dtype=np.float64)
        incidence = np.cumsum(lagged * d_k / at_risk)
        variance = _aalen_johansen_variance(incidence, lagged, d_all, d_k, at_risk)
        table = tuple(
            IncidencePoint(float(t), int(n), int(d), float(f), *_loglog_ci(float(f), float(v), z))
            for t, n, d, f, v in zip(times, at_risk, d_k, incidence, variance, strict=True)
        )
        results.append(CauseIncidence(cause, int(d_k.sum()), table))
    return CompetingRisks(len(frame), int((~frame["event"]).sum()), tuple(results))


def cox_model(
    durations: Sequence[float],
    events: Sequence[int],
    covariates: Mapping[str, Sequence[float]],
    *,
    strata: Sequence[Hashable] | None = None,
    weights: Sequence[float] | None = None,
    ph_transform: PhTransform = "rank",
) -> CoxResult:
    """Cox proportional-hazards model of time to the event on numeric covariates.

    `strata` (e.g. site) gives each stratum its own baseline hazard; `weights` (e.g. IPTW)
    switch to the robust sandwich variance. The PH check is the Grambsch–Therneau test of
    scaled Schoenfeld residuals against transformed time: `rank` (lifelines' default, equal
    to R `cox.zph(transform = "rank")`); lifelines' `km` uses 1 − S(t), R's 1 − S(t−).
    Source: Cox 1972; Grambsch & Therneau 1994 (lifelines).
    """
    frame = _frame(durations, events)
    names = list(covariates)
    for name in names:
        values = covariates[name]
        if len(values) != len(frame):
            raise ValueError(f"cox_model: {name!r} has {len(values)} values, not {len(frame)}")
        frame[f"x:{name}"] = np.asarray(values, dtype=np.float64)
    fit_options: dict[str, object] = {}
    if strata is not None:
        frame["stratum"] = [str(s) for s in strata]
        fit_options["strata"] = ["stratum"]
    if weights is not None:
        frame["weight"] = np.asarray(weights, dtype=np.float64)
        fit_options |= {"weights_col": "weight", "robust": True}
    cph = CoxPHFitter().fit(frame, "duration", "event", **fit_options)
    summary = cph.summary
    terms = tuple(
        CoxTerm(
            covariate=name,
            coef=float(row["coef"]),
            se=float(row["se(coef)"]),
            hazard_ratio=float(row["exp(coef)"]),
            ci=(float(row["exp(coef) lower 95%"]), float(row["exp(coef) upper 95%"])),
            z=float(row["z"]),
            p_value=float(row["p"]),
        )
        for name, (_, row) in zip(names, summary.iterrows(), strict=True)
    )
    lr = cph.log_likelihood_ratio_test()
    with warnings.catch_warnings():
        # The km transform uses only the weighted Kaplan-Meier estimate, not its variance,
        # which is what lifelines warns about for non-integer (IPTW) weights.
        warnings.filterwarnings("ignore", "It looks like your weights", StatisticalWarning)
        ph = proportional_hazard_test(cph, frame, time_transform=ph_transform).summary
    return CoxResult(
        n=len(frame),
        n_events=int(frame["event"].sum()),
        terms=terms,
        log_likelihood=float(cph.log_likelihood_),
        lr_statistic=float(lr.test_statistic),
        lr_df=int(lr.degrees_freedom),
        lr_p_value=float(lr.p_value),
        concordance=float(cph.concordance_index_),
        stratified=strata is not None,
        robust=weights is not None,
        ph_transform=ph_transform,
        ph_tests=tuple(
            PhTest(name, float(ph.loc[key, "test_statistic"]), float(ph.loc[key, "p"]))
            for name, key in ((name, f"x:{name}") for name in names)
        ),
    )


def _frame(durations: Sequence[float], events: Sequence[int]) -> pd.DataFrame:
    if len(durations) != len(events):
        raise ValueError(f"drug survival: {len(durations)} durations, {len(events)} event flags")
    if not durations:
        raise ValueError("drug survival: no subjects")
    frame = pd.DataFrame(
        {"duration": np.asarray(durations, dtype=np.float64), "event": np.asarray(events, bool)}
    )
    if not (frame["duration"] >= 0).all():
        raise ValueError("drug survival: durations must be >= 0 and not missing")
    return frame


def _curve(label: str, part: pd.DataFrame) -> GroupCurve:
    fitter = KaplanMeierFitter().fit(part["duration"], part["event"])
    table = fitter.event_table  # patient counts, also when the curve is weighted
    bounds: pd.DataFrame | None = fitter.confidence_interval_
    if "weight" in part:
        with warnings.catch_warnings():  # lifelines warns about its CI, which is not used
            warnings.filterwarnings("ignore", "It looks like your weights", StatisticalWarning)
            fitter = KaplanMeierFitter().fit(
                part["duration"], part["event"], weights=part["weight"]
            )
        bounds = None
    survival = fitter.survival_function_.iloc[:, 0]
    counts = table.loc[survival.index, ["at_risk", "observed"]].to_numpy()  # whole columns:
    limits = [(None, None)] * len(survival) if bounds is None else bounds.to_numpy()  # no .loc
    points = tuple(  # per time point (a third of a 2,000-patient truth's survival estimands)
        CurvePoint(
            time=float(time),
            at_risk=int(at_risk),
            events=int(events),
            survival=float(value),
            ci_low=None if low is None else _finite(low),
            ci_high=None if high is None else _finite(high),
        )
        for time, value, (at_risk, events), (low, high) in zip(
            survival.index, survival.to_numpy(), counts, limits, strict=True
        )
    )
    median_ci: tuple[float | None, float | None] = (None, None)
    if bounds is not None:
        ci = median_survival_times(bounds)
        median_ci = (_finite(ci.iloc[0, 0]), _finite(ci.iloc[0, 1]))
    return GroupCurve(
        group=label,
        n=len(part),
        n_events=int(part["event"].sum()),
        median=_finite(fitter.median_survival_time_),
        median_ci=median_ci,
        table=points,
    )


def _aalen_johansen_variance(
    f: Floats, lagged: Floats, d: Floats, d_k: Floats, n: Floats
) -> Floats:
    """Collett's variance at every event time in O(m), by expanding the squares into sums."""
    with np.errstate(divide="ignore", invalid="ignore"):  # n = d only at the last time
        a = np.where(n > d, d / (n * (n - d)), 0.0)
    first = f**2 * np.cumsum(a) - 2 * f * np.cumsum(a * f) + np.cumsum(a * f**2)
    second = np.cumsum(lagged**2 * d_k * (n - d_k) / n**3)
    e = lagged * d_k / n**2
    third = f * np.cumsum(e) - np.cumsum(e * f)
    return np.maximum(first + second - 2 * third, 0.0)  # type: ignore[no-any-return]


def _loglog_ci(f: float, variance: float, z: float) -> tuple[float | None, float | None]:
    if not 0 < f < 1:
        return None, None
    centre = math.log(-math.log(f))
    se = math.sqrt(variance) / (f * abs(math.log(f)))
    return math.exp(-math.exp(centre + z * se)), math.exp(-math.exp(centre - z * se))


def _finite(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]  # numpy/pandas scalar
    return number if math.isfinite(number) else None
