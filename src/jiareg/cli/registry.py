"""Registry commands: init, template, import, export, audit, user."""

from __future__ import annotations

import typer

from jiareg.store.engine import init_db, normalise_url

_DB_HELP = "Registry URL (default: env JIAREG_DB, else sqlite:///jiareg.db)."


def init(db: str | None = typer.Option(None, "--db", help=_DB_HELP)) -> None:
    """Create the registry, or migrate it to the newest schema (safe to run again).

    Example: jiareg init --db sqlite:///clinic.db
    """
    revision = init_db(db)
    typer.echo(f"registry ready at {normalise_url(db)} (schema {revision})")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("init")(init)
