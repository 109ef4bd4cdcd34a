"""FHIR R4 Bundles (collection or transaction) <-> template tables.

- Patient (identifier `patient-id`, else id; gender; birthDate; managingOrganization's
  identifier `site`) -> patients; a Condition coded in `ilar-category` -> its ilar_category
  and onset_date (onsetDateTime);
- Encounter (period.start) and Observation (effectiveDateTime, else its Encounter's date):
  one visits row per patient and date, one Observation per visit column;
- MedicationStatement with category `biologic-course` -> treatments (dosage.route,
  effectivePeriod, statusReason), with category `steroid` -> steroids (doseQuantity mg/day);
- MedicationAdministration (effectiveDateTime, dosage.dose mg, extension `dosing-weight` kg)
  -> administrations; AdverseEvent (date, event.text, extension `ctcae-grade`, seriousness,
  suspectEntity identifier, outcome.text) -> adverse_events;
- Observation `observation|joint_exam` (bodySite in `joint`, extension `laterality`,
  components swollen/tender/painful_motion/limited_motion) -> joint_exams; Observation coded
  in `chaq-item` (valueInteger, component `aid`) -> chaq_items.
`docs/how-to/import-data.md` has the full mapping table.

Codes are in `jiareg.formats.fhir.codes`. The bundle is first checked against the FHIR models
(fhir.resources' R4B models: the package ships R5, R4B and STU3, and these resources are
the same in R4 and R4B); every structural problem names the entry, the resource and the JSON
path. Resources of other types (Organization, Practitioner, ...) are skipped; a resource of a
type read here with a code jiareg does not know is an error, never silently dropped. Then the
template's validation runs, naming cells `bundle.json:12: Observation/esr-1: column
'entry[12].resource.valueQuantity.value' = ...`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Final

from jiareg.errors import ImportRowError
from jiareg.formats.cells import RawTable, utf8_text
from jiareg.formats.fhir import codes as fc
from jiareg.formats.fhir.check import check_structure
from jiareg.formats.fhir.rows import Json, TableRows, code, date_part, extension
from jiareg.formats.template.dictionary import TABLES, table

__all__ = ["read_fhir"]

_TABLES: Final = tuple(t.name for t in TABLES)
_JOINT_FLAGS: Final = ("swollen", "tender", "painful_motion", "limited_motion")
_GENDER: Final = {"female": "F", "male": "M"}


@dataclass
class _Reader:
    file: str
    problems: list[ImportRowError] = field(default_factory=list)
    tables: dict[str, TableRows] = field(default_factory=lambda: {n: TableRows(n) for n in _TABLES})
    patients: dict[str, str] = field(default_factory=dict)
    patient_rows: dict[str, int] = field(default_factory=dict)
    encounters: dict[str, str | None] = field(default_factory=dict)
    visits: dict[tuple[str, str | None], int] = field(default_factory=dict)

    def problem(self, entry: int, ref: str, path: str, value: object, expected: str) -> None:
        self.problems.append(
            ImportRowError(
                file=self.file,
                row=entry,
                where=ref,
                column=f"entry[{entry}].resource.{path}",
                value=value,
                expected=expected,
            )
        )

    def subject(self, r: Json, i: int, ref: str) -> str | None:
        reference = str((r.get("subject") or {}).get("reference", ""))
        if reference in self.patients:
            return self.patients[reference]
        if reference.startswith("Patient/"):
            return reference.removeprefix("Patient/")
        self.problem(i, ref, "subject.reference", reference or None, "a Patient in the bundle")
        return None

    def patient(self, r: Json, i: int, ref: str) -> None:
        t = self.tables["patients"]
        pid = self.patients[f"Patient/{r.get('id')}"]
        row = t.new(i, ref)
        self.patient_rows[pid] = row
        t.put(row, "patient_id", pid, i, ref, "identifier")
        org = r.get("managingOrganization") or {}
        site = (org.get("identifier") or {}).get("value")
        if site is None and str(org.get("reference", "")).startswith("Organization/"):
            site = str(org["reference"]).removeprefix("Organization/")
        t.put(row, "site", site, i, ref, "managingOrganization.identifier.value")
        gender = r.get("gender")
        if gender is not None and gender not in _GENDER:
            self.problem(i, ref, "gender", gender, "female or male (the template's F or M)")
            t.reported.add((row, "sex"))
        t.put(row, "sex", _GENDER.get(gender or ""), i, ref, "gender")
        t.put(row, "birth_date", r.get("birthDate"), i, ref, "birthDate")

    def condition(self, r: Json, i: int, ref: str) -> None:
        category = code(r.get("code"), fc.ILAR)
        if category is None:
            self.problem(i, ref, "code.coding", None, f"a coding in {fc.ILAR} (an ILAR category)")
            return
        pid = self.subject(r, i, ref)
        if pid is None:
            return
        if pid not in self.patient_rows:
            self.problem(i, ref, "subject.reference", pid, "a Patient in the bundle")
            return
        t, row = self.tables["patients"], self.patient_rows[pid]
        if t.rows[row]["ilar_category"] is not None:
            self.problem(i, ref, "code", category, "one ILAR Condition per patient")
        t.put(row, "ilar_category", category, i, ref, "code.coding")
        t.put(row, "onset_date", date_part(r.get("onsetDateTime")), i, ref, "onsetDateTime")

    def visit_row(self, pid: str, when: str | None, i: int, ref: str, path: str) -> int:
        t = self.tables["visits"]
        if (pid, when) not in self.visits:
            row = t.new(i, ref)
            self.visits[(pid, when)] = row
            t.put(row, "patient_id", pid, i, ref, "subject.reference")
            t.put(row, "visit_date", when, i, ref, path)
        return self.visits[(pid, when)]

    def encounter(self, r: Json, i: int, ref: str) -> None:
        pid = self.subject(r, i, ref)
        if pid is not None:
            when = date_part((r.get("period") or {}).get("start"))
            if (pid, when) in self.visits:
                self.problem(i, ref, "period.start", when, "one Encounter per patient and date")
            self.visit_row(pid, when, i, ref, "period.start")

    def observation(self, r: Json, i: int, ref: str) -> None:
        codings = (r.get("code") or {}).get("coding", [])
        item = code(r.get("code"), fc.CHAQ_ITEM)
        if item is not None or code(r.get("code"), fc.OBSERVATION) == fc.JOINT_EXAM:
            self.examination(r, i, ref, item)
            return
        column = next(
            (
                fc.READ_CODES[(c.get("system"), c.get("code"))]
                for c in codings
                if (c.get("system"), c.get("code")) in fc.READ_CODES
            ),
            None,
        )
        if column is None:
            known = ", ".join(f"{s}|{c}" for s, c, _ in fc.OBSERVATIONS.values())
            self.problem(i, ref, "code.coding", codings, f"a code jiareg reads: {known}")
            return
        pid = self.subject(r, i, ref)
        if pid is None:
            return
        when = date_part(r.get("effectiveDateTime"))
        path = "effectiveDateTime"
        if when is None:
            encounter = str((r.get("encounter") or {}).get("reference", ""))
            if encounter in self.encounters:
                when, path = self.encounters[encounter], "encounter.reference"
        t = self.tables["visits"]
        row = self.visit_row(pid, when, i, ref, path)
        if t.rows[row][column] is not None:
            self.problem(i, ref, "code", column, "one Observation per code and visit")
        self.value(r, i, ref, row, column)

    def value(self, r: Json, i: int, ref: str, row: int, column: str) -> None:
        t, col = self.tables["visits"], table("visits").column(column)
        if col.kind == "flag":
            t.put(row, column, r.get("valueBoolean"), i, ref, "valueBoolean")
            return
        if col.kind == "count":
            t.put(row, column, r.get("valueInteger"), i, ref, "valueInteger")
            return
        quantity = r.get("valueQuantity") or {}
        t.put(row, column, quantity.get("value"), i, ref, "valueQuantity.value")
        unit = fc.OBSERVATIONS[column][2]
        if col.scaled_by:
            t.put(row, col.scaled_by, quantity.get("code"), i, ref, "valueQuantity.code")
        elif "code" in quantity and quantity["code"] != unit:
            self.problem(i, ref, "valueQuantity.code", quantity["code"], f"{unit} (UCUM)")

    def examination(self, r: Json, i: int, ref: str, item: str | None) -> None:
        """A CHAQ item (`item` given) or one joint's examination at a visit."""
        name = "joint_exams" if item is None else "chaq_items"
        pid = self.subject(r, i, ref)
        if pid is None:
            return
        t = self.tables[name]
        row = t.new(i, ref)
        t.put(row, "patient_id", pid, i, ref, "subject.reference")
        t.put(row, "visit_date", date_part(r.get("effectiveDateTime")), i, ref, "effectiveDateTime")
        flags = {
            code(c.get("code"), fc.OBSERVATION): (n, c)
            for n, c in enumerate(r.get("component") or [])
        }
        names = _JOINT_FLAGS if item is None else (fc.CHAQ_AID,)
        for flag in names:
            n, component = flags.get(flag, (0, {}))
            path = f"component[{n}].valueBoolean"
            t.put(row, flag, component.get("valueBoolean"), i, ref, path)
        if item is not None:
            t.put(row, "item", item, i, ref, "code.coding")
            t.put(row, "score", r.get("valueInteger"), i, ref, "valueInteger")
            return
        t.put(row, "joint", code(r.get("bodySite"), fc.JOINT), i, ref, "bodySite.coding")
        n, ext = extension(r, fc.LATERALITY_URL)
        t.put(row, "side", ext.get("valueCode"), i, ref, f"extension[{n}].valueCode")

    def medication(self, r: Json, i: int, ref: str, name: str) -> int | None:
        pid = self.subject(r, i, ref)
        if pid is None:
            return None
        t = self.tables[name]
        row = t.new(i, ref)
        t.put(row, "patient_id", pid, i, ref, "subject.reference")
        concept = r.get("medicationCodeableConcept") or {}
        t.put(
            row,
            "drug",
            code(concept, fc.DRUG) or concept.get("text"),
            i,
            ref,
            "medicationCodeableConcept",
        )
        return row

    def statement(self, r: Json, i: int, ref: str) -> None:
        kind = code(r.get("category"), fc.MEDICATION_CATEGORY)
        if kind not in ("biologic-course", "steroid"):
            self.problem(
                i, ref, "category", kind, f"biologic-course or steroid ({fc.MEDICATION_CATEGORY})"
            )
            return
        name = "treatments" if kind == "biologic-course" else "steroids"
        row = self.medication(r, i, ref, name)
        if row is None:
            return
        t = self.tables[name]
        period = r.get("effectivePeriod") or {}
        t.put(row, "start_date", date_part(period.get("start")), i, ref, "effectivePeriod.start")
        t.put(row, "stop_date", date_part(period.get("end")), i, ref, "effectivePeriod.end")
        dosage = (r.get("dosage") or [{}])[0]
        if name == "treatments":
            t.put(row, "route", code(dosage.get("route"), fc.ROUTE), i, ref, "dosage[0].route")
            reason = (r.get("statusReason") or [{}])[0]
            t.put(row, "stop_reason", code(reason, fc.STOP_REASON), i, ref, "statusReason[0]")
        else:
            dose = ((dosage.get("doseAndRate") or [{}])[0]).get("doseQuantity") or {}
            path = "dosage[0].doseAndRate[0].doseQuantity"
            t.put(row, "daily_dose_mg", dose.get("value"), i, ref, f"{path}.value")
            self.unit(dose, "mg", i, ref, path)

    def unit(self, quantity: Json, unit: str, i: int, ref: str, path: str) -> None:
        if "code" in quantity and quantity["code"] != unit:
            self.problem(i, ref, f"{path}.code", quantity["code"], f"{unit} (UCUM)")

    def administration(self, r: Json, i: int, ref: str) -> None:
        row = self.medication(r, i, ref, "administrations")
        if row is None:
            return
        t = self.tables["administrations"]
        t.put(row, "date", date_part(r.get("effectiveDateTime")), i, ref, "effectiveDateTime")
        dose = (r.get("dosage") or {}).get("dose") or {}
        t.put(row, "dose_mg", dose.get("value"), i, ref, "dosage.dose.value")
        self.unit(dose, "mg", i, ref, "dosage.dose")
        n, ext = extension(r, fc.DOSING_WEIGHT_URL)
        weight = ext.get("valueQuantity") or {}
        t.put(row, "weight_kg", weight.get("value"), i, ref, f"extension[{n}].valueQuantity.value")
        self.unit(weight, "kg", i, ref, f"extension[{n}].valueQuantity")

    def adverse_event(self, r: Json, i: int, ref: str) -> None:
        pid = self.subject(r, i, ref)
        if pid is None:
            return
        t = self.tables["adverse_events"]
        row = t.new(i, ref)
        t.put(row, "patient_id", pid, i, ref, "subject.reference")
        t.put(row, "onset_date", date_part(r.get("date")), i, ref, "date")
        t.put(row, "term", (r.get("event") or {}).get("text"), i, ref, "event.text")
        n, ext = extension(r, fc.GRADE_URL)
        t.put(row, "grade", ext.get("valueInteger"), i, ref, f"extension[{n}].valueInteger")
        serious = code(r.get("seriousness"), fc.SERIOUSNESS)
        flag = {"serious": "yes", "non-serious": "no"}.get(serious or "", serious)
        t.put(row, "serious", flag, i, ref, "seriousness")
        suspect = (r.get("suspectEntity") or [{}])[0].get("instance") or {}
        drug = (suspect.get("identifier") or {}).get("value")
        t.put(row, "related_drug", drug, i, ref, "suspectEntity[0].instance.identifier.value")
        t.put(row, "outcome", (r.get("outcome") or {}).get("text"), i, ref, "outcome.text")


