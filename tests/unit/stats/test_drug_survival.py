"""Drug survival: Kaplan–Meier by group, log-rank, Aalen–Johansen and Cox against references.

- Log-rank, lung data by sex (R survival: `survdiff(Surv(time, status) ~ sex, data = lung)`,
  documented output chisq = 10.3 on 1 df, p = 0.00131; `survfit` medians 270 and 426 days).
- Log-rank, R `survdiff` on a six-subject example (chisq 0.384615, p 0.535143), as in
  lifelines' own tests (lifelines/tests/test_statistics.py,
  test_rank_test_output_against_R_with_censorship).
- Cox, Rossi recidivism data: Fox J, Weisberg S. Cox Proportional-Hazards Regression for
  Survival Data in R (appendix to An R Companion to Applied Regression, 2011): coefficients
  fin −0.379, age −0.0574, race 0.314, wexp −0.150, mar −0.434, paro −0.0849, prio 0.0915;
  likelihood-ratio test 33.27 on 7 df. The 7-digit values and SEs are R's, pinned in
  lifelines/tests/test_estimation.py (test_coef_output_against_R_super_accurate,
  test_std_error_against_R, test_coef_output_against_R_with_strata_super_accurate,
  test_that_adding_strata_will_change_c_index: concordance 0.6124492 with strata(wexp)).
- Weighted robust Cox: R `coxph(Surv(T, E) ~ var1 + var2, weights = var3, robust = TRUE)` on
  five rows (coefficients 7.680, −0.915; robust SE 2.097, 0.827; lifelines'
  test_robust_errors_with_trivial_weights_is_the_same_than_R).
- PH test: R `cox.zph(transform = "rank")` on lifelines' regression dataset (var1 1.4938,
  var2 0.8793, var3 2.2686, p 0.1320) and `cox.zph(transform = "km")` on five rows (1.013802),
  from lifelines/tests/test_statistics.py; Rossi with the km transform: age 11.03 and wexp
  7.48 (lifelines docs, "Testing the proportional hazard assumptions").
- Aalen–Johansen: a small example with tied stop times worked by hand below, and lifelines'
  AalenJohansenFitter on data without ties (where it does not jitter).
Tolerances: half a unit of the last printed digit (1e-6 for 7 digits); the PH statistics to
1e-3 (rank, as lifelines tests them) and 1e-4 (five rows), the fits stopping at different steps.
"""

from fractions import Fraction

import numpy as np
import pytest
from lifelines import AalenJohansenFitter
from lifelines.datasets import load_lung, load_regression_dataset, load_rossi

from jiareg.stats.drug_survival import (
    CoxResult,
    PhTransform,
    cox_model,
    cumulative_incidence,
    kaplan_meier_by_group,
)
from jiareg.stats.propensity import iptw_weights

ROSSI_TERMS = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]


def _rossi_fit(
    terms: list[str], strata: list[int] | None = None, ph_transform: PhTransform = "rank"
) -> CoxResult:
    rossi = load_rossi()
    covariates = {name: rossi[name].tolist() for name in terms}
    events = rossi["arrest"].tolist()
    return cox_model(
        rossi["week"].tolist(), events, covariates, strata=strata, ph_transform=ph_transform
    )


def test_log_rank_lung_by_sex() -> None:
    lung = load_lung()
    r = kaplan_meier_by_group(
        lung["time"].tolist(), lung["status"].astype(bool).tolist(), lung["sex"].tolist()
    )
    assert r.log_rank is not None
    assert r.log_rank.statistic == pytest.approx(10.3, abs=0.05)
    assert r.log_rank.p_value == pytest.approx(0.00131, abs=5e-6)
    assert r.log_rank.df == 1
    male, female = r.curves
    assert (male.group, male.n, male.n_events, male.median) == ("1", 138, 112, 270.0)
    assert (female.group, female.n, female.n_events, female.median) == ("2", 90, 53, 426.0)
    assert male.table[0].at_risk == 138
    assert all(p.ci_low is None or p.ci_low <= p.survival <= p.ci_high for p in male.table)  # type: ignore[operator]


def test_log_rank_small_r_example() -> None:
    r = kaplan_meier_by_group([10, 20, 30, 10, 20, 50], [1, 0, 1, 1, 0, 1], [1, 1, 1, 0, 0, 0])
    assert r.log_rank is not None
    assert r.log_rank.statistic == pytest.approx(0.384615, abs=1e-6)
    assert r.log_rank.p_value == pytest.approx(0.535143, abs=1e-6)


def test_single_group_has_no_test() -> None:
    r = kaplan_meier_by_group([3, 5, 8], [True, False, True], ["tocilizumab"] * 3)
    assert r.log_rank is None
    assert [p.survival for p in r.curves[0].table] == pytest.approx([1.0, 2 / 3, 2 / 3, 0.0])


