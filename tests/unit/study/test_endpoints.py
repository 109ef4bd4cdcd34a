"""Endpoints through the real derive rules: ACR Pedi per visit, steroid change, CHAQ, fever."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.unit.study.registry import Registry, day, demo_tables

from jiareg.derive.acr_pedi import acr_pedi_level
from jiareg.derive.coreset import CoreSet, Global
from jiareg.derive.exact import to_fraction
from jiareg.study.run import run_study

ROOT = Path(__file__).resolve().parents[3]
FOUNDING = ROOT / "protocols" / "tocilizumab-after-anti-tnf.yaml"

PROTOCOL = """\
title: endpoint cases
eligibility:
  exposure: {drug: tocilizumab}
timepoints:
  - {name: baseline, window: {from_day: -30, to_day: 0}, pick: last}
  - {name: month_1, window: {from_day: 14, to_day: 45}, pick: nearest, target_day: 30}
endpoints:
  - {id: chaq_over_0_5, kind: chaq_over, threshold: "0.5", at: [baseline, month_1]}
  - {id: systemic_features, kind: systemic_features, at: [baseline, month_1]}
  - {id: acr_pedi_30, kind: acr_pedi, level: 30}
  - {id: acr_sjia_m1, kind: acr_pedi, level: 30, variant: sjia, at: month_1}
  - {id: steroids, kind: steroid_change, at: month_1}
  - {id: adverse_events, kind: adverse_events}
