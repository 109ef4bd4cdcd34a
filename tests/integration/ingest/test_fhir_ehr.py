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
from tests.support.fhir_bundles import (
    PID,
    UCUM,
    drug_resource,
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
from jiareg.services.imports import import_path


def test_resources_that_did_not_happen_are_never_stored(tmp_path: Path) -> None:
    resources = [
        patient_resource(),
        observation("w1", "29463-7", 30.5, "kg"),
        observation("w2", "29463-7", 99.0, "kg", status="entered-in-error"),
        observation("h1", "8302-2", 140.0, "cm", status="cancelled"),
        drug_resource(
            "a1",
            "MedicationAdministration",
            "612865",
            status="not-done",
            effectiveDateTime="2020-05-06",
            dosage={"dose": {"value": 240, "unit": "mg", "system": UCUM, "code": "mg"}},
        ),
        drug_resource("s1", "MedicationStatement", "612865", status="entered-in-error"),
        drug_resource(
            "q1", "MedicationRequest", "612865", status="cancelled", authoredOn="2020-01-01"
        ),
    ]
    summary, tables = import_bundle(write_bundle(tmp_path, resources), tmp_path)
    assert [v["weight_kg"] for v in tables["visits"]] == [30.5]
    assert [v["height_cm"] for v in tables["visits"]] == [None]
    assert tables["administrations"] == tables["treatments"] == []
    assert skipped_counts(summary) == {
        ("MedicationAdministration", "status not-done"): 1,
        ("MedicationRequest", "status cancelled"): 1,
        ("MedicationStatement", "status entered-in-error"): 1,
        ("Observation", "status cancelled"): 1,
        ("Observation", "status entered-in-error"): 1,
    }


@pytest.mark.slow
def test_ucum_units_are_converted_and_extra_decimals_rounded(tmp_path: Path) -> None:
    resources = [
        patient_resource(),
        observation("w1", "29463-7", 70.5, "[lb_av]"),
        observation("h1", "8302-2", 50, "[in_i]"),
        observation("c1", "1988-5", 1.25, "mg/dL"),
        observation("e1", "4537-7", 12.34567, "mm/h"),
    ]
    summary, tables = import_bundle(write_bundle(tmp_path, resources), tmp_path)
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
    weight = observation("w1", "29463-7", 1, "kg")
    weight["valueQuantity"] = quantity
    with pytest.raises(ImportErrors, match=message) as info:
        import_bundle(write_bundle(tmp_path, [patient_resource(), weight]), tmp_path)
    assert len(info.value.problems) == 1


@pytest.mark.parametrize(
    "kind", ["collection", "transaction", "batch", "searchset", "document", "transaction-response"]
)
def test_every_bundle_type_is_read(kind: str, tmp_path: Path) -> None:
    summary, tables = import_bundle(
        write_bundle(tmp_path, [patient_resource(), observation("w1", "29463-7", 30, "kg")], kind),
        tmp_path,
    )
    assert [p["site"] for p in tables["patients"]] == ["north"]
    assert [v["weight_kg"] for v in tables["visits"]] == [30]
    assert summary.skipped == ()


def test_ndjson_file_and_folder(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    obs = observation("w1", "29463-7", 30, "kg")
    obs["subject"] = {"reference": "Patient/11111111-1111-4111-8111-111111111111"}
    (folder / "Observation.ndjson").write_text(json.dumps(obs) + "\n\n")
    (folder / "Patient.ndjson").write_text(json.dumps(patient_resource()) + "\n")
    (folder / "Practitioner.ndjson").write_text(
        "\n".join(json.dumps({"resourceType": "Practitioner", "id": f"d{n}"}) for n in range(3))
    )
    summary, tables = import_bundle(folder, tmp_path, skip_unmapped=True)
    assert [v["weight_kg"] for v in tables["visits"]] == [30]
    assert skipped_counts(summary) == {("Practitioner", "type not mapped"): 3}
    single, _ = import_bundle(folder / "Patient.ndjson", tmp_path)
    assert [t.table for t in single.tables if t.unchanged] == ["patients"]


def test_skip_unmapped_imports_what_maps_and_counts_the_rest(tmp_path: Path) -> None:
    summary, tables = import_bundle(
        write_bundle(tmp_path, ehr_bundle()), tmp_path, skip_unmapped=True
    )
    assert [v["weight_kg"] for v in tables["visits"]] == [30.123]
    assert skipped_counts(summary) == {
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
        import_bundle(write_bundle(tmp_path, ehr_bundle()), tmp_path)
    lines = str(info.value).splitlines()[1:]
    assert len(lines) == 5  # 2 Practitioners, MedicinalProduct, BMI, Condition
    assert all(len(line) < 220 for line in lines)
    assert (
        "bundle.json:4: Observation/bmi: column 'entry[4].resource.code.coding' = "
        "'http://loinc.org|39156-5'; expected something jiareg maps (code not mapped"
        in str(info.value)
    )


def test_patient_without_organisation_needs_site(tmp_path: Path) -> None:
    path = write_bundle(tmp_path, [patient_resource()])
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
        patient_resource(),
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
        drug_resource("s1", "MedicationStatement", "8638", status="active", dosage=[prednisolone])
        | {"effectivePeriod": {"start": "2020-01-10", "end": "2020-02-01"}},
    ]
    summary, tables = import_bundle(write_bundle(tmp_path, resources), tmp_path)
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
