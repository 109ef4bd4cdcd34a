"""The typed `arms` and `comparison` keys of results.json (docs/reference/results.md).

`jiareg.study.comparative` fills them; `jiareg.study.results_json.Results` holds them; a
protocol without `arms:` writes neither key. Floats are rounded to 6 decimals.
"""

from __future__ import annotations

from pydantic import Field

from jiareg.study.endpoints.common import ResultModel

__all__ = [
    "AnalysisEffect",
    "ArmSummary",
    "BalanceEntry",
    "ComparisonResult",
    "EValueResult",
    "EndpointComparison",
    "Estimate",
    "IptwSummary",
    "MatchingSummary",
    "PropensitySummary",
    "SurvivalComparison",
    "Table1Cell",
    "Table1Row",
    "Term",
]


class ArmSummary(ResultModel):
    """One arm: how it is named, its drug (route) and its patients in the cohort."""

    label: str
    drug: str
    route: str | None
    n: int


class Table1Cell(ResultModel):
    """A covariate in one arm: patients with a value (`n`), and the mean and SD of a number
    or the count and proportion (`mean`) of a 0/1 term."""

    n: int
    mean: float | None
    sd: float | None
    count: int | None


class Table1Row(ResultModel):
    """One term of Table 1 (a number, or one level of a category) by arm, with the
    standardised mean difference treated vs reference (Austin 2009)."""

    term: str
    label: str
    binary: bool
    arms: dict[str, Table1Cell]
    smd: float | None


class Term(ResultModel):
    """A propensity-model term: log-odds coefficient, its SE and odds ratio."""

    term: str
    coef: float
    se: float
    odds_ratio: float


class PropensitySummary(ResultModel):
    """The propensity model: who it was fitted on and its terms.

    `n_left_out`: patients of each arm left out for a missing covariate (complete cases);
    `score_range`: [min, max] of the score in each arm (their overlap is the common support).
    """

    method: str
    reference: str
    n: int
    n_treated: int
    n_left_out: dict[str, int]
    converged: bool
    separated: bool
    terms: list[Term]
    score_range: dict[str, list[float]]


class BalanceEntry(ResultModel):
    """SMD of one term before adjustment and after each method (None: method not used)."""

    term: str
    label: str
    binary: bool
    unadjusted: float | None
    iptw: float | None = None
    matched: float | None = None


class IptwSummary(ResultModel):
    """The weights: estimand, stabilisation, trimming, effective sample sizes, largest weight."""

    estimand: str
    stabilized: bool
    trim: float | None
    n_trimmed: int
    ess: dict[str, float]
    max_weight: float
    reference: str


class MatchingSummary(ResultModel):
    """1:1 matching on the logit: caliper (logit units and in SDs), pairs, unmatched."""

    caliper: float
    caliper_sd: float
    pairs: int
    unmatched_treated: int
    reference: str


class Estimate(ResultModel):
    """An effect measure with its robust 95 % CI (None where not estimable)."""

    estimate: float | None
    ci95: list[float] | None


class AnalysisEffect(ResultModel):
    """One analysis of one endpoint: patients, risks per arm and the contrasts."""

    n: dict[str, int]
    risk: dict[str, float]
    risk_difference: Estimate
    risk_ratio: Estimate
    odds_ratio: Estimate


class EValueResult(ResultModel):
    """E-value of the risk ratio of the main analysis and of its CI limit nearest 1."""

    analysis: str
    point: float
    ci_limit: float | None
    reference: str


class EndpointComparison(ResultModel):
    """A binary endpoint compared between the arms.

    `evaluable`/`not_evaluable`: patients of the analysis sample per arm with/without an
    outcome (those without are left out of every analysis of this endpoint).
    """

    label: str
    evaluable: dict[str, int]
    not_evaluable: dict[str, int]
    unadjusted: AnalysisEffect
    iptw: AnalysisEffect | None = None
    matched: AnalysisEffect | None = None
    e_value: EValueResult | None = None
    method: str
    reference: str


class SurvivalComparison(ResultModel):
    """A `drug_survival` endpoint compared: the IPTW-weighted Cox model of the arm alone
    (`jiareg.study.comparative_survival`); `n` and `stopped`: timed patients and stops per
    arm, of those in the propensity model."""

    label: str
    n: dict[str, int]
    stopped: dict[str, int]
    hazard_ratio: Estimate
    method: str


class ComparisonResult(ResultModel):
    """results.json `comparison`: Table 1, the propensity model, balance and the effects."""

    treated: str
    reference: str
    methods: list[str]
    covariates: list[str]
    missing_covariates: str
    threshold: float = Field(description="|SMD| below which imbalance is negligible")
    table1: list[Table1Row]
    propensity: PropensitySummary
    balance: list[BalanceEntry]
    max_abs_smd: dict[str, float | None]
    iptw: IptwSummary | None = None
    matching: MatchingSummary | None = None
    effects: dict[str, EndpointComparison]
    balance_reference: str
    survival: dict[str, SurvivalComparison] | None = None
