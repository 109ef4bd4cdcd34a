"""Server-rendered HTML pages (Jinja2). Forms post with the session's CSRF token; the log-in
form, which has no session yet, carries a signed, time-limited token instead."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from jiareg.derive.chaq import CHAQ_DOMAINS
from jiareg.derive.coreset import SCALES
from jiareg.derive.systemic import ILAR_CATEGORIES
from jiareg.errors import InputError
from jiareg.formats.template.dictionary import table
from jiareg.web import storeops
from jiareg.web.access import Viewer
from jiareg.web.deps import COOKIE, current_session, page_viewer, state
from jiareg.web.homunculus import HEIGHT, WIDTH, joint_spots
from jiareg.web.patients import PatientFilters, patient_detail, patient_summaries
from jiareg.web.plots import timeline_svg
from jiareg.web.problems import problem_rows
from jiareg.web.routes.api import MAX_PAGE, check_login, start_session

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PageViewer = Annotated[Viewer, Depends(page_viewer)]
_LOGIN_TOKEN_SECONDS: Final = 3600
STATES: Final = ("ID", "LDA", "MDA", "HDA")
PAGE_SIZE: Final = 50
"""Patients per page of the patient list (`?size=` changes it, up to MAX_PAGE)."""


def render(
    request: Request, name: str, who: Viewer | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """Render a template with the viewer and the session's CSRF token."""
    session = current_session(request)
    return state(request).templates.TemplateResponse(
        request,
        name,
        {"viewer": who, "csrf_token": session.csrf if session else None, **context},
        status_code=status,
    )


def _login_signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret_key, salt="jiareg-login")


