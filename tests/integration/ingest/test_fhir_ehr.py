"""FHIR as an EHR sends it: statuses, UCUM units, every bundle type, NDJSON, unmapped resources.

Each test builds a small bundle by hand the way an EHR writes one (standard codes, urn:uuid
references, no jiareg extensions), imports it into a fresh SQLite registry and checks what
was stored and what the summary says was skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.integration.store.sample import GOOD, write_folder
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import ImportErrors
from jiareg.formats.fhir.write import write_fhir
from jiareg.ingest import read_template
from jiareg.services.imports import ImportSummary, import_path
from jiareg.store.tables import read_tables

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
PID = "urn:uuid:11111111-1111-4111-8111-111111111111"


def _patient(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "11111111-1111-4111-8111-111111111111",
        "gender": "female",
        "birthDate": "2012-03-04",
        **extra,
    }


def _obs(rid: str, loinc: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": PID},
        "effectiveDateTime": "2020-05-06T10:11:12+02:00",
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        **extra,
    }


def _drug(rid: str, kind: str, rxnorm: str, **extra: Any) -> dict[str, Any]:
    concept = {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxnorm}]
    }
    return {
        "resourceType": kind,
        "id": rid,
        "status": "completed",
        "medicationCodeableConcept": concept,
        "subject": {"reference": PID},
        **extra,
    }


def _write(tmp: Path, resources: list[dict[str, Any]], kind: str = "collection") -> Path:
    entries = [
        {"fullUrl": PID if r["resourceType"] == "Patient" else f"urn:uuid:{r['id']}", "resource": r}
        for r in resources
    ]
    path = tmp / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries}))
    return path


def _import(path: Path, tmp: Path, **options: Any) -> tuple[ImportSummary, dict[str, Any]]:
    db = f"sqlite:///{tmp / 'r.db'}"
    summary = import_path(path, db, format="fhir", site="north", **options)
    return summary, {k: v.to_pylist() for k, v in read_tables(db).items()}


def _skipped(summary: ImportSummary) -> dict[tuple[str, str], int]:
    return {(s.resource_type, s.reason): s.count for s in summary.skipped}


def test_resources_that_did_not_happen_are_never_stored(tmp_path: Path) -> None:
    resources = [
        _patient(),
        _obs("w1", "29463-7", 30.5, "kg"),
        _obs("w2", "29463-7", 99.0, "kg", status="entered-in-error"),
        _obs("h1", "8302-2", 140.0, "cm", status="cancelled"),
        _drug(
            "a1",
            "MedicationAdministration",
            "612865",
            status="not-done",
            effectiveDateTime="2020-05-06",
            dosage={"dose": {"value": 240, "unit": "mg", "system": UCUM, "code": "mg"}},
        ),
        _drug("s1", "MedicationStatement", "612865", status="entered-in-error"),
        _drug("q1", "MedicationRequest", "612865", status="cancelled", authoredOn="2020-01-01"),
    ]
    summary, tables = _import(_write(tmp_path, resources), tmp_path)
    assert [v["weight_kg"] for v in tables["visits"]] == [30.5]
    assert [v["height_cm"] for v in tables["visits"]] == [None]
    assert tables["administrations"] == tables["treatments"] == []
    assert _skipped(summary) == {
        ("MedicationAdministration", "status not-done"): 1,
        ("MedicationRequest", "status cancelled"): 1,
        ("MedicationStatement", "status entered-in-error"): 1,
        ("Observation", "status cancelled"): 1,
        ("Observation", "status entered-in-error"): 1,
    }


@pytest.mark.slow
def test_ucum_units_are_converted_and_extra_decimals_rounded(tmp_path: Path) -> None:
    resources = [
        _patient(),
        _obs("w1", "29463-7", 70.5, "[lb_av]"),
        _obs("h1", "8302-2", 50, "[in_i]"),
        _obs("c1", "1988-5", 1.25, "mg/dL"),
        _obs("e1", "4537-7", 12.34567, "mm/h"),
    ]
    summary, tables = _import(_write(tmp_path, resources), tmp_path)
    (visit,) = tables["visits"]
    assert visit["weight_kg"] == 31.978  # 70.5 x 0.45359237 kg
    assert visit["height_cm"] == 127.0  # 50 x 2.54 cm
    assert visit["crp"] == 12.5  # 1 mg/dL = 10 mg/L
    assert visit["esr"] == 12.346
    assert "1 value(s) converted from [lb_av] to kg (UCUM)" in summary.notes
    assert "1 esr value(s) rounded to 3 decimals (the template's precision)" in summary.notes


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ({"value": 70.5, "unit": "lb"}, "valueQuantity.code' = 'lb'; expected a UCUM code"),
        (
            {"value": 70.5, "unit": "lb", "system": UCUM, "code": "cm"},
            "valueQuantity.code' = 'cm'; expected a UCUM unit convertible to kg",
        ),
    ],
)
def test_quantity_without_ucum_code_or_of_another_dimension_is_refused(
    quantity: dict[str, Any], message: str, tmp_path: Path
) -> None:
    weight = _obs("w1", "29463-7", 1, "kg")
    weight["valueQuantity"] = quantity
    with pytest.raises(ImportErrors, match=message) as info:
        _import(_write(tmp_path, [_patient(), weight]), tmp_path)
    assert len(info.value.problems) == 1


@pytest.mark.parametrize(
    "kind", ["collection", "transaction", "batch", "searchset", "document", "transaction-response"]
)
def test_every_bundle_type_is_read(kind: str, tmp_path: Path) -> None:
    summary, tables = _import(
        _write(tmp_path, [_patient(), _obs("w1", "29463-7", 30, "kg")], kind), tmp_path
    )
    assert [p["site"] for p in tables["patients"]] == ["north"]
    assert [v["weight_kg"] for v in tables["visits"]] == [30]
    assert summary.skipped == ()


def test_ndjson_file_and_folder(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    obs = _obs("w1", "29463-7", 30, "kg")
    obs["subject"] = {"reference": "Patient/11111111-1111-4111-8111-111111111111"}
    (folder / "Observation.ndjson").write_text(json.dumps(obs) + "\n\n")
    (folder / "Patient.ndjson").write_text(json.dumps(_patient()) + "\n")
    (folder / "Practitioner.ndjson").write_text(
        "\n".join(json.dumps({"resourceType": "Practitioner", "id": f"d{n}"}) for n in range(3))
    )
    summary, tables = _import(folder, tmp_path, skip_unmapped=True)
    assert [v["weight_kg"] for v in tables["visits"]] == [30]
    assert _skipped(summary) == {("Practitioner", "type not mapped"): 3}
    single, _ = _import(folder / "Patient.ndjson", tmp_path)
    assert [t.table for t in single.tables if t.unchanged] == ["patients"]


def _ehr_bundle() -> list[dict[str, Any]]:
    return [
        _patient(),
        {"resourceType": "Practitioner", "id": "doc1"},
        {"resourceType": "Practitioner", "id": "doc2"},
        {"resourceType": "MedicinalProduct", "id": "r4-only"},  # in R4, not in R4B
        _obs("bmi", "39156-5", 18.2, "kg/m2"),
        _obs("w1", "29463-7", 30.12345, "kg"),
        {
            "resourceType": "Condition",
            "id": "c1",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
            "subject": {"reference": PID},
        },
        {
            "resourceType": "Encounter",
            "id": "enc-flu",
            "status": "finished",
            "subject": {"reference": PID},
            "period": {"start": "2019-01-02"},
        },
    ]


def test_skip_unmapped_imports_what_maps_and_counts_the_rest(tmp_path: Path) -> None:
    summary, tables = _import(_write(tmp_path, _ehr_bundle()), tmp_path, skip_unmapped=True)
    assert [v["weight_kg"] for v in tables["visits"]] == [30.123]
    assert _skipped(summary) == {
        ("Condition", "not a JIA diagnosis"): 1,
        ("Encounter", "no Observation jiareg maps"): 1,
        ("MedicinalProduct", "type not mapped"): 1,
        ("Observation", "code not mapped"): 1,
        ("Practitioner", "type not mapped"): 2,
    }
    result = CliRunner().invoke(
        app,
        [
            *("import", str(tmp_path / "bundle.json"), "--db", f"sqlite:///{tmp_path / 'c.db'}"),
            *("--site", "north", "--skip-unmapped"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "skipped 2 Practitioner: type not mapped" in result.output
    assert "1 weight_kg value(s) rounded to 3 decimals" in result.output


def test_without_skip_unmapped_each_unmapped_resource_is_one_short_error(tmp_path: Path) -> None:
    with pytest.raises(ImportErrors) as info:
        _import(_write(tmp_path, _ehr_bundle()), tmp_path)
    lines = str(info.value).splitlines()[1:]
    assert len(lines) == 5  # 2 Practitioners, MedicinalProduct, BMI, Condition
    assert all(len(line) < 220 for line in lines)
    assert (
        "bundle.json:4: Observation/bmi: column 'entry[4].resource.code.coding' = "
        "'http://loinc.org|39156-5'; expected something jiareg maps (code not mapped"
        in str(info.value)
    )


def test_patient_without_organisation_needs_site(tmp_path: Path) -> None:
    path = _write(tmp_path, [_patient()])
    with pytest.raises(ImportErrors, match="expected a managingOrganization, or --site SITE"):
        import_path(path, f"sqlite:///{tmp_path / 'r.db'}", format="fhir")


def test_standard_codes_references_and_periods(tmp_path: Path) -> None:
    icd = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M08.20"}]}
    dose = {"dose": {"value": 0.24, "unit": "g", "system": UCUM, "code": "g"}}
    prednisolone = {
        "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg", "system": UCUM, "code": "mg"}}],
    }
    medication = {
        "resourceType": "Medication",
        "id": "toci",
        "code": {"coding": [{"system": "http://www.whocc.no/atc", "code": "L04AC07"}]},
    }
    resources = [
        _patient(),
        {"resourceType": "Condition", "id": "c1", "code": icd, "subject": {"reference": PID}}
        | {"onsetDateTime": "2015-06-01"},
        medication,
        {
            "resourceType": "MedicationRequest",
            "id": "q1",
            "status": "active",
            "intent": "order",
            "medicationReference": {"reference": "urn:uuid:toci"},
            "subject": {"reference": PID},
            "authoredOn": "2020-01-10",
            "dosageInstruction": [
                {"route": {"coding": [{"system": "http://snomed.info/sct", "code": "47625008"}]}}
            ],
        },
        {
            "resourceType": "MedicationAdministration",
            "id": "a1",
            "status": "completed",
            "contained": [medication | {"id": "m"}],
            "medicationReference": {"reference": "#m"},
            "subject": {"reference": PID},
            "effectivePeriod": {"start": "2020-01-10T09:00:00Z", "end": "2020-01-10T10:00:00Z"},
            "dosage": dose,
        },
        _drug("s1", "MedicationStatement", "8638", status="active", dosage=[prednisolone])
        | {"effectivePeriod": {"start": "2020-01-10", "end": "2020-02-01"}},
    ]
    summary, tables = _import(_write(tmp_path, resources), tmp_path)
    assert tables["patients"][0]["ilar_category"] == "systemic"
    assert tables["patients"][0]["onset_date"].isoformat() == "2015-06-01"
    (course,) = tables["treatments"]
    assert (course["drug"], course["route"], course["start_date"].isoformat()) == (
        "tocilizumab",
        "iv",
        "2020-01-10",
    )
    (given,) = tables["administrations"]
    assert (given["drug"], given["dose_mg"], given["date"].isoformat()) == (
        "tocilizumab",
        240,
        "2020-01-10",
    )
    (steroid,) = tables["steroids"]
    assert (steroid["drug"], steroid["daily_dose_mg"]) == ("prednisolone", 10)
    assert summary.skipped == ()


def test_deeply_nested_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"resourceType": "Bundle", "type": "collection", "x": ' + "[" * 200_000)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    result = CliRunner().invoke(app, ["import", str(path), "--db", db])
    assert result.exit_code == 1
    assert "expected JSON nested fewer than 1,000 levels" in result.output


def test_dropping_empty_encounters_keeps_each_problem_reported_once(tmp_path: Path) -> None:
    encounter = _ehr_bundle()[-1]
    weight = _obs("w1", "29463-7", 1, "kg")
    weight["valueQuantity"] = {"value": "high", "unit": "lb"}
    with pytest.raises(ImportErrors) as info:
        _import(_write(tmp_path, [_patient(), encounter, weight]), tmp_path, skip_unmapped=True)
    assert [p.column for p in info.value.problems] == ["entry[2].resource.valueQuantity.code"]


def test_history_bundle_is_refused_and_operation_outcome_is_not_data(tmp_path: Path) -> None:
    with pytest.raises(ImportErrors, match="column 'type' = 'history'"):
        _import(_write(tmp_path, [_patient()], "history"), tmp_path)
    outcome = {"resourceType": "OperationOutcome", "id": "o1", "issue": []}
    summary, tables = _import(_write(tmp_path, [_patient(), outcome], "searchset"), tmp_path)
    assert len(tables["patients"]) == 1
    assert _skipped(summary) == {("OperationOutcome", "a server's message, not data"): 1}


def test_fields_of_the_wrong_json_type_are_problems_not_crashes(tmp_path: Path) -> None:
    bad_patient = _patient(identifier={"system": "x", "value": "y"})  # a list in FHIR
    bad_encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "subject": {"reference": PID},
        "period": "2020-01-01",  # an object in FHIR
    }
    with pytest.raises(ImportErrors) as info:
        _import(_write(tmp_path, [bad_patient, bad_encounter]), tmp_path)
    assert [(p.where, p.expected) for p in info.value.problems] == [
        ("Patient/11111111-1111-4111-8111-111111111111", "FHIR R4's field types for Patient"),
        ("Encounter/e1", "FHIR R4's field types for Encounter"),
    ]


def test_a_value_of_another_type_is_refused_and_effective_period_dates_the_visit(
    tmp_path: Path,
) -> None:
    esr = _obs("e1", "4537-7", 1, "mm/h")
    del esr["valueQuantity"]
    esr["valueString"] = "12"
    with pytest.raises(ImportErrors, match=r"column 'entry\[1\]\.resource\.valueString' = '12'"):
        _import(_write(tmp_path, [_patient(), esr]), tmp_path)
    weight = _obs("w1", "29463-7", 30, "kg")
    del weight["effectiveDateTime"]
    weight["effectivePeriod"] = {"start": "2020-07-08T08:00:00Z"}
    _, tables = _import(_write(tmp_path, [_patient(), weight]), tmp_path)
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
    path.write_bytes(json.dumps(_patient()).encode() + b'\n[1, 2]\n{"resourceType": \n\xff\n')
    with pytest.raises(ImportErrors) as info:
        _import(path, tmp_path)
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
        _patient(),
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
    summary, tables = _import(_write(tmp_path, resources), tmp_path)
    assert tables["patients"][0]["ilar_category"] is None
    assert tables["adverse_events"] == []
    assert _skipped(summary) == {
        ("AdverseEvent", "actuality potential"): 1,
        ("Condition", "verificationStatus refuted"): 1,
    }


def test_jiaregs_own_code_systems_are_not_reported_others_are(tmp_path: Path) -> None:
    bundle = write_fhir(read_template(write_folder(tmp_path / "s")), tmp_path / "b.json")
    doc = json.loads(bundle.read_text())
    doc["entry"].append({"resource": {"resourceType": "ValueSet", "id": "v", "status": "draft"}})
    bundle.write_text(json.dumps(doc))
    summary = import_path(bundle, f"sqlite:///{tmp_path / 'r.db'}")
    assert _skipped(summary) == {("ValueSet", "defines codes, not data"): 1}
