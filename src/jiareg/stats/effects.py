"""Effect of a treatment on a binary outcome (risk difference, risk ratio, odds ratio) and the
E-value for unmeasured confounding.

Estimates are weighted risks per group (weights = IPTW, 0/1 match flags, or none), with robust
(sandwich, HC0) standard errors: Var(p̂_g) = Σ_g w²(y − p̂_g)² / (Σ_g w)². This is exactly what
a binomial GLM of the outcome on the treatment alone gives with `var_weights=w` and
`cov_type="HC0"` in statsmodels (identity, log or logit link; the model is saturated, so its
fitted values are the group risks and the delta method is exact). Computing it directly keeps
a 0 % or 100 % risk from breaking the IRLS fit. The SE treats the weights as known, which is
conservative for the ATE when they come from an estimated propensity score (Lunceford &
Davidian 2004). With unit weights it reduces to the Wald (RD), Katz (RR) and Woolf (OR)
intervals. Floats throughout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

ROBUST_REFERENCE: Final = (
    "Austin PC, Stuart EA. Stat Med 2015;34:3661-3679 (robust variance for IPTW); "
    "Lunceford JK, Davidian M. Stat Med 2004;23:2937-2960; White H. Econometrica 1980;48:817-838"
)
E_VALUE_REFERENCE: Final = (
    "VanderWeele TJ, Ding P. Sensitivity analysis in observational research: introducing the "
    "E-value. Ann Intern Med 2017;167:268-274"
)
RARE_OUTCOME: Final = 0.15  # VanderWeele & Ding 2017: an outcome under 15 % counts as rare

Measure = Literal["RR", "OR", "HR"]


@dataclass(frozen=True, slots=True)
class Effect:
    """An effect measure with its robust CI; None where not estimable (a risk of 0 or 1)."""

    estimate: float | None
    ci: tuple[float, float] | None
    se: float | None  # of the difference, or of the log ratio


@dataclass(frozen=True, slots=True)
class BinaryEffects:
    """Weighted risks per group and the three contrasts (treated vs control)."""

    n_treated: int
    n_control: int
    risk_treated: float
    risk_control: float
    risk_difference: Effect
    risk_ratio: Effect
    odds_ratio: Effect
    confidence: float
    method: str = "weighted risks, robust (HC0 sandwich) CI"
    reference: str = ROBUST_REFERENCE


@dataclass(frozen=True, slots=True)
class EValue:
    """E-values of an estimate and of its CI limit nearest the null (1 if the CI crosses it)."""

    measure: Measure
    risk_ratio: float  # the estimate on the risk-ratio scale it was converted to
    point: float
    ci_limit: float | None
    reference: str = E_VALUE_REFERENCE


def binary_effects(
    outcome: Sequence[int],
    treated: Sequence[bool],
    weights: Sequence[float] | None = None,
    *,
    confidence: float = 0.95,
) -> BinaryEffects:
    """Risk difference, risk ratio and odds ratio of the outcome, treated vs control.

    Units with weight 0 (trimmed, unmatched) are left out. The RR and OR are None when a
    group's risk is 0 or 1 (log or logit undefined); the RD always exists.

    >>> r = binary_effects([1, 1, 0, 0, 1, 0, 0, 0], [True] * 4 + [False] * 4)
    >>> r.risk_difference.estimate, r.risk_ratio.estimate, r.odds_ratio.estimate
    (0.25, 2.0, 3.0)
    """
    y = np.asarray(outcome, dtype=np.float64)
    t = np.asarray(treated, dtype=bool)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    if not y.shape == t.shape == w.shape:
        raise ValueError(f"binary_effects: {y.size} outcomes, {t.size} flags, {w.size} weights")
    if not (np.isin(y, (0.0, 1.0)).all() and np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError("binary_effects: outcomes must be 0/1 and weights finite and >= 0")
    (p1, v1, n1), (p0, v0, n0) = (_risk(y[m], w[m]) for m in (t, ~t))
    z = float(norm.ppf(0.5 + confidence / 2))
    rd_se = math.sqrt(v1 + v0)
    rd = Effect(p1 - p0, (p1 - p0 - z * rd_se, p1 - p0 + z * rd_se), rd_se)
    if 0 < p0 < 1 and 0 < p1 < 1:
        rr = _ratio(p1 / p0, v1 / p1**2 + v0 / p0**2, z)
        odds_ratio = (p1 / (1 - p1)) / (p0 / (1 - p0))
        odds = _ratio(odds_ratio, v1 / (p1 * (1 - p1)) ** 2 + v0 / (p0 * (1 - p0)) ** 2, z)
    else:
        rr = odds = Effect(None, None, None)
    return BinaryEffects(n1, n0, p1, p0, rd, rr, odds, confidence)


def e_value(
    estimate: float,
    ci: tuple[float, float] | None = None,
    *,
    measure: Measure = "RR",
    outcome_risk: float | None = None,
) -> EValue:
    """The E-value: the minimum strength of association (risk-ratio scale) an unmeasured
    confounder would need with both treatment and outcome to explain the estimate away.

    E = RR + √(RR(RR − 1)) for RR ≥ 1; a protective RR < 1 is inverted first. The CI limit
    nearest 1 gives the second E-value; it is 1 when the CI includes 1. An OR or HR is first
    put on the RR scale (VanderWeele & Ding 2017, table): for a rare outcome (< 15 %,
    `outcome_risk`) RR ≈ OR ≈ HR; for a common one RR ≈ √OR and
    RR ≈ (1 − 0.5^√HR) / (1 − 0.5^√(1/HR)). Source: VanderWeele & Ding, Ann Intern Med 2017.

    >>> r = e_value(3.9, (1.8, 8.7))
    >>> round(r.point, 2), round(r.ci_limit, 2)
    (7.26, 3.0)
    """
    if estimate <= 0 or (ci is not None and not 0 < ci[0] <= estimate <= ci[1]):
        raise ValueError(f"e_value: expected 0 < low <= estimate <= high, got {estimate}, {ci}")
    if measure != "RR" and outcome_risk is None:
        raise ValueError("e_value: an OR or HR needs outcome_risk to choose the conversion")
    common = outcome_risk is not None and outcome_risk >= RARE_OUTCOME
    rr = _to_risk_ratio(estimate, measure, common)
    limit = None
    if ci is not None:
        low, high = (_to_risk_ratio(v, measure, common) for v in ci)
        limit = 1.0 if low <= 1 <= high else _e(low if rr > 1 else high)
    return EValue(measure, rr, _e(rr), limit)


def _e(rr: float) -> float:
    rr = rr if rr >= 1 else 1 / rr
    return rr + math.sqrt(rr * (rr - 1))


def _to_risk_ratio(value: float, measure: Measure, common: bool) -> float:
    if measure == "RR" or not common:
        return value
    if measure == "OR":
        return math.sqrt(value)
    return (1 - math.pow(0.5, math.sqrt(value))) / (1 - math.pow(0.5, math.sqrt(1 / value)))


def _risk(y: NDArray[np.float64], w: NDArray[np.float64]) -> tuple[float, float, int]:
    keep = w > 0
    y, w = y[keep], w[keep]
    if y.size == 0:
        raise ValueError("binary_effects: a group has no unit with weight > 0")
    total = float(w.sum())
    p = float((w * y).sum()) / total
    return p, float((w**2 * (y - p) ** 2).sum()) / total**2, int(y.size)


def _ratio(ratio: float, log_variance: float, z: float) -> Effect:
    """A ratio with its CI exp(log ratio ± z·SE), SE from the delta method on the log scale."""
    se = math.sqrt(log_variance)
    return Effect(ratio, (ratio * math.exp(-z * se), ratio * math.exp(z * se)), se)
