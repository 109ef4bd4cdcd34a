"""The visit form: a new visit, or an existing one corrected with a reason.

Nothing typed is ever lost or silently overwritten: a refused save comes back with every value
(joints and CHAQ items included) and each problem beside its field; a date that has a visit
opens that visit for editing (what was typed is listed, nothing is saved); an edit of a visit
changed by someone else since it was opened is refused with both versions side by side.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jiareg.derive.chaq import CHAQ_DOMAINS
from jiareg.errors import InputError
from jiareg.formats.template.dictionary import table
from jiareg.services.versions import RecordExists, StaleRecord
from jiareg.vocab import SCALES
from jiareg.web import routing, storeops
from jiareg.web.access import Viewer
from jiareg.web.chaq_questions import DOMAIN_TITLES, QUESTIONS
from jiareg.web.deps import page_viewer, state
from jiareg.web.homunculus import HEIGHT, WIDTH, joint_spots
from jiareg.web.patients import patient_detail
from jiareg.web.problems import field_problems, problem_rows
from jiareg.web.routes.pages import render
from jiareg.web.routes.records import visit_records

__all__ = ["router", "shown"]

router = routing.router(include_in_schema=False)
PageViewer = Annotated[Viewer, Depends(page_viewer)]
VISIT_FIELDS: Final = tuple(n for n in table("visits").names if n != "patient_id")
FLAGS: Final = tuple(c.name for c in table("visits").columns if c.kind == "flag")
_JOINT_FIELDS: Final = ("joint", "side", "swollen", "tender", "painful_motion", "limited_motion")


def shown(value: object) -> str:
    """A stored value as the form shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _form_of(visit: Mapping[str, Any]) -> dict[str, str]:
    return {k: shown(visit.get(k)) for k in VISIT_FIELDS}


def _stored_visit(detail: Mapping[str, Any], on: str) -> dict[str, Any] | None:
    return next((v for v in detail["visits"] if str(v["visit_date"]) == on), None)


def _stored_state(detail: Mapping[str, Any], on: str) -> dict[str, Any]:
    """The form state (values, joints, CHAQ items) of the stored visit on `on`."""
    visit = _stored_visit(detail, on) or {}
    joints = [
        {k: j[k] for k in _JOINT_FIELDS}
        for j in detail["joint_exams"]
        if str(j["visit_date"]) == on
    ]
    items = [c for c in detail["chaq_items"] if str(c["visit_date"]) == on]
    return {
        "form": _form_of(visit),
        "joints": json.dumps(joints),
        "chaq": {c["item"]: shown(c["score"]) for c in items},
        "aids": {domain for c in items if c["aid"] for domain in _domains(c["item"])},
        "version": visit.get("version", ""),
        "reason": "",
    }


def _domains(item: str) -> list[str]:
    return [d for d, items in CHAQ_DOMAINS.items() if item in items]


def _typed_state(form: Mapping[str, str]) -> dict[str, Any]:
    """The form state exactly as the user typed it."""
    return {
        "form": {k: form.get(k, "") for k in VISIT_FIELDS},
        "joints": form.get("joint_exams") or "[]",
        "chaq": {k.removeprefix("chaq:"): v for k, v in form.items() if k.startswith("chaq:")},
        "aids": {k.removeprefix("aid:") for k in form if k.startswith("aid:")},
        "version": form.get("version", ""),
        "reason": form.get("reason", ""),
    }


def _previous(detail: Mapping[str, Any], before: str | None) -> dict[str, str] | None:
    """The latest visit before `before` (any visit when None), as the form shows values."""
    earlier = [v for v in detail["visits"] if before is None or str(v["visit_date"]) < before]
    if not earlier:
        return None
    return {**_form_of(earlier[-1]), "visit_date": str(earlier[-1]["visit_date"])}


def _page(
    request: Request,
    who: Viewer,
    patient_id: str,
    fill: dict[str, Any],
    *,
    editing: str | None,
    status: int = 200,
    **extra: Any,
) -> Response:
    detail = patient_detail(state(request).registry, who, patient_id)
    if detail is None:
        raise HTTPException(status_code=404, detail="patient not found")
    if not who.may_write:
        raise HTTPException(status_code=403, detail=f"the {who.role} role is read-only")
    problems = extra.pop("problems", [])
    return render(
        request,
        "visit_new.html",
        who,
        status=status,
        nav="patients",
        d=detail,
        pid=patient_id,
        editing=editing,
        problems=problems,
        errors=field_problems(problems),
        prev=_previous(detail, editing or fill["form"].get("visit_date") or None),
        dates=[str(v["visit_date"]) for v in detail["visits"]],
        scales=SCALES,
        flags=FLAGS,
        chaq_domains=CHAQ_DOMAINS,
        chaq_questions=QUESTIONS,
        chaq_titles=DOMAIN_TITLES,
        spots=joint_spots(),
        hw=WIDTH,
        hh=HEIGHT,
        **fill,
        **extra,
    )


