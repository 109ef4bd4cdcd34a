"""Which visit each timepoint takes: window ends, ties, anchors by administration, gaps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.unit.study.registry import Registry

from jiareg.errors import StudyError
from jiareg.study.run import run_study

PROTOCOL = """\
title: timepoint cases
eligibility:
  exposure: {drug: tocilizumab}
timepoints:
  - {name: baseline, window: {from_day: -30, to_day: 0}, pick: last}
  - {name: month_1, window: {from_day: 14, to_day: 45}, pick: nearest, target_day: 30}
  - {name: before_infusion_3, before_administration: 3, pick: last}
endpoints:
  - {id: core_set, kind: core_set, at: [baseline, month_1, before_infusion_3]}
"""


def _chosen(registry: Registry, tmp_path: Path, protocol: str = PROTOCOL) -> pd.DataFrame:
    path = tmp_path / "p.yaml"
    path.write_text(protocol)
    result = run_study(path, tables=registry.tables())
    rows = result.tables["patient_timepoints"]
    return rows[rows["variable"] == "active_joints"][["patient_id", "timepoint", "day"]]


def _day(chosen: pd.DataFrame, pid: str, timepoint: str) -> int | None:
    hit = chosen[(chosen["patient_id"] == pid) & (chosen["timepoint"] == timepoint)]
    return None if hit.empty else int(hit["day"].iloc[0])


@pytest.mark.slow
def test_baseline_window_includes_both_ends(registry: Registry, tmp_path: Path) -> None:
    registry.patient("ON-MINUS-30").visit("ON-MINUS-30", -31).visit("ON-MINUS-30", -30)
    registry.patient("ON-DAY-0").visit("ON-DAY-0", -30).visit("ON-DAY-0", 0).visit("ON-DAY-0", 1)
    chosen = _chosen(registry, tmp_path)
    assert _day(chosen, "ON-MINUS-30", "baseline") == -30
    assert _day(chosen, "ON-DAY-0", "baseline") == 0  # the last visit in [-30, 0]; day 1 is out


@pytest.mark.slow
def test_nearest_tie_goes_to_the_earlier_visit(registry: Registry, tmp_path: Path) -> None:
    registry.patient("TIE").visit("TIE", 0).visit("TIE", 25).visit("TIE", 35)
    registry.patient("NEAR").visit("NEAR", 0).visit("NEAR", 14).visit("NEAR", 31).visit("NEAR", 45)
    chosen = _chosen(registry, tmp_path)
    assert _day(chosen, "TIE", "month_1") == 25
    assert _day(chosen, "NEAR", "month_1") == 31


@pytest.mark.slow
def test_window_ends_are_inclusive_for_follow_up_windows(
    registry: Registry, tmp_path: Path
) -> None:
    registry.patient("EDGE14").visit("EDGE14", 0).visit("EDGE14", 13).visit("EDGE14", 14)
    registry.patient("EDGE45").visit("EDGE45", 0).visit("EDGE45", 45).visit("EDGE45", 46)
    chosen = _chosen(registry, tmp_path)
    assert _day(chosen, "EDGE14", "month_1") == 14
    assert _day(chosen, "EDGE45", "month_1") == 45


@pytest.mark.slow
def test_no_visit_in_window_is_missing(registry: Registry, tmp_path: Path) -> None:
    registry.patient("GAP").visit("GAP", 0).visit("GAP", 60)
    registry.patient("FULL").visit("FULL", 0).visit("FULL", 30)
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL)
    result = run_study(path, tables=registry.tables())
    chosen = _chosen(registry, tmp_path)
    assert _day(chosen, "GAP", "month_1") is None
    assert result.results.to_json()["timepoints"]["month_1"] == 1
    assert result.results.to_json()["core_set"]["month_1"]["active_joints"]["n"] == 1


@pytest.mark.slow
def test_before_administration_anchor(registry: Registry, tmp_path: Path) -> None:
    # infusions on days 0, 14, 28: a visit on day 14 is before infusion 2, day 28 before 3
    registry.patient("ANCHOR").visit("ANCHOR", 0).visit("ANCHOR", 14).visit("ANCHOR", 21)
    registry.visit("ANCHOR", 28).visit("ANCHOR", 29)
    registry.patient("EARLY").visit("EARLY", 0).visit("EARLY", 14)
    registry.patient("TWO", infusions=2).visit("TWO", 0).visit("TWO", 20)
    chosen = _chosen(registry, tmp_path)
    assert _day(chosen, "ANCHOR", "before_infusion_3") == 28
    assert _day(chosen, "EARLY", "before_infusion_3") is None  # day 14 is before infusion 2
    assert _day(chosen, "TWO", "before_infusion_3") is None  # never had a 3rd infusion


@pytest.mark.slow
def test_a_visit_on_an_infusion_day_is_before_that_infusion(
    registry: Registry, tmp_path: Path
) -> None:
    """SPEC R-ACRPEDI-3: baseline is the last visit "on or before the first dose", and the
    poster's "before the 3rd infusion" is a visit after infusion 2 and before infusion 3. A visit
    dated on an infusion day is the pre-infusion assessment (dates carry no time)."""
    # infusions on days 0, 14, 28
    registry.patient("ONLY-0").visit("ONLY-0", 0).visit("ONLY-0", 28)
    registry.patient("ONLY-28").visit("ONLY-28", -3).visit("ONLY-28", 28)
    registry.patient("ONLY-29").visit("ONLY-29", -3).visit("ONLY-29", 29)
    registry.patient("ONLY-14").visit("ONLY-14", -3).visit("ONLY-14", 14)
    registry.patient("ONLY-15").visit("ONLY-15", -3).visit("ONLY-15", 15)
    chosen = _chosen(registry, tmp_path)
    assert _day(chosen, "ONLY-0", "baseline") == 0  # same day as the first dose: baseline
    assert _day(chosen, "ONLY-28", "before_infusion_3") == 28  # day of infusion 3: before it
    assert _day(chosen, "ONLY-29", "before_infusion_3") is None  # the day after: after it
    assert _day(chosen, "ONLY-14", "before_infusion_3") is None  # day of infusion 2: before it
    assert _day(chosen, "ONLY-15", "before_infusion_3") == 15  # first day after infusion 2


@pytest.mark.slow
def test_patients_without_baseline_leave_at_their_step(registry: Registry, tmp_path: Path) -> None:
    registry.patient("IN").visit("IN", -5).visit("IN", 30)
    registry.patient("LATE").visit("LATE", 3)
    registry.patient("NEVER", infusions=0).visit("NEVER", 0)
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL)
    result = run_study(path, tables=registry.tables())
    flow = result.tables["attrition"]
    assert list(flow["rule"]) == ["registry", "exposure", "baseline_visit"]
    assert list(flow["n_remaining"]) == [3, 2, 1]
    assert list(flow["n_excluded"]) == [0, 1, 1]
    assert result.results.to_json()["n"] == 1


def test_empty_cohort_is_a_study_error_naming_the_step(registry: Registry, tmp_path: Path) -> None:
    registry.patient("LATE").visit("LATE", 3)
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL)
    with pytest.raises(
        StudyError, match=r"1 patient\(s\) remained before the step 'a baseline visit'"
    ):
        run_study(path, tables=registry.tables())
