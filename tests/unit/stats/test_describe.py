"""describe(): exact type-7 quartiles, checked against hand computation and numpy's default."""

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from jiareg.stats.describe import describe, quantile


def test_poster_like_active_joints() -> None:
    # Hand computation, type 7 (h = (n-1)p, 0-based): sorted 2 4 6 8 11 12 15 20 30, n = 9:
    # median x[4] = 11; q1 x[2] = 6; q3 x[6] = 15.
    s = describe([11, 20, 4, 30, 6, 15, 2, 8, 12])
    assert (s.n, s.n_missing, s.median, s.q1, s.q3, s.min, s.max) == (9, 0, 11, 6, 15, 2, 30)
    assert "type 7" in s.method


def test_interpolates_exactly_on_decimals() -> None:
    # 0.1 0.2 0.45 0.5: h = 0.75 for q1 -> 0.1 + 0.75 * 0.1 = 0.175 exactly
    s = describe(["0.45", 0.1, 0.2, 0.5])
    assert s.q1 == Fraction("0.175")
    assert s.median == Fraction("0.325")
    assert s.q3 == Fraction("0.4625")


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 10])
def test_matches_numpy_linear(n: int) -> None:
    values = [3.5, 0.25, 7.0, 1.5, 9.75, 2.0, 4.5, 6.25, 8.0, 0.5][:n]
    s = describe(values)
    q1, med, q3 = np.percentile(values, [25, 50, 75])  # numpy default method="linear"
    assert (float(s.q1), float(s.median), float(s.q3)) == pytest.approx((q1, med, q3), abs=1e-12)


def test_missing_values_are_counted_not_used() -> None:
    s = describe([None, float("nan"), pd.NA, "", 5])
    assert (s.n, s.n_missing, s.median, s.q1, s.q3) == (1, 4, 5, 5, 5)


def test_no_values() -> None:
    s = describe([None, None])
    assert (s.n, s.n_missing, s.median, s.min) == (0, 2, None, None)


def test_quantile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        quantile([], Fraction(1, 2))
