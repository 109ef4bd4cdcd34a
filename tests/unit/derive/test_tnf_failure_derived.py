"""R-TNF-FAIL derived from core-set visits (issue #15 item 8), and the failure source option."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.examples import examples

from jiareg.derive.config import ClinicalConfig
from jiareg.derive.coreset import CoreSet, Global
from jiareg.derive.tnf_failure import AntiTnfCourse
from jiareg.derive.tnf_failure_derived import (
    FAILURE_SOURCES,
    CoreSetVisit,
    derive_failure,
    failure_reason,
    flare,
)
from jiareg.errors import DerivationError

START = date(2022, 1, 3)
WEEK12 = START + timedelta(weeks=12)


def _core(scale: str) -> CoreSet:
    """A core set at a fraction of the baseline's values ("1" = baseline)."""
    f = Fraction(scale)
    return CoreSet(
        phys_global=Global(8 * f),
        parent_global=Global(8 * f),
        chaq=2 * f,
        active_joints=int(10 * f),
        lom_joints=int(10 * f),
        esr=60 * f,
    )


BASE = _core("1")
SAME = _core("1")
RESPONSE_50 = _core("0.5")  # every variable 50 % better: ACR Pedi 50
RESPONSE_90 = _core("0.1")


def _visit(days: int, core: CoreSet) -> CoreSetVisit:
    return CoreSetVisit(START + timedelta(days=days), core)


def _course(stop_days: int | None = None) -> AntiTnfCourse:
    stop = None if stop_days is None else START + timedelta(days=stop_days)
    return AntiTnfCourse("etanercept", START, stop, None if stop is None else "OTHER")


@pytest.mark.parametrize(
    ("visits", "expected"),
    [
        ([_visit(84, SAME)], "PRIMARY_FAILURE"),  # no ACR Pedi 30 at week 12
        ([_visit(84 - 28, SAME)], "PRIMARY_FAILURE"),  # window edges inclusive
        ([_visit(84 + 28, SAME)], "PRIMARY_FAILURE"),
        ([_visit(84 + 29, SAME)], None),  # no visit in the window: undecided
        ([_visit(84 - 29, SAME)], None),
        ([_visit(42, RESPONSE_50), _visit(84, SAME)], "SECONDARY_FAILURE"),  # response, lost
        ([_visit(42, RESPONSE_50), _visit(84, RESPONSE_50)], "NO_FAILURE"),
        ([_visit(84, CoreSet())], None),  # nothing evaluable
        ([], None),
    ],
)
def test_derived_failure(visits: list[CoreSetVisit], expected: str | None) -> None:
    assert derive_failure(_course(), BASE, visits) == expected


def test_flare_from_the_best_visit_is_secondary_failure() -> None:
    """Still ACR Pedi 30 against baseline, but ≥ 3 variables > 30 % worse than the best."""
    later = _core("0.2")  # 80 % better than baseline, yet twice the best visit's values
    assert flare(RESPONSE_90, later)
    visits = [_visit(84, RESPONSE_90), _visit(168, later)]
    assert derive_failure(_course(), BASE, visits) == "SECONDARY_FAILURE"
    assert derive_failure(_course(), BASE, visits[:1]) == "NO_FAILURE"


def test_only_visits_on_the_drug_count() -> None:
    lost = [_visit(42, RESPONSE_50), _visit(120, SAME)]
    assert derive_failure(_course(stop_days=120), BASE, lost) == "SECONDARY_FAILURE"  # stop day in
    assert derive_failure(_course(stop_days=119), BASE, lost) == "NO_FAILURE"
    assert derive_failure(_course(), BASE, [_visit(0, SAME)]) is None  # the start day is baseline


def test_assessment_window_is_configurable() -> None:
    config = ClinicalConfig(primary_failure_min_weeks=16, primary_failure_window_days=7)
    assert derive_failure(_course(), BASE, [_visit(84, SAME)], config=config) is None
    assert derive_failure(_course(), BASE, [_visit(119, SAME)], config=config) == (
        "PRIMARY_FAILURE"
    )


def test_two_visits_on_one_date_are_refused() -> None:
    with pytest.raises(DerivationError, match="share a date"):
        derive_failure(_course(), BASE, [_visit(84, SAME), _visit(84, RESPONSE_50)])


@pytest.mark.parametrize(
    ("recorded", "derived", "expected"),
    [
        ("PRIMARY_FAILURE", "NO_FAILURE", ("PRIMARY_FAILURE", None, "PRIMARY_FAILURE")),
        ("OTHER", "SECONDARY_FAILURE", (None, "SECONDARY_FAILURE", "SECONDARY_FAILURE")),
        ("INTOLERANCE", None, (None, None, None)),
        (
            "SECONDARY_FAILURE",
            "PRIMARY_FAILURE",
            ("SECONDARY_FAILURE", "PRIMARY_FAILURE", "SECONDARY_FAILURE"),  # recorded wins
        ),
    ],
)
def test_failure_source(
    recorded: str, derived: str | None, expected: tuple[str | None, ...]
) -> None:
    course = AntiTnfCourse("adalimumab", START, WEEK12, recorded)  # type: ignore[arg-type]
    got = tuple(failure_reason(course, derived, source=s) for s in FAILURE_SOURCES)  # type: ignore[arg-type]
    assert got == expected


def test_failure_source_is_a_config_option() -> None:
    assert ClinicalConfig().tnf_failure_source == "recorded"
    assert ClinicalConfig(tnf_failure_source="either").tnf_failure_source == "either"
    with pytest.raises(DerivationError, match="unknown failure source"):
        failure_reason(_course(), None, source="visits")  # type: ignore[arg-type]


_scales = st.sampled_from(["1", "0.9", "0.75", "0.7", "0.6", "0.5", "0.3", "0.1", "1.2"])


@settings(max_examples=examples(60), deadline=None)
@given(
    visits=st.lists(st.tuples(st.integers(1, 400), _scales), max_size=8, unique_by=lambda v: v[0]),
    stop=st.one_of(st.none(), st.integers(1, 400)),
)
def test_derived_failure_properties(visits: list[tuple[int, str]], stop: int | None) -> None:
    """Only visits on the drug matter; a response anywhere on it rules out primary failure."""
    course = _course(stop)
    rows = [_visit(day, _core(scale)) for day, scale in visits]
    got = derive_failure(course, BASE, rows)
    on_drug = [r for r in rows if stop is None or r.visit_date <= course.stop]  # type: ignore[operator]
    assert derive_failure(course, BASE, on_drug) == got
    responded = any(
        Fraction(scale) <= Fraction("0.7") for day, scale in visits if stop is None or day <= stop
    )
    if responded:
        assert got in ("SECONDARY_FAILURE", "NO_FAILURE")
    else:
        assert got in ("PRIMARY_FAILURE", None)
