"""Standardised mean differences (Austin 2009; Austin & Stuart 2015) against hand computation.

Formulas: Austin PC. Stat Med 2009;28:3083-3107, eq. 1 (continuous) and eq. 2 (binary);
weighted mean and variance: Austin PC, Stuart EA. Stat Med 2015;34:3661-3679, section 4.1.1.
Each expected value below is worked out in the test's docstring.
"""

import math

import pytest

from jiareg.stats.balance import balance_table, standardized_mean_difference


def test_continuous_smd_by_hand() -> None:
    """Treated 2, 4, 6: mean 4, s² 4. Control 1, 3: mean 2, s² 2. d = 2 / √3 = 1.1547."""
    r = standardized_mean_difference([2, 4, 6, 1, 3], [True, True, True, False, False])
    assert not r.binary
    assert (r.treated.mean, r.treated.variance) == (4.0, 4.0)
    assert (r.control.mean, r.control.variance) == (2.0, 2.0)
    assert r.smd == pytest.approx(2 / math.sqrt(3), abs=1e-12)


def test_binary_smd_by_hand() -> None:
    """p_T = 3/5, p_C = 1/5: d = 0.4 / √((0.24 + 0.16) / 2) = 0.4 / √0.2 = 0.8944."""
    values = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    r = standardized_mean_difference(values, [True] * 5 + [False] * 5)
    assert r.binary
    assert r.smd == pytest.approx(0.4 / math.sqrt(0.2), abs=1e-12)


def test_weighted_smd_by_hand() -> None:
    """Treated x = 0, 1 with w = 1, 3: mean 0.75; Σw = 4, Σw² = 10, so
    s² = 4 / (16 − 10) · (1·0.75² + 3·0.25²) = 0.5. Control x = 0, 1 with w = 1, 1: mean 0.5,
    s² = 2 / (4 − 2) · 0.5 = 0.5. Continuous: d = 0.25 / √0.5. Binary: variances
    0.75·0.25 and 0.25, d = 0.25 / √0.21875.
    """
    x, t, w = [0, 1, 0, 1], [True, True, False, False], [1, 3, 1, 1]
    continuous = standardized_mean_difference(x, t, w, binary=False)
    assert continuous.treated.variance == pytest.approx(0.5)
    assert continuous.smd == pytest.approx(0.25 / math.sqrt(0.5))
    binary = standardized_mean_difference(x, t, w)
    assert binary.smd == pytest.approx(0.25 / math.sqrt(0.21875))


def test_zero_weights_drop_units_like_removing_them() -> None:
    x, t = [2, 4, 6, 100, 1, 3, -50], [True, True, True, True, False, False, False]
    weighted = standardized_mean_difference(x, t, [1, 1, 1, 0, 1, 1, 0])
    assert weighted.smd == pytest.approx(2 / math.sqrt(3))


def test_constant_covariate() -> None:
    assert standardized_mean_difference([1, 1, 1, 1], [True, True, False, False]).smd == 0.0
    r = standardized_mean_difference([1, 1, 0, 0], [True, True, False, False])
    assert r.smd is None  # both groups constant but different: undefined


def test_balance_table_before_and_after() -> None:
    """Weights that make the groups identical on x give an SMD of 0 after weighting.

    Before, female: p_T = 2/3, p_C = 2/4, d = (1/6) / √((2/9 + 1/4) / 2).
    """
    covariates = {"age": [10, 12, 14, 10, 14, 12, 30], "female": [1, 1, 0, 1, 0, 1, 0]}
    treated = [True, True, True, False, False, False, False]
    table = balance_table(covariates, treated, [1, 1, 1, 1, 1, 1, 0])
    assert [r.covariate for r in table.before] == ["age", "female"]
    assert table.before[1].smd == pytest.approx((1 / 6) / math.sqrt((2 / 9 + 1 / 4) / 2))
    assert table.after is not None
    assert table.after[0].smd == pytest.approx(0.0, abs=1e-12)
    assert table.after[1].binary and table.after[1].smd == pytest.approx(0.0, abs=1e-12)
    assert table.imbalanced() == ()
    assert balance_table(covariates, treated).imbalanced() == ("age", "female")


@pytest.mark.parametrize(
    ("values", "treated", "weights", "message"),
    [
        ([1.0, float("nan")], [True, False], None, "missing"),
        ([1.0, 2.0], [True], None, "values"),
        ([1.0, 2.0], [True, False], [1.0, -1.0], "weights"),
        ([1.0, 2.0], [True, False], [1.0, 0.0], "no unit"),
    ],
)
def test_bad_input(
    values: list[float], treated: list[bool], weights: list[float] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        standardized_mean_difference(values, treated, weights)
