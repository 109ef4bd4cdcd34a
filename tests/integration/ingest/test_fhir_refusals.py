"""FHIR from an EHR that jiareg refuses or does not take as data: deeply nested JSON, a history
bundle, fields of the wrong JSON type, drugs outside the vocabulary, NDJSON lines that are
not resources, refuted diagnoses and potential adverse events; and which unknown code
systems the summary reports. The bundles are built by hand (tests/support/fhir_bundles.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.integration.store.sample import GOOD, write_folder
from tests.support.fhir_bundles import (
    PID,
    ehr_bundle,
    import_bundle,
    observation,
    patient_resource,
    skipped_counts,
    write_bundle,
)
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import ImportErrors
from jiareg.formats.fhir.write import write_fhir
from jiareg.ingest import read_template
from jiareg.services.imports import import_path


def test_deeply_nested_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"resourceType": "Bundle", "type": "collection", "x": ' + "[" * 200_000)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    result = CliRunner().invoke(app, ["import", str(path), "--db", db])
    assert result.exit_code == 1
    assert "expected JSON nested fewer than 1,000 levels" in result.output


def test_dropping_empty_encounters_keeps_each_problem_reported_once(tmp_path: Path) -> None:
    encounter = ehr_bundle()[-1]
    weight = observation("w1", "29463-7", 1, "kg")
    weight["valueQuantity"] = {"value": "high", "unit": "lb"}
    with pytest.raises(ImportErrors) as info:
        import_bundle(
            write_bundle(tmp_path, [patient_resource(), encounter, weight]),
            tmp_path,
            skip_unmapped=True,
        )
    assert [p.column for p in info.value.problems] == ["entry[2].resource.valueQuantity.code"]


def test_history_bundle_is_refused_and_operation_outcome_is_not_data(tmp_path: Path) -> None:
    with pytest.raises(ImportErrors, match="column 'type' = 'history'"):
        import_bundle(write_bundle(tmp_path, [patient_resource()], "history"), tmp_path)
    outcome = {"resourceType": "OperationOutcome", "id": "o1", "issue": []}
    summary, tables = import_bundle(
        write_bundle(tmp_path, [patient_resource(), outcome], "searchset"), tmp_path
    )
    assert len(tables["patients"]) == 1
    assert skipped_counts(summary) == {("OperationOutcome", "a server's message, not data"): 1}


def test_fields_of_the_wrong_json_type_are_problems_not_crashes(tmp_path: Path) -> None:
    bad_patient = patient_resource(identifier={"system": "x", "value": "y"})  # a list in FHIR
    bad_encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "subject": {"reference": PID},
        "period": "2020-01-01",  # an object in FHIR
    }
    with pytest.raises(ImportErrors) as info:
        import_bundle(write_bundle(tmp_path, [bad_patient, bad_encounter]), tmp_path)
    assert [(p.where, p.expected) for p in info.value.problems] == [
        ("Patient/11111111-1111-4111-8111-111111111111", "FHIR R4's field types for Patient"),
        ("Encounter/e1", "FHIR R4's field types for Encounter"),
    ]


def test_a_value_of_another_type_is_refused_and_effective_period_dates_the_visit(
    tmp_path: Path,
) -> None:
    esr = observation("e1", "4537-7", 1, "mm/h")
    del esr["valueQuantity"]
    esr["valueString"] = "12"
    with pytest.raises(ImportErrors, match=r"column 'entry\[1\]\.resource\.valueString' = '12'"):
        import_bundle(write_bundle(tmp_path, [patient_resource(), esr]), tmp_path)
    weight = observation("w1", "29463-7", 30, "kg")
    del weight["effectiveDateTime"]
    weight["effectivePeriod"] = {"start": "2020-07-08T08:00:00Z"}
    _, tables = import_bundle(write_bundle(tmp_path, [patient_resource(), weight]), tmp_path)
    assert [str(v["visit_date"]) for v in tables["visits"]] == ["2020-07-08"]


def test_a_drug_outside_the_vocabulary_is_refused_not_stored(tmp_path: Path) -> None:
    """An unknown drug is an error, never a silent new drug (issue #11): a FHIR course of a
    drug jiareg does not know is refused by the same cell check as a spreadsheet's."""
    files = {**GOOD, "treatments.csv": GOOD["treatments.csv"].replace("adalimumab", "emapalumab")}
    tables = read_template(write_folder(tmp_path / "s", {**GOOD}))
    bundle = write_fhir(tables, tmp_path / "b.json")
    assert read_template(bundle) == tables
    with pytest.raises(ImportErrors) as info:
        read_template(write_folder(tmp_path / "u", files))
    assert [(p.column, p.value) for p in info.value.problems] == [("drug", "emapalumab")]


def test_ndjson_lines_that_are_not_resources_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "Patient.ndjson"
    path.write_bytes(
        json.dumps(patient_resource()).encode() + b'\n[1, 2]\n{"resourceType": \n\xff\n'
    )
    with pytest.raises(ImportErrors) as info:
        import_bundle(path, tmp_path)
    assert [(p.row, p.expected) for p in info.value.problems] == [
        (2, "one FHIR resource"),
        (3, "JSON text"),
        (4, "UTF-8"),
    ]


def test_refuted_diagnosis_and_potential_adverse_event_are_not_data(tmp_path: Path) -> None:
    icd = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "M08.2"}]}
    refuted = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                "code": "refuted",
            }
        ]
    }
    resources = [
        patient_resource(),
        {"resourceType": "Condition", "id": "c1", "code": icd, "subject": {"reference": PID}}
        | {"verificationStatus": refuted},
        {
            "resourceType": "AdverseEvent",
            "id": "ae1",
            "actuality": "potential",
            "subject": {"reference": PID},
            "date": "2020-01-01",
            "event": {"text": "infusion reaction"},
        },
    ]
    summary, tables = import_bundle(write_bundle(tmp_path, resources), tmp_path)
    assert tables["patients"][0]["ilar_category"] is None
    assert tables["adverse_events"] == []
    assert skipped_counts(summary) == {
        ("AdverseEvent", "actuality potential"): 1,
        ("Condition", "verificationStatus refuted"): 1,
    }


def test_jiaregs_own_code_systems_are_not_reported_others_are(tmp_path: Path) -> None:
    bundle = write_fhir(read_template(write_folder(tmp_path / "s")), tmp_path / "b.json")
    doc = json.loads(bundle.read_text())
    doc["entry"].append({"resource": {"resourceType": "ValueSet", "id": "v", "status": "draft"}})
    bundle.write_text(json.dumps(doc))
    summary = import_path(bundle, f"sqlite:///{tmp_path / 'r.db'}")
    assert skipped_counts(summary) == {("ValueSet", "defines codes, not data"): 1}
