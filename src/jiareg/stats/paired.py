"""Paired comparison of baseline and follow-up: Wilcoxon signed-rank test."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from scipy.stats import wilcoxon

from jiareg.stats._values import exact_or_none
from jiareg.stats.describe import quantile

EXACT_MAX_PAIRS: Final = 50
"""Largest number of non-zero differences for which the exact null distribution is used."""

ZERO_METHOD: Final = "wilcox"
ZERO_METHOD_TEXT: Final = "zero differences dropped before ranking (Wilcoxon's method, as R)"
EXACT: Final = "exact"
NORMAL: Final = "normal approximation with tie correction and continuity correction"
WILCOXON_REFERENCE: Final = (
    "Wilcoxon F. Individual comparisons by ranking methods. Biometrics Bull 1945;1(6):80-83; "
    "Hollander M, Wolfe DA. Nonparametric Statistical Methods, 2nd ed. 1999, ch. 3"
)


@dataclass(frozen=True, slots=True)
class WilcoxonResult:
    """Two-sided Wilcoxon signed-rank test of follow-up minus baseline.

    `statistic` is min(W+, W-) over the non-zero differences; `p_value` and `statistic` are
    None when no non-zero difference is left (`method` then says why).
    """

    n_pairs: int
    n_incomplete: int
    n_zero: int
    statistic: float | None
    p_value: float | None
    median_difference: Fraction | None
    method: str
    zero_method: str = ZERO_METHOD_TEXT
    reference: str = WILCOXON_REFERENCE


def wilcoxon_signed_rank(baseline: Sequence[object], followup: Sequence[object]) -> WilcoxonResult:
    """Paired two-sided Wilcoxon signed-rank test and the median paired difference.

    Pairs with either value missing are left out (counted in `n_incomplete`). Differences are
    follow-up − baseline, computed exactly. Zero differences are dropped (zero_method
    "wilcox", R's `wilcox.test` behaviour). The p-value is exact when no |difference| is tied,
    no zero was dropped and at most 50 differences remain; otherwise the normal approximation
    with tie-corrected variance and continuity correction (R's default `correct = TRUE`).
    `median_difference` is the type-7 median of all complete differences, zeros included.

    >>> r = wilcoxon_signed_rank([10, 12, 9, 7, 8, 3], [11, 14, 12, 3, 13, 9])
    >>> r.statistic, r.p_value, r.method, r.median_difference
    (4.0, 0.21875, 'exact', Fraction(5, 2))
    """
    if len(baseline) != len(followup):
        raise ValueError(
            f"wilcoxon_signed_rank: {len(baseline)} baseline values but "
            f"{len(followup)} follow-up values; expected one of each per patient"
        )
    differences = [
        after - before
        for before, after in zip(exact_or_none(baseline), exact_or_none(followup), strict=True)
        if before is not None and after is not None
    ]
    n_incomplete = len(baseline) - len(differences)
    nonzero = [d for d in differences if d != 0]
    median = quantile(sorted(differences), Fraction(1, 2)) if differences else None
    n_zero = len(differences) - len(nonzero)
    if not nonzero:
        why = "no complete pairs" if not differences else "not testable: every difference is 0"
        return WilcoxonResult(len(differences), n_incomplete, n_zero, None, None, median, why)
    tied = len({abs(d) for d in nonzero}) < len(nonzero)
    exact = not tied and n_zero == 0 and len(nonzero) <= EXACT_MAX_PAIRS
    test = wilcoxon(
        [float(d) for d in nonzero],
        zero_method=ZERO_METHOD,
        correction=not exact,
        method="exact" if exact else "approx",
    )
    return WilcoxonResult(
        n_pairs=len(differences),
        n_incomplete=n_incomplete,
        n_zero=n_zero,
        statistic=float(test.statistic),
        p_value=float(test.pvalue),
        median_difference=median,
        method=EXACT if exact else NORMAL,
    )
