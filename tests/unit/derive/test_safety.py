"""R-SAFETY: CTCAE lab grades at every boundary, ALT_GT_3ULN, infusion window, serious, exposure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiareg.derive.config import ClinicalConfig
from jiareg.derive.safety import (
    AE_CATEGORIES,
    SERIOUS_CRITERIA,
    alt_gt_3uln,
    anc_grade,
    cholesterol_grade,
    exposure_days,
    exposure_end,
    is_infusion_reaction,
    is_serious,
    platelet_grade,
    transaminase_grade,
    triglyceride_grade,
)
from jiareg.errors import DerivationError


@pytest.mark.parametrize(
    ("anc", "grade"),
    [
        ("2.0", 0),  # = LLN: normal
        ("1.999", 1),
        ("1.5", 1),  # exactly 1.5: grade 1 ("< 1.5 – 1.0" starts below 1.5)
        ("1.499", 2),
        ("1.0", 2),  # exactly 1.0: grade 2 (1.0 <= ANC < 1.5)
        ("0.999", 3),
        ("0.5", 3),
        ("0.499", 4),
        ("0", 4),
        (None, None),
    ],
)
def test_anc_grade(anc: str | None, grade: int | None) -> None:
    assert anc_grade(anc, lln="2.0") == grade


@pytest.mark.parametrize(
    ("platelets", "grade"),
    [("150", 0), ("149", 1), ("75", 1), ("74.9", 2), ("50", 2), ("49", 3), ("25", 3), ("24", 4)],
)
def test_platelet_grade(platelets: str, grade: int) -> None:
    assert platelet_grade(platelets, lln=150) == grade


@pytest.mark.parametrize(
    ("alt", "grade", "flag"),
    [
        ("40", 0, False),  # exactly ULN
        ("40.001", 1, False),
        ("120", 1, False),  # exactly 3×ULN: grade 1, not flagged
        ("120.001", 2, True),
        ("200", 2, True),  # exactly 5×ULN
        ("200.001", 3, True),
        ("800", 3, True),  # exactly 20×ULN
        ("800.001", 4, True),
        (None, None, None),
    ],
)
def test_transaminase_grade_and_alt_gt_3uln(
    alt: str | None, grade: int | None, flag: bool | None
) -> None:
    assert transaminase_grade(alt, uln=40) == grade
    assert alt_gt_3uln(alt, uln=40) is flag


def test_alt_3uln_is_exact_where_floats_are_not() -> None:
    """ULN 0.1 (a unit choice): 3 × 0.1 is 0.30000000000000004 in floats, exactly 0.3 here."""
    assert alt_gt_3uln("0.3", uln="0.1") is False
    assert alt_gt_3uln(0.3, uln=0.1) is False


@pytest.mark.parametrize(
    ("chol", "grade"),
    [
        ("200", 0),
        ("201", 1),
        ("300", 1),
        ("300.1", 2),
        ("400", 2),
        ("401", 3),
        ("500", 3),
        ("501", 4),
    ],
)
def test_cholesterol_grade(chol: str, grade: int) -> None:
    assert cholesterol_grade(chol, uln=200) == grade


@pytest.mark.parametrize(
    ("tg", "grade"),
    [
        ("149.9", 0),
        ("150", 1),  # "150 – 300": 150 itself is grade 1
        ("300", 1),
        ("300.1", 2),
        ("500", 2),
        ("500.1", 3),
        ("1000", 3),
        ("1000.1", 4),
    ],
)
def test_triglyceride_grade(tg: str, grade: int) -> None:
    assert triglyceride_grade(tg) == grade


@given(
    a=st.integers(min_value=0, max_value=3000),
    b=st.integers(min_value=0, max_value=3000),
)
def test_grades_are_monotone(a: int, b: int) -> None:
    low, high = sorted((Fraction(a, 100), Fraction(b, 100)))
    assert anc_grade(low, lln=2) >= anc_grade(high, lln=2)  # type: ignore[operator]
    assert transaminase_grade(low * 40, uln=40) <= transaminase_grade(high * 40, uln=40)  # type: ignore[operator]
    assert triglyceride_grade(low * 50) <= triglyceride_grade(high * 50)  # type: ignore[operator]


def test_limits_of_normal_are_required() -> None:
    with pytest.raises(DerivationError, match="lower limit of normal"):
        anc_grade("1.2", lln=None)
    with pytest.raises(DerivationError, match="upper limit of normal must be a positive"):
        transaminase_grade("100", uln="0")


# --- infusion reactions --------------------------------------------------------------------

START = datetime(2024, 2, 1, 9, 0)


@pytest.mark.parametrize(
    ("onset", "expected"),
    [
        (START, True),  # during the infusion
        (START + timedelta(hours=24), True),  # exactly 24 h after
        (START + timedelta(hours=24, seconds=1), False),
        (START - timedelta(minutes=1), False),
    ],
)
def test_infusion_reaction_window_with_times(onset: datetime, expected: bool) -> None:
    assert is_infusion_reaction(onset, START) is expected


@pytest.mark.parametrize(("days", "expected"), [(-1, False), (0, True), (1, True), (2, False)])
def test_infusion_reaction_window_with_dates(days: int, expected: bool) -> None:
    infusion = date(2024, 2, 1)
    assert is_infusion_reaction(infusion + timedelta(days=days), infusion) is expected


# --- seriousness ---------------------------------------------------------------------------


@pytest.mark.parametrize("criterion", sorted(SERIOUS_CRITERIA))
def test_each_ich_criterion_makes_an_event_serious(criterion: str) -> None:
    assert is_serious([criterion]) is True


@pytest.mark.parametrize(
    ("criteria", "category", "expected"),
    [
        ([], None, False),
        ([], "OTHER", False),
        (["iv_antibiotics"], "INFECTION", True),
        (["iv_antibiotics"], "OPPORTUNISTIC_INFECTION", False),
        (["hospitalisation"], "INFECTION", True),
        ([], "MAS", True),  # a MAS episode is always serious (R-SJIA-3)
        ([], "INFUSION_REACTION", False),
    ],
)
def test_serious_by_category(criteria: list[str], category: str | None, expected: bool) -> None:
    assert is_serious(criteria, category=category) is expected  # type: ignore[arg-type]


def test_serious_rejects_unknown_names() -> None:
    with pytest.raises(DerivationError, match=r"unknown seriousness criteria \['admitted'\]"):
        is_serious(["admitted"])
    with pytest.raises(DerivationError, match="unknown adverse-event category 'RASH'"):
        is_serious([], category="RASH")  # type: ignore[arg-type]
    assert "GI_PERFORATION" in AE_CATEGORIES


# --- exposure ------------------------------------------------------------------------------

CUTOFF = date(2024, 12, 31)


def test_exposure_end_is_last_dose_plus_risk_window() -> None:
    assert exposure_end(date(2024, 6, 1), data_cutoff=CUTOFF) == date(2024, 6, 29)
    option = ClinicalConfig(risk_window_days=0).risk_window_days
    assert exposure_end(date(2024, 6, 1), data_cutoff=CUTOFF, risk_window_days=option) == date(
        2024, 6, 1
    )


def test_exposure_stops_at_the_data_cutoff() -> None:
    assert exposure_end(date(2024, 12, 20), data_cutoff=CUTOFF) == CUTOFF
    assert exposure_end(date(2024, 3, 1), data_cutoff=CUTOFF, ongoing=True) == CUTOFF


def test_exposure_days_is_person_time() -> None:
    # 2024-01-01 to 2024-07-01 (182 days) + 28 days of risk window.
    assert exposure_days(date(2024, 1, 1), date(2024, 7, 1), data_cutoff=CUTOFF) == 210
    assert exposure_days(date(2024, 1, 1), date(2024, 1, 1), data_cutoff=date(2024, 1, 1)) == 0


def test_exposure_rejects_impossible_dates() -> None:
    with pytest.raises(DerivationError, match="before the first dose"):
        exposure_days(date(2024, 2, 1), date(2024, 1, 1), data_cutoff=CUTOFF)
    with pytest.raises(DerivationError, match="after the data cut-off"):
        exposure_end(date(2025, 2, 1), data_cutoff=CUTOFF)


def test_ctcae_cut_offs_are_keyword_options() -> None:
    """SPEC §12.9: the from-memory CTCAE thresholds can be replaced per call."""
    cuts = (Fraction(2), Fraction(1), Fraction("0.5"))
    assert anc_grade("1.5", lln=2) == 1
    assert anc_grade("1.5", lln="2.5", cuts=cuts) == 2
    assert (
        transaminase_grade(120, uln=40, uln_multiples=(Fraction(2), Fraction(5), Fraction(20))) == 2
    )
    assert triglyceride_grade(200, g1_min=Fraction(200)) == 1
    assert triglyceride_grade(199, g1_min=Fraction(200)) == 0
    assert platelet_grade(90, lln=150, cuts=(Fraction(100), Fraction(50), Fraction(25))) == 2
    assert cholesterol_grade(350, uln=200, cuts=(Fraction(360), Fraction(400), Fraction(500))) == 1
