"""Clopper–Pearson exact intervals against published values.

Reference values: 7/9 -> (0.3999, 0.9719) and 9/9 -> (0.6637, 1) as in R
`binom.test(7, 9)$conf.int` / `binom.test(9, 9)$conf.int`; 0/9 upper = 1 - 0.025^(1/9)
= 0.3363 (closed form for k = 0); 6/9 -> (0.2993, 0.9251) from R `binom.test(6, 9)`.
"""

import pytest

from jiareg.stats.proportions import clopper_pearson


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        pytest.param(7, 9, 0.3999, 0.9719, id="7of9"),
        pytest.param(9, 9, 0.6637, 1.0, id="9of9"),
        pytest.param(6, 9, 0.2993, 0.9251, id="6of9"),
        pytest.param(0, 9, 0.0, 1 - 0.025 ** (1 / 9), id="0of9-closed-form"),
        pytest.param(1, 1, 0.025, 1.0, id="1of1-closed-form"),
    ],
)
def test_clopper_pearson_reference(k: int, n: int, low: float, high: float) -> None:
    r = clopper_pearson(k, n)
    assert r.ci is not None
    assert r.ci == pytest.approx((low, high), abs=5e-5)
    assert r.estimate == pytest.approx(k / n)
    assert (r.k, r.n, r.confidence) == (k, n, 0.95)
    assert "Clopper" in r.method


def test_boundaries_are_exactly_0_and_1() -> None:
    assert clopper_pearson(0, 5).ci[0] == 0.0  # type: ignore[index]
    assert clopper_pearson(5, 5).ci[1] == 1.0  # type: ignore[index]


def test_empty_denominator_has_no_estimate() -> None:
    r = clopper_pearson(0, 0)
    assert (r.estimate, r.ci) == (None, None)


@pytest.mark.parametrize(("k", "n"), [(4, 3), (-1, 3), (0, -1)])
def test_bad_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError, match="expected 0 <= k <= n"):
        clopper_pearson(k, n)
