"""The JSON API (INTERFACE.md, "Web API"): log-in, patients, live scores, dose, audit (the
writes are `jiareg.web.routes.records`).

Every route but `/api/login` needs a session; unsafe methods also need the session's CSRF token
in the `X-CSRF-Token` header. A patient the user may not see is a 404 with the same body as a
missing one.
"""

from __future__ import annotations

import math
import time
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from jiareg.services import admin
from jiareg.web import routing, storeops
from jiareg.web.access import Viewer
from jiareg.web.deps import COOKIE, current_session, registry_version, state, viewer
from jiareg.web.patients import (
    PatientFilters,
    json_array,
    list_scope,
    patient_detail_json,
    patient_list,
)
from jiareg.web.scores import ScoreRequest, live_scores
from jiareg.web.security import CLIENT_ADDRESS

__all__ = ["MAX_PAGE", "NOT_FOUND", "NO_TOTP", "router", "viewed"]

router = routing.router(prefix="/api", tags=["api"])
NOT_FOUND: Final = "patient not found"
NO_TOTP: Final = "admins must use a second factor: ask another admin to run `jiareg user totp NAME`"
MAX_PAGE: Final = 1000
"""The largest `limit` of a patient-list page."""

AnyViewer = Annotated[Viewer, Depends(viewer)]


class Credentials(BaseModel):
    """The body of `POST /api/login`."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)
    totp: str | None = Field(default=None, max_length=16)


class Me(BaseModel):
    """The logged-in user and the CSRF token to send with unsafe requests."""

    username: str
    role: str
    site: str | None
    csrf_token: str


def not_found() -> HTTPException:
    """The one answer for a missing patient and for a patient outside the user's sites."""
    return HTTPException(status_code=404, detail=NOT_FOUND)


def start_session(request: Request, response: Response, who: Viewer) -> Me:
    """Create a session for `who` and set its cookie on `response`."""
    web = state(request)
    old = request.cookies.get(COOKIE)
    web.sessions.end(old)
    session = web.sessions.create(username=who.username, now=time.monotonic())
    response.set_cookie(
        COOKIE,
        session.token,
        httponly=True,
        samesite="strict",
        secure=web.https,
        path="/",
        max_age=math.ceil(web.sessions.absolute_seconds),
    )
    return Me(username=who.username, role=who.role, site=who.site, csrf_token=session.csrf)


def viewed(request: Request, who: Viewer, patient_id: str) -> None:
    """Record that `who` viewed a patient's record (an access event, with the address)."""
    state(request).views.add(
        username=who.username,
        action="view_patient",
        address=CLIENT_ADDRESS.get(),
        patient_id=patient_id,
    )