"""


def _run(registry: Registry, tmp_path: Path, extra: str = "") -> dict[str, Any]:
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL + extra)
    return run_study(path, tables=registry.tables()).results.to_json()


def _categories(results: dict[str, Any], endpoint_id: str = "steroids") -> dict[str, int]:
    """The R-STEROID-3 categories of the evaluable baseline users, read back from the headline
    and `not_reduced` as docs/reference/results.md explains (each number is stored once)."""
    counts, details = results[endpoint_id], results["endpoints"][endpoint_id]
    every = {
        "DISCONTINUED": counts["stopped"],
        "REDUCED_GE50": counts["reduced_by_half_or_more"] - counts["stopped"],
        "REDUCED_LT50": counts["reduced"] - counts["reduced_by_half_or_more"],
        **details["not_reduced"],
    }
    evaluable = details["denominators"][details["at"]]["evaluable"]
    assert sum(every.values()) == evaluable
    return {category: n for category, n in every.items() if n}


def _core(row: dict[str, Any]) -> CoreSet:
    def glob(name: str) -> Global | None:
        value = to_fraction(row[name])
        return None if value is None else Global(value, row[f"{name}_scale"])

    return CoreSet(
        glob("phys_global"),
        glob("parent_global"),
        to_fraction(row["chaq"]),
        row["active_joints"],
        row["lom_joints"],
        to_fraction(row["esr"]),
    )


@pytest.mark.slow
def test_acr_pedi_level_of_every_demo_visit_matches_the_scalar_rule() -> None:
    tables = demo_tables()
    result = run_study(FOUNDING, tables=tables)
    visits = {(r["patient_id"], r["visit_date"]): r for r in tables["visits"].to_pylist()}
    baseline = result.tables["patient_timepoints"]
    baseline = baseline[baseline["timepoint"] == "baseline"]
    base_date = dict(zip(baseline["patient_id"], baseline["visit_date"], strict=False))
    responses = result.tables["responses"]
    assert len(responses) > 30
    for row in responses.to_dict(orient="records"):
        pid = row["patient_id"]
        expected = acr_pedi_level(
            _core(visits[(pid, base_date[pid])]), _core(visits[(pid, row["visit_date"])])
        )
        level = row["acr_pedi_level"]
        assert (None if level != level else int(level)) == expected, row


def test_chaq_threshold_is_strict_and_exact(registry: Registry, tmp_path: Path) -> None:
    registry.patient("AT").visit("AT", 0, chaq=0.5).visit("AT", 30, chaq=0.5)
    registry.patient("ABOVE").visit("ABOVE", 0, chaq=0.625).visit("ABOVE", 30, chaq=0.125)
    registry.patient("NONE").visit("NONE", 0, chaq=None).visit("NONE", 30, chaq=None)
    assert _run(registry, tmp_path)["chaq_over_0_5"] == {"baseline": 1, "month_1": 0}


@pytest.mark.slow
def test_fever_or_rash_and_the_sjia_variant(registry: Registry, tmp_path: Path) -> None:
    better = {"phys_global": 3.0, "parent_global": 3.0, "active_joints": 4, "esr": 10.0}
    registry.patient("FEVER").visit("FEVER", 0, fever=True).visit("FEVER", 30, fever=True, **better)
    registry.patient("RASH").visit("RASH", 0, rash=True).visit("RASH", 30, **better)
    registry.patient("UNKNOWN").visit("UNKNOWN", 0).visit("UNKNOWN", 30, fever=None, **better)
    results = _run(registry, tmp_path)
    assert results["systemic_features"] == {"baseline": 2, "month_1": 1}
    assert results["acr_pedi_30"]["responders"] == 3  # the core set alone improved in all
    assert (results["acr_sjia_m1"]["responders"], results["acr_sjia_m1"]["n"]) == (1, 2)
    sjia = results["endpoints"]["acr_sjia_m1"]
    assert sjia["denominators"]["month_1"]["not_evaluable"] == {"core_set_or_fever_missing": 1}
    assert sjia["responder_ids"] == ["RASH"]


@pytest.mark.slow
def test_steroid_change_categories(registry: Registry, tmp_path: Path) -> None:
    for pid in ("LT50", "HALF", "STOP", "SAME", "UP", "NONE", "METHYL"):
        registry.patient(pid).visit(pid, 0).visit(pid, 30)
    # a stop date is the last day at the dose (SPEC §12b.6): the next period starts the day after
    registry.steroid("LT50", "prednisone", 20, -100, 20).steroid("LT50", "prednisone", 15, 21)
    registry.steroid("HALF", "prednisone", 20, -100, 29).steroid("HALF", "prednisone", 10, 30)
    registry.steroid("STOP", "prednisolone", 10, -100, 10)
    registry.steroid("SAME", "prednisone", 5, -100)
    registry.steroid("UP", "prednisone", 5, -100, 29).steroid("UP", "prednisone", 10, 30)
    # 8 mg methylprednisolone = 10 mg prednisone (factor 5/4); the new 5 mg prednisone on day 30
    registry.steroid("METHYL", "methylprednisolone", 8, -100, 29)
    registry.steroid("METHYL", "prednisone", 5, 30)
    results = _run(registry, tmp_path)
    assert results["steroids"] == {
        "baseline_users": 6,
        "reduced": 4,
        "reduced_by_half_or_more": 3,  # REDUCED_GE50 (2) and DISCONTINUED
        "stopped": 1,
    }
    assert results["endpoints"]["steroids"]["not_reduced"] == {"INCREASED": 1, "NO_CHANGE": 1}
    assert _categories(results) == {
        "DISCONTINUED": 1,
        "INCREASED": 1,
        "NO_CHANGE": 1,
        "REDUCED_GE50": 2,
        "REDUCED_LT50": 1,
    }


def test_a_visit_on_the_stop_date_still_sees_the_dose(registry: Registry, tmp_path: Path) -> None:
    """SPEC §12b.6: `stop_date` is the last day at the dose (was: 0 mg → "discontinued")."""
    registry.patient("LAST").visit("LAST", 0).visit("LAST", 30)
    registry.steroid("LAST", "prednisone", 10, -100, 30)
    results = _run(registry, tmp_path, "config: {steroid_basis: mg_day}\n")
    assert _categories(results) == {"NO_CHANGE": 1}
    assert results["steroids"]["stopped"] == 0


def test_pulses_and_joint_injections_are_not_daily_doses(
    registry: Registry, tmp_path: Path
) -> None:
    """SPEC §12b.6, R-STEROID-2.2: only oral and other routes count toward the daily dose."""
    for pid in ("PULSE", "JOINT", "OTHER", "NONE"):
        registry.patient(pid).visit(pid, 0).visit(pid, 30)
    registry.steroid("PULSE", "methylprednisolone", 500, -2, 0, route="iv_pulse")
    registry.steroid("JOINT", "triamcinolone", 40, 0, 0, route="intra_articular")
    registry.steroid("OTHER", "prednisone", 10, -100, route="other")
    registry.steroid("NONE", "prednisone", 10, -100, route=None)  # older data: oral
    results = _run(registry, tmp_path, "config: {steroid_basis: mg_day}\n")
    assert results["steroids"]["baseline_users"] == 2
    assert _categories(results) == {"NO_CHANGE": 2}


ON_TREATMENT = PROTOCOL.replace(
    "{id: steroids, kind: steroid_change, at: month_1}",
    "{id: steroids, kind: steroid_change, at: on_treatment}",
)


@pytest.mark.slow
def test_steroid_change_over_the_time_on_treatment(registry: Registry, tmp_path: Path) -> None:
    """SPEC §12b.10: baseline (first infusion) vs the last day on the drug (last infusion);
    month 1 is not the end. Infusions every 14 days, 8 of them: days 0 … 98."""
    for pid in ("LATE", "EARLY", "DIP", "STOP"):
        registry.patient(pid, infusions=8).visit(pid, 0).visit(pid, 30)
    registry.steroid("LATE", "prednisone", 20, -100, 59).steroid("LATE", "prednisone", 15, 60)
    registry.steroid("EARLY", "prednisone", 20, -100, 9).steroid("EARLY", "prednisone", 5, 10, 39)
    registry.steroid("EARLY", "prednisone", 20, 40)  # back up: the last dose decides
    registry.steroid("DIP", "prednisone", 10, -100, 49).steroid("DIP", "prednisone", 4, 50, 69)
    registry.steroid("DIP", "prednisone", 8, 70)
    registry.steroid("STOP", "prednisone", 10, -100, 98)  # its last day is the last infusion's
    path = tmp_path / "p.yaml"
    path.write_text(ON_TREATMENT + "config: {steroid_basis: mg_day}\n")
    result = run_study(path, tables=registry.tables())
    results = result.results.to_json()
    assert results["steroids"] == {
        "baseline_users": 4,
        "reduced": 2,
        "reduced_by_half_or_more": 0,
        "stopped": 0,
    }
    details = results["endpoints"]["steroids"]
    assert details["at"] == "on_treatment"
    assert _categories(results) == {"NO_CHANGE": 2, "REDUCED_LT50": 2}
    assert details["lowest_below_baseline"] == 3  # LATE, EARLY (5 mg) and DIP (4 mg)
    table = result.tables["steroids"]
    rows = table[table["timepoint"] == "on_treatment"].set_index("patient_id")
    assert rows.loc["DIP", "lowest_peq_mg_day"] == 4.0
    assert rows.loc["DIP", "peq_mg_day"] == 8.0
    assert rows.loc["STOP", "change_category"] == "NO_CHANGE"
    month_1 = _run(registry, tmp_path, "config: {steroid_basis: mg_day}\n")
    assert month_1["steroids"]["reduced"] == 1  # only EARLY had reduced by day 30


@pytest.mark.slow
def test_mg_kg_day_basis_uses_each_visits_weight(registry: Registry, tmp_path: Path) -> None:
    registry.patient("GROWS").visit("GROWS", 0, weight_kg=20.0).visit("GROWS", 30, weight_kg=25.0)
    registry.steroid("GROWS", "prednisone", 10, -100)
    by_weight = _categories(_run(registry, tmp_path))
    by_dose = _run(registry, tmp_path, "config: {steroid_basis: mg_day}\n")
    assert by_weight == {"REDUCED_LT50": 1}  # SPEC R07: 0.5 -> 0.4 mg/kg/day
    assert _categories(by_dose) == {"NO_CHANGE": 1}


def test_adverse_events_count_from_the_index_date(registry: Registry, tmp_path: Path) -> None:
    registry.patient("AE").visit("AE", 0).visit("AE", 30)
    for onset, term in ((-5, "before"), (3, "infusion reaction"), (40, "infection")):
        registry.rows["adverse_events"].append(
            {
                "patient_id": "AE",
                "onset_date": day(onset),
                "term": term,
                "grade": 2,
                "serious": term == "infection",
            }
        )
    results = _run(registry, tmp_path)
    assert results["adverse_events"] == 2
    details = results["endpoints"]["adverse_events"]
    assert details["serious"] == 1
    assert details["by_term"] == {"infection": 1, "infusion reaction": 1}


def test_inactive_disease_at_each_timepoint(registry: Registry, tmp_path: Path) -> None:
    quiet = {
        "active_joints": 0,
        "phys_global": 0.0,
        "esr": 12.0,
        "crp": 3.0,
        "serositis": False,
        "hepatomegaly": False,
        "splenomegaly": False,
        "lymphadenopathy": False,
        "uveitis_active": False,
        "morning_stiffness_min": 15.0,
    }
    registry.patient("CID").visit("CID", 0).visit("CID", 30, **quiet)
    registry.patient("JOINTS").visit("JOINTS", 0).visit(
        "JOINTS", 30, **(quiet | {"active_joints": 1})
    )
    registry.patient("UNSURE").visit("UNSURE", 0).visit(
        "UNSURE", 30, **(quiet | {"uveitis_active": None})
    )
    extra = "  - {id: inactive_disease, kind: inactive_disease, at: [month_1]}\n"
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL + extra)
    results = run_study(path, tables=registry.tables()).results.to_json()
    assert results["inactive_disease"] == {"month_1": 1}
    counted = results["endpoints"]["inactive_disease"]["denominators"]["month_1"]
    # CID inactive (headline), JOINTS not inactive, UNSURE unknown (uveitis not recorded)
    assert counted == {"cohort": 3, "evaluable": 2, "not_evaluable": {"criterion_not_recorded": 1}}


@pytest.mark.slow
def test_a_visit_on_an_infusion_day_comes_before_that_infusion(
    registry: Registry, tmp_path: Path
) -> None:
    """SPEC R-ACRPEDI-3: "before the 3rd infusion" is a visit after infusion 2 (day 14) up to
    infusion 3 (day 28). The visit on infusion 3's day is its pre-infusion assessment, so it
    follows 2 administrations and counts; day 29 follows 3 and day 14 (before infusion 2)
    is too early; a patient never given infusion 3 has no such visit."""
    better = {"phys_global": 3.0, "parent_global": 3.0, "active_joints": 2}
    registry.patient("ON").visit("ON", 0).visit("ON", 28, **better).visit("ON", 29)
    registry.patient("AFTER").visit("AFTER", 0).visit("AFTER", 28).visit("AFTER", 29, **better)
    registry.patient("EARLY").visit("EARLY", 0).visit("EARLY", 14, **better).visit("EARLY", 28)
    registry.patient("TWO", infusions=2).visit("TWO", 0).visit("TWO", 20, **better)
    extra = (
        "  - {id: before_3, kind: acr_pedi, level: 30, at: follow_up, before_administration: 3,"
        " output: count}\n"
    )
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL + extra)
    result = run_study(path, tables=registry.tables())
    responses = result.tables["responses"]
    numbers = set(zip(responses["day"], responses["administration_number"], strict=True))
    assert numbers == {(14, 1), (20, 2), (28, 2), (29, 3)}
    assert result.results.to_json()["before_3"] == 1  # ON at day 28 only
    details = result.results.to_json()["endpoints"]["before_3"]
    counted = details["denominators"]["follow_up"]
    assert (details["responder_ids"], counted["evaluable"]) == (["ON"], 3)  # 2 non-responders
    assert counted["not_evaluable"] == {"no_visit_before_administration_3": 1}  # TWO
    assert details["ci95"] is not None  # output: count keeps its interval in the details
    assert result.results.to_json()["acr_pedi_30"]["responders"] == 4


PRIOR = """\
title: prior failure source
eligibility:
  exposure: {drug: tocilizumab}
  prior_failure: {drug_class: anti_tnf, stop_reasons: [primary_failure, secondary_failure]}
