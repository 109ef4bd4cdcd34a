"""The record forms: add a patient, a biologic course, an infusion, a steroid period or an
adverse event; correct any of them (and a patient) with a reason; delete a record after a
confirmation step. Fields come from the template's data dictionary; every save goes through
`jiareg.services.records` (the import's validation and audit, the version last read).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jiareg.errors import InputError
from jiareg.formats.template.dictionary import TemplateTable, table
from jiareg.services.versions import RecordExists, RecordNotFound, StaleRecord
from jiareg.web import routing, storeops
from jiareg.web.access import Viewer
from jiareg.web.deps import page_viewer, state
from jiareg.web.patients import patient_detail
from jiareg.web.problems import field_problems, problem_rows
from jiareg.web.routes.pages import render
from jiareg.web.routes.records import CHILD_TABLES, EDITABLE, key_of
from jiareg.web.routes.visits import shown

__all__ = ["TITLES", "record_path", "router"]

router = routing.router(include_in_schema=False)
PageViewer = Annotated[Viewer, Depends(page_viewer)]
TITLES: Final = {
    "patients": "patient",
    "visits": "visit",
    "treatments": "biologic course",
    "administrations": "infusion or injection",
    "steroids": "steroid period",
    "adverse_events": "adverse event",
}
Child = Annotated[str, Path(pattern="^(" + "|".join(CHILD_TABLES) + ")$")]
Editable = Annotated[str, Path(pattern="^(" + "|".join(EDITABLE) + ")$")]


def record_path(table_name: str, row: Mapping[str, Any]) -> str:
    """A record's key as its URL path (the key fields after patient_id, each quoted)."""
    return "/".join(quote(str(row[k]), safe="") for k in table(table_name).key[1:])


async def _form(request: Request) -> dict[str, str]:
    raw = await request.form()
    return {k: v for k, v in raw.items() if isinstance(v, str)}


def _fields(spec: TemplateTable) -> list[str]:
    return [n for n in spec.names if spec.name == "patients" or n != "patient_id"]


def _writable(request: Request, who: Viewer, patient_id: str) -> dict[str, Any]:
    detail = patient_detail(state(request).registry, who, patient_id)
    if detail is None:
        raise HTTPException(status_code=404, detail="patient not found")
    if not who.may("enter", detail["patient"]["site"]):
        raise HTTPException(status_code=403, detail=f"the {who.role} role may not enter data")
    return detail


def _stored(detail: Mapping[str, Any], table_name: str, key: Mapping[str, str]) -> dict[str, Any]:
    rows = [detail["patient"]] if table_name == "patients" else detail[table_name]
    for row in rows:
        if all(str(row[k]) == key[k] for k in key if k != "patient_id"):
            return dict(row)
    raise HTTPException(status_code=404, detail=f"{TITLES[table_name]} not found")


def _page(
    request: Request,
    who: Viewer,
    table_name: str,
    values: Mapping[str, str],
    *,
    pid: str | None,
    editing: str | None,
    status: int = 200,
    problems: list[dict[str, object]] | None = None,
    **extra: Any,
) -> Response:
    spec = table(table_name)
    sites = sorted({p["site"] for p in state(request).registry.patients(who)} | {who.site or ""})
    return render(
        request,
        "record_form.html",
        who,
        status=status,
        nav="patients",
        spec=spec,
        fields=_fields(spec),
        title=TITLES[table_name],
        values=values,
        pid=pid,
        editing=editing,
        problems=problems or [],
        errors=field_problems(problems or []),
        sites=[s for s in sites if s and who.may("enter", s)],
        **extra,
    )


