"""Medications and adverse events: FHIR resources -> template courses, doses and events.

- MedicationStatement and MedicationRequest -> a course: `treatments` for a biologic (route
  from `dosage[0].route` / `dosageInstruction[0].route`, jiareg's or SNOMED CT; stop reason
  from statusReason), `steroids` for a corticosteroid (daily dose = dose x doses a day from
  the dosage's timing). Dates: MedicationStatement `effectivePeriod` (or effectiveDateTime as
  the start); MedicationRequest `dosageInstruction[0].timing.repeat.boundsPeriod` (or
  authoredOn as the start). jiareg's own category (`biologic-course`, `steroid`) decides the
  table when present, else the drug's class in `jiareg.vocab`.
- MedicationAdministration -> an administration (a dose of a biologic given; dose in mg,
  dosing weight in kg from extension `dosing-weight`).
- The drug comes from `medicationCodeableConcept` or `medicationReference` (a contained or
  bundled Medication's code): jiareg's drug code, ATC or RxNorm (`codes.DRUG_CODES`), else
  the text when it is a generic or brand name jiareg knows. A conventional DMARD is not a
  course or a dose jiareg records (unmapped).
- AdverseEvent (actuality `actual`; date, event.text, extension `ctcae-grade`, seriousness,
  suspectEntity identifier, outcome.text) -> adverse_events.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Final

from jiareg.formats.fhir import codes as fc
from jiareg.formats.fhir.reader import Reader
from jiareg.formats.fhir.rows import Json, Src, code, codings, date_part, extension, obj
from jiareg.vocab import DRUG_BY_NAME

__all__ = ["HANDLERS", "not_done"]

_PER_DAY: Final = {"h": Decimal(24), "d": Decimal(1), "wk": Decimal(1) / Decimal(7)}


def not_done(r: Json) -> str | None:
    """Why `r` is not data when its status says the thing did not happen (`codes.NOT_DONE`):
    `status entered-in-error`, `verificationStatus refuted`, `actuality potential`; else None."""
    kind = str(r.get("resourceType"))
    if kind == "AdverseEvent":
        return "actuality potential" if r.get("actuality") == "potential" else None
    field, status = "status", r.get("status")
    if kind == "Condition":
        field, status = (
            "verificationStatus",
            code(r.get("verificationStatus"), fc.CONDITION_VER_STATUS),
        )
    return f"{field} {status}" if status in fc.NOT_DONE.get(kind, ()) else None


def _drug(reader: Reader, r: Json, src: Src) -> tuple[str | None, str, object]:
    """(generic name or None, the JSON path read, what was there) of a medication resource.

    jiareg's own drug code is taken as it is (the registry's drug, known to vocab or not:
    what jiareg wrote reads back); other codes and texts only when vocab knows the drug."""
    path, concept = "medicationCodeableConcept", r.get("medicationCodeableConcept")
    reference = r.get("medicationReference")
    if concept is None and isinstance(reference, dict):
        target = str(reference.get("reference", ""))
        contained = [c for c in r.get("contained") or [] if isinstance(c, dict)]
        med = next((c for c in contained if f"#{c.get('id')}" == target), None)
        med = med or reader.refer(target)
        path, concept = "medicationReference", (med or {}).get("code")
    own = code(concept, fc.DRUG)
    if own is not None:
        return own, path, own
    for c in codings(concept):
        name = fc.DRUG_CODES.get((str(c.get("system")), str(c.get("code"))))
        if name is not None:
            return name, path, name
    text = str((concept or {}).get("text") or "") if isinstance(concept, dict) else ""
    found = codings(concept)
    shown = f"{found[0].get('system')}|{found[0].get('code')}" if found else text or None
    return fc.DRUG_NAMES.get(text.strip().lower()), path, shown


def _course_table(reader: Reader, r: Json, src: Src, drug: str | None, shown: object) -> str | None:
    kind = str(r.get("resourceType"))
    category = code(r.get("category"), fc.MEDICATION_CATEGORY)
    if drug is None:
        reader.unmapped(kind, src, "medication", shown, "drug not known")
        return None
    if category is not None:
        return "treatments" if category == "biologic-course" else "steroids"
    known = DRUG_BY_NAME.get(drug)
    if known is None:
        reader.unmapped(kind, src, "medication", shown, "drug not known")
        return None
    if known.drug_class == "steroid":
        return "steroids"
    if known.biologic:
        return "treatments"
    reader.unmapped(kind, src, "medication", shown, "not a biologic or corticosteroid")
    return None


def _start(reader: Reader, name: str, row: int, r: Json, src: Src, dosage_path: str) -> None:
    t = reader.tables[name]
    if r.get("resourceType") == "MedicationStatement":
        period = obj(r.get("effectivePeriod"))
        start, where = period.get("start"), "effectivePeriod.start"
        if start is None and r.get("effectiveDateTime") is not None:
            start, where = r.get("effectiveDateTime"), "effectiveDateTime"
        end, end_where = period.get("end"), "effectivePeriod.end"
    else:
        dosage = (r.get("dosageInstruction") or [{}])[0]
        timing = (dosage.get("timing") or {}).get("repeat") or {}
        bounds = timing.get("boundsPeriod") or {}
        where = f"{dosage_path}.timing.repeat.boundsPeriod"
        start, end, end_where = bounds.get("start"), bounds.get("end"), f"{where}.end"
        where += ".start"
        if start is None:
            start, where = r.get("authoredOn"), "authoredOn"
    t.put(row, "start_date", date_part(start), src, where)
    t.put(row, "stop_date", date_part(end), src, end_where)


def _daily(reader: Reader, row: int, dosage: Json, src: Src, path: str) -> None:
    """A steroid's daily dose: the dose (mg) times the doses a day its timing gives."""
    t = reader.tables["steroids"]
    dose = ((dosage.get("doseAndRate") or [{}])[0]).get("doseQuantity")
    dose_path = f"{path}.doseAndRate[0].doseQuantity"
    reader.quantity(t, row, "daily_dose_mg", dose, "mg", src, dose_path)
    value = t.rows[row]["daily_dose_mg"]
    if value is None or (row, "daily_dose_mg") in t.reported:
        return
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    unit, period = repeat.get("periodUnit"), repeat.get("period")
    if unit not in _PER_DAY or not isinstance(period, int | Decimal) or period <= 0:
        reader.problem(src, f"{path}.timing.repeat", repeat or None, "a dose timing per h, d or wk")
        t.reported.add((row, "daily_dose_mg"))
        return
    times = Decimal(repeat.get("frequency") or 1) * _PER_DAY[unit] / Decimal(period)
    if times != 1:
        daily = reader.numbers.number(Decimal(value) * times, 3, "daily_dose_mg")
        t.put(row, "daily_dose_mg", daily, src, f"{dose_path}.value")


