"""`remission` endpoint kind on hand-built patients with the exact counts expected (rule:
`jiareg.derive.inactive.remission_status`, Wallace 2004, SPEC R-CID-3: ≥ 182 days of inactive
disease on medication, visits ≤ 120 days apart; choices: jiareg.study.endpoints.remission)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.unit.study.registry import Registry, day, demo_tables
from tests.unit.study.test_missing_data import INACTIVE, NOT_SCORED, TIMEPOINTS

from jiareg.report.render import render_html
from jiareg.study.deidentify import suppress_small_counts
from jiareg.study.run import run_study

PROTOCOL = (
    TIMEPOINTS
    + """\
endpoints:
  - {id: core_set, kind: core_set, at: [baseline, month_6]}
  - {id: clinical_remission, kind: remission, at: [month_3, month_6]}
"""
)


def cases(registry: Registry) -> Registry:
    """Seven patients on tocilizumab every 14 days to day 406 (30 infusions)."""
    for pid in "ABCDEFG":
        registry.patient(pid, infusions=30)
    # A: inactive from day 0 to day 182, exactly the 182 days needed at month 6
    for on_day in (0, 91, 182):
        registry.visit("A", on_day, **INACTIVE)
    # B: active at day 0, inactive from day 1: 181 days at month 6, no remission
    registry.visit("B", 0)
    for on_day in (1, 91, 182):
        registry.visit("B", on_day, **INACTIVE)
    # C: a gap of 121 days (61 → 182) breaks the run; D: a gap of exactly 120 keeps it
    for on_day in (0, 61, 182):
        registry.visit("C", on_day, **INACTIVE)
    for on_day in (0, 62, 182):
        registry.visit("D", on_day, **INACTIVE)
    # E: a visit not scored at month 3 (unknown), so month 6 cannot be proved
    registry.visit("E", 0, **INACTIVE).visit("E", 91, **NOT_SCORED).visit("E", 182, **INACTIVE)
    registry.visit("F", 0, **INACTIVE)  # baseline only
    # G: stopped tocilizumab on day 100: off medication at day 182, the run restarts there
    for on_day in (0, 91, 182):
        registry.visit("G", on_day, **INACTIVE)
    for row in registry.rows["treatments"]:
        if row["patient_id"] == "G" and row["drug"] == "tocilizumab":
            row["stop_date"], row["stop_reason"] = day(100), "primary_failure"
    return registry


def _run(tables: Any, tmp_path: Path, text: str = PROTOCOL) -> Any:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return run_study(path, tables=tables)


@pytest.mark.slow
def test_remission_at_each_timepoint(registry: Registry, tmp_path: Path) -> None:
    result = _run(cases(registry).tables(), tmp_path)
    r = result.results.to_json()
    assert r["clinical_remission"] == {"month_3": 0, "month_6": 2}  # A and D
    details = r["endpoints"]["clinical_remission"]
    assert "off_medication" not in details  # nobody off medication
    assert (details["on_days"], details["off_days"], details["max_gap_days"]) == (182, 365, 120)
    # month 3: A, B, G not yet (91 days); E unknown; C, D (visits on 61/62), F: no visit
    assert details["denominators"]["month_3"] == {
        "cohort": 7,
        "evaluable": 3,
        "not_evaluable": {"no_visit_at_timepoint": 3, "remission_undetermined": 1},
    }
    # month 6: A, D in remission; B, C, G not; E undetermined; F no visit
    assert details["denominators"]["month_6"] == {
        "cohort": 7,
        "evaluable": 5,
        "not_evaluable": {"no_visit_at_timepoint": 1, "remission_undetermined": 1},
    }
    # the id is not `remission`: that is also a stop reason, a count key of suppression
    small = suppress_small_counts(r)  # counts of 1-4 patients shown as "<5"
    assert small["clinical_remission"] == {"month_3": 0, "month_6": "<5"}
    assert small["endpoints"]["clinical_remission"]["denominators"]["month_6"]["not_evaluable"] == {
        "no_visit_at_timepoint": "<5",
        "remission_undetermined": "<5",
    }
    html = render_html(result)
    assert "Clinical remission at month 6 (on or off medication)" in html
    assert "2/5 (40 %); off medication 0; not evaluable 2" in html


@pytest.mark.slow
def test_remission_on_a_synthetic_registry(tmp_path: Path) -> None:
    text = TIMEPOINTS + "endpoints:\n  - {id: clinical_remission, kind: remission, at: [month_6]}\n"
    r = _run(demo_tables(), tmp_path, text).results.to_json()
    counted = r["endpoints"]["clinical_remission"]["denominators"]["month_6"]
    assert counted["evaluable"] + sum(counted["not_evaluable"].values()) == counted["cohort"] > 0
    assert 0 <= r["clinical_remission"]["month_6"] <= counted["evaluable"]
    off = r["endpoints"]["clinical_remission"].get("off_medication", {}).get("month_6", 0)
    assert off <= r["clinical_remission"]["month_6"]
