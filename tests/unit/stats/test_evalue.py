"""E-values against VanderWeele TJ, Ding P. Ann Intern Med 2017;167:268-274.

The paper's example (breastfeeding and infant death from respiratory infection): RR 3.9,
95 % CI 1.8-8.7, E-value 7.26 for the estimate and 3.0 for the lower limit. The other
expected values apply the paper's formulas by hand: E = RR + √(RR(RR − 1)), a protective
RR inverted first, an OR of a common outcome (≥ 15 %) converted by √OR and an HR by
(1 − 0.5^√HR) / (1 − 0.5^√(1/HR)).
"""

import math

import pytest

from jiareg.stats.effects import e_value


def test_paper_example() -> None:
    r = e_value(3.9, (1.8, 8.7))
    assert r.point == pytest.approx(7.26, abs=5e-3)
    assert r.ci_limit == pytest.approx(3.0, abs=5e-3)
    assert r.measure == "RR" and "VanderWeele" in r.reference


def test_protective_risk_ratio_uses_the_upper_limit() -> None:
    """RR 0.80 (0.71-0.91): 1/0.8 = 1.25 → 1.25 + √(1.25·0.25) = 1.809; 1/0.91 → 1.429."""
    r = e_value(0.80, (0.71, 0.91))
    assert r.point == pytest.approx(1.25 + math.sqrt(1.25 * 0.25))
    assert r.ci_limit == pytest.approx(1 / 0.91 + math.sqrt(1 / 0.91 * (1 / 0.91 - 1)))
    assert round(r.point, 2) == 1.81 and round(r.ci_limit, 2) == 1.43  # type: ignore[arg-type]


def test_ci_including_one_gives_one() -> None:
    assert e_value(1.3, (0.9, 1.8)).ci_limit == 1.0
    assert e_value(1.0).point == 1.0


def test_odds_ratio_conversion() -> None:
    """Rare outcome: RR ≈ OR. Common: RR ≈ √OR, so OR 4 → RR 2 → E = 2 + √2."""
    assert e_value(4.0, measure="OR", outcome_risk=0.05).point == pytest.approx(4 + math.sqrt(12))
    common = e_value(4.0, (2.25, 9.0), measure="OR", outcome_risk=0.3)
    assert common.risk_ratio == pytest.approx(2.0)
    assert common.point == pytest.approx(2 + math.sqrt(2))
    assert common.ci_limit == pytest.approx(1.5 + math.sqrt(1.5 * 0.5))


def test_hazard_ratio_conversion() -> None:
    """Common outcome HR 2: RR = (1 − 0.5^√2) / (1 − 0.5^√0.5) = 1.6125."""
    r = e_value(2.0, measure="HR", outcome_risk=0.5)
    rr = (1 - 0.5 ** math.sqrt(2)) / (1 - 0.5 ** math.sqrt(0.5))
    assert r.risk_ratio == pytest.approx(rr) and round(rr, 4) == 1.6125
    assert r.point == pytest.approx(rr + math.sqrt(rr * (rr - 1)))


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="outcome_risk"):
        e_value(2.0, measure="OR")
    with pytest.raises(ValueError, match="low <= estimate <= high"):
        e_value(2.0, (2.5, 3.0))
