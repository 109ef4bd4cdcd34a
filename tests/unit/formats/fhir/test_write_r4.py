"""jiareg's FHIR export is valid R4: every resource validates against fhir.resources' R4B
models (R4B = R4 for every resource type written here), and carries the standard codes R4
and receiving systems expect beside jiareg's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from tests.integration.store.sample import write_folder

from jiareg.formats.fhir.write import write_fhir
from jiareg.ingest import read_template

DEMO = Path(__file__).parents[4] / "src" / "jiareg" / "demo" / "cohort"


def _bundle(source: str, tmp: Path) -> dict[str, Any]:
    folder = DEMO if source == "demo" else write_folder(tmp / "sample")
    doc: dict[str, Any] = json.loads(write_fhir(read_template(folder), tmp / "b.json").read_text())
    return doc


def _by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["resource"]["id"]: e["resource"] for e in doc["entry"]}


@pytest.mark.parametrize("source", ["demo", "sample"])
def test_every_resource_validates_against_r4(source: str, tmp_path: Path) -> None:
    doc = _bundle(source, tmp_path)
    Bundle.model_validate({**doc, "entry": [{"fullUrl": e["fullUrl"]} for e in doc["entry"]]})
    for entry in doc["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_standard_codes_beside_jiareg_codes(tmp_path: Path) -> None:
    resources = _by_id(_bundle("sample", tmp_path))
    weight = resources["P1-2020-01-10-weight-kg"]
    assert weight["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/bodyweight"]
    assert weight["category"][0]["coding"][0]["code"] == "vital-signs"
    assert resources["P1-2020-01-10-esr"]["code"]["coding"] == [
        {"system": "http://loinc.org", "code": "4537-7"}
    ]
    course = resources["P1-tocilizumab-2020-01-10"]["medicationCodeableConcept"]["coding"]
    assert {(c["system"].rsplit("/", 1)[-1], c["code"]) for c in course} == {
        ("drug", "tocilizumab"),
        ("atc", "L04AC07"),
        ("rxnorm", "612865"),
    }
    chaq = [r for r in resources.values() if "chaq-item" in json.dumps(r.get("code", {}))]
    absent = [r for r in chaq if "valueInteger" not in r]
    assert [r["dataAbsentReason"]["coding"][0]["code"] for r in absent] == ["not-applicable"]
    systems = {r["url"] for r in resources.values() if r["resourceType"] == "CodeSystem"}
    assert "https://jiareg.org/fhir/CodeSystem/ilar-category" in systems
    conditions = [r for r in resources.values() if r["resourceType"] == "Condition"]
    assert all(
        {"system": "http://snomed.info/sct", "code": "410502007"} in c["code"]["coding"]
        for c in conditions
    )
