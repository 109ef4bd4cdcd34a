"""`missing: observed | nri | locf` on hand-built patients with the exact counts expected
(the rules: jiareg.study.endpoints.missing; docs/reference/protocol.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.unit.study.registry import Registry, day

from jiareg.errors import ProtocolError
from jiareg.study.datasets import analysis_datasets
from jiareg.study.protocol_file import parse_protocol
from jiareg.study.run import run_study

TIMEPOINTS = """\
title: missing data cases
eligibility:
  exposure: {drug: tocilizumab}
timepoints:
  - {name: baseline, window: {from_day: -30, to_day: 0}, pick: last}
  - {name: month_3, window: {from_day: 63, to_day: 119}, pick: nearest, target_day: 91}
  - {name: month_6, window: {from_day: 150, to_day: 214}, pick: nearest, target_day: 182}
"""
PROTOCOL = (
    TIMEPOINTS
    + """\
endpoints:
  - {id: acr_observed, kind: acr_pedi, level: 30, at: month_6}
  - {id: acr_nri, kind: acr_pedi, level: 30, at: month_6, missing: nri}
  - {id: acr_locf, kind: acr_pedi, level: 30, at: month_6, missing: locf}
  - {id: cid_observed, kind: inactive_disease, at: [month_3, month_6]}
  - {id: cid_nri, kind: inactive_disease, at: [month_3, month_6], missing: nri}
  - {id: cid_locf, kind: inactive_disease, at: [month_3, month_6], missing: locf}
