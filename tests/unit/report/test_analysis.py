"""The report's computed numbers on the hand-made founding-study result."""

import datetime as dt

import pandas as pd
import pytest

from jiareg.report.analysis import compute, patient_years, time_to_first_response
from jiareg.study.result import TABLE_COLUMNS


def test_core_set_medians_are_the_posters(study_result) -> None:
    numbers = compute(study_result)
    medians = {
        row.variable: (
            float(row.summaries["baseline"].median),
            float(row.summaries["month_1"].median),
        )
        for row in numbers.core_set
    }
    assert medians == {
        "active_joints": (11, 4),
        "lom_joints": (4, 3),
        "phys_global": (0.45, 0.24),
        "parent_global": (0.1, 0.05),
        "chaq": (0.5, 0.25),
        "esr": (35, 3),
    }
    assert numbers.timepoints == ("baseline", "month_1")


def test_paired_tests_pair_by_patient(study_result) -> None:
    numbers = compute(study_result)
    esr = next(r for r in numbers.core_set if r.variable == "esr")
    test = esr.tests["month_1"]
    # ESR differences: -32 -55 -18 -70 -27 -46 -13 -32 -34 -> all 9 negative, one tie (32).
    assert (test.n_pairs, test.n_zero, test.statistic) == (9, 0, 0.0)
    assert test.median_difference == -32
    assert test.p_value is not None and test.p_value < 0.01


def test_shuffled_rows_give_the_same_pairs(study_result, make_result) -> None:
    shuffled = study_result.tables["patient_timepoints"].sample(frac=1, random_state=3)
    a = compute(study_result).core_set
    b = compute(make_result(tables={"patient_timepoints": shuffled})).core_set
    assert [r.tests["month_1"].p_value for r in a] == [r.tests["month_1"].p_value for r in b]


def test_responders_and_time_to_response(study_result) -> None:
    numbers = compute(study_result)
    assert numbers.acr_pedi_30 is not None and numbers.acr_pedi_30.ci is not None
    assert (numbers.acr_pedi_30.k, numbers.acr_pedi_30.n) == (9, 9)
    assert numbers.acr_pedi_30.ci[0] == pytest.approx(0.6637, abs=5e-5)
    assert numbers.before_infusion_3 is not None
    assert numbers.before_infusion_3.k == 7
    ttr = numbers.time_to_response
    assert sorted(ttr.days) == [14] * 7 + [30, 60]
    assert all(ttr.responded)
    assert ttr.km is not None and ttr.km.median == 14.0


def test_nonresponder_is_censored_at_last_visit() -> None:
    rows = [
        ("A", 14, "NONRESPONDER"),
        ("A", 30, "RESPONDER"),
        ("B", 14, "NONRESPONDER"),
        ("B", 60, "NOT_EVALUABLE"),
    ]
    frame = pd.DataFrame(
        [{"patient_id": p, "day": d, "acr_pedi_30": r} for p, d, r in rows],
        columns=list(TABLE_COLUMNS["responses"]),
    )
    ttr = time_to_first_response(frame)
    assert ttr.patient_id == ("A", "B")
    assert ttr.days == (30.0, 60.0)
    assert ttr.responded == (True, False)


def test_no_follow_up_visits_gives_no_curve() -> None:
    ttr = time_to_first_response(pd.DataFrame(columns=list(TABLE_COLUMNS["responses"])))
    assert (ttr.days, ttr.km) == ((), None)


def test_zero_adverse_events_rate(study_result) -> None:
    numbers = compute(study_result)
    # Exposure: sum of (last - first infusion) days + 28 per patient, / 365.25.
    expected = (98 + 266 + 182 + 126 + 210 + 154 + 98 + 238 + 168 + 9 * 28) / 365.25
    assert numbers.patient_years == pytest.approx(expected)
    assert numbers.adverse_events is not None
    assert numbers.adverse_events.rate_per_100py == 0
    assert numbers.adverse_events.ci[1] == pytest.approx(3.689 * 100 / expected, abs=0.01)


def test_patient_without_last_administration_counts_the_risk_window() -> None:
    frame = pd.DataFrame({"index_date": [dt.date(2010, 1, 1)], "last_administration_date": [None]})
    assert patient_years(frame, 28) == pytest.approx(28 / 365.25)
