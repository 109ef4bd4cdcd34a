"""The JSON API's writes (INTERFACE.md, "Web API"): new patients and records, and edits and
deletions with a reason and the version the client last read.

`POST` never overwrites: a record whose key is stored is a 409 and nothing changes. `PUT` and
`DELETE` name the record by its key as in the template (`/visits/2024-03-01`,
`/treatments/tocilizumab/2024-01-10`) and carry `reason` and `version`; a record changed
since that version is a 409 with both versions. Every write goes through
`jiareg.services.records` (the import's validation, the audit, permission at the patient's
stored site).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from jiareg.derive.dose_flags import FLAG_MEANINGS
from jiareg.derive.dosing import check_administered_dose, label_dose
from jiareg.errors import DerivationError
from jiareg.formats.template.dictionary import table
from jiareg.jsonable import json_number
from jiareg.services.versions import RecordExists, RecordNotFound, StaleRecord
from jiareg.web import routing, storeops
from jiareg.web.access import Viewer
from jiareg.web.deps import state, viewer
from jiareg.web.patients import patient_detail

__all__ = ["CHILD_TABLES", "EDITABLE", "conflict", "key_of", "router", "visit_records"]

router = routing.router(prefix="/api", tags=["records"])
AnyViewer = Annotated[Viewer, Depends(viewer)]
CHILD_TABLES: Final = ("treatments", "administrations", "steroids", "adverse_events")
"""The tables `POST /api/patients/{id}/{table}` adds to (visits have their own body)."""
EDITABLE: Final = ("visits", *CHILD_TABLES)
Scalar = str | int | float | bool | None
PatientId = Annotated[str, Path(max_length=100)]
TableName = Annotated[str, Path(max_length=32, pattern="^(" + "|".join(EDITABLE) + ")$")]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
Version = Annotated[str, Field(min_length=1, max_length=64)]
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "not logged in"},
    403: {"description": "read-only role, another site, or bad CSRF token"},
    404: {"description": "patient or record not found"},
    409: {"description": "the record exists, or changed since the version given"},
    422: {"description": "a value failed validation (nothing was saved)"},
}


class VisitIn(BaseModel):
    """A new visit: template columns of `visits`, its joint findings and CHAQ items."""

    model_config = ConfigDict(extra="forbid")
    visit: dict[str, Scalar]
    joint_exams: list[dict[str, str | bool | None]] = Field(default_factory=list, max_length=71)
    chaq_items: list[dict[str, str | int | bool | None]] = Field(
        default_factory=list, max_length=30
    )
    reason: Reason = "entered in the web form"


class VisitChange(BaseModel):
    """An edited visit: like `VisitIn`, with the reason and the version last read. Joint
    findings and CHAQ items, when given, replace the stored ones."""

    model_config = ConfigDict(extra="forbid")
    visit: dict[str, Scalar]
    joint_exams: list[dict[str, str | bool | None]] | None = Field(None, max_length=71)
    chaq_items: list[dict[str, str | int | bool | None]] | None = Field(None, max_length=30)
    reason: Reason
    version: Version


class Deletion(BaseModel):
    """A deletion's reason and the version last read."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason
    version: Version


def conflict(exc: RecordExists | StaleRecord) -> HTTPException:
    """The 409 of a record that exists or changed since it was read (both versions)."""
    if isinstance(exc, StaleRecord):
        detail: dict[str, Any] = {
            "message": str(exc),
            "your_version": exc.given,
            "current_version": exc.current,
            "current": {k: _json(v) for k, v in exc.record.items() if k != "patient_id"},
        }
    else:
        detail = {"message": str(exc), "key": {k: _json(v) for k, v in exc.key.items()}}
    return HTTPException(status_code=409, detail=detail)


def _json(value: object) -> object:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


@contextmanager
def answered() -> Iterator[None]:
    """The services' refusals as HTTP answers (409, 404)."""
    try:
        yield
    except (RecordExists, StaleRecord) as exc:
        raise conflict(exc) from None
    except RecordNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


def writable(request: Request, who: Viewer, patient_id: str) -> dict[str, Any]:
    """The stored patient behind `patient_id` when `who` may enter data there (else 404/403)."""
    patient = state(request).registry.resolve(who, patient_id)
    if patient is None:
        raise HTTPException(status_code=404, detail="patient not found")
    if not who.may("enter", patient["site"]):
        raise HTTPException(status_code=403, detail=f"the {who.role} role may not enter data")
    return patient