def _done(
    request: Request, who: Viewer, pid: str, kind: str, warnings: tuple[str, ...]
) -> Response:
    if warnings:  # shown at once: they must be seen, and a redirect's URL carries no text
        detail = patient_detail(state(request).registry, who, pid)
        return render(
            request,
            "patient.html",
            who,
            nav="patients",
            d=detail,
            pid=pid,
            flash=TITLES.get(kind, "record").capitalize() + " saved, with warnings:",
            warnings=[w.split(": ", 1)[-1].removesuffix("; imported anyway") for w in warnings],
        )
    return RedirectResponse(f"/patients/{quote(pid, safe='')}?saved={kind}", status_code=303)


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient_form(request: Request, who: PageViewer) -> Response:
    if not who.may_write:
        raise HTTPException(status_code=403, detail=f"the {who.role} role is read-only")
    return _page(request, who, "patients", {"site": who.site or ""}, pid=None, editing=None)


@router.post("/patients/new")
async def new_patient(request: Request, who: PageViewer) -> Response:
    form = await _form(request)
    return await run_in_threadpool(_save, request, who, "patients", form, None, None)


@router.get("/patients/{patient_id}/records/{table_name}/new", response_class=HTMLResponse)
def new_record_form(
    request: Request, who: PageViewer, patient_id: str, table_name: Child
) -> Response:
    _writable(request, who, patient_id)
    return _page(request, who, table_name, {}, pid=patient_id, editing=None)


@router.post("/patients/{patient_id}/records/{table_name}/new")
async def new_record(
    request: Request, who: PageViewer, patient_id: str, table_name: Child
) -> Response:
    form = await _form(request)
    return await run_in_threadpool(_save, request, who, table_name, form, patient_id, None)


@router.get("/patients/{patient_id}/edit", response_class=HTMLResponse)
def edit_patient_form(request: Request, who: PageViewer, patient_id: str) -> Response:
    detail = _writable(request, who, patient_id)
    row = detail["patient"]
    values = {k: shown(row.get(k)) for k in table("patients").names}
    return _page(
        request, who, "patients", values, pid=patient_id, editing="", version=row["version"]
    )


@router.post("/patients/{patient_id}/edit")
async def edit_patient(request: Request, who: PageViewer, patient_id: str) -> Response:
    form = await _form(request)
    return await run_in_threadpool(_save, request, who, "patients", form, patient_id, "")


@router.get(
    "/patients/{patient_id}/records/{table_name}/edit/{key:path}", response_class=HTMLResponse
)
def edit_record_form(
    request: Request, who: PageViewer, patient_id: str, table_name: Child, key: str
) -> Response:
    detail = _writable(request, who, patient_id)
    row = _stored(detail, table_name, key_of(table_name, patient_id, key))
    values = {k: shown(row.get(k)) for k in table(table_name).names}
    return _page(
        request,
        who,
        table_name,
        values,
        pid=patient_id,
        editing=key,
        version=row["version"],
        can_delete=who.may("fix", detail["patient"]["site"]),
    )


@router.post("/patients/{patient_id}/records/{table_name}/edit/{key:path}")
async def edit_record(
    request: Request, who: PageViewer, patient_id: str, table_name: Child, key: str
) -> Response:
    form = await _form(request)
    return await run_in_threadpool(_save, request, who, table_name, form, patient_id, key)


