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
from pathlib import Path
from typing import Final

from jiareg.errors import ImportRowError
from jiareg.formats.cells import RawTable
from jiareg.formats.fhir import codes as fc
from jiareg.formats.fhir.meds import HANDLERS, not_done
from jiareg.formats.fhir.reader import TABLE_NAMES, FhirRead, Reader, Skipped, column_spec
from jiareg.formats.fhir.rows import Json, Src, code, codings, date_part, extension, obj
from jiareg.formats.fhir.source import entries
from jiareg.formats.fhir.terminology import DEFINITIONAL
from jiareg.formats.template.dictionary import scale_decimals

__all__ = ["MAPPED", "FhirRead", "Skipped", "read_bundle", "read_fhir"]

_JOINT_FLAGS: Final = ("swollen", "tender", "painful_motion", "limited_motion")
_GENDER: Final = {"female": "F", "male": "M"}
_VALUE_KEYS: Final = {"flag": "valueBoolean", "count": "valueInteger"}
"""The value[x] of a visit column's Observation by the column's kind (else valueQuantity)."""
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


def patient(reader: Reader, r: Json, src: Src) -> None:
    t = reader.tables["patients"]
    pid = reader.patient_ids[id(r)]
    row = t.new(src)
    reader.patient_rows[pid] = row
    t.put(row, "patient_id", pid, src, "identifier")
    org = obj(r.get("managingOrganization"))
    site = (org.get("identifier") or {}).get("value")
    path = "managingOrganization.identifier.value"
    if site is None and org.get("reference"):
        site = _site_of(reader.refer(org["reference"]), str(org["reference"]))
        path = "managingOrganization.reference"
    if site is None and reader.site is not None:
        site, path = reader.site, "managingOrganization (--site)"
    if site is None:
        reader.problem(src, "managingOrganization", None, "a managingOrganization, or --site SITE")
        t.reported.add((row, "site"))
    t.put(row, "site", site, src, path)
    gender = r.get("gender")
    if gender is not None and gender not in _GENDER:
        reader.problem(src, "gender", gender, "female or male (the template's F or M)")
        t.reported.add((row, "sex"))
    t.put(row, "sex", _GENDER.get(str(gender or "")), src, "gender")
    t.put(row, "birth_date", r.get("birthDate"), src, "birthDate")


def condition(reader: Reader, r: Json, src: Src) -> None:
    category, known = code(r.get("code"), fc.ILAR), code(r.get("code"), fc.ILAR) is not None
    for c in codings(r.get("code")):
        if not known:
            known, category = fc.ilar_from(str(c.get("system")), str(c.get("code")))
    if not known:
        first = next(iter(codings(r.get("code"))), {})
        shown = f"{first.get('system')}|{first.get('code')}" if first else None
        reader.unmapped("Condition", src, "code.coding", shown, "not a JIA diagnosis")
        return
    pid = reader.subject(r, src)
    if pid is None:
        return
    if pid not in reader.patient_rows:
        reader.problem(src, "subject.reference", pid, "a Patient in the import")
        return
    t, row = reader.tables["patients"], reader.patient_rows[pid]
    if t.rows[row]["ilar_category"] is not None or t.rows[row]["onset_date"] is not None:
        reader.problem(src, "code", category, "one JIA Condition per patient")
    t.put(row, "ilar_category", category, src, "code.coding")
    t.put(row, "onset_date", date_part(r.get("onsetDateTime")), src, "onsetDateTime")


def encounter(reader: Reader, r: Json, src: Src) -> None:
    pid = reader.subject(r, src)
    if pid is not None:
        when = date_part((r.get("period") or {}).get("start"))
        if (pid, when) in reader.visits:
            reader.problem(src, "period.start", when, "one Encounter per patient and date")
        reader.visit_row(pid, when, src, "period.start")


def observation(reader: Reader, r: Json, src: Src) -> None:
    found = codings(r.get("code"))
    column = None
    for c in found:
        key = (str(c.get("system")), str(c.get("code")))
        column = fc.READ_CODES.get(key)
        if column is not None:
            break
        if key[0] == fc.CHAQ_ITEM or key == (fc.OBSERVATION, fc.JOINT_EXAM):
            examination(reader, r, src, str(key[1]) if key[0] == fc.CHAQ_ITEM else None)
            return
    if column is None:
        shown = f"{found[0].get('system')}|{found[0].get('code')}" if found else None
        reader.unmapped("Observation", src, "code.coding", shown, "code not mapped")
        return
    pid = reader.subject(r, src)
    if pid is None:
        return
    when, path = date_part(r.get("effectiveDateTime")), "effectiveDateTime"
    if when is None and r.get("effectivePeriod") is not None:
        when, path = date_part(obj(r["effectivePeriod"]).get("start")), "effectivePeriod.start"
    if when is None:
        encounter = str((r.get("encounter") or {}).get("reference", ""))
        if encounter in reader.encounters:
            when, path = reader.encounters[encounter], "encounter.reference"
    t = reader.tables["visits"]
    row = reader.visit_row(pid, when, src, path)
    if t.rows[row][column] is not None:
        reader.problem(src, "code", column, "one Observation per code and visit")
    _value(reader, r, src, row, column)


