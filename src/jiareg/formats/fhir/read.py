"""FHIR R4 resources (a Bundle of any type, NDJSON bulk export) -> template tables.

- Patient (identifier `patient-id`, else id; gender; birthDate; managingOrganization's
  identifier, else the Organization it refers to, else `--site`) -> patients; a Condition
  coded in `ilar-category`, ICD-10/ICD-10-CM M08 or SNOMED CT JIA (`codes.ilar_from`) -> its
  ilar_category and onset_date;
- Encounter (period.start) and Observation (effectiveDateTime, else its Encounter's date):
  one visits row per patient and date, one Observation per visit column;
- MedicationStatement and MedicationRequest -> courses (treatments for biologics, steroids
  for corticosteroids), MedicationAdministration -> administrations (`meds.py`);
  AdverseEvent -> adverse_events; joint examinations and CHAQ items (`codes.py`).
`docs/how-to/import-data.md` has the full mapping table.

Resources are never turned into models: the types jiareg does not map are skipped by
`resourceType` alone (so R4-only types never block), and the fields read here are checked as
they are read. What does not map (a type, or a code such as a BMI Observation) is an error
naming the resource, or with `skip_unmapped` a count in the summary by type and reason.
Resources whose status says the thing did not happen (`codes.NOT_DONE`) are never data: they
are skipped and counted. Quantities go through `units.py` (UCUM conversion, rounding).
"""

from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Final

from jiareg.errors import ImportRowError
from jiareg.formats.cells import RawTable
from jiareg.formats.fhir import codes as fc
from jiareg.formats.fhir.rows import Json, Src, TableRows, code, codings, date_part, extension, obj
from jiareg.formats.fhir.source import entries
from jiareg.formats.fhir.terminology import DEFINITIONAL
from jiareg.formats.fhir.units import UCUM, Conversions, UnitError
from jiareg.formats.template.dictionary import TABLES, Column, scale_decimals, table

__all__ = ["MAPPED", "FhirRead", "Reader", "Skipped", "read_bundle", "read_fhir"]

