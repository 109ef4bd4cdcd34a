"""The generated results paragraph: built from the numbers, singular/plural, all/none."""

import copy

import pytest
from tests.unit.report.conftest import (
    adverse_event_details,
    proportion_details,
    proportion_headline,
)

from jiareg.report.analysis import compute
from jiareg.report.narrative import how_many, results_paragraph


def paragraph(result) -> str:
    return results_paragraph(compute(result))


def test_poster_paragraph(study_result) -> None:
    text = paragraph(study_result)
    assert text.startswith(
        "All 9 patients met ACR Pedi 30 during follow-up (95 % CI 66 %–100 %); "
        "7 before the 3rd infusion."
    )
    assert (
        "From baseline to month 1, median active joints fell from 11 to 4, median "
        "limited-motion joints fell from 4 to 3, median physician global fell from 0.45 to "
        "0.24, median parent global fell from 0.1 to 0.05, median CHAQ fell from 0.5 to 0.25 "
        "and median ESR fell from 35 to 3." in text
    )
    assert "CHAQ above 0.5: 3 patients at baseline and 1 patient at month 1." in text
    assert "Fever or rash: 1 patient at baseline and none at month 1." in text
    assert (
        "6 patients took systemic corticosteroids at baseline; 4 had a lower dose at the end of "
        "the time on treatment, "
        "all by less than 50 %." in text
    )
    assert text.endswith("per 100 patient-years).")
    assert "No adverse events were reported over 4.9 patient-years" in text


def test_nobody_responded(make_result) -> None:
    result = make_result(
        results={"acr_pedi_30": proportion_headline(0, 9), "responders_before_infusion_3": 0},
        endpoints={
            "acr_pedi_30": proportion_details("acr_pedi_30", 0, 9),
            "responders_before_infusion_3": proportion_details(
                "responders_before_infusion_3", 0, 9, before=3
            ),
        },
    )
    text = paragraph(result)
    assert text.startswith("None of the 9 patients met ACR Pedi 30 during follow-up")
    assert "before the 3rd infusion" not in text


def test_one_adverse_event_and_unchanged_median(make_result, study_result) -> None:
    core = copy.deepcopy(study_result.results.to_json()["core_set"])
    core["month_1"]["lom_joints"] = core["baseline"]["lom_joints"]
    result = make_result(
        endpoints={"adverse_events": adverse_event_details([("infusion reaction", False)], 4.9)},
        results={"core_set": core, "adverse_events": 1},
    )
    text = paragraph(result)
    assert "1 adverse event was reported over 4.9 patient-years (20.4 per 100 patient-years" in text
    assert "median limited-motion joints was 4 at baseline and at month_1" not in text
    assert "median limited-motion joints was 4 at baseline and at month 1" in text


def test_steroids_none_reduced(make_result) -> None:
    result = make_result(
        results={
            "steroids": {
                "baseline_users": 1,
                "reduced": 0,
                "reduced_by_half_or_more": 0,
                "stopped": 0,
            }
        }
    )
    assert (
        "1 patient took systemic corticosteroids at baseline; none had a lower dose at the end "
        "of the time on treatment." in paragraph(result)
    )


def test_steroids_some_halved_and_stopped(make_result) -> None:
    result = make_result(
        results={
            "steroids": {
                "baseline_users": 6,
                "reduced": 6,
                "reduced_by_half_or_more": 3,
                "stopped": 1,
            }
        }
    )
    assert (
        "all of them had a lower dose at the end of the time on treatment (3 by 50 % or more, "
        "1 stopped)." in paragraph(result)
    )


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        (9, 9, "All 9 patients"),
        (0, 9, "None of the 9 patients"),
        (7, 9, "7 of 9 patients"),
        (1, 9, "1 of 9 patients"),
        (1, 1, "The only patient"),
        (0, 1, "The only patient did not"),
    ],
)
def test_how_many(k: int, n: int, expected: str) -> None:
    assert how_many(k, n) == expected
