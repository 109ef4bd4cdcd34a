"""`jiareg serve`: the web app (FastAPI under uvicorn) over one registry, in N workers."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Final

import typer

if TYPE_CHECKING:
    from fastapi import FastAPI

_OPTIONS_ENV: Final = "JIAREG_SERVE_OPTIONS"
"""How the parent hands `create_app`'s arguments to each worker process it starts."""


def app_from_env() -> FastAPI:
    """The app of one worker process (uvicorn's factory; options from the parent's env)."""
    from jiareg.web.app import create_app

    options = json.loads(os.environ[_OPTIONS_ENV])
    runs_dir = options.pop("runs_dir")
    return create_app(
        **options,
        runs_dir=Path(runs_dir) if runs_dir else None,
        pseudonym_key=os.environ.get("JIAREG_PSEUDONYM_KEY") or None,
    )


def serve(
    db: str | None = typer.Option(
        None, "--db", help="Registry URL (default env JIAREG_DB, else sqlite:///jiareg.db)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port to listen on."),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Worker processes (they share sessions through the registry)."
    ),
    threads: int = typer.Option(
        40,
        "--threads",
        min=1,
        help="Requests each worker serves at once (its thread pool; more wait in line).",
    ),
    https: bool = typer.Option(
        False, "--https", help="Served over TLS (or behind a TLS proxy): Secure cookies, HSTS."
    ),
    trust_proxy: str | None = typer.Option(
        None,
        "--trust-proxy",
        help="Address of the reverse proxy in front (e.g. 127.0.0.1): only requests from it "
        "may name the client in X-Forwarded-For.",
    ),
    access_log: bool = typer.Option(
        True, "--access-log/--no-access-log", help="Log every request (on by default)."
    ),
    session_minutes: float = typer.Option(
        30, "--session-minutes", help="Log out after this many idle minutes."
    ),
    runs_dir: Path | None = typer.Option(
        None,
        "--runs-dir",
        help="Folder keeping the study runs (results.json, reports) across restarts "
        "(default: NAME-study-runs/ beside a SQLite registry, else "
        "~/.local/share/jiareg/study-runs/DATABASE).",
    ),
) -> None:
    """Serve the web app: patient list, timeline, visit entry with live scores, JSON API.

    Log in with a user made by `jiareg user add`. A pseudonym key for researchers is read
    from the environment variable JIAREG_PSEUDONYM_KEY when set; the audit key as for
    every writer (JIAREG_AUDIT_KEY or the key file made by `jiareg init`).

    Example: jiareg serve --db sqlite:///jiareg.db --port 8000 --workers 2
    """
    import uvicorn

    from jiareg.services.admin import initialised_url

    url = initialised_url(db)
    os.environ[_OPTIONS_ENV] = json.dumps(
        {
            "db_url": url,
            "https": https,
            "session_idle_seconds": session_minutes * 60,
            "runs_dir": str(runs_dir) if runs_dir else None,
            "trust_proxy": trust_proxy,
            "threads": threads,
            "secret_key": secrets.token_urlsafe(32),  # one for all workers (log-in form)
        }
    )
    scheme = "https" if https else "http"
    typer.echo(f"jiareg: serving {url} at {scheme}://{host}:{port}/ ({workers} worker(s))")
    uvicorn.run(
        "jiareg.cli.serve:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        proxy_headers=False,  # the app reads X-Forwarded-For itself, from --trust-proxy only
    )


def register(app: typer.Typer) -> None:
    """Add `jiareg serve` to the root app."""
    app.command("serve")(serve)
