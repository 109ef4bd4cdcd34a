"""`jiareg audit`: verify the trail against the data; list its entries and the access events."""

from __future__ import annotations

import datetime as dt

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


def _day(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} needs a date as YYYY-MM-DD, not {value!r}") from None


@audit_app.command("log")
def audit_log(
    patient_id: str | None = typer.Argument(None, help="Only entries about this patient."),
    user: str | None = typer.Option(None, "--user", help="Only entries by this user."),
    action: str | None = typer.Option(
        None, "--action", help="Only this action (insert, update, enter, view_patient, login...)."
    ),
    since: str | None = typer.Option(None, "--since", help="From this day (YYYY-MM-DD, UTC)."),
    until: str | None = typer.Option(None, "--until", help="Up to this day, inclusive."),
    reads: bool = typer.Option(
        False, "--reads", help="Also list access events: views, exports, study runs, log-ins."
    ),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Print the audit trail's entries that match, oldest first; with --reads, then the
    access events (reads and log-ins, which are not in the chained trail).

    Example: jiareg audit log P001 --user clin_a --since 2026-01-01 --reads
    """
    from rich.console import Console
    from rich.table import Table

    from jiareg.services.admin import Filters, access_events, trail_entries

    filters = Filters(
        patient_id=patient_id,
        username=user,
        action=action,
        since=_day(since, "--since"),
        until=_day(until, "--until"),
    )
    entries = trail_entries(db, filters)
    for e in entries:
        typer.echo(
            f"#{e.seq} {e.ts} {e.username} {e.action} {e.table_name} {e.row_key} ({e.reason})"
        )
        if e.before is not None:
            typer.echo(f"    before: {e.before}")
        if e.after is not None:
            typer.echo(f"    after:  {e.after}")
    events = access_events(db, filters) if reads else []
    if events:
        table = Table("id", "when (UTC)", "user", "action", "patient", "from", "detail")
        for r in events:
            table.add_row(str(r.id), r.ts, r.username, r.action, r.patient_id, r.address, r.detail)
        Console(width=160).print(table)
    if not entries and not events:
        typer.echo("no entries match")


def register(app: typer.Typer) -> None:
    """Add `jiareg audit` to the root app."""
    app.add_typer(audit_app, name="audit")
