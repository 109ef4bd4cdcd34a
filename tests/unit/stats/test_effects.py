"""Risk difference, risk ratio and odds ratio with robust CIs.

Published: the Physicians' Health Study aspirin table as analysed in Agresti A. Categorical
Data Analysis, 2nd ed. Wiley 2002, §2.2-2.3: myocardial infarction in 189 of 11,034 on
placebo and 104 of 11,037 on aspirin; difference 0.0077 with 95 % CI (0.005, 0.011), relative
risk 1.82, odds ratio 1.83 with 95 % CI (1.44, 2.33). With unit weights the robust variance is
the Wald / Katz / Woolf variance, so these must be reproduced.
Weighted: the same numbers as statsmodels GLM(var_weights=w).fit(cov_type="HC0") (binomial;
logit, log and identity links), the IPTW sandwich of Austin & Stuart, Stat Med 2015.
IPTW toy with a known answer: risk difference 0.1 in both strata of a confounder.
"""

import math
import warnings

import numpy as np
import pytest
import statsmodels.api as sm

from jiareg.stats.effects import binary_effects
from jiareg.stats.propensity import iptw_weights, propensity_scores


def _table(events: int, n: int) -> list[int]:
    return [1] * events + [0] * (n - events)


def test_agresti_aspirin_table() -> None:
    outcome = _table(189, 11034) + _table(104, 11037)
    treated = [True] * 11034 + [False] * 11037  # "treated" = placebo, as Agresti compares
    r = binary_effects(outcome, treated)
    assert (r.n_treated, r.n_control) == (11034, 11037)
    assert r.risk_difference.estimate == pytest.approx(0.0077, abs=5e-5)
    assert r.risk_difference.ci == pytest.approx((0.005, 0.011), abs=5e-4)
    assert r.risk_ratio.estimate == pytest.approx(1.82, abs=5e-3)
    assert r.odds_ratio.estimate == pytest.approx(1.83, abs=5e-3)
    assert r.odds_ratio.ci == pytest.approx((1.44, 2.33), abs=5e-3)
    # Woolf: SE(log OR) = √(1/189 + 1/10845 + 1/104 + 1/10933); Katz for the RR.
    woolf = math.sqrt(1 / 189 + 1 / 10845 + 1 / 104 + 1 / 10933)
    assert r.odds_ratio.se == pytest.approx(woolf, rel=1e-9)
    katz = math.sqrt(1 / 189 - 1 / 11034 + 1 / 104 - 1 / 11037)
    assert r.risk_ratio.se == pytest.approx(katz, rel=1e-9)


def test_weighted_equals_statsmodels_glm_hc0() -> None:
    rng = np.random.default_rng(2017)
    t = rng.random(300) < 0.45
    y = rng.random(300) < np.where(t, 0.35, 0.2)
    w = rng.uniform(0.3, 4.0, 300)
    r = binary_effects(y.tolist(), t.tolist(), w.tolist())
    design = sm.add_constant(t.astype(float))
    links = {"odds_ratio": sm.families.links.Logit(), "risk_ratio": sm.families.links.Log()}
    links["risk_difference"] = sm.families.links.Identity()
    for name, link in links.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # identity/log links leave the canonical domain
            fit = sm.GLM(y.astype(float), design, sm.families.Binomial(link), var_weights=w)
            result = fit.fit(cov_type="HC0")
        effect = getattr(r, name)
        ratio = name != "risk_difference"
        estimate = math.exp(result.params[1]) if ratio else result.params[1]
        assert effect.estimate == pytest.approx(estimate, rel=1e-8)
        assert effect.se == pytest.approx(result.bse[1], rel=1e-6)


def test_iptw_recovers_the_planted_risk_difference() -> None:
    """x = 0: treated 20/100 vs control 40/400; x = 1: treated 240/400 vs control 50/100.

    The risk difference is 0.1 in both strata, the crude one 260/500 − 90/500 = 0.34.
    Standardised to the whole population (ATE) the risks are 0.4 and 0.3: RR 4/3 and
    OR (0.4/0.6)/(0.3/0.7) = 14/9; standardised to the treated (ATT) 0.52 and 0.42.
    """
    x = [0] * 500 + [1] * 500
    treated = [True] * 100 + [False] * 400 + [True] * 400 + [False] * 100
    y = _table(20, 100) + _table(40, 400) + _table(240, 400) + _table(50, 100)
    crude = binary_effects(y, treated)
    assert crude.risk_difference.estimate == pytest.approx(0.34)
    scores = propensity_scores({"x": x}, treated).scores
    ate = binary_effects(y, treated, iptw_weights(scores, treated).weights)
    assert (ate.risk_treated, ate.risk_control) == pytest.approx((0.4, 0.3), abs=1e-9)
    assert ate.risk_difference.estimate == pytest.approx(0.1, abs=1e-9)
    assert ate.risk_ratio.estimate == pytest.approx(4 / 3, abs=1e-9)
    assert ate.odds_ratio.estimate == pytest.approx(14 / 9, abs=1e-9)
    low, high = ate.risk_difference.ci  # type: ignore[misc]
    assert low < 0.1 < high and high - low < 0.2
    att = binary_effects(y, treated, iptw_weights(scores, treated, estimand="ATT").weights)
    assert (att.risk_treated, att.risk_control) == pytest.approx((0.52, 0.42), abs=1e-9)


def test_zero_risk_leaves_only_the_difference() -> None:
    r = binary_effects([1, 0, 0, 0, 0, 0], [True, True, True, False, False, False])
    assert r.risk_difference.estimate == pytest.approx(1 / 3)
    assert r.risk_ratio.estimate is None and r.odds_ratio.ci is None


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="0/1"):
        binary_effects([2, 0], [True, False])
    with pytest.raises(ValueError, match="no unit"):
        binary_effects([1, 0], [True, False], [1.0, 0.0])