def _safe_next(target: str) -> str:
    """Only same-site paths may follow a log-in (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/patients"


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/patients", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/patients", error: str | None = None) -> Response:
    token = _login_signer(request).dumps("login")
    return render(
        request, "login.html", None, login_token=token, next=_safe_next(next), error=error
    )


@router.post("/login")
def login_form(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "/patients",
) -> Response:
    try:
        _login_signer(request).loads(csrf_token, max_age=_LOGIN_TOKEN_SECONDS)
    except BadSignature:
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token") from None
    try:
        who = check_login(request, username, password)
    except HTTPException as exc:
        token = _login_signer(request).dumps("login")
        return render(
            request,
            "login.html",
            None,
            status=exc.status_code,
            login_token=token,
            next=_safe_next(next),
            error=str(exc.detail),
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    start_session(request, response, who)
    return response


@router.post("/logout")
def logout_form(request: Request, who: PageViewer) -> Response:
    web = state(request)
    token = request.cookies.get(COOKIE)
    web.sessions.end(token)
    if token:
        web.viewers.pop(token, None)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", secure=web.https, httponly=True, samesite="strict")
    return response


@router.get("/patients", response_class=HTMLResponse)
def patients_page(
    request: Request,
    who: PageViewer,
    q: str | None = None,
    site: str | None = None,
    category: str | None = None,
    biologic: str | None = None,
    state_: Annotated[str | None, "state"] = None,
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE_SIZE,
) -> Response:
    params = request.query_params
    filters = PatientFilters(
        q=q or None,
        site=site or None,
        category=category or None,
        biologic=biologic or None,
        state=params.get("state") or None,
    )
    registry = state(request).registry
    matches = patient_summaries(registry, who, filters)
    pages = max(1, -(-len(matches) // size))
    page = min(page, pages)
    rows = matches[(page - 1) * size : page * size]
    pager = {
        "total": len(matches),
        "first": (page - 1) * size + 1 if rows else 0,
        "last": (page - 1) * size + len(rows),
        "page": page,
        "pages": pages,
        "prev": str(request.url.include_query_params(page=page - 1)) if page > 1 else None,
        "next": str(request.url.include_query_params(page=page + 1)) if page < pages else None,
    }
    everyone = registry.patients(who)
    options = {
        "sites": sorted({p["site"] for p in everyone}),
        "categories": [c.lower() for c in ILAR_CATEGORIES],
        "biologics": sorted(set(registry.open_courses().values())),
        "states": STATES,
    }
    return render(
        request,
        "patients.html",
        who,
        nav="patients",
        rows=rows,
        pager=pager,
        filters=filters,
        options=options,
    )


def _detail_or_404(request: Request, who: Viewer, patient_id: str) -> dict[str, Any]:
    detail = patient_detail(state(request).registry, who, patient_id)
    if detail is None:
        raise HTTPException(status_code=404, detail="patient not found")
    return detail


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(request: Request, who: PageViewer, patient_id: str) -> Response:
    detail = _detail_or_404(request, who, patient_id)
    return render(request, "patient.html", who, nav="patients", d=detail, pid=patient_id)


@router.get("/patients/{patient_id}/timeline.svg")
def timeline(request: Request, who: PageViewer, patient_id: str) -> Response:
    detail = _detail_or_404(request, who, patient_id)
    # the SVG is self-contained (presentation attributes only): it may load nothing at all
    csp = "default-src 'none'; frame-ancestors 'none'"
    return Response(
        timeline_svg(detail),
        media_type="image/svg+xml",
        headers={"Content-Security-Policy": csp, "Cache-Control": "private, max-age=60"},
    )


VISIT_FIELDS: Final = tuple(n for n in table("visits").names if n != "patient_id")
FLAGS: Final = tuple(c.name for c in table("visits").columns if c.kind == "flag")


def _visit_page(
    request: Request,
    who: Viewer,
    patient_id: str,
    form: dict[str, str],
    problems: list[dict[str, Any]],
    status: int = 200,
) -> Response:
    detail = _detail_or_404(request, who, patient_id)
    if not who.may_write:
        raise HTTPException(status_code=403, detail=f"the {who.role} role is read-only")
    return render(
        request,
        "visit_new.html",
        who,
        status=status,
        nav="patients",
        d=detail,
        pid=patient_id,
        form=form,
        problems=problems,
        scales=SCALES,
        flags=FLAGS,
        chaq_domains=CHAQ_DOMAINS,
        spots=joint_spots(),
        hw=WIDTH,
        hh=HEIGHT,
    )


@router.get("/patients/{patient_id}/visits/new", response_class=HTMLResponse)
def visit_form(request: Request, who: PageViewer, patient_id: str) -> Response:
    form = dict.fromkeys(VISIT_FIELDS, "")
    form.update(
        visit_date=date.today().isoformat(), phys_global_scale="0-10", parent_global_scale="0-10"
    )
    return _visit_page(request, who, patient_id, form, [])


def _chaq_rows(form: Mapping[str, Any]) -> list[dict[str, Any]]:
    aids = {k.removeprefix("aid:") for k in form if k.startswith("aid:")}
    rows = []
    for domain, items in CHAQ_DOMAINS.items():
        for item in items:
            score = form.get(f"chaq:{item}")
            if isinstance(score, str) and score != "":
                rows.append({"item": item, "score": score, "aid": domain in aids})
    return rows


@router.post("/patients/{patient_id}/visits/new")
async def visit_submit(request: Request, who: PageViewer, patient_id: str) -> Response:
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    # the database work blocks: off the event loop, like the sync routes
    return await run_in_threadpool(_save_visit_form, request, who, patient_id, form)


def _save_visit_form(
    request: Request, who: Viewer, patient_id: str, form: dict[str, str]
) -> Response:
    visit = {k: form.get(k, "") for k in VISIT_FIELDS}
    try:
        joints = json.loads(form.get("joint_exams") or "[]")
        if not isinstance(joints, list):
            raise ValueError
    except ValueError:
        raise HTTPException(status_code=422, detail="joint_exams must be a JSON list") from None
    web = state(request)
    patient = web.registry.resolve(who, patient_id)
    if patient is None:
        raise HTTPException(status_code=404, detail="patient not found")
    if not who.may("enter", patient["site"]):
        raise HTTPException(status_code=403, detail=f"the {who.role} role may not enter data")
    try:
        storeops.save_visit(
            web.db_url,
            who,
            patient["patient_id"],
            visit,
            joint_exams=joints,
            chaq_items=_chaq_rows(form),
            reason="entered in the web form",
        )
    except InputError as exc:
        return _visit_page(request, who, patient_id, visit, problem_rows(exc), status=422)
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)
