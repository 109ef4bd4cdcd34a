"""Template tables -> one FHIR R4 collection Bundle (what `jiareg.formats.fhir.read` reads back).

Resource ids are made from the template's keys (`Patient/DEMO-01`, `Encounter/DEMO-01-
2010-01-11`, `Observation/DEMO-01-2010-01-11-esr`); a patient_id that is not a valid FHIR
id (e.g. with `_`) becomes `p-` + 16 hex digits of its SHA-256, and the patient_id itself is
always in `Patient.identifier` (system `patient-id`). Numbers are written as the template
writes them, so the registry round-trips exactly.

Standard R4 beside jiareg's own codes: weight and height carry category `vital-signs` and the
base vital-signs profiles in `meta.profile` (R4 requires both for LOINC 29463-7 and 8302-2),
ESR and CRP category `laboratory`; drugs carry ATC and RxNorm codings (from `jiareg.vocab`),
the JIA Condition SNOMED CT 410502007 and, where one exists, an ICD-10-CM code; a CHAQ item
without a score carries `dataAbsentReason` not-applicable. The bundle ends with the
CodeSystem resources of jiareg's own codes (`terminology.py`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from jiareg.formats.cells import table_text
from jiareg.formats.fhir import codes as fc
from jiareg.formats.fhir.terminology import code_systems
from jiareg.formats.template.dictionary import table
from jiareg.vocab import DRUG_BY_NAME

__all__ = ["write_fhir"]

Json = dict[str, Any]
_FHIR_ID: Final = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_GENDER: Final = {"F": "female", "M": "male"}
_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
_ABSENT: Final = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
_PROFILES: Final = {
    "weight_kg": "http://hl7.org/fhir/StructureDefinition/bodyweight",
    "height_cm": "http://hl7.org/fhir/StructureDefinition/bodyheight",
}
"""R4's vital-signs profiles of the observations jiareg writes (FHIR R4 §8.2 Vital Signs)."""
_LABS: Final = ("esr", "crp")


def _id(*parts: str) -> str:
    """A FHIR id from template key parts (hashed when not a valid id).

    >>> _id("DEMO-01", "2010-01-11"), _id("P_1")  # doctest: +ELLIPSIS
    ('DEMO-01-2010-01-11', 'p-...')
    """
    joined = "-".join(parts).replace(" ", "-")
    if _FHIR_ID.match(joined):
        return joined
    return "p-" + hashlib.sha256(joined.encode()).hexdigest()[:16]


def _num(text: str) -> int | float:
    """A template number as JSON writes it back unchanged (`32`, `4.2`)."""
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(text)


def _coding(system: str, code: str) -> Json:
    return {"coding": [{"system": system, "code": code}]}


def _rows(tables: Mapping[str, pa.Table], name: str) -> list[dict[str, str]]:
    if name not in tables:
        return []
    names = table(name).names
    return [
        dict(zip(names, row, strict=True)) for row in table_text(tables[name].select(list(names)))
    ]


def _subject(pid: str) -> Json:
    return {"reference": f"Patient/{_id(pid)}"}


def _patients(tables: Mapping[str, pa.Table]) -> list[Json]:
    out: list[Json] = []
    for p in _rows(tables, "patients"):
        pid = p["patient_id"]
        patient: Json = {
            "resourceType": "Patient",
            "id": _id(pid),
            "identifier": [{"system": fc.PATIENT_ID, "value": pid}],
            "gender": _GENDER[p["sex"]],
            "birthDate": p["birth_date"],
            "managingOrganization": {"identifier": {"system": fc.SITE, "value": p["site"]}},
        }
        out.append(patient)
        if p["ilar_category"] or p["onset_date"]:
            condition: Json = {
                "resourceType": "Condition",
                "id": _id(pid, "jia"),
                "subject": _subject(pid),
                "code": _category(p["ilar_category"]),
            }
            if p["onset_date"]:
                condition["onsetDateTime"] = p["onset_date"]
            out.append(condition)
    return out


def _category(category: str) -> Json:
    """jiareg's ILAR code, then SNOMED CT JIA and the ICD-10-CM code where there is one."""
    codings = [{"system": fc.ILAR, "code": category}] if category else []
    codings.append({"system": fc.SNOMED, "code": fc.SNOMED_JIA})
    if category in fc.ILAR_ICD10_CM:
        codings.append({"system": fc.ICD10_CM, "code": fc.ILAR_ICD10_CM[category]})
    return {"coding": codings}