def test_weighted_curves_standardise_over_the_confounder() -> None:
    """Without censoring, the ATE-weighted Kaplan–Meier curve is the weighted empirical
    survival: each stratum x counts n_x / n (Cole & Hernán 2004). Stratum x = 0: treated stop
    at 1 and 3, six controls; x = 1: treated stop at 2, 2, 4, 4, 4, 4, two controls. Scores
    0.25 and 0.75; n_0 = n_1 = 8. Treated: S(1) = ½·½ + ½·1 = 0.75, S(2) = ½·½ + ½·⅔,
    S(3) = ½·⅔, S(4) = 0 (unweighted S(1) would be 7/8).
    """
    treated_times = [1, 3, 2, 2, 4, 4, 4, 4]
    durations = treated_times + [5] * 8
    events = [True] * 8 + [False] * 8
    arm = ["treated"] * 8 + ["control"] * 8
    scores = [0.25] * 2 + [0.75] * 6 + [0.25] * 6 + [0.75] * 2
    weights = iptw_weights(scores, [a == "treated" for a in arm]).weights
    r = kaplan_meier_by_group(durations, events, arm, weights)
    assert r.log_rank is None and "weighted" in r.method
    treated = next(c for c in r.curves if c.group == "treated")
    by_time = {p.time: p for p in treated.table}
    expected = {1: 0.75, 2: 0.25 + 1 / 3, 3: 1 / 3, 4: 0.0}
    assert {t: by_time[t].survival for t in expected} == pytest.approx(expected)
    assert (by_time[2].at_risk, by_time[2].events) == (7, 2)  # patients, not weights
    assert treated.median == 3.0 and treated.median_ci == (None, None)
    assert all(p.ci_low is None and p.ci_high is None for p in treated.table)


def test_cox_rossi_matches_r() -> None:
    r = _rossi_fit(ROSSI_TERMS)
    expected = [-0.3794222, -0.0574377, 0.3138998, -0.1497957, -0.4337039, -0.0848711, 0.0914971]
    assert [t.covariate for t in r.terms] == ROSSI_TERMS
    assert [t.coef for t in r.terms] == pytest.approx(expected, abs=1e-6)
    se = [0.19138, 0.02200, 0.30799, 0.21222, 0.38187, 0.19576, 0.02865]
    assert [t.se for t in r.terms] == pytest.approx(se, abs=5e-5)
    fin = r.terms[0]
    assert fin.hazard_ratio == pytest.approx(np.exp(-0.3794222), rel=1e-6)
    assert fin.ci[0] < fin.hazard_ratio < fin.ci[1] < 1
    assert r.lr_statistic == pytest.approx(33.27, abs=5e-3) and r.lr_df == 7
    assert r.concordance == pytest.approx(0.640, abs=5e-4)
    assert (r.n, r.n_events, r.stratified, r.robust) == (432, 114, False, False)


def test_cox_rossi_ph_check_flags_age_and_wexp() -> None:
    r = _rossi_fit(ROSSI_TERMS, ph_transform="km")
    tests = {t.covariate: t for t in r.ph_tests}
    assert tests["age"].statistic == pytest.approx(11.03, abs=5e-3)
    assert tests["wexp"].statistic == pytest.approx(7.48, abs=5e-3)
    assert {name for name, t in tests.items() if t.p_value < 0.05} == {"age", "wexp"}


def test_cox_stratified_matches_r() -> None:
    by_race = _rossi_fit(
        ["fin", "age", "wexp", "mar", "paro", "prio"], strata=load_rossi()["race"].tolist()
    )
    expected = [-0.3788, -0.0576, -0.1427, -0.4388, -0.0858, 0.0922]
    assert [t.coef for t in by_race.terms] == pytest.approx(expected, abs=5e-5)
    assert by_race.stratified
    by_wexp = _rossi_fit(
        ["fin", "age", "race", "mar", "paro", "prio"], strata=load_rossi()["wexp"].tolist()
    )
    assert by_wexp.concordance == pytest.approx(0.6124492, abs=1e-6)


def test_cox_weighted_robust_matches_r() -> None:
    var1 = [0.209325, 0.693919, 0.443804, 0.065636, 0.386294]
    var2 = [0.184677, 0.071893, 1.364646, 0.098375, 1.663092]
    time = [7.335846, 5.269797, 11.684092, 12.678458, 6.601666]
    r = cox_model(time, [True] * 5, {"var1": var1, "var2": var2}, weights=[0.75] * 5)
    assert r.robust
    assert [t.coef for t in r.terms] == pytest.approx([7.680, -0.915], abs=5e-3)
    assert [t.se for t in r.terms] == pytest.approx([2.097, 0.827], abs=5e-3)


def test_ph_test_rank_transform_matches_r() -> None:
    data = load_regression_dataset()
    covariates = {name: data[name].tolist() for name in ("var1", "var2", "var3")}
    r = cox_model(
        data["T"].tolist(), data["E"].astype(bool).tolist(), covariates, ph_transform="rank"
    )
    statistics = [t.statistic for t in r.ph_tests]
    assert statistics == pytest.approx([1.4938293, 0.8792998, 2.2686088], rel=1e-3)
    assert r.ph_tests[2].p_value == pytest.approx(0.1320184, rel=1e-3)