def _save(
    request: Request,
    who: Viewer,
    table_name: str,
    form: dict[str, str],
    patient_id: str | None,
    editing: str | None,
) -> Response:
    """Add (editing None) or change (editing = the key path; "" for a patient) one record."""
    spec = table(table_name)
    web = state(request)
    values: dict[str, object] = {k: form.get(k, "") for k in _fields(spec)}
    pid = patient_id
    if patient_id is not None:
        detail = _writable(request, who, patient_id)
        pid_stored = detail["patient"]["patient_id"]
        values["patient_id"] = pid_stored
        if table_name == "patients" and not who.may("fix", None):
            values["site"] = detail["patient"]["site"]  # moving a patient: admins only
    elif not who.may_write:
        raise HTTPException(status_code=403, detail=f"the {who.role} role is read-only")
    else:
        pid = str(values.get("patient_id", "")).strip()
    shown_values = {k: str(v) for k, v in values.items()}
    version = form.get("version", "")
    again: dict[str, Any] = {"pid": patient_id, "editing": editing, "version": version}
    reason = form.get("reason", "").strip()
    try:
        if editing is None:
            change = storeops.add_record(
                web.db_url, who, table_name, values, reason="entered in the web form"
            )
        else:
            if not reason:
                problem: dict[str, object] = {
                    "column": "reason",
                    "value": "",
                    "expected": "why the record changes",
                }
                return _page(
                    request, who, table_name, {**shown_values, "reason": reason}, status=422,
                    problems=[problem], **again,
                )  # fmt: skip
            key = (
                {"patient_id": values["patient_id"]}
                if table_name == "patients"
                else key_of(table_name, str(values["patient_id"]), editing)
            )
            change = storeops.update_record(
                web.db_url, who, table_name, key, values, version=version, reason=reason
            )
    except RecordExists as exc:
        return _page(request, who, table_name, shown_values, status=409, exists=str(exc), **again)
    except StaleRecord as exc:
        again["version"] = exc.current
        current = {k: shown(exc.record.get(k)) for k in _fields(spec)}
        diff = [
            (k, shown_values[k], current[k]) for k in _fields(spec) if shown_values[k] != current[k]
        ]
        return _page(
            request, who, table_name, {**shown_values, "reason": reason}, status=409,
            stale=diff, **again,
        )  # fmt: skip
    except RecordNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except InputError as exc:
        return _page(
            request, who, table_name, {**shown_values, "reason": reason}, status=422,
            problems=problem_rows(exc), **again,
        )  # fmt: skip
    return _done(request, who, patient_id or pid or "", table_name, change.warnings)


@router.get(
    "/patients/{patient_id}/records/{table_name}/delete/{key:path}", response_class=HTMLResponse
)
def delete_form(
    request: Request, who: PageViewer, patient_id: str, table_name: Editable, key: str
) -> Response:
    detail = _writable(request, who, patient_id)
    if not who.may("fix", detail["patient"]["site"]):
        raise HTTPException(status_code=403, detail="deleting records is for data managers")
    row = _stored(detail, table_name, key_of(table_name, patient_id, key))
    return render(
        request,
        "confirm_delete.html",
        who,
        nav="patients",
        pid=patient_id,
        title=TITLES[table_name],
        table_name=table_name,
        key=key,
        row=[(k, shown(row.get(k))) for k in _fields(table(table_name))],
        version=row["version"],
        problem=None,
    )


@router.post("/patients/{patient_id}/records/{table_name}/delete/{key:path}")
async def delete_record(
    request: Request, who: PageViewer, patient_id: str, table_name: Editable, key: str
) -> Response:
    form = await _form(request)
    return await run_in_threadpool(_delete, request, who, patient_id, table_name, key, form)


def _delete(
    request: Request,
    who: Viewer,
    patient_id: str,
    table_name: str,
    key: str,
    form: dict[str, str],
) -> Response:
    detail = _writable(request, who, patient_id)
    if not who.may("fix", detail["patient"]["site"]):
        raise HTTPException(status_code=403, detail="deleting records is for data managers")
    reason = form.get("reason", "").strip()
    problem = None if reason else "Give the reason for the deletion (kept in the audit trail)."
    if reason:
        try:
            storeops.delete_record(
                state(request).db_url,
                who,
                table_name,
                key_of(table_name, detail["patient"]["patient_id"], key),
                version=form.get("version", ""),
                reason=reason,
            )
        except StaleRecord:
            problem = "The record was changed by someone else since you opened it: not deleted."
    if problem is None:
        return RedirectResponse(
            f"/patients/{quote(patient_id, safe='')}?saved=deleted", status_code=303
        )
    row = _stored(detail, table_name, key_of(table_name, patient_id, key))
    return render(
        request,
        "confirm_delete.html",
        who,
        status=409 if reason else 422,
        nav="patients",
        pid=patient_id,
        title=TITLES[table_name],
        table_name=table_name,
        key=key,
        row=[(k, shown(row.get(k))) for k in _fields(table(table_name))],
        version=row["version"],
        problem=problem,
    )