_TABLES: Final = tuple(t.name for t in TABLES)
_JOINT_FLAGS: Final = ("swollen", "tender", "painful_motion", "limited_motion")
_GENDER: Final = {"female": "F", "male": "M"}
MAPPED: Final = (
    "Patient",
    "Condition",
    "Encounter",
    "Observation",
    "MedicationStatement",
    "MedicationRequest",
    "MedicationAdministration",
    "AdverseEvent",
)
"""Resource types read as data, in the order they are read (patients first)."""
_INDEXED: Final = ("Organization", "Medication")
"""Resource types read only when something refers to them (a site, a medication)."""
_KEYED: Final = frozenset({"Patient", "Encounter", *_INDEXED})
"""Resource types other resources refer to (indexed by id and fullUrl before reading)."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """Resources left out of an import: how many of one type, and why."""

    resource_type: str
    reason: str
    count: int

    def __str__(self) -> str:
        return f"{self.count} {self.resource_type}: {self.reason}"


@dataclass(frozen=True)
class FhirRead:
    """A FHIR import read: the template tables, the problems, what was skipped and notes
    (conversions, roundings) for the summary."""

    raws: list[RawTable]
    problems: list[ImportRowError]
    unreadable: set[str]
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class Reader:
    """The state of one FHIR import being read (handlers in this module and `meds.py`)."""

    file: str
    site: str | None = None
    skip_unmapped: bool = False
    problems: list[ImportRowError] = field(default_factory=list)
    tables: dict[str, TableRows] = field(default_factory=lambda: {n: TableRows(n) for n in _TABLES})
    patients: dict[str, str] = field(default_factory=dict)
    patient_ids: dict[int, str] = field(default_factory=dict)
    patient_rows: dict[str, int] = field(default_factory=dict)
    encounters: dict[str, str | None] = field(default_factory=dict)
    visits: dict[tuple[str, str | None], int] = field(default_factory=dict)
    indexed: dict[str, Json] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    numbers: Conversions = field(default_factory=Conversions)

    def problem(self, src: Src, path: str, value: object, expected: str) -> None:
        self.problems.append(
            ImportRowError(
                file=self.file,
                row=src.index,
                where=src.ref,
                column=src.prefix + path,
                value=value,
                expected=expected,
            )
        )

    def unmapped(self, kind: str, src: Src, path: str, value: object, reason: str) -> None:
        """A resource jiareg cannot map: counted when skipping, else one short error."""
        if self.skip_unmapped:
            self.skipped[(kind, reason)] += 1
        else:
            self.problem(
                src, path, value, f"something jiareg maps ({reason}; --skip-unmapped skips it)"
            )

    def refer(self, reference: object) -> Json | None:
        """The Organization or Medication a reference names (marked as used), if bundled."""
        text = str(reference or "")
        found = self.indexed.get(text) or self.indexed.get("/".join(text.split("/")[-2:]))
        if found is not None:
            self.used.add(id(found))
        return found

    def subject(self, r: Json, src: Src) -> str | None:
        subject = obj(r.get("subject"))
        reference = str(subject.get("reference", ""))
        tail = "/".join(reference.split("/")[-2:])
        found = self.patients.get(reference) or self.patients.get(tail)
        if found is not None:
            return found
        if reference.startswith("Patient/"):
            return reference.removeprefix("Patient/")
        self.problem(src, "subject.reference", reference or None, "a Patient in the import")
        return None

    def quantity(
        self, t: TableRows, row: int, column: str, q: object, unit: str, src: Src, path: str
    ) -> None:
        """Put a UCUM Quantity into `column` in `unit` (converted, rounded) or report it."""
        if q is None:
            return
        if not isinstance(q, dict):
            self.problem(src, path, q, "a Quantity")
            t.reported.add((row, column))
            return
        value = q.get("value")
        t.put(row, column, value, src, f"{path}.value")
        if value is None:
            return
        given = q.get("code")
        if q.get("system") != UCUM or not given:
            shown = given or q.get("unit")
            self.problem(src, f"{path}.code", shown, f"a UCUM code ({UCUM}) for {unit}")
            t.reported.add((row, column))
            return
        try:
            value = self.numbers.convert(value, str(given), unit)
        except UnitError:
            self.problem(src, f"{path}.code", given, f"a UCUM unit convertible to {unit}")
            t.reported.add((row, column))
            return
        decimals = _column(t.name, column).decimals
        t.put(row, column, self.numbers.number(value, decimals, column), src, f"{path}.value")

    def patient(self, r: Json, src: Src) -> None:
        t = self.tables["patients"]
        pid = self.patient_ids[id(r)]
        row = t.new(src)
        self.patient_rows[pid] = row
        t.put(row, "patient_id", pid, src, "identifier")
        org = obj(r.get("managingOrganization"))
        site = (org.get("identifier") or {}).get("value")
        path = "managingOrganization.identifier.value"
        if site is None and org.get("reference"):
            site = _site_of(self.refer(org["reference"]), str(org["reference"]))
            path = "managingOrganization.reference"
        if site is None and self.site is not None:
            site, path = self.site, "managingOrganization (--site)"
        if site is None:
            self.problem(
                src, "managingOrganization", None, "a managingOrganization, or --site SITE"
            )
            t.reported.add((row, "site"))
        t.put(row, "site", site, src, path)
        gender = r.get("gender")
        if gender is not None and gender not in _GENDER:
            self.problem(src, "gender", gender, "female or male (the template's F or M)")
            t.reported.add((row, "sex"))
        t.put(row, "sex", _GENDER.get(str(gender or "")), src, "gender")
        t.put(row, "birth_date", r.get("birthDate"), src, "birthDate")

    def condition(self, r: Json, src: Src) -> None:
        category, known = code(r.get("code"), fc.ILAR), code(r.get("code"), fc.ILAR) is not None
        for c in codings(r.get("code")):
            if not known:
                known, category = fc.ilar_from(str(c.get("system")), str(c.get("code")))
        if not known:
            first = next(iter(codings(r.get("code"))), {})
            shown = f"{first.get('system')}|{first.get('code')}" if first else None
            self.unmapped("Condition", src, "code.coding", shown, "not a JIA diagnosis")
            return
        pid = self.subject(r, src)
        if pid is None:
            return
        if pid not in self.patient_rows:
            self.problem(src, "subject.reference", pid, "a Patient in the import")
            return
        t, row = self.tables["patients"], self.patient_rows[pid]
        if t.rows[row]["ilar_category"] is not None or t.rows[row]["onset_date"] is not None:
            self.problem(src, "code", category, "one JIA Condition per patient")
        t.put(row, "ilar_category", category, src, "code.coding")
        t.put(row, "onset_date", date_part(r.get("onsetDateTime")), src, "onsetDateTime")

    def visit_row(self, pid: str, when: str | None, src: Src, path: str) -> int:
        t = self.tables["visits"]
        if (pid, when) not in self.visits:
            row = t.new(src)
            self.visits[(pid, when)] = row
            t.put(row, "patient_id", pid, src, "subject.reference")
            t.put(row, "visit_date", when, src, path)
        return self.visits[(pid, when)]

    def encounter(self, r: Json, src: Src) -> None:
        pid = self.subject(r, src)
        if pid is not None:
            when = date_part((r.get("period") or {}).get("start"))
            if (pid, when) in self.visits:
                self.problem(src, "period.start", when, "one Encounter per patient and date")
            self.visit_row(pid, when, src, "period.start")

    def observation(self, r: Json, src: Src) -> None:
        found = codings(r.get("code"))
        column = None
        for c in found:
            key = (str(c.get("system")), str(c.get("code")))
            column = fc.READ_CODES.get(key)
            if column is not None:
                break
            if key[0] == fc.CHAQ_ITEM or key == (fc.OBSERVATION, fc.JOINT_EXAM):
                self.examination(r, src, str(key[1]) if key[0] == fc.CHAQ_ITEM else None)
                return
        if column is None:
            shown = f"{found[0].get('system')}|{found[0].get('code')}" if found else None
            self.unmapped("Observation", src, "code.coding", shown, "code not mapped")
            return
        pid = self.subject(r, src)
        if pid is None:
            return
        when, path = date_part(r.get("effectiveDateTime")), "effectiveDateTime"
        if when is None:
            encounter = str((r.get("encounter") or {}).get("reference", ""))
            if encounter in self.encounters:
                when, path = self.encounters[encounter], "encounter.reference"
        t = self.tables["visits"]
        row = self.visit_row(pid, when, src, path)
        if t.rows[row][column] is not None:
            self.problem(src, "code", column, "one Observation per code and visit")
        self.value(r, src, row, column)

    def value(self, r: Json, src: Src, row: int, column: str) -> None:
        t, col = self.tables["visits"], _column("visits", column)
        if col.kind == "flag":
            t.put(row, column, r.get("valueBoolean"), src, "valueBoolean")
        elif col.kind == "count":
            t.put(row, column, r.get("valueInteger"), src, "valueInteger")
        elif col.scaled_by:
            q = obj(r.get("valueQuantity"))
            scale = q.get("code")
            t.put(row, col.scaled_by, scale, src, "valueQuantity.code")
            places = scale_decimals(str(scale)) if scale in ("0-3", "0-100") else col.decimals
            value = self.numbers.number(q.get("value"), places, column)
            t.put(row, column, value, src, "valueQuantity.value")
        else:
            unit = fc.OBSERVATIONS[column][2]
            self.quantity(t, row, column, r.get("valueQuantity"), unit, src, "valueQuantity")

    def examination(self, r: Json, src: Src, item: str | None) -> None:
        """A CHAQ item (`item` given) or one joint's examination at a visit."""
        name = "joint_exams" if item is None else "chaq_items"
        pid = self.subject(r, src)
        if pid is None:
            return
        t = self.tables[name]
        row = t.new(src)
        t.put(row, "patient_id", pid, src, "subject.reference")
        t.put(row, "visit_date", date_part(r.get("effectiveDateTime")), src, "effectiveDateTime")
        flags = {
            code(c.get("code"), fc.OBSERVATION): (n, c)
            for n, c in enumerate(r.get("component") or [])
        }
        for flag in _JOINT_FLAGS if item is None else (fc.CHAQ_AID,):
            n, component = flags.get(flag, (0, {}))
            t.put(row, flag, component.get("valueBoolean"), src, f"component[{n}].valueBoolean")
        if item is not None:
            t.put(row, "item", item, src, "code.coding")
            t.put(row, "score", r.get("valueInteger"), src, "valueInteger")
            return
        t.put(row, "joint", code(r.get("bodySite"), fc.JOINT), src, "bodySite.coding")
        n, ext = extension(r, fc.LATERALITY_URL)
        t.put(row, "side", ext.get("valueCode"), src, f"extension[{n}].valueCode")

    def empty_encounters(self) -> None:
        """With skip_unmapped: drop the visits only an Encounter made (nothing jiareg maps)."""
        t = self.tables["visits"]
        data = [c for c in t.rows[0] if c not in ("patient_id", "visit_date")] if t.rows else []
        empty = {n for n, row in enumerate(t.rows) if all(row[c] is None for c in data)}
        if empty:
            self.skipped[("Encounter", "no Observation jiareg maps")] += len(empty)
            t.drop(empty)


