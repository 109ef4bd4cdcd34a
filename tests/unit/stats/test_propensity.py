"""Propensity scores, IPTW and caliper matching against toys whose answers are known.

The confounded toy: a binary confounder x; with x = 0, 100 treated and 400 controls; with
x = 1, 400 treated and 100 controls. A logistic model on x alone is saturated, so its MLE is
the 2×2 table: intercept = logit(100/500) = log(1/4), coefficient = log OR = log 16, and the
coefficient's SE is Woolf's √(1/100 + 1/400 + 1/400 + 1/100) (Agresti, Categorical Data
Analysis, 2nd ed. 2002, §3.1 and §5.1). Weighting by the inverse of those scores balances x
exactly (Rosenbaum & Rubin, Biometrika 1983: the score is a balancing score).
Matching: Austin PC. Pharm Stat 2011;10:150-161 (caliper 0.2 pooled SD of the logit).
"""

import math
from statistics import variance

import numpy as np
import pytest

from jiareg.stats.balance import standardized_mean_difference
from jiareg.stats.propensity import iptw_weights, match_on_logit, propensity_scores

X = [0] * 500 + [1] * 500
TREATED = [True] * 100 + [False] * 400 + [True] * 400 + [False] * 100


def test_saturated_logistic_model_is_the_two_by_two_table() -> None:
    model = propensity_scores({"x": X}, TREATED)
    intercept, x = model.coefficients
    assert model.converged and (model.n, model.n_treated) == (1000, 500)
    assert intercept.coef == pytest.approx(math.log(1 / 4), abs=1e-8)
    assert x.coef == pytest.approx(math.log(16), abs=1e-8)
    assert x.odds_ratio == pytest.approx(16, rel=1e-8)
    assert x.se == pytest.approx(math.sqrt(1 / 100 + 1 / 400 + 1 / 400 + 1 / 100), rel=1e-6)
    assert model.scores[0] == pytest.approx(0.2) and model.scores[-1] == pytest.approx(0.8)
    assert model.logits[0] == pytest.approx(math.log(0.25))


def test_perfect_separation_is_reported() -> None:
    """Site 0 only treated, site 1 only controls: no overlap, scores pinned at 0 and 1."""
    model = propensity_scores({"site": [0, 0, 0, 1, 1, 1]}, [True] * 3 + [False] * 3)
    assert model.separated
    assert min(model.scores[:3]) > 0.999 and max(model.scores[3:]) < 0.001
    assert not propensity_scores({"x": X}, TREATED).separated


def test_ate_weights_balance_the_confounder_exactly() -> None:
    """ATE: treated with x = 0 get 1/0.2 = 5, controls with x = 0 get 1/0.8 = 1.25."""
    scores = propensity_scores({"x": X}, TREATED).scores
    w = iptw_weights(scores, TREATED)
    assert w.weights[0] == pytest.approx(5.0) and w.weights[100] == pytest.approx(1.25)
    assert standardized_mean_difference(X, TREATED).smd == pytest.approx(0.6 / math.sqrt(0.16))
    after = standardized_mean_difference(X, TREATED, w.weights)
    assert after.smd == pytest.approx(0.0, abs=1e-9)
    # Kish ESS of the treated: (100·5 + 400·1.25)² / (100·25 + 400·1.5625) = 320
    assert w.ess_treated == pytest.approx(320.0)


def test_stabilised_and_att_weights() -> None:
    """Stabilised ATE (Xu 2010): × P(T) = 0.5. ATT: treated 1, controls e/(1 − e)."""
    scores = propensity_scores({"x": X}, TREATED).scores
    stable = iptw_weights(scores, TREATED, stabilized=True)
    assert stable.weights[0] == pytest.approx(2.5) and stable.weights[100] == pytest.approx(0.625)
    att = iptw_weights(scores, TREATED, estimand="ATT")
    assert att.weights[0] == 1.0
    assert att.weights[100] == pytest.approx(0.25) and att.weights[-1] == pytest.approx(4.0)
    assert standardized_mean_difference(X, TREATED, att.weights).smd == pytest.approx(0, abs=1e-9)
    with pytest.raises(ValueError, match="ATE weights only"):
        iptw_weights(scores, TREATED, estimand="ATT", stabilized=True)


