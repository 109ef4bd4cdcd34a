"""Proportions with exact (Clopper–Pearson) confidence intervals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from scipy.stats import binomtest

CLOPPER_PEARSON: Final = "Clopper-Pearson exact"
CLOPPER_PEARSON_REFERENCE: Final = (
    "Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case "
    "of the binomial. Biometrika 1934;26(4):404-413"
)


@dataclass(frozen=True, slots=True)
class ProportionResult:
    """k of n, the proportion k/n and its exact CI (None for both when n is 0)."""

    k: int
    n: int
    estimate: float | None
    ci: tuple[float, float] | None
    confidence: float
    method: str = CLOPPER_PEARSON
    reference: str = CLOPPER_PEARSON_REFERENCE


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> ProportionResult:
    """The proportion k/n with its Clopper–Pearson exact two-sided CI.

    Boundaries: k = 0 gives a lower limit of exactly 0, k = n an upper limit of exactly 1;
    n = 0 gives no estimate and no CI. Source: Clopper & Pearson, Biometrika 1934.

    >>> r = clopper_pearson(7, 9)
    >>> round(r.estimate, 4), tuple(round(x, 4) for x in r.ci)
    (0.7778, (0.3999, 0.9719))
    """
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ValueError(f"clopper_pearson: expected 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return ProportionResult(k, n, None, None, confidence)
    interval = binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return ProportionResult(k, n, k / n, (float(interval.low), float(interval.high)), confidence)