def test_ph_test_on_censored_data_matches_r() -> None:
    """R `cox.zph(transform = "km")` gives 1.013802. R's km transform is 1 − S(t−), here 0,
    0.2, 0.4 and 0.6 at the four stops (the censoring at 11.68 leaves S unchanged): linear in
    the rank of the stop times, so the rank transform must give the same statistic.
    """
    var1 = [0.209325, 0.693919, 0.443804, 0.065636, 0.386294]
    time = [5.269797, 6.601666, 7.335846, 11.684092, 12.678458]
    r = cox_model(time, [True, True, True, False, True], {"var1": var1})
    assert r.ph_transform == "rank"
    assert r.ph_tests[0].statistic == pytest.approx(
        1.013802, rel=1e-4
    )  # Newton stopping rules differ


def test_aalen_johansen_by_hand_with_ties() -> None:
    """Eight patients; stops at day 2 (adverse event ×1, inefficacy ×1: a tie between causes),
    day 3 (censored), day 5 (adverse event ×2), day 7 (inefficacy), still on drug at 7 and 9.

    At risk n: 8 at day 2, 5 at day 5, 3 at day 7. All-cause KM: S(2) = 6/8, S(5) = 6/8·3/5
    = 9/20, S(7) = 9/20·2/3 = 3/10. Adverse events: F(2) = 1·1/8 = 1/8, F(5) = 1/8 + 6/8·2/5
    = 17/40, F(7) = 17/40. Inefficacy: F(2) = 1/8, F(5) = 1/8, F(7) = 1/8 + 9/20·1/3 = 11/40.
    Check: 17/40 + 11/40 + S(7) = 1.
    """
    durations = [2, 2, 3, 5, 5, 7, 7, 9]
    causes = [
        "adverse event",
        "inefficacy",
        None,
        "adverse event",
        "adverse event",
        "inefficacy",
        None,
        None,
    ]
    r = cumulative_incidence(durations, causes)
    assert (r.n, r.n_censored) == (8, 3)
    adverse, inefficacy = r.causes
    assert (adverse.cause, adverse.n_events, inefficacy.n_events) == ("adverse event", 3, 2)
    assert [p.at_risk for p in adverse.table] == [8, 5, 3]
    expected_ae = [Fraction(1, 8), Fraction(17, 40), Fraction(17, 40)]
    expected_ineff = [Fraction(1, 8), Fraction(1, 8), Fraction(11, 40)]
    assert [p.incidence for p in adverse.table] == pytest.approx([float(f) for f in expected_ae])
    assert [p.incidence for p in inefficacy.table] == pytest.approx(
        [float(f) for f in expected_ineff]
    )
    for p in adverse.table:
        assert p.ci_low is not None and p.ci_high is not None
        assert 0 < p.ci_low < p.incidence < p.ci_high < 1


def test_aalen_johansen_equals_lifelines_without_ties() -> None:
    """Same estimates and CIs as lifelines, except at the last time, where one subject is at
    risk and stops (n = d): lifelines' d/(n(n − d)) term becomes 0·∞ = NaN; here it is 0, as
    F(t) − F(t_j) = 0 for t = t_j, so the CI carries over from the previous time.
    """
    rng = np.random.default_rng(1978)
    durations = np.round(rng.exponential(10, 80), 4)
    codes = rng.choice([0, 1, 2], 80, p=[0.3, 0.4, 0.3])
    assert len(set(durations)) == 80  # no ties: lifelines does not jitter
    causes = [None if c == 0 else f"cause {c}" for c in codes]
    table = cumulative_incidence(durations.tolist(), causes).causes[0].table
    fitter = AalenJohansenFitter().fit(durations, codes, event_of_interest=1)
    bounds = fitter.confidence_interval_
    for point in table[:-1]:
        reference = fitter.cumulative_density_.loc[point.time].iloc[0]
        assert point.incidence == pytest.approx(reference, abs=1e-12)
        if point.ci_low is not None:
            expected = sorted(bounds.loc[point.time])
            assert (point.ci_low, point.ci_high) == pytest.approx(expected, abs=1e-9)
    last, before = table[-1], table[-2]
    assert (last.at_risk, last.events) == (1, 0) and bounds.loc[last.time].isna().all()
    assert (last.ci_low, last.ci_high) == pytest.approx((before.ci_low, before.ci_high))


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="durations"):
        kaplan_meier_by_group([1, 2], [True], ["a", "b"])
    with pytest.raises(ValueError, match=">= 0"):
        cumulative_incidence([-1, 2], ["x", None])
    with pytest.raises(ValueError, match="has 1 values"):
        cox_model([1, 2], [True, True], {"x": [1]})