def test_trimming_and_truncation() -> None:
    scores = [0.05, 0.5, 0.5, 0.95, 0.2, 0.4]
    treated = [True, True, False, False, True, False]
    trimmed = iptw_weights(scores, treated, trim=0.1)  # Crump 2009: keep 0.1 <= e <= 0.9
    assert trimmed.n_trimmed == 2
    assert trimmed.weights[0] == 0.0 and trimmed.weights[3] == 0.0
    assert trimmed.weights[1] == pytest.approx(2.0)
    truncated = iptw_weights(scores, treated, truncate=10)
    low, high = truncated.truncated_at  # type: ignore[misc]
    raw = [1 / 0.05, 2, 2, 1 / 0.05, 5, 1 / 0.6]
    assert (low, high) == pytest.approx(tuple(np.percentile(raw, [10, 90])))
    assert max(truncated.weights) == pytest.approx(high)


def test_bad_model_input() -> None:
    with pytest.raises(ValueError, match="no covariates"):
        propensity_scores({}, [True, False])
    with pytest.raises(ValueError, match="both groups"):
        propensity_scores({"x": [1, 2]}, [True, True])
    with pytest.raises(ValueError, match="missing"):
        propensity_scores({"x": [1, float("nan")]}, [True, False])


def test_scores_outside_the_open_interval_are_refused() -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        iptw_weights([0.0, 0.5], [True, False])


def test_matching_respects_the_caliper_and_uses_each_control_once() -> None:
    """Treated at 0.0, 0.05 and 3.0 on the logit; controls at 0.02, 0.5 and 0.9.

    Variances: treated s² = 5.90167/2 = 2.95083, controls s² = 0.38827/2 = 0.19413; pooled
    SD = √((2.95083 + 0.19413)/2) = 1.25399, caliper = 0.2 × 1.25399 = 0.25080. Unit 0
    takes 0.02; unit 1's nearest (0.02) is used, the next (0.5) is 0.45 away: unmatched;
    unit 2 (3.0) has nothing within 0.25: unmatched.
    """
    logits = [0.0, 0.05, 3.0, 0.02, 0.5, 0.9]
    treated = [True, True, True, False, False, False]
    m = match_on_logit(logits, treated)
    assert m.caliper == pytest.approx(0.25080, abs=5e-6)
    assert m.caliper == pytest.approx(
        0.2 * math.sqrt((variance(logits[:3]) + variance(logits[3:])) / 2)
    )
    assert m.pairs == ((0, 3),)
    assert m.n_unmatched_treated == 2
    assert m.weights == (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    wide = match_on_logit(logits, treated, caliper_sd=10)
    assert wide.pairs == ((0, 3), (1, 4), (2, 5))


def test_greedy_matching_equals_a_naive_scan() -> None:
    """The O(n log n) pool gives the same pairs as scanning every unused control."""
    rng = np.random.default_rng(14)
    logits = np.round(rng.normal(size=400), 3)
    treated = rng.random(400) < 0.4
    m = match_on_logit(logits.tolist(), treated.tolist(), seed=7)
    caliper = m.caliper
    used: set[int] = set()
    expected = []
    controls = np.flatnonzero(~treated)
    for unit in np.random.default_rng(7).permutation(np.flatnonzero(treated)):
        free = [c for c in controls if c not in used]
        best = min(free, key=lambda c: (abs(logits[c] - logits[unit]), logits[c], c))
        if abs(logits[best] - logits[unit]) <= caliper:
            used.add(int(best))
            expected.append((int(unit), int(best)))
    assert m.pairs == tuple(sorted(expected))
    assert len({c for _, c in m.pairs}) == len(m.pairs)
