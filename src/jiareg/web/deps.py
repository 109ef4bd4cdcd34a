"""Request-level plumbing shared by the API and the pages: app state, the viewer, CSRF."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

from fastapi import HTTPException, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from jiareg.store.access import AccessBuffer
from jiareg.store.queries import Registry
from jiareg.store.users import Role
from jiareg.web.access import Viewer
from jiareg.web.security import Found, LoginThrottle, Session, SessionStore, tokens_match
from jiareg.web.studyruns import StudyRuns

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "LoginRequired",
    "WebState",
    "check_csrf",
    "current_session",
    "page_viewer",
    "registry_version",
    "state",
    "viewer",
]

COOKIE: Final = "jiareg_session"
CSRF_HEADER: Final = "X-CSRF-Token"
_UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class WebState:
    """Everything one app instance holds: database, sessions, throttle, templates, settings."""

    engine: Engine
    db_url: str
    registry: Registry
    sessions: SessionStore
    views: AccessBuffer
    throttle: LoginThrottle
    templates: Jinja2Templates
    https: bool
    work_dir: Path | None  # uploads: a folder per import made in it (None: the system's)
    runs: StudyRuns


class LoginRequired(Exception):
    """Raised by page routes when nobody is logged in (answered with a redirect to /login)."""


def state(request: Request) -> WebState:
    """The app's `WebState`."""
    web: WebState = request.app.state.web
    return web


def current_session(request: Request) -> Session | None:
    """The live session of the request's cookie, or None (read once per request)."""
    held: Session | None = getattr(request.state, "session", None)
    if held is not None:
        return held
    return state(request).sessions.get(request.cookies.get(COOKIE), now=time.monotonic())


async def check_csrf(request: Request, session: Session) -> None:
    """403 unless an unsafe request carries the session's CSRF token (header or form field)."""
    if request.method not in _UNSAFE:
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not tokens_match(session.csrf, given):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")


async def viewer(request: Request) -> Viewer:
    """API dependency: the logged-in viewer (401 when anonymous, or when the user has been
    disabled or removed; 403 on a bad CSRF token). Role and site are read on every request,
    with the session and the registry's version (one statement; `registry_version`)."""
    return await _checked(request, _lookup(request))


def registry_version(request: Request) -> int | None:
    """The registry's version read with the request's session (`SessionStore.lookup`), for
    `Registry.cached` and `Registry.per_patient` (None before a session was read). A route
    that writes must not use it for what it reads after its write."""
    version: int | None = getattr(request.state, "registry_version", None)
    return version


def _lookup(request: Request) -> Found | None:
    """The request's live session, its user's current row and the registry's version."""
    return state(request).sessions.lookup(request.cookies.get(COOKIE), now=time.monotonic())


async def _checked(request: Request, found: Found | None) -> Viewer:
    user = None if found is None else found.user
    if found is None or user is None or user.disabled:
        raise HTTPException(
            status_code=401, detail="log in first", headers={"WWW-Authenticate": "Cookie"}
        )
    await check_csrf(request, found.session)
    request.state.session = found.session
    request.state.registry_version = found.registry_version
    return Viewer(found.session.username, cast(Role, user.role), user.site)


async def page_viewer(request: Request) -> Viewer:
    """Page dependency: like `viewer`, but anonymous visitors are sent to the log-in page."""
    found = _lookup(request)
    if found is None:
        raise LoginRequired
    return await _checked(request, found)