def _value(reader: Reader, r: Json, src: Src, row: int, column: str) -> None:
    t, col = reader.tables["visits"], column_spec("visits", column)
    wanted = _VALUE_KEYS.get(col.kind, "valueQuantity")
    other = next((k for k in r if k.startswith("value") and k != wanted), None)
    if wanted not in r and other is not None:  # e.g. an ESR as valueString: never dropped
        reader.problem(src, other, r[other], f"{wanted} for {column}")
        t.reported.add((row, column))
    elif col.kind == "flag":
        t.put(row, column, r.get("valueBoolean"), src, "valueBoolean")
    elif col.kind == "count":
        t.put(row, column, r.get("valueInteger"), src, "valueInteger")
    elif col.scaled_by:
        q = obj(r.get("valueQuantity"))
        scale = q.get("code")
        t.put(row, col.scaled_by, scale, src, "valueQuantity.code")
        places = scale_decimals(str(scale)) if scale in ("0-3", "0-100") else col.decimals
        value = reader.numbers.number(q.get("value"), places, column)
        t.put(row, column, value, src, "valueQuantity.value")
    else:
        unit = fc.OBSERVATIONS[column][2]
        reader.quantity(t, row, column, r.get("valueQuantity"), unit, src, "valueQuantity")


def examination(reader: Reader, r: Json, src: Src, item: str | None) -> None:
    """A CHAQ item (`item` given) or one joint's examination at a visit."""
    name = "joint_exams" if item is None else "chaq_items"
    pid = reader.subject(r, src)
    if pid is None:
        return
    t = reader.tables[name]
    row = t.new(src)
    t.put(row, "patient_id", pid, src, "subject.reference")
    t.put(row, "visit_date", date_part(r.get("effectiveDateTime")), src, "effectiveDateTime")
    flags = {
        code(c.get("code"), fc.OBSERVATION): (n, c) for n, c in enumerate(r.get("component") or [])
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


def empty_encounters(reader: Reader) -> None:
    """With skip_unmapped: drop the visits only an Encounter made (nothing jiareg maps)."""
    t = reader.tables["visits"]
    data = [c for c in t.rows[0] if c not in ("patient_id", "visit_date")] if t.rows else []
    empty = {n for n, row in enumerate(t.rows) if all(row[c] is None for c in data)}
    if empty:
        reader.skipped[("Encounter", "no Observation jiareg maps")] += len(empty)
        t.drop(empty)


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


_ORDER: Final = {name: n for n, name in enumerate(MAPPED)}
_MALFORMED: Final = (AttributeError, TypeError, KeyError, IndexError, ArithmeticError, ValueError)
"""What reading a field of the wrong JSON type raises (a list where FHIR has an object, ...)."""


def _classify(
    reader: Reader,
    kind: str,
    r: Json,
    full: str | None,
    src: Src,
    kept: list[tuple[int, Src, Json]],
) -> None:
    """Skip, count or keep one resource (kept ones are indexed for references)."""
    if not r:
        reader.skipped[("(entry)", "no resource (a response or a DELETE)")] += 1
    elif kind in DEFINITIONAL:
        if not str(r.get("url", "")).startswith(fc.BASE):  # jiareg's own: its export format
            reader.skipped[(kind, "defines codes, not data")] += 1
    elif kind == "OperationOutcome":
        reader.skipped[(kind, "a server's message, not data")] += 1
    elif kind in _ORDER:
        why = not_done(r)
        if why is not None:
            reader.skipped[(kind, why)] += 1
            return
        _index(reader, kind, r, full)
        kept.append((_ORDER[kind], src, r))
    elif kind in _INDEXED:
        _index(reader, kind, r, full)
        kept.append((len(_ORDER), src, r))
    else:
        reader.unmapped(kind or "(none)", src, "resourceType", kind or None, "type not mapped")


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
    problems: list[ImportRowError] = []
    reader = Reader(path.name, site=site, skip_unmapped=skip_unmapped)
    kept: list[tuple[int, Src, Json]] = []
    for e in entries(path, problems):
        r = e.resource
        kind = str(r.get("resourceType") or "")
        ref = f"{kind}/{r.get('id', '')}"
        src = Src(e.index, ref if e.file == path.name else f"{e.file} {ref}", e.prefix)
        try:
            _classify(reader, kind, r, e.full_url, src, kept)
        except _MALFORMED:
            reader.problem(src, "resourceType", kind, f"FHIR R4's field types for {kind}")
    handlers = {**HANDLERS, "Patient": patient, "Condition": condition}
    handlers |= {"Encounter": encounter, "Observation": observation}
    kept.sort(key=lambda k: k[0])
    kept.reverse()  # popped from the end: each resource is freed once read into the tables
    while kept:
        _, src, r = kept.pop()
        kind = str(r["resourceType"])
        handler = handlers.get(kind)
        try:
            if handler is not None:
                handler(reader, r, src)
            elif id(r) not in reader.used:  # an Organization or Medication nothing referred to
                reader.unmapped(kind, src, "id", r.get("id"), "not referred to")
        except _MALFORMED:
            reader.problem(src, "resourceType", kind, f"FHIR R4's field types for {kind}")
    if skip_unmapped:
        empty_encounters(reader)
    if problems:
        return FhirRead([], problems, set(TABLE_NAMES))
    skipped = tuple(Skipped(k, why, n) for (k, why), n in sorted(reader.skipped.items()))
    raws = [t.raw(path.name) for t in reader.tables.values()]
    return FhirRead(raws, reader.problems, set(), skipped, tuple(reader.numbers.notes()))


def read_fhir(path: Path) -> tuple[list[RawTable], list[ImportRowError], set[str]]:
    """Read FHIR into template tables as the template's `read_path` does (nothing skipped)."""
    read = read_bundle(path)
    return read.raws, read.problems, read.unreadable