def course(reader: Reader, r: Json, src: Src) -> None:
    """A MedicationStatement or MedicationRequest -> a treatments or steroids row."""
    drug, path, shown = _drug(reader, r, src)
    name = _course_table(reader, r, src, drug, shown)
    pid = None if name is None else reader.subject(r, src)
    if name is None or pid is None:
        return
    t = reader.tables[name]
    row = t.new(src)
    t.put(row, "patient_id", pid, src, "subject.reference")
    t.put(row, "drug", drug, src, path)
    key = "dosage" if r.get("resourceType") == "MedicationStatement" else "dosageInstruction"
    dosages = r.get(key) if isinstance(r.get(key), list) else []
    dosage = dosages[0] if dosages and isinstance(dosages[0], dict) else {}
    _start(reader, name, row, r, src, f"{key}[0]")
    if name == "treatments":
        route = code(dosage.get("route"), fc.ROUTE)
        route = route or fc.SNOMED_ROUTES.get(code(dosage.get("route"), fc.SNOMED) or "")
        t.put(row, "route", route, src, f"{key}[0].route")
        reason = (r.get("statusReason") or [{}])[0]
        t.put(row, "stop_reason", code(reason, fc.STOP_REASON), src, "statusReason[0]")
    else:
        t.put(row, "route", code(dosage.get("route"), fc.ROUTE), src, f"{key}[0].route")
        if dosage:
            _daily(reader, row, dosage, src, f"{key}[0]")


def administration(reader: Reader, r: Json, src: Src) -> None:
    """A MedicationAdministration (a dose of a biologic given) -> an administrations row."""
    drug, path, shown = _drug(reader, r, src)
    known = DRUG_BY_NAME.get(drug or "")
    if drug is None or (known is not None and not known.biologic):
        why = "drug not known" if drug is None else "not a biologic"
        reader.unmapped("MedicationAdministration", src, "medication", shown, why)
        return
    pid = reader.subject(r, src)
    if pid is None:
        return
    t = reader.tables["administrations"]
    row = t.new(src)
    t.put(row, "patient_id", pid, src, "subject.reference")
    t.put(row, "drug", drug, src, path)
    when, where = r.get("effectiveDateTime"), "effectiveDateTime"
    if when is None and isinstance(r.get("effectivePeriod"), dict):
        when, where = r["effectivePeriod"].get("start"), "effectivePeriod.start"
    t.put(row, "date", date_part(when), src, where)
    dosage = obj(r.get("dosage"))
    reader.quantity(t, row, "dose_mg", dosage.get("dose"), "mg", src, "dosage.dose")
    n, ext = extension(r, fc.DOSING_WEIGHT_URL)
    weight = ext.get("valueQuantity")
    reader.quantity(t, row, "weight_kg", weight, "kg", src, f"extension[{n}].valueQuantity")


def adverse_event(reader: Reader, r: Json, src: Src) -> None:
    pid = reader.subject(r, src)
    if pid is None:
        return
    t = reader.tables["adverse_events"]
    row = t.new(src)
    t.put(row, "patient_id", pid, src, "subject.reference")
    t.put(row, "onset_date", date_part(r.get("date")), src, "date")
    t.put(row, "term", (r.get("event") or {}).get("text"), src, "event.text")
    n, ext = extension(r, fc.GRADE_URL)
    t.put(row, "grade", ext.get("valueInteger"), src, f"extension[{n}].valueInteger")
    serious = code(r.get("seriousness"), fc.SERIOUSNESS)
    flag = {"serious": "yes", "non-serious": "no"}.get(serious or "", serious)
    t.put(row, "serious", flag, src, "seriousness")
    suspect = (r.get("suspectEntity") or [{}])[0].get("instance") or {}
    drug = (suspect.get("identifier") or {}).get("value")
    t.put(row, "related_drug", drug, src, "suspectEntity[0].instance.identifier.value")
    t.put(row, "outcome", (r.get("outcome") or {}).get("text"), src, "outcome.text")


HANDLERS: Final[dict[str, Callable[[Reader, Json, Src], None]]] = {
    "MedicationStatement": course,
    "MedicationRequest": course,
    "MedicationAdministration": administration,
    "AdverseEvent": adverse_event,
}
"""resourceType -> its reader, for the resources this module maps."""