timepoints:
  - {name: baseline, window: {from_day: -30, to_day: 0}, pick: last}
endpoints:
  - {id: adverse_events, kind: adverse_events}
"""


@pytest.mark.slow
def test_prior_anti_tnf_failure_recorded_derived_or_either(
    registry: Registry, tmp_path: Path
) -> None:
    """R-TNF-FAIL: the protocol's `tnf_failure_source` decides which earlier courses failed.
    Etanercept ran from day -400 to -100; its assessment visit is near day -400 + 84."""
    registry.patient("RECORDED", prior="secondary_failure").visit("RECORDED", 0)
    registry.patient("FROM_VISITS", prior="other").visit("FROM_VISITS", 0)
    registry.visit("FROM_VISITS", -401).visit("FROM_VISITS", -316)  # the same core set: no response
    registry.patient("NEITHER", prior="other").visit("NEITHER", 0)
    path = tmp_path / "p.yaml"
    found = {}
    for source in ("recorded", "derived", "either"):
        path.write_text(PRIOR + f"config: {{tnf_failure_source: {source}}}\n")
        result = run_study(path, tables=registry.tables())
        found[source] = set(result.tables["patients"]["patient_id"])
        step = result.tables["attrition"]["step"].iloc[-2]
        assert step.endswith(")") and ("derived" in step) == (source != "recorded")
    assert found == {
        "recorded": {"RECORDED"},
        "derived": {"FROM_VISITS"},
        "either": {"RECORDED", "FROM_VISITS"},
    }