def key_of(table_name: str, patient_id: str, key: str) -> dict[str, str]:
    """A record's key from its URL form: the key fields after patient_id joined by `/`
    (the last field takes any further `/`, e.g. an adverse event's term)."""
    fields = table(table_name).key[1:]
    parts = key.split("/", len(fields) - 1)
    if len(parts) != len(fields) or not all(parts):
        raise HTTPException(status_code=404, detail=f"{table_name}: no record {key!r}")
    return {"patient_id": patient_id, **dict(zip(fields, parts, strict=True))}


def visit_records(
    joints: list[dict[str, Any]] | None, chaq: list[dict[str, Any]] | None
) -> list[tuple[str, Mapping[str, object]]] | None:
    """A visit's children as (table, values) pairs; None when neither is given."""
    if joints is None and chaq is None:
        return None
    return [("joint_exams", j) for j in joints or []] + [("chaq_items", c) for c in chaq or []]


def _flat(body: dict[str, Scalar]) -> tuple[dict[str, Scalar], str | None, str | None]:
    values = dict(body)
    reason, version = values.pop("reason", None), values.pop("version", None)
    return (
        values,
        None if reason is None else str(reason),
        None if version is None else str(version),
    )


def _detail(request: Request, who: Viewer, patient_id: str, **extra: Any) -> dict[str, Any]:
    detail = patient_detail(state(request).registry, who, patient_id)
    assert detail is not None
    return {**detail, **extra}


@router.post("/patients", status_code=201, responses=_ERRORS)
def add_patient(request: Request, who: AnyViewer, body: dict[str, Scalar]) -> dict[str, Any]:
    """A new patient (template `patients` columns, optional `reason`); 409 if the id exists."""
    values, reason, _ = _flat(body)
    if not who.may_write:
        raise HTTPException(status_code=403, detail=f"the {who.role} role may not enter data")
    with answered():
        storeops.add_record(
            state(request).db_url, who, "patients", values, reason=reason or "new patient"
        )
    return _detail(request, who, str(values.get("patient_id", "")).strip())


@router.put("/patients/{patient_id}", responses=_ERRORS)
def edit_patient(
    request: Request, who: AnyViewer, patient_id: PatientId, body: dict[str, Scalar]
) -> dict[str, Any]:
    """Correct a patient (template columns plus `reason` and `version`); 409 when stale.
    Moving a patient to another site is for admins."""
    patient = writable(request, who, patient_id)
    values, reason, version = _flat(body)
    if not reason or not version:
        raise HTTPException(status_code=422, detail="a change needs `reason` and `version`")
    key = {"patient_id": patient["patient_id"]}
    with answered():
        storeops.update_record(
            state(request).db_url,
            who,
            "patients",
            key,
            {**values, **key},
            version=version,
            reason=reason,
        )
    return _detail(request, who, patient_id)


@router.get("/patients/{patient_id}/dose-check", responses=_ERRORS)
def dose_check(
    request: Request,
    who: AnyViewer,
    patient_id: PatientId,
    drug: Annotated[str, Query(max_length=32)],
    weight_kg: Annotated[str, Query(max_length=16)],
    dose_mg: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, Any]:
    """The label dose for this patient's category and the flags of a dose being typed
    (`jiareg.derive.dosing`; the route is the patient's course of `drug`, IV by default)."""
    web = state(request)
    patient = web.registry.resolve(who, patient_id)
    if patient is None:
        raise HTTPException(status_code=404, detail="patient not found")
    courses = web.registry.record(patient["patient_id"])["treatments"]
    routes = [c["route"] for c in courses if c["drug"] == drug.strip().lower() and c["route"]]
    try:
        check = label_dose(
            drug.strip().lower(),
            weight_kg=weight_kg,
            category=patient["ilar_category"],
            route=routes[-1] if routes else None,
        )
        flags = check_administered_dose(dose_mg or None, check)
    except DerivationError as exc:
        return {"expected_mg": None, "flags": [], "problem": str(exc)}
    return {
        "expected_mg": json_number(check.expected_mg),
        "route": check.route,
        "flags": list(flags),
        "meanings": [FLAG_MEANINGS.get(f, f) for f in flags],
        "problem": None,
    }


