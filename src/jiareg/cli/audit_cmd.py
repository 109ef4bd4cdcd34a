"""`jiareg audit`: verify the trail against the data, and print a patient's history."""

from __future__ import annotations

import typer

from jiareg.errors import InputError

_DB_HELP = "Registry URL (default: env JIAREG_DB, else sqlite:///jiareg.db)."

audit_app = typer.Typer(
    help="Check and read the audit trail.\n\nExample: jiareg audit verify", no_args_is_help=True
)


@audit_app.command("verify")
def audit_verify(db: str | None = typer.Option(None, "--db", help=_DB_HELP)) -> None:
    """Check the trail's MAC chain, then that the data tables hold what the trail says.

    Needs the audit key (env JIAREG_AUDIT_KEY, or the key file; see `jiareg init`).
    Exit 1 naming the first broken entry or the first row that differs.

    Example: jiareg audit verify --db sqlite:///clinic.db
    """
    from jiareg.services.admin import verify_registry

    done = verify_registry(db)
    typer.echo(f"audit log intact: {done.entries} entries; the data matches it ({done.rows} rows)")


@audit_app.command("log")
def audit_log(
    patient_id: str = typer.Argument(..., help="The patient whose history to print."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Print every recorded change about one patient, oldest first.

    Example: jiareg audit log P001 --db sqlite:///clinic.db
    """
    from jiareg.services.admin import patient_history

    entries = patient_history(db, patient_id)
    if not entries:
        raise InputError(f"no audit entries for patient {patient_id!r}")
    for e in entries:
        typer.echo(
            f"#{e.seq} {e.ts} {e.username} {e.action} {e.table_name} {e.row_key} ({e.reason})"
        )
        if e.before is not None:
            typer.echo(f"    before: {e.before}")
        if e.after is not None:
            typer.echo(f"    after:  {e.after}")


def register(app: typer.Typer) -> None:
    """Add `jiareg audit` to the root app."""
    app.add_typer(audit_app, name="audit")
