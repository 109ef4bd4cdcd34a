"""Server-rendered HTML pages (Jinja2). Forms post with the session's CSRF token; the log-in
form, which has no session yet, carries a signed, time-limited token instead."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Final

from fastapi import Depends, Form, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.exceptions import HTTPException as StarletteHTTPException

from jiareg.derive.systemic import ILAR_CATEGORIES
from jiareg.web import routing
from jiareg.web.access import Viewer
from jiareg.web.deps import COOKIE, current_session, page_viewer, registry_version, state
from jiareg.web.patients import (
    PatientFilters,
    patient_detail,
    patient_summaries,
    patient_timeline_svg,
)
from jiareg.web.routes.api import MAX_PAGE, check_login, start_session, viewed

__all__ = ["html_error", "router"]

router = routing.router(include_in_schema=False)
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


_HEADINGS: Final = {403: "Not allowed", 404: "Not found", 409: "Conflict", 422: "Not valid"}


async def html_error(request: Request, exc: Exception) -> Response:
    """An HTTP error as an HTML page for the pages, as FastAPI's JSON for the API."""
    assert isinstance(exc, StarletteHTTPException)
    if request.url.path.startswith("/api/") or exc.status_code not in _HEADINGS:
        return await http_exception_handler(request, exc)
    return state(request).templates.TemplateResponse(
        request,
        "error.html",
        {
            "viewer": None,
            "status": exc.status_code,
            "heading": _HEADINGS[exc.status_code],
            "message": str(exc.detail).capitalize() + ".",
        },
        status_code=exc.status_code,
        headers=exc.headers,
    )


def _login_signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret_key, salt="jiareg-login")


def _safe_next(target: str) -> str:
    """Only same-site paths may follow a log-in (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/patients"


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/patients", status_code=303)


LOGIN_ERRORS: Final = {
    "expired": "Your session has ended: please log in again.",
    "disabled": "This account is disabled: ask an administrator.",
    "required": "Please log in to continue.",
}
"""`/login?error=CODE`: only these fixed messages are shown (never the query's text)."""


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/patients", error: str | None = None) -> Response:
    token = _login_signer(request).dumps("login")
    message = LOGIN_ERRORS.get(error or "")
    return render(
        request, "login.html", None, login_token=token, next=_safe_next(next), error=message
    )


@router.post("/login")
def login_form(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "/patients",
    totp: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    try:
        _login_signer(request).loads(csrf_token, max_age=_LOGIN_TOKEN_SECONDS)
    except BadSignature:
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token") from None
    try:
        who = check_login(request, username, password, totp or None)
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
    registry, version = state(request).registry, registry_version(request)
    matches = patient_summaries(registry, who, filters, version)
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
    everyone = patient_summaries(registry, who, PatientFilters(), version)  # kept, not read
    options = {
        "sites": sorted({p["site"] for p in everyone}),
        "categories": [c.lower() for c in ILAR_CATEGORIES],
        "biologics": sorted({p["current_biologic"] for p in everyone} - {None}),
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


SAVED: Final = {
    "visit": "Visit of {} saved.",
    "treatments": "Biologic course saved.",
    "administrations": "Infusion saved.",
    "steroids": "Steroid period saved.",
    "adverse_events": "Adverse event saved.",
    "patients": "Patient saved.",
    "deleted": "Record deleted.",
}
"""The flash messages after a save (`?saved=KIND`): fixed texts, never the query's."""


def flash(params: Mapping[str, str]) -> str | None:
    """The message after a redirect from a save; only fixed texts (a date is checked)."""
    kind = params.get("saved") or params.get("unchanged")
    if kind not in SAVED:
        return None
    if "unchanged" in params:
        return "Nothing changed: the values were already stored."
    on = params.get("date", "")
    try:
        on = date.fromisoformat(on).isoformat()
    except ValueError:
        on = ""
    return SAVED[kind].format(on)


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(request: Request, who: PageViewer, patient_id: str) -> Response:
    detail = _detail_or_404(request, who, patient_id)
    viewed(request, who, patient_id)
    return render(
        request,
        "patient.html",
        who,
        nav="patients",
        d=detail,
        pid=patient_id,
        flash=flash(request.query_params),
    )


@router.get("/patients/{patient_id}/timeline.svg")
def timeline(request: Request, who: PageViewer, patient_id: str) -> Response:
    svg = patient_timeline_svg(state(request).registry, who, patient_id)
    if svg is None:
        raise HTTPException(status_code=404, detail="patient not found")
    # the SVG is self-contained (presentation attributes only): it may load nothing at all
    csp = "default-src 'none'; frame-ancestors 'none'"
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={"Content-Security-Policy": csp, "Cache-Control": "private, max-age=60"},
    )