@router.post("/patients/{patient_id}/visits", status_code=201, responses=_ERRORS)
def add_visit(
    request: Request, who: AnyViewer, patient_id: PatientId, body: VisitIn
) -> dict[str, Any]:
    """A new visit; 409 and nothing changed when the patient has a visit on that date."""
    patient = writable(request, who, patient_id)
    values = {**body.visit, "patient_id": patient["patient_id"]}
    with answered():
        change = storeops.add_record(
            state(request).db_url,
            who,
            "visits",
            values,
            reason=body.reason,
            children=visit_records(body.joint_exams, body.chaq_items) or [],
        )
    return _detail(request, who, patient_id, warnings=list(change.warnings))


@router.put("/patients/{patient_id}/visits/{visit_date}", responses=_ERRORS)
def edit_visit(
    request: Request,
    who: AnyViewer,
    patient_id: PatientId,
    visit_date: Annotated[str, Path(max_length=10)],
    body: VisitChange,
) -> dict[str, Any]:
    """Change a visit (fields not given keep their value); 409 when changed since `version`."""
    patient = writable(request, who, patient_id)
    key = {"patient_id": patient["patient_id"], "visit_date": visit_date}
    with answered():
        change = storeops.update_record(
            state(request).db_url,
            who,
            "visits",
            key,
            {**body.visit, "patient_id": patient["patient_id"]},
            version=body.version,
            reason=body.reason,
            children=visit_records(body.joint_exams, body.chaq_items),
        )
    return _detail(request, who, patient_id, warnings=list(change.warnings))


@router.post("/patients/{patient_id}/{table_name}", status_code=201, responses=_ERRORS)
def add_child(
    request: Request,
    who: AnyViewer,
    patient_id: PatientId,
    table_name: Annotated[str, Path(pattern="^(" + "|".join(CHILD_TABLES) + ")$")],
    body: dict[str, Scalar],
) -> dict[str, Any]:
    """A new course, infusion (its dose checked: `warnings`), steroid period or adverse event."""
    patient = writable(request, who, patient_id)
    values, reason, _ = _flat(body)
    with answered():
        change = storeops.add_record(
            state(request).db_url,
            who,
            table_name,
            {**values, "patient_id": patient["patient_id"]},
            reason=reason or "entered in the web form",
        )
    return _detail(request, who, patient_id, warnings=list(change.warnings))


@router.put("/patients/{patient_id}/{table_name}/{key:path}", responses=_ERRORS)
def edit_child(
    request: Request,
    who: AnyViewer,
    patient_id: PatientId,
    table_name: TableName,
    key: Annotated[str, Path(max_length=300)],
    body: dict[str, Scalar],
) -> dict[str, Any]:
    """Change a record (template columns plus `reason` and `version`); 409 when stale."""
    patient = writable(request, who, patient_id)
    values, reason, version = _flat(body)
    if not reason or not version:
        raise HTTPException(status_code=422, detail="a change needs `reason` and `version`")
    with answered():
        change = storeops.update_record(
            state(request).db_url,
            who,
            table_name,
            key_of(table_name, patient["patient_id"], key),
            {**values, "patient_id": patient["patient_id"]},
            version=version,
            reason=reason,
        )
    return _detail(request, who, patient_id, warnings=list(change.warnings))


@router.delete("/patients/{patient_id}/{table_name}/{key:path}", status_code=204, responses=_ERRORS)
def delete_child(
    request: Request,
    who: AnyViewer,
    patient_id: PatientId,
    table_name: TableName,
    key: Annotated[str, Path(max_length=300)],
    body: Deletion,
) -> Response:
    """Delete a record (a visit with its joints and CHAQ items): data managers and admins."""
    patient = writable(request, who, patient_id)
    with answered():
        found = storeops.delete_record(
            state(request).db_url,
            who,
            table_name,
            key_of(table_name, patient["patient_id"], key),
            version=body.version,
            reason=body.reason,
        )
    if not found:
        raise HTTPException(status_code=404, detail=f"{table_name}: no record {key!r}")
    return Response(status_code=204)