"""
)
INACTIVE = {
    "active_joints": 0,
    "lom_joints": 0,
    "phys_global": 0.0,
    "parent_global": 0.0,
    "chaq": 0.0,
    "esr": 5.0,
    "fever": False,
    "rash": False,
    "serositis": False,
    "hepatomegaly": False,
    "splenomegaly": False,
    "lymphadenopathy": False,
    "uveitis_active": False,
    "morning_stiffness_min": 0.0,
}
"""A visit in clinical inactive disease (ACR 2011) and an ACR Pedi 100 response."""
NOT_SCORED = {
    name: None
    for name in ("active_joints", "lom_joints", "phys_global", "parent_global", "chaq", "esr")
}
"""A visit without any core-set value: ACR Pedi and inactive disease not evaluable."""


def cases(registry: Registry) -> Registry:
    """Six patients on tocilizumab every 14 days to day 406 (30 infusions)."""
    for pid in "ABCDEF":
        registry.patient(pid, infusions=30).visit(pid, 0)
    registry.visit("A", 91, **INACTIVE).visit("A", 182, **INACTIVE)
    registry.visit("B", 91, **INACTIVE)  # misses month 6
    registry.visit("C", 91).visit("C", 182, **NOT_SCORED)  # unchanged, then not scored
    registry.visit("D", 91, **INACTIVE).visit("D", 182, **INACTIVE)  # but stopped on day 120
    for row in registry.rows["treatments"]:
        if row["patient_id"] == "D" and row["drug"] == "tocilizumab":
            row["stop_date"], row["stop_reason"] = day(120), "primary_failure"
    registry.visit("F", 182)  # E: baseline only; F: unchanged at month 6
    return registry


def _run(registry: Registry, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL)
    result = run_study(path, tables=registry.tables())
    return result, result.results.to_json()


def _counts(r: dict[str, Any], key: str) -> tuple[int, int, int, int]:
    """Responders, non-responders, not evaluable and n: from the headline and the denominators
    (results.json stores each number once)."""
    headline, counted = r[key], r["endpoints"][key]["denominators"]["month_6"]
    assert headline["n"] == counted["evaluable"]
    return (
        headline["responders"],
        headline["n"] - headline["responders"],
        counted["cohort"] - counted["evaluable"],
        headline["n"],
    )


@pytest.mark.slow
def test_acr_pedi_observed_nri_locf(registry: Registry, tmp_path: Path) -> None:
    _, r = _run(cases(registry), tmp_path)
    observed, nri, locf = (r["endpoints"][k] for k in ("acr_observed", "acr_nri", "acr_locf"))
    # observed: A and D respond, F does not; B and E have no visit, C's is not scored
    assert _counts(r, "acr_observed") == (2, 1, 3, 3)
    assert "missing" not in observed and "imputed" not in observed  # results.json as before
    assert observed["denominators"]["month_6"] == {
        "cohort": 6,
        "evaluable": 3,
        "not_evaluable": {"core_set_incomplete": 1, "no_visit_at_timepoint": 2},
    }
    # NRI: everyone counted; only A responds (D stopped on day 120, before month 6)
    assert _counts(r, "acr_nri") == (1, 5, 0, 6)
    assert nri["missing"] == "nri"
    assert nri["responder_ids"] == ["A"]
    imputed = {
        "no_visit_at_timepoint": 2,
        "not_evaluable_at_visit": 1,
        "stopped_before_timepoint": 1,
    }
    assert "imputed" not in nri  # in the denominators, once
    assert nri["denominators"]["month_6"] == {
        "cohort": 6,
        "evaluable": 6,
        "not_evaluable": {},
        "imputed": imputed,
    }
    # LOCF: B's month-3 response carried, C's month-3 non-response carried, D stopped (not
    # carried), E: nothing after baseline -> baseline carried = no improvement
    assert _counts(r, "acr_locf") == (2, 4, 0, 6)
    assert locf["responder_ids"] == ["A", "B"]
    assert locf["denominators"]["month_6"]["imputed"] == {
        "baseline_carried_forward": 1,
        "carried_forward": 2,
        "stopped_before_timepoint": 1,
    }
    assert r["acr_nri"] == {
        "responders": 1,
        "n": 6,
        "ci95": pytest.approx([0.00421, 0.64123], abs=1e-5),
    }


def _states(r: dict[str, Any], key: str, name: str) -> tuple[int, int, int]:
    """Inactive (the headline), not inactive (evaluable - inactive) and unknown (the reason
    `criterion_not_recorded`): results.json stores each number once."""
    inactive, counted = r[key][name], r["endpoints"][key]["denominators"][name]
    unknown = counted["not_evaluable"].get("criterion_not_recorded", 0)
    return inactive, counted["evaluable"] - inactive, unknown


@pytest.mark.slow
def test_inactive_disease_observed_nri_locf(registry: Registry, tmp_path: Path) -> None:
    result, r = _run(cases(registry), tmp_path)
    observed, nri, locf = (r["endpoints"][k] for k in ("cid_observed", "cid_nri", "cid_locf"))
    # month 3: A, B, D inactive; C not; E, F no visit
    assert _states(r, "cid_observed", "month_3") == (3, 1, 0)
    # month 6: A, D; F not; C unknown; B, E no visit
    assert _states(r, "cid_observed", "month_6") == (2, 1, 1)
    assert _states(r, "cid_nri", "month_3") == (3, 3, 0)
    assert nri["denominators"]["month_3"]["imputed"] == {"no_visit_at_timepoint": 2}
    assert _states(r, "cid_nri", "month_6") == (1, 5, 0)
    assert nri["denominators"]["month_6"]["imputed"] == {
        "no_visit_at_timepoint": 2,
        "not_evaluable_at_visit": 1,
        "stopped_before_timepoint": 1,
    }
    # E and F: the baseline state (active)
    assert _states(r, "cid_locf", "month_3") == (3, 3, 0)
    assert locf["denominators"]["month_3"]["imputed"] == {"baseline_carried_forward": 2}
    # B carried inactive; C carried not inactive
    assert _states(r, "cid_locf", "month_6") == (2, 4, 0)
    assert locf["denominators"]["month_6"]["imputed"] == {
        "baseline_carried_forward": 1,
        "carried_forward": 2,
        "stopped_before_timepoint": 1,
    }
    assert r["cid_nri"] == {"month_3": 3, "month_6": 1}
    assert "states" not in locf and "imputed" not in locf  # each number once
    assert observed["denominators"]["month_6"]["not_evaluable"] == {
        "criterion_not_recorded": 1,
        "no_visit_at_timepoint": 2,
    }
    # the analysis dataset carries the imputed values too
    patients = analysis_datasets(result, str, identified=True).patients.set_index("patient_id")
    assert patients["cid_locf_month_6"].to_dict() == {
        "A": True,
        "B": True,
        "C": False,
        "D": False,
        "E": False,
        "F": False,
    }
    assert patients["acr_nri"].to_dict()["D"] == "nonresponder"
    assert patients["acr_observed"].to_dict()["D"] == "responder"


@pytest.mark.slow
def test_a_stop_on_the_visit_day_keeps_the_visit(registry: Registry, tmp_path: Path) -> None:
    registry.patient("S", infusions=30).visit("S", 0).visit("S", 182, **INACTIVE)
    for row in registry.rows["treatments"]:
        if row["patient_id"] == "S" and row["drug"] == "tocilizumab":
            row["stop_date"], row["stop_reason"] = day(182), "remission"
    _, r = _run(registry, tmp_path)
    assert r["endpoints"]["acr_nri"]["responder_ids"] == ["S"]
    assert r["cid_locf"] == {"month_3": 0, "month_6": 1}


def test_missing_needs_a_timepoint() -> None:
    text = TIMEPOINTS + "endpoints: [{id: a, kind: acr_pedi, missing: nri}]\n"
    with pytest.raises(ProtocolError, match="missing: nri needs a timepoint"):
        parse_protocol(text)
    with pytest.raises(ProtocolError, match="missing"):
        parse_protocol(
            TIMEPOINTS + "endpoints: [{id: a, kind: acr_pedi, at: month_3, missing: bocf}]\n"
        )
