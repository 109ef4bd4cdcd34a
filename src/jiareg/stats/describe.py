"""Descriptive statistics per variable and timepoint: median, quartiles, range, n, n missing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from jiareg.stats._values import exact_values

QUANTILE_METHOD: Final = "linear interpolation (numpy default 'linear', Hyndman & Fan type 7)"
QUANTILE_REFERENCE: Final = (
    "Hyndman RJ, Fan Y. Sample quantiles in statistical packages. Am Stat 1996;50(4):361-365"
)


@dataclass(frozen=True, slots=True)
class Summary:
    """Median, quartiles and range of the collected values, computed exactly.

    Every statistic is None when no value is present.
    """

    n: int
    n_missing: int
    median: Fraction | None
    q1: Fraction | None
    q3: Fraction | None
    min: Fraction | None
    max: Fraction | None
    method: str = QUANTILE_METHOD
    reference: str = QUANTILE_REFERENCE


def quantile(sorted_values: list[Fraction], p: Fraction) -> Fraction:
    """Type-7 sample quantile of already sorted values, in exact arithmetic.

    h = (n - 1)·p; the result is x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋+1] - x[⌊h⌋]) (0-based), which is
    numpy's default `method="linear"` and R's `quantile(type = 7)`.
    Source: Hyndman & Fan, Am Stat 1996;50:361-365, definition 7.

    >>> quantile([Fraction(1), Fraction(2), Fraction(4), Fraction(8)], Fraction(1, 4))
    Fraction(7, 4)
    """
    if not sorted_values:
        raise ValueError("quantile of no values")
    h = (len(sorted_values) - 1) * p
    lower = int(h)  # h >= 0, so int() is the floor
    if lower + 1 >= len(sorted_values):
        return sorted_values[lower]
    return sorted_values[lower] + (h - lower) * (sorted_values[lower + 1] - sorted_values[lower])


def describe(values: Iterable[object]) -> Summary:
    """Median, first and third quartile (type 7), min, max, n and n missing of `values`.

    Values are read exactly (`to_fraction` of their decimal text); missing values (None, NaN,
    pandas NA, "") are counted in `n_missing` and left out of every statistic.

    >>> s = describe([11, 4, 20, None, 7])
    >>> (s.n, s.n_missing, s.median, s.q1, s.q3, s.min, s.max)
    (4, 1, Fraction(9, 1), Fraction(25, 4), Fraction(53, 4), Fraction(4, 1), Fraction(20, 1))
    """
    present, missing = exact_values(values)
    if not present:
        return Summary(0, missing, None, None, None, None, None)
    ordered = sorted(present)
    return Summary(
        n=len(ordered),
        n_missing=missing,
        median=quantile(ordered, Fraction(1, 2)),
        q1=quantile(ordered, Fraction(1, 4)),
        q3=quantile(ordered, Fraction(3, 4)),
        min=ordered[0],
        max=ordered[-1],
    )