def _kind(column: str) -> Json:
    """category (and meta.profile) of a visit column's Observation, where R4 has one."""
    if column in _PROFILES:
        return {
            "meta": {"profile": [_PROFILES[column]]},
            "category": [_coding(_CATEGORY, "vital-signs")],
        }
    if column in _LABS:
        return {"category": [_coding(_CATEGORY, "laboratory")]}
    return {}


def _observation_value(column: str, value: str, visit: Mapping[str, str]) -> Json:
    col = table("visits").column(column)
    if col.kind == "flag":
        return {"valueBoolean": value == "yes"}
    if col.kind == "count":
        return {"valueInteger": int(value)}
    quantity: Json = {"value": _num(value)}
    if col.scaled_by:
        scale = visit[col.scaled_by]
        quantity |= {"unit": scale, "system": fc.SCALE, "code": scale} if scale else {}
    else:
        unit = fc.OBSERVATIONS[column][2]
        quantity |= {"unit": unit, "system": fc.UCUM, "code": unit}
    return {"valueQuantity": quantity}


def _visits(tables: Mapping[str, pa.Table]) -> list[Json]:
    out: list[Json] = []
    for v in _rows(tables, "visits"):
        pid, when = v["patient_id"], v["visit_date"]
        encounter = _id(pid, when)
        out.append(
            {
                "resourceType": "Encounter",
                "id": encounter,
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "subject": _subject(pid),
                "period": {"start": when},
            }
        )
        for column in fc.VISIT_COLUMNS:
            if not v[column]:
                continue
            system, code, _ = fc.OBSERVATIONS[column]
            out.append(
                {
                    "resourceType": "Observation",
                    "id": _id(pid, when, column.replace("_", "-")),
                    **_kind(column),
                    "status": "final",
                    "code": _coding(system, code),
                    "subject": _subject(pid),
                    "encounter": {"reference": f"Encounter/{encounter}"},
                    "effectiveDateTime": when,
                    **_observation_value(column, v[column], v),
                }
            )
    return out


def _medication(drug: str) -> Json:
    """jiareg's drug code, then ATC and RxNorm (`jiareg.vocab`) for a drug jiareg knows."""
    codings = [{"system": fc.DRUG, "code": drug}]
    known = DRUG_BY_NAME.get(drug)
    if known is not None:
        codings += [
            {"system": fc.ATC, "code": known.atc},
            {"system": fc.RXNORM, "code": known.rxnorm},
        ]
    return {"coding": codings, "text": drug}


def _statements(tables: Mapping[str, pa.Table]) -> list[Json]:
    out: list[Json] = []
    for name, kind in (("treatments", "biologic-course"), ("steroids", "steroid")):
        for t in _rows(tables, name):
            period = {"start": t["start_date"]} | (
                {"end": t["stop_date"]} if t["stop_date"] else {}
            )
            statement: Json = {
                "resourceType": "MedicationStatement",
                "id": _id(t["patient_id"], t["drug"], t["start_date"]),
                "status": "completed" if t["stop_date"] else "active",
                "category": _coding(fc.MEDICATION_CATEGORY, kind),
                "medicationCodeableConcept": _medication(t["drug"]),
                "subject": _subject(t["patient_id"]),
                "effectivePeriod": period,
            }
            dosage: Json = {}
            if name == "treatments":
                if t["route"]:
                    dosage["route"] = _coding(fc.ROUTE, t["route"])
                if t["stop_reason"]:
                    statement["statusReason"] = [_coding(fc.STOP_REASON, t["stop_reason"])]
            else:
                dose = {
                    "value": _num(t["daily_dose_mg"]),
                    "unit": "mg",
                    "system": fc.UCUM,
                    "code": "mg",
                }
                dosage = {
                    "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [{"doseQuantity": dose}],
                }
                if t["route"]:
                    dosage["route"] = _coding(fc.ROUTE, t["route"])
            if dosage:
                statement["dosage"] = [dosage]
            out.append(statement)
    return out


