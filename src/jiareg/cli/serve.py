"""`jiareg serve`: the web app (FastAPI under uvicorn) over one registry."""

from __future__ import annotations

import os
from pathlib import Path

import typer


def serve(
    db: str | None = typer.Option(
        None, "--db", help="Registry URL (default env JIAREG_DB, else sqlite:///jiareg.db)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port to listen on."),
    https: bool = typer.Option(
        False, "--https", help="Served over TLS (or behind a TLS proxy): Secure cookies, HSTS."
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
    from the environment variable JIAREG_PSEUDONYM_KEY when set.

    Example: jiareg serve --db sqlite:///jiareg.db --port 8000
    """
    import uvicorn

    from jiareg.services.admin import initialised_url
    from jiareg.web.app import create_app

    url = initialised_url(db)
    app = create_app(
        url,
        https=https,
        session_idle_seconds=session_minutes * 60,
        pseudonym_key=os.environ.get("JIAREG_PSEUDONYM_KEY") or None,
        runs_dir=runs_dir,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=https)


def register(app: typer.Typer) -> None:
    """Add `jiareg serve` to the root app."""
    app.command("serve")(serve)