def read_fhir(path: Path) -> tuple[list[RawTable], list[ImportRowError], set[str]]:
    """Read a FHIR R4 Bundle into template tables (as the template's `read_path` does)."""
    problems: list[ImportRowError] = []
    file = path.name
    text = utf8_text(path, problems)
    everything = set(_TABLES)
    if text is None:
        return [], problems, everything
    try:
        doc = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        bad = ImportRowError(
            file=file,
            row=exc.lineno,
            column="(file)",
            value=exc.msg,
            expected="JSON text (a FHIR Bundle)",
        )
        return [], [bad], everything
    structural = check_structure(doc, file)
    if structural:
        return [], structural, everything
    reader = _Reader(file)
    entries = [
        (i, e.get("resource") or {}, e.get("fullUrl")) for i, e in enumerate(doc.get("entry") or [])
    ]
    for _, r, full in entries:
        if r.get("resourceType") == "Patient":
            ids = [
                x.get("value")
                for x in r.get("identifier") or []
                if x.get("system") == fc.PATIENT_ID
            ]
            pid = str(ids[0] if ids else r.get("id", ""))
            reader.patients[f"Patient/{r.get('id')}"] = pid
            if full:
                reader.patients[full] = pid
        if r.get("resourceType") == "Encounter":
            when = date_part((r.get("period") or {}).get("start"))
            reader.encounters[f"Encounter/{r.get('id')}"] = when
            if full:
                reader.encounters[full] = when
    handlers = {
        "Patient": reader.patient,
        "Condition": reader.condition,
        "Encounter": reader.encounter,
        "Observation": reader.observation,
        "MedicationStatement": reader.statement,
        "MedicationAdministration": reader.administration,
        "AdverseEvent": reader.adverse_event,
    }
    order = {name: n for n, name in enumerate(handlers)}  # patients first, then what refers
    for i, r, _ in sorted(entries, key=lambda e: order.get(str(e[1].get("resourceType")), 99)):
        handler = handlers.get(str(r.get("resourceType")))
        if handler is not None:
            handler(r, i, f"{r.get('resourceType')}/{r.get('id', '')}")
    raws = [t.raw(file) for t in reader.tables.values()]
    return raws, reader.problems, set()
