"""Arm assignment: each arm's flow, the new-user rule for a patient eligible for two arms
(first-started drug; same day: the arm listed first), patients in neither arm, an empty arm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.unit.study.registry import Registry, day

from jiareg.errors import StudyError
from jiareg.study.run import run_study

PROTOCOL = """\
title: t
eligibility:
  ilar_categories: [poly_rf_neg]
  prior_failure: {drug_class: anti_tnf}
arms:
  - name: tocilizumab
    exposure: {drug: tocilizumab}
  - name: abatacept
    exposure: {drug: abatacept}
timepoints:
  - name: baseline
    window: {from_day: -30, to_day: 0}
  - name: month_3
    window: {from_day: 63, to_day: 119}
endpoints:
  - {id: core_set, kind: core_set, at: [baseline, month_3]}
  - {id: acr_3, kind: acr_pedi, at: month_3}
"""


def _course(registry: Registry, pid: str, drug: str, start: int, n: int = 4) -> None:
    """A course of `drug` from day `start`, one administration every 28 days."""
    registry.rows["treatments"].append(
        {"patient_id": pid, "drug": drug, "route": "iv", "start_date": day(start)}
    )
    for k in range(n):
        registry.rows["administrations"].append(
            {
                "patient_id": pid,
                "drug": drug,
                "date": day(start + 28 * k),
                "dose_mg": 250.0,
                "weight_kg": 20.0,
            }
        )


@pytest.fixture()
def two_drugs(registry: Registry) -> Registry:
    """Seven polyarticular patients, all after an etanercept failure unless said otherwise."""
    poly = {"category": "poly_rf_neg"}
    registry.patient("BOTH_T", **poly).visit("BOTH_T", -5).visit("BOTH_T", 90)
    _course(registry, "BOTH_T", "abatacept", 200)  # started second: stays in tocilizumab
    registry.visit("BOTH_T", 195)
    registry.patient("BOTH_A", infusions=0, **poly).visit("BOTH_A", -5).visit("BOTH_A", 295)
    _course(registry, "BOTH_A", "abatacept", 0)
    _course(registry, "BOTH_A", "tocilizumab", 300)  # started second
    registry.patient("TIE", **poly).visit("TIE", -5)
    _course(registry, "TIE", "abatacept", 0)  # same day: the arm listed first
    registry.patient("ONLY_T", **poly).visit("ONLY_T", -5)
    registry.patient("ONLY_A", infusions=0, **poly).visit("ONLY_A", -5).visit("ONLY_A", 90)
    _course(registry, "ONLY_A", "abatacept", 0)
    registry.patient("NEITHER", infusions=0, **poly).visit("NEITHER", -5)
    registry.patient("A_NO_FAILURE", infusions=0, prior=None, **poly).visit("A_NO_FAILURE", -5)
    _course(registry, "A_NO_FAILURE", "abatacept", 0)
    return registry


def _run(tmp_path: Path, registry: Registry, text: str = PROTOCOL) -> Any:
    path = tmp_path / "arms.yaml"
    path.write_text(text)
    return run_study(path, tables=registry.tables())


@pytest.mark.slow
def test_first_started_drug_decides_the_arm(tmp_path: Path, two_drugs: Registry) -> None:
    result = _run(tmp_path, two_drugs)
    patients = result.tables["patients"]
    arms = dict(zip(patients["patient_id"], patients["arm"], strict=True))
    assert arms == {
        "BOTH_T": "tocilizumab",
        "BOTH_A": "abatacept",
        "TIE": "tocilizumab",
        "ONLY_T": "tocilizumab",
        "ONLY_A": "abatacept",
    }
    index = dict(zip(patients["patient_id"], patients["index_date"], strict=True))
    assert index["BOTH_A"] == day(0)  # its abatacept start, not its later tocilizumab
    given = result.tables["administrations"]
    both_a = given[given["patient_id"] == "BOTH_A"]
    assert set(both_a["drug"]) == {"abatacept"}
    assert list(both_a["administration_number"]) == [1, 2, 3, 4]
    r = result.results.to_json()
    assert r["n"] == 5
    assert r["index_drug"] == "tocilizumab, abatacept"
    assert {k: v["n"] for k, v in r["arms"].items()} == {"tocilizumab": 3, "abatacept": 2}
    assert "comparison" not in r


@pytest.mark.slow
def test_each_arm_has_its_flow(tmp_path: Path, two_drugs: Registry) -> None:
    result = _run(tmp_path, two_drugs)
    flow = [
        (s.get("arm"), s["rule"], s["n_remaining"], s["n_excluded"])
        for s in result.results.to_json()["attrition"]
    ]
    assert flow == [
        (None, "registry", 7, 0),
        (None, "ilar_category", 7, 0),
        ("tocilizumab", "exposure", 4, 3),
        ("tocilizumab", "prior_failure", 4, 0),
        ("tocilizumab", "baseline_visit", 4, 0),
        ("tocilizumab", "arm_assignment", 3, 1),  # BOTH_A started abatacept first
        ("abatacept", "exposure", 5, 2),
        ("abatacept", "prior_failure", 4, 1),  # A_NO_FAILURE
        ("abatacept", "baseline_visit", 4, 0),
        ("abatacept", "arm_assignment", 2, 2),  # BOTH_T and TIE
    ]
    table = result.tables["attrition"]
    assert list(table.columns) == ["step", "rule", "n_remaining", "n_excluded", "arm"]


def test_an_arm_limited_to_a_site_is_empty(tmp_path: Path, two_drugs: Registry) -> None:
    text = PROTOCOL.replace(
        "    exposure: {drug: abatacept}\n", "    exposure: {drug: abatacept}\n    sites: [Z]\n"
    )
    with pytest.raises(StudyError) as caught:
        _run(tmp_path, two_drugs, text)
    assert str(caught.value) == (
        "the arm 'abatacept' of 't' is empty: 7 patient(s) remained before the step 'site Z' "
        "(arm_site), which excluded them all"
    )


@pytest.mark.slow
def test_arm_categories_narrow_one_arm(tmp_path: Path, two_drugs: Registry) -> None:
    two_drugs.patient("SYS", category="systemic").visit("SYS", -5)  # tocilizumab, systemic
    text = PROTOCOL.replace("[poly_rf_neg]", "[poly_rf_neg, systemic]").replace(
        "    exposure: {drug: abatacept}\n",
        "    exposure: {drug: abatacept}\n    ilar_categories: [poly_rf_neg]\n",
    )
    r = _run(tmp_path, two_drugs, text).results.to_json()
    assert {k: v["n"] for k, v in r["arms"].items()} == {"tocilizumab": 4, "abatacept": 2}
    step = next(s for s in r["attrition"] if s["rule"] == "arm_ilar_category")
    assert (step["arm"], step["n_remaining"], step["n_excluded"]) == ("abatacept", 7, 1)


@pytest.mark.slow
def test_a_comparison_without_a_varying_covariate_is_a_clear_error(
    tmp_path: Path, two_drugs: Registry
) -> None:
    text = PROTOCOL + (
        "comparison:\n  treated: tocilizumab\n  reference: abatacept\n"
        "  covariates: [sex]\n  endpoints: [acr_3]\n"
    )
    with pytest.raises(StudyError, match="each arm needs at least 2 patients with every covariate"):
        _run(tmp_path, two_drugs, text)
