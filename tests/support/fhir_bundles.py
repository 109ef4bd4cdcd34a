"""FHIR resources written by hand the way an EHR writes them (standard codes, urn:uuid
references, UCUM units, no jiareg extensions), a bundle of them on disk, and its import into a
fresh SQLite registry at site "north". Used by the FHIR-from-an-EHR tests
(tests/integration/ingest/test_fhir_ehr.py and test_fhir_refusals.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jiareg.services.imports import ImportSummary, import_path
from jiareg.store.tables import read_tables

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
PID = "urn:uuid:11111111-1111-4111-8111-111111111111"


def patient_resource(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "11111111-1111-4111-8111-111111111111",
        "gender": "female",
        "birthDate": "2012-03-04",
        **extra,
    }


def observation(rid: str, loinc: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
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


def drug_resource(rid: str, kind: str, rxnorm: str, **extra: Any) -> dict[str, Any]:
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


def write_bundle(tmp: Path, resources: list[dict[str, Any]], kind: str = "collection") -> Path:
    entries = [
        {"fullUrl": PID if r["resourceType"] == "Patient" else f"urn:uuid:{r['id']}", "resource": r}
        for r in resources
    ]
    path = tmp / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries}))
    return path


def import_bundle(path: Path, tmp: Path, **options: Any) -> tuple[ImportSummary, dict[str, Any]]:
    db = f"sqlite:///{tmp / 'r.db'}"
    summary = import_path(path, db, format="fhir", site="north", **options)
    return summary, {k: v.to_pylist() for k, v in read_tables(db).items()}


def skipped_counts(summary: ImportSummary) -> dict[tuple[str, str], int]:
    return {(s.resource_type, s.reason): s.count for s in summary.skipped}


def ehr_bundle() -> list[dict[str, Any]]:
    return [
        patient_resource(),
        {"resourceType": "Practitioner", "id": "doc1"},
        {"resourceType": "Practitioner", "id": "doc2"},
        {"resourceType": "MedicinalProduct", "id": "r4-only"},  # in R4, not in R4B
        observation("bmi", "39156-5", 18.2, "kg/m2"),
        observation("w1", "29463-7", 30.12345, "kg"),
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