@router.get("/patients/{patient_id}/visits/new", response_class=HTMLResponse)
def visit_form(request: Request, who: PageViewer, patient_id: str) -> Response:
    form = dict.fromkeys(VISIT_FIELDS, "")
    form.update(
        visit_date=date.today().isoformat(), phys_global_scale="0-10", parent_global_scale="0-10"
    )
    fill = {"form": form, "joints": "[]", "chaq": {}, "aids": set(), "version": "", "reason": ""}
    return _page(request, who, patient_id, fill, editing=None)


@router.get("/patients/{patient_id}/visits/{visit_date}", response_class=HTMLResponse)
def visit_edit_form(
    request: Request, who: PageViewer, patient_id: str, visit_date: str
) -> Response:
    detail = patient_detail(state(request).registry, who, patient_id)
    if detail is None or _stored_visit(detail, visit_date) is None:
        raise HTTPException(status_code=404, detail="visit not found")
    fill = _stored_state(detail, visit_date)
    return _page(request, who, patient_id, fill, editing=visit_date)


def _chaq_rows(form: Mapping[str, str]) -> list[dict[str, Any]]:
    aids = {k.removeprefix("aid:") for k in form if k.startswith("aid:")}
    rows = []
    for domain, items in CHAQ_DOMAINS.items():
        for item in items:
            score = form.get(f"chaq:{item}")
            if score:
                rows.append({"item": item, "score": score, "aid": domain in aids})
    return rows


def _joints(form: Mapping[str, str]) -> list[dict[str, Any]]:
    try:
        joints = json.loads(form.get("joint_exams") or "[]")
    except ValueError:
        joints = None
    if not isinstance(joints, list) or not all(isinstance(j, dict) for j in joints):
        raise HTTPException(status_code=422, detail="joint_exams must be a JSON list")
    return joints


@router.post("/patients/{patient_id}/visits/new")
async def visit_submit(request: Request, who: PageViewer, patient_id: str) -> Response:
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    # the database work blocks: off the event loop, like the sync routes
    return await run_in_threadpool(_save, request, who, patient_id, form, None)


@router.post("/patients/{patient_id}/visits/{visit_date}")
async def visit_edit_submit(
    request: Request, who: PageViewer, patient_id: str, visit_date: str
) -> Response:
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    return await run_in_threadpool(_save, request, who, patient_id, form, visit_date)


def _save(
    request: Request, who: Viewer, patient_id: str, form: dict[str, str], editing: str | None
) -> Response:
    web = state(request)
    patient = web.registry.resolve(who, patient_id)
    if patient is None:
        raise HTTPException(status_code=404, detail="patient not found")
    if not who.may("enter", patient["site"]):
        raise HTTPException(status_code=403, detail=f"the {who.role} role may not enter data")
    visit = {k: form.get(k, "") for k in VISIT_FIELDS}
    children = visit_records(_joints(form), _chaq_rows(form)) or []
    pid = patient["patient_id"]
    typed = _typed_state(form)
    try:
        if editing is None:
            change = storeops.add_record(
                web.db_url,
                who,
                "visits",
                {**visit, "patient_id": pid},
                reason="entered in the web form",
                children=children,
            )
        else:
            reason = form.get("reason", "").strip()
            if not reason:
                problem = {"column": "reason", "value": "", "expected": "why the visit changes"}
                return _page(
                    request, who, patient_id, typed, editing=editing, status=422,
                    problems=[problem],
                )  # fmt: skip
            visit["visit_date"] = editing
            change = storeops.update_record(
                web.db_url,
                who,
                "visits",
                {"patient_id": pid, "visit_date": editing},
                {**visit, "patient_id": pid},
                version=form.get("version", ""),
                reason=reason,
                children=children,
            )
    except RecordExists:
        detail = patient_detail(web.registry, who, patient_id)
        assert detail is not None
        on = visit["visit_date"]
        fill = _stored_state(detail, on)
        entries = [(k, v) for k, v in typed["form"].items() if v and k != "visit_date"]
        return _page(
            request, who, patient_id, fill, editing=on, status=409, existing=on, typed=entries
        )
    except StaleRecord as exc:
        current = {k: shown(exc.record.get(k)) for k in VISIT_FIELDS}
        diff = [
            (k, typed["form"][k], current[k])
            for k in VISIT_FIELDS
            if typed["form"][k] != current[k]
        ]
        typed["version"] = exc.current  # saving again knowingly replaces the newer values
        return _page(request, who, patient_id, typed, editing=editing, status=409, stale=diff)
    except InputError as exc:
        return _page(
            request, who, patient_id, typed, editing=editing, status=422,
            problems=problem_rows(exc),
        )  # fmt: skip
    saved = "saved" if change.action != "none" else "unchanged"
    return RedirectResponse(
        f"{request.url_for('patient_page', patient_id=patient_id).path}"
        f"?{saved}=visit&date={visit['visit_date']}",
        status_code=303,
    )