@cache
def _column(name: str, column: str) -> Column:
    return table(name).column(column)


def _site_of(org: Json | None, reference: str) -> str:
    """A site from the Organization a patient refers to: its jiareg site identifier, its
    first identifier, else the reference's id."""
    if org is not None:
        ids = [i for i in org.get("identifier") or [] if isinstance(i, dict) and i.get("value")]
        mine = [i for i in ids if i.get("system") == fc.SITE]
        if mine or ids:
            return str((mine or ids)[0]["value"])
    return reference.split("/")[-1]


def _index(reader: Reader, kind: str, r: Json, full: str | None) -> None:
    if kind not in _KEYED:
        return
    rid = r.get("id")
    keys = [f"{kind}/{rid}", full] if rid is not None else [full]
    if kind == "Patient":
        ids = [
            x.get("value") for x in r.get("identifier") or [] if x.get("system") == fc.PATIENT_ID
        ]
        fallback = full.split("/")[-1].split(":")[-1] if full else ""  # no id: the fullUrl's
        pid = str(ids[0] if ids else rid if rid is not None else fallback)
        reader.patients.update({k: pid for k in keys if k})
        reader.patient_ids[id(r)] = pid
    elif kind == "Encounter":
        when = date_part((r.get("period") or {}).get("start"))
        reader.encounters.update({k: when for k in keys if k})
    elif kind in _INDEXED:
        reader.indexed.update({k: r for k in keys if k})


