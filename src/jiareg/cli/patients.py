"""Patient commands: `jiareg patient move`, the one way a patient changes site (audited).

The service (`jiareg.services.patients`) is imported inside the command, so that
`jiareg --help` does not load SQLAlchemy or pyarrow.
"""

from __future__ import annotations

import typer

_DB_HELP = "Registry URL (default: env JIAREG_DB, else sqlite:///jiareg.db)."

patient_app = typer.Typer(
    help="Patient actions.\n\nExample: jiareg patient move P000001 --site north --reason transfer",
    no_args_is_help=True,
)


@patient_app.command("move")
def move(
    patient_id: str = typer.Argument(..., help="The patient to move."),
    site: str = typer.Option(..., "--site", help="The site the patient moves to."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    user: str | None = typer.Option(
        None, "--user", help="Act as this registry user (must be an admin)."
    ),
) -> None:
    """Move a patient to another site (an admin's action; audited with the reason).

    An import never changes a stored patient's site: the site decides who may see and
    change the patient's records, so a move is done here, on purpose.

    Example: jiareg patient move P000001 --site north --reason "family moved" --db sqlite:///r.db
    """
    from jiareg.services.admin import get_user
    from jiareg.services.patients import move_patient

    acting = get_user(db, user) if user else None
    old = move_patient(db, patient_id, site, acting, reason)
    typer.echo(f"{patient_id}: site {old} -> {site.strip()}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(patient_app, name="patient")
