"""The FastAPI application: `create_app(db_url)` builds one instance over one registry.

>>> app = create_app("sqlite://")
>>> sorted(p for p in app.openapi()["paths"] if p.startswith("/api/log"))
['/api/login', '/api/logout']
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final
from urllib.parse import quote

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from jiareg import __version__
from jiareg.errors import AccessDenied, JiaregError
from jiareg.store.access import AccessBuffer
from jiareg.store.engine import get_engine, read_engine, use_wal
from jiareg.store.queries import Registry
from jiareg.web.deps import LoginRequired, WebState
from jiareg.web.middleware import (
    ClientAddressMiddleware,
    SameOriginMiddleware,
    SecurityHeadersMiddleware,
)
from jiareg.web.problems import problem_rows
from jiareg.web.routes.api import router as api_router
from jiareg.web.routes.forms import router as forms_router
from jiareg.web.routes.pages import html_error
from jiareg.web.routes.pages import router as pages_router
from jiareg.web.routes.queries import api_router as queries_api_router
from jiareg.web.routes.queries import router as queries_router
from jiareg.web.routes.records import router as records_router
from jiareg.web.routes.tools import router as tools_router
from jiareg.web.routes.visits import router as visits_router
from jiareg.web.routes.work import router as work_router
from jiareg.web.security import LoginThrottle, SessionStore
from jiareg.web.studyruns import StudyRuns, default_runs_dir

__all__ = ["create_app"]

_HERE: Final = Path(__file__).parent


READ_THREADS: Final = 40
"""Threads of a worker serving requests at once (anyio's default). Fewer threads would give a
save holding the registry's writer lock a larger share of its worker's interpreter lock, but
in A/B runs of bench_web (SQLite, 2 workers, load 13-16) 8 threads measured no better for
saves and worse for reads (a thread waiting for the writer lock holds a place) than 40."""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Size the request threads; on shutdown, write the record views still buffered
    (`AccessBuffer`)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.threads
    yield
    app.state.web.views.close()


def create_app(
    db_url: str,
    *,
    secret_key: str | None = None,
    https: bool = False,
    session_idle_seconds: float = 30 * 60,
    session_absolute_seconds: float = 8 * 3600,
    max_login_failures: int = 5,
    lockout_seconds: float = 5 * 60,
    pseudonym_key: str | None = None,
    work_dir: Path | None = None,
    runs_dir: Path | None = None,
    trust_proxy: str | None = None,
    threads: int = READ_THREADS,
) -> FastAPI:
    """Build the web app over the registry at `db_url`.

    `https` marks cookies Secure and sends HSTS (set it when served over TLS or behind a TLS
    proxy). `pseudonym_key` turns on pseudonymous patient ids for researchers (without it
    researchers see the registry's ids). `secret_key` signs the log-in form's token; a
    random one is drawn if omitted.
    `work_dir` holds uploaded imports, a folder per import removed after it (default: the
    system's temporary folder); `runs_dir` keeps the study runs across restarts (default
    `jiareg.web.studyruns.default_runs_dir`).
    `trust_proxy`: the address of a reverse proxy whose `X-Forwarded-For` names the client.
    Sessions and the log-in throttle live in the registry, shared by every worker.
    `threads`: requests served at once by this process (`READ_THREADS`).
    """
    app = FastAPI(
        lifespan=_lifespan,
        title="jiareg",
        version=__version__,
        description="Registry and outcome studies for JIA on biologics: the JSON API.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    use_wal(db_url)  # SQLite: page views and saves must not wait for each other
    engine = read_engine(db_url)
    key = (pseudonym_key or "").encode() or None
    background = AccessBuffer(get_engine(db_url))  # record views and sessions' last-seen
    app.state.web = WebState(
        engine=engine,
        db_url=db_url,
        registry=Registry(engine, pseudonym_key=key),
        sessions=SessionStore(
            get_engine(db_url),
            engine,
            idle_seconds=session_idle_seconds,
            absolute_seconds=session_absolute_seconds,
            later=background,
        ),
        views=background,
        throttle=LoginThrottle(
            get_engine(db_url), max_failures=max_login_failures, lockout_seconds=lockout_seconds
        ),
        templates=Jinja2Templates(directory=_HERE / "templates"),
        https=https,
        work_dir=work_dir,
        runs=StudyRuns(runs_dir or default_runs_dir(db_url)),
    )
    app.state.secret_key = secret_key or secrets.token_urlsafe(32)
    app.state.threads = threads
    app.add_middleware(SecurityHeadersMiddleware, https=https)
    app.add_middleware(SameOriginMiddleware)
    app.add_middleware(ClientAddressMiddleware, trusted_proxy=trust_proxy)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.include_router(api_router)
    app.include_router(records_router)
    app.include_router(forms_router)
    app.include_router(pages_router)
    app.include_router(visits_router)
    app.include_router(tools_router)
    app.include_router(work_router)
    app.include_router(queries_api_router)
    app.include_router(queries_router)

    app.add_exception_handler(StarletteHTTPException, html_error)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(AccessDenied)
    async def _denied(request: Request, exc: AccessDenied) -> Response:
        if not request.url.path.startswith("/api/"):
            return await html_error(request, StarletteHTTPException(403, str(exc)))
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(JiaregError)
    async def _invalid(request: Request, exc: JiaregError) -> Response:
        return JSONResponse({"detail": str(exc), "problems": problem_rows(exc)}, status_code=422)

    return app
