"""Wilcoxon signed-rank against hand computation (no software involved)."""

import math
from fractions import Fraction

import pytest

from jiareg.stats.paired import EXACT, NORMAL, wilcoxon_signed_rank


def test_exact_small_sample_by_hand() -> None:
    # Differences 1 2 3 -4 5 6: no ties, no zeros, n = 6 -> exact. W- = 4.
    # Subsets of {1..6} with rank sum <= 4: {}, {1}, {2}, {3}, {1,2}, {4}, {1,3} = 7 of 64.
    # Two-sided p = 2 * 7/64 = 0.21875.
    r = wilcoxon_signed_rank([10, 12, 9, 7, 8, 3], [11, 14, 12, 3, 13, 9])
    assert r.method == EXACT
    assert r.statistic == 4.0
    assert r.p_value == pytest.approx(14 / 64, abs=1e-12)
    assert r.median_difference == Fraction(5, 2)
    assert (r.n_pairs, r.n_incomplete, r.n_zero) == (6, 0, 0)


def test_all_improved_nine_patients() -> None:
    # 9 patients all decrease, distinct |d|: W+ = 0, exact two-sided p = 2 / 2^9 = 0.0039062.
    before = [11, 20, 4, 30, 6, 15, 2, 8, 12]
    after = [10, 18, 1, 26, 1, 9, -5, 0, 3]
    r = wilcoxon_signed_rank(before, after)
    assert r.method == EXACT
    assert r.p_value == pytest.approx(2 / 512, abs=1e-12)


def test_zeros_and_ties_use_normal_approximation_by_hand() -> None:
    # d = 0 1 -1 2 3 3 4; the zero is dropped -> n = 6, |d| ranks 1.5 1.5 3 4.5 4.5 6.
    # W- = 1.5; mean n(n+1)/4 = 10.5; var = n(n+1)(2n+1)/24 - sum(t^3 - t)/48
    # = 22.75 - 12/48 = 22.5; z = (|1.5 - 10.5| - 0.5)/sqrt(22.5); p = erfc(z / sqrt 2).
    r = wilcoxon_signed_rank([0, 0, 1, 1, 2, 3, 5], [0, 1, 0, 3, 5, 6, 9])
    z = (abs(1.5 - 10.5) - 0.5) / math.sqrt(22.5)
    assert r.method == NORMAL
    assert r.statistic == 1.5
    assert r.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), abs=1e-12)
    assert (r.n_pairs, r.n_zero) == (7, 1)
    assert r.median_difference == 2
    assert "dropped" in r.zero_method


def test_decimal_ties_are_detected_exactly() -> None:
    # 0.3 - 0.1 and 0.5 - 0.3 are both exactly 0.2 (in floats they differ), so it is a tie.
    r = wilcoxon_signed_rank(["0.1", "0.3", "1"], ["0.3", "0.5", "4"])
    assert r.method == NORMAL


def test_incomplete_pairs_are_left_out() -> None:
    r = wilcoxon_signed_rank([1, None, 3, 4], [2, 5, None, 8])
    assert (r.n_pairs, r.n_incomplete) == (2, 2)


def test_every_difference_zero_is_not_testable() -> None:
    r = wilcoxon_signed_rank([1, 2], [1, 2])
    assert (r.p_value, r.statistic, r.median_difference) == (None, None, 0)
    assert "not testable" in r.method


def test_no_pairs() -> None:
    r = wilcoxon_signed_rank([None], [1])
    assert (r.n_pairs, r.p_value, r.method) == (0, None, "no complete pairs")


def test_length_mismatch() -> None:
    with pytest.raises(ValueError, match="one of each per patient"):
        wilcoxon_signed_rank([1, 2], [1])


def test_every_difference_zero_counts_the_zeros() -> None:
    """Issue #15: with every difference 0, `n_zero` is the number of pairs, not 0."""
    r = wilcoxon_signed_rank([1, 2, 3, None], [1, 2, 3, 4])
    assert (r.n_pairs, r.n_incomplete, r.n_zero) == (3, 1, 3)
    assert r.statistic is None and r.p_value is None


def test_no_complete_pairs_has_no_zeros() -> None:
    r = wilcoxon_signed_rank([None], [1])
    assert (r.n_pairs, r.n_zero) == (0, 0)
