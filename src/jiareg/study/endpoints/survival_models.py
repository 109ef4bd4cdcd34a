"""The results.json models of the `drug_survival` endpoint and their conversion from the
`jiareg.stats.drug_survival` results (a curve is kept at day 0, at every stop, where it
changes, and at the last day observed, so a registry-sized cohort's curve stays a few hundred
points)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiareg.study.endpoints.common import Number, ResultModel, SparseResultModel

if TYPE_CHECKING:
    from jiareg.stats import CompetingRisks, CoxResult
    from jiareg.stats.drug_survival import GroupCurve

__all__ = [
    "ArmSurvival",
    "CoxModel",
    "CoxTermResult",
    "IncidencePoint",
    "LogRankTest",
    "ReasonIncidence",
    "SurvivalPoint",
    "arm_survival",
    "cox_summary",
    "reason_incidence",
]


class SurvivalPoint(ResultModel):
    """The Kaplan–Meier proportion still on the drug just after `day`, with its 95 % CI."""

    day: Number
    at_risk: int
    stopped: int
    survival: Number
    ci_low: Number | None
    ci_high: Number | None


class ArmSurvival(ResultModel):
    """One arm: patients, stops, the 95 % CI of the median time on drug (the median itself is
    the headline: arm → days, None = not reached) and its curve."""

    n: int
    n_stopped: int
    median_days_ci95: list[Number | None]
    curve: list[SurvivalPoint]


class LogRankTest(ResultModel):
    """The log-rank test of equal drug survival in all arms (χ² on `df` degrees of freedom)."""

    statistic: float
    df: int
    p_value: float
    method: str


class IncidencePoint(ResultModel):
    """Cumulative incidence of stopping for one reason by `day`, with its 95 % CI."""

    day: Number
    at_risk: int
    stopped: int
    incidence: Number
    ci_low: Number | None
    ci_high: Number | None


class ReasonIncidence(ResultModel):
    """The Aalen–Johansen cumulative incidence curve of one stop reason."""

    reason: str
    n_stopped: int
    curve: list[IncidencePoint]


class CoxTermResult(ResultModel):
    """One term of the Cox model with its proportional-hazards test (Grambsch–Therneau)."""

    term: str
    coef: float
    se: float
    hazard_ratio: float
    ci95: list[float]
    z: float
    p_value: float
    ph_statistic: float
    ph_p_value: float


class CoxModel(SparseResultModel):
    """The Cox model, or why it was not fitted (`not_fitted`, the other fields absent)."""

    not_fitted: str | None = None
    n: int | None = None
    n_stopped: int | None = None
    excluded_missing_covariates: int | None = None
    reference_arm: str | None = None
    stratified_by: str | None = None
    terms: list[CoxTermResult] | None = None
    lr_statistic: float | None = None
    lr_df: int | None = None
    lr_p_value: float | None = None
    concordance: float | None = None
    ph_transform: str | None = None
    method: str | None = None
    warnings: list[str] | None = None

    @classmethod
    def not_fitted_because(cls, reason: str) -> CoxModel:
        """A model that was asked for and could not be fitted, and why."""
        return cls(not_fitted=reason)


def _day(time: float) -> Number:
    """A whole day as an int (the times are days)."""
    return int(time) if float(time).is_integer() else time


def arm_survival(curve: GroupCurve) -> ArmSurvival:
    """An arm's results from its Kaplan–Meier fit (rows at day 0 and at each stop)."""
    points = [
        SurvivalPoint(
            day=_day(p.time),
            at_risk=p.at_risk,
            stopped=p.events,
            survival=p.survival,
            ci_low=p.ci_low,
            ci_high=p.ci_high,
        )
        for i, p in enumerate(curve.table)
        if i in (0, len(curve.table) - 1) or p.events
    ]
    return ArmSurvival(
        n=curve.n,
        n_stopped=curve.n_events,
        median_days_ci95=list(curve.median_ci),
        curve=points,
    )


def reason_incidence(risks: CompetingRisks) -> list[ReasonIncidence]:
    """Each reason's curve, only where that reason's incidence changes."""
    return [
        ReasonIncidence(
            reason=cause.cause,
            n_stopped=cause.n_events,
            curve=[
                IncidencePoint(
                    day=_day(p.time),
                    at_risk=p.at_risk,
                    stopped=p.events,
                    incidence=p.incidence,
                    ci_low=p.ci_low,
                    ci_high=p.ci_high,
                )
                for p in cause.table
                if p.events
            ],
        )
        for cause in risks.causes
    ]


def cox_summary(
    result: CoxResult,
    reference: str | None,
    excluded: int,
    strata: str | None,
    notes: list[str] | None = None,
) -> CoxModel:
    """The results.json form of a fitted Cox model; `notes`: the fitter's convergence
    warnings (e.g. a covariate that separates stopping from staying), written when any."""
    ph = {test.covariate: test for test in result.ph_tests}
    return CoxModel(
        n=result.n,
        n_stopped=result.n_events,
        excluded_missing_covariates=excluded,
        reference_arm=reference,
        stratified_by=strata,
        terms=[
            CoxTermResult(
                term=t.covariate,
                coef=t.coef,
                se=t.se,
                hazard_ratio=t.hazard_ratio,
                ci95=list(t.ci),
                z=t.z,
                p_value=t.p_value,
                ph_statistic=ph[t.covariate].statistic,
                ph_p_value=ph[t.covariate].p_value,
            )
            for t in result.terms
        ],
        lr_statistic=result.lr_statistic,
        lr_df=result.lr_df,
        lr_p_value=result.lr_p_value,
        concordance=result.concordance,
        ph_transform=result.ph_transform,
        method=result.reference,
        **({"warnings": notes} if notes else {}),
    )