def check_login(request: Request, username: str, password: str, totp: str | None) -> Viewer:
    """The user behind a correct password and, when they have one, TOTP code; 429 while
    locked out, 401 when wrong, 403 for an admin who must enrol a second factor first."""
    web = state(request)
    address = request.client.host if request.client else "unknown"
    now = time.monotonic()
    wait = web.throttle.retry_after(username, address, now=now)
    if wait:
        raise HTTPException(
            status_code=429,
            detail=f"too many failed log-ins; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    who = storeops.authenticate(web.db_url, username, password)
    if who is None:
        web.throttle.failed(username)
        raise HTTPException(status_code=401, detail="wrong username or password")
    verdict = admin.check_code(web.db_url, who.username, who.role, totp)
    if verdict == "wrong_code":
        web.throttle.failed(username, "wrong or missing one-time code")
        raise HTTPException(status_code=401, detail="wrong or missing one-time code")
    web.throttle.succeeded(username)
    if verdict == "not_enrolled":
        web.throttle.failed(username, "admin without a second factor")
        raise HTTPException(status_code=403, detail=NO_TOTP)
    return who


@router.post(
    "/login",
    responses={401: {"description": "wrong username or password"}, 429: {"description": "locked"}},
)
def login(credentials: Credentials, request: Request, response: Response) -> Me:
    """Log in with a username and password; sets the HttpOnly session cookie."""
    who = check_login(request, credentials.username, credentials.password, credentials.totp)
    return start_session(request, response, who)


@router.post("/logout", status_code=204, responses={401: {"description": "not logged in"}})
def logout(request: Request, who: AnyViewer) -> Response:
    """End the session (needs the CSRF token)."""
    web = state(request)
    token = request.cookies.get(COOKIE)
    web.sessions.end(token)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", secure=web.https, httponly=True, samesite="strict")
    return response


@router.get("/me", responses={401: {"description": "not logged in"}})
def me(request: Request, who: AnyViewer) -> Me:
    """Who is logged in, and the session's CSRF token."""
    session = current_session(request)
    assert session is not None  # the dependency has checked it
    return Me(username=who.username, role=who.role, site=who.site, csrf_token=session.csrf)


@router.get(
    "/patients",
    responses={
        200: {
            "description": "the page of patients; `X-Total-Count` counts every match, `Link`"
            ' gives the next and previous pages (rel="next", rel="prev") when paginated',
        },
        401: {"description": "not logged in"},
    },
)
def list_patients(
    request: Request,
    who: AnyViewer,
    q: Annotated[str | None, Query(max_length=100)] = None,
    site: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    biologic: Annotated[str | None, Query(max_length=100)] = None,
    state_: Annotated[str | None, Query(alias="state", max_length=20)] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_PAGE, description="at most this many (default: all)")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10**9, description="skip this many first")] = 0,
) -> Response:
    """The patients this user may see, with their current biologic and latest cJADAS10 state,
    ordered by the id shown (pseudonyms for researchers); `limit` and `offset` page them."""
    filters = PatientFilters(q=q, site=site, category=category, biologic=biologic, state=state_)
    registry = state(request).registry
    version, rows = patient_list(registry, who, filters, registry_version(request))
    end = len(rows) if limit is None else offset + limit
    body = registry.cached(
        ("patients.json", *list_scope(who, filters), offset, end),
        lambda: json_array(rows[offset:end]),
        version,
    )
    headers = {"X-Total-Count": str(len(rows))}
    if limit is not None:
        links = []
        if end < len(rows):
            links.append((offset + limit, "next"))
        if offset > 0:
            links.append((max(offset - limit, 0), "prev"))
        url = request.url
        if links:
            headers["Link"] = ", ".join(
                f'<{url.include_query_params(offset=o)}>; rel="{rel}"' for o, rel in links
            )
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/patients/{patient_id}",
    responses={401: {"description": "not logged in"}, 404: {"description": NOT_FOUND}},
)
def get_patient(
    request: Request, who: AnyViewer, patient_id: Annotated[str, Field(max_length=100)]
) -> Response:
    """One patient's record, visits (with scores), courses, infusions, steroids and events."""
    body = patient_detail_json(state(request).registry, who, patient_id)
    if body is None:
        raise not_found()
    viewed(request, who, patient_id)
    return Response(body, media_type="application/json")


@router.post("/scores", responses={401: {"description": "not logged in"}})
def scores(request: Request, who: AnyViewer, body: ScoreRequest) -> dict[str, Any]:
    """Live scores of a visit being typed: JADAS10, cJADAS10 and state, ACR Pedi level against
    the baseline of the current biologic course, CHAQ from items (the derive/ rules)."""
    web = state(request)
    patient = None
    if body.patient_id is not None:
        patient = web.registry.resolve(who, body.patient_id)
        if patient is None:
            raise not_found()
    return live_scores(web.registry, patient, body)


@router.get(
    "/audit",
    responses={401: {"description": "not logged in"}, 403: {"description": "admins only"}},
)
def audit(
    request: Request,
    who: AnyViewer,
    patient_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """The latest audit-trail entries, newest first (admins only)."""
    if not who.may_audit:
        raise HTTPException(status_code=403, detail="the audit trail is for admins")
    return storeops.audit_entries(state(request).engine, patient_id=patient_id, limit=limit)


def json_error(status: int, detail: str) -> JSONResponse:
    """A JSON error body like FastAPI's own."""
    return JSONResponse({"detail": detail}, status_code=status)