def _administrations(tables: Mapping[str, pa.Table]) -> list[Json]:
    out: list[Json] = []
    for a in _rows(tables, "administrations"):
        given: Json = {
            "resourceType": "MedicationAdministration",
            "id": _id(a["patient_id"], a["drug"], a["date"]),
            "status": "completed",
            "medicationCodeableConcept": _medication(a["drug"]),
            "subject": _subject(a["patient_id"]),
            "effectiveDateTime": a["date"],
            "dosage": {
                "dose": {"value": _num(a["dose_mg"]), "unit": "mg", "system": fc.UCUM, "code": "mg"}
            },
        }
        if a["weight_kg"]:
            weight = {"value": _num(a["weight_kg"]), "unit": "kg", "system": fc.UCUM, "code": "kg"}
            given["extension"] = [{"url": fc.DOSING_WEIGHT_URL, "valueQuantity": weight}]
        out.append(given)
    return out


def _adverse_events(tables: Mapping[str, pa.Table]) -> list[Json]:
    out: list[Json] = []
    for e in _rows(tables, "adverse_events"):
        event: Json = {
            "resourceType": "AdverseEvent",
            "id": _id(e["patient_id"], e["onset_date"], e["term"]),
            "actuality": "actual",
            "subject": _subject(e["patient_id"]),
            "date": e["onset_date"],
            "event": {"text": e["term"]},
        }
        if e["grade"]:
            event["extension"] = [{"url": fc.GRADE_URL, "valueInteger": int(e["grade"])}]
        if e["serious"]:
            serious = "serious" if e["serious"] == "yes" else "non-serious"
            event["seriousness"] = _coding(fc.SERIOUSNESS, serious)
        if e["related_drug"]:
            instance = {
                "identifier": {"system": fc.DRUG, "value": e["related_drug"]},
                "display": e["related_drug"],
            }
            event["suspectEntity"] = [{"instance": instance}]
        if e["outcome"]:
            event["outcome"] = {"text": e["outcome"]}
        out.append(event)
    return out


def _flag(name: str, value: str) -> Json:
    return {"code": _coding(fc.OBSERVATION, name), "valueBoolean": value == "yes"}


def _examinations(tables: Mapping[str, pa.Table]) -> list[Json]:
    """Joint examinations and CHAQ items, one Observation each."""
    out: list[Json] = []
    for j in _rows(tables, "joint_exams"):
        pid, when = j["patient_id"], j["visit_date"]
        exam: Json = {
            "resourceType": "Observation",
            "id": _id(pid, when, "joint", j["joint"].replace("_", "-"), j["side"]),
            "status": "final",
            "code": _coding(fc.OBSERVATION, fc.JOINT_EXAM),
            "subject": _subject(pid),
            "effectiveDateTime": when,
            "bodySite": _coding(fc.JOINT, j["joint"]),
        }
        if j["side"]:
            exam["extension"] = [{"url": fc.LATERALITY_URL, "valueCode": j["side"]}]
        flags = [
            _flag(n, j[n])
            for n in ("swollen", "tender", "painful_motion", "limited_motion")
            if j[n]
        ]
        if flags:
            exam["component"] = flags
        out.append(exam)
    for c in _rows(tables, "chaq_items"):
        pid, when = c["patient_id"], c["visit_date"]
        item: Json = {
            "resourceType": "Observation",
            "id": _id(pid, when, "chaq", c["item"].replace("_", "-")),
            "status": "final",
            "code": _coding(fc.CHAQ_ITEM, c["item"]),
            "subject": _subject(pid),
            "effectiveDateTime": when,
        }
        if c["score"]:
            item["valueInteger"] = int(c["score"])
        else:
            item["dataAbsentReason"] = _coding(_ABSENT, "not-applicable")
        if c["aid"]:
            item["component"] = [_flag(fc.CHAQ_AID, c["aid"])]
        out.append(item)
    return out


def write_fhir(tables: Mapping[str, pa.Table], path: Path) -> Path:
    """Write template tables as one FHIR R4 collection Bundle (JSON)."""
    resources = [
        *_patients(tables),
        *_visits(tables),
        *_statements(tables),
        *_administrations(tables),
        *_adverse_events(tables),
        *_examinations(tables),
        *code_systems(),
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"{fc.BASE}/{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bundle, indent=1) + "\n", encoding="utf-8")
    return path