def read_bundle(path: Path, *, site: str | None = None, skip_unmapped: bool = False) -> FhirRead:
    """Read a Bundle (any type), an NDJSON file or a folder of them into template tables."""
    gc_was_on = gc.isenabled()
    gc.disable()  # millions of small JSON objects, none cyclic: collecting only slows reading
    try:
        return _read(path, site, skip_unmapped)
    finally:
        if gc_was_on:
            gc.enable()


def _read(path: Path, site: str | None, skip_unmapped: bool) -> FhirRead:
    from jiareg.formats.fhir.meds import HANDLERS, not_done

    problems: list[ImportRowError] = []
    reader = Reader(path.name, site=site, skip_unmapped=skip_unmapped)
    kept: list[tuple[int, Src, Json]] = []
    order = {name: n for n, name in enumerate(MAPPED)}
    for e in entries(path, problems):
        r = e.resource
        kind = str(r.get("resourceType") or "")
        ref = f"{kind}/{r.get('id', '')}"
        src = Src(e.index, ref if e.file == path.name else f"{e.file} {ref}", e.prefix)
        if not r:
            reader.skipped[("(entry)", "no resource (a response or a DELETE)")] += 1
        elif kind in DEFINITIONAL:
            reader.skipped[(kind, "defines codes, not data")] += 1
        elif kind == "OperationOutcome":
            reader.skipped[(kind, "a server's message, not data")] += 1
        elif kind in order:
            status = not_done(r)
            if status is not None:
                reader.skipped[(kind, f"status {status}")] += 1
                continue
            _index(reader, kind, r, e.full_url)
            kept.append((order[kind], src, r))
        elif kind in _INDEXED:
            _index(reader, kind, r, e.full_url)
            kept.append((len(order), src, r))
        else:
            reader.unmapped(kind or "(none)", src, "resourceType", kind or None, "type not mapped")
    handlers = {**HANDLERS, "Patient": Reader.patient, "Condition": Reader.condition}
    handlers |= {"Encounter": Reader.encounter, "Observation": Reader.observation}
    for _, src, r in sorted(kept, key=lambda k: k[0]):
        handler = handlers.get(str(r["resourceType"]))
        if handler is not None:
            handler(reader, r, src)
        elif id(r) not in reader.used:  # an Organization or Medication nothing referred to
            reader.unmapped(str(r["resourceType"]), src, "id", r.get("id"), "not referred to")
    if skip_unmapped:
        reader.empty_encounters()
    if problems:
        return FhirRead([], problems, set(_TABLES))
    skipped = tuple(Skipped(k, why, n) for (k, why), n in sorted(reader.skipped.items()))
    raws = [t.raw(path.name) for t in reader.tables.values()]
    return FhirRead(raws, reader.problems, set(), skipped, tuple(reader.numbers.notes()))


def read_fhir(path: Path) -> tuple[list[RawTable], list[ImportRowError], set[str]]:
    """Read FHIR into template tables as the template's `read_path` does (nothing skipped)."""
    read = read_bundle(path)
    return read.raws, read.problems, read.unreadable
