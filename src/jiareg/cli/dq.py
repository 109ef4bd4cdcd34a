"""`jiareg dq`: run the data-quality rules (opening queries) and print a protocol's
missing-visit report."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer

_DB_HELP = "Registry URL (default: env JIAREG_DB, else sqlite:///jiareg.db)."
_PROTOCOL_HELP = "The study protocol whose timepoints and cohort to check (YAML)."

dq_app = typer.Typer(
    help="Data-quality queries and reports.\n\nExample: jiareg dq check --protocol P.yaml",
    no_args_is_help=True,
)


@dq_app.command("check")
def dq_check(
    protocol: Path | None = typer.Option(None, "--protocol", help=_PROTOCOL_HELP),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Run the range rules (and, with --protocol, the missing core-set rule) and open a query
    for each value found that has none yet; each is audited as `rule:<name>`.

    Example: jiareg dq check --protocol protocols/tocilizumab-after-anti-tnf.yaml
    """
    from jiareg.services.dq_rules import check
    from jiareg.study.protocol_file import load_protocol

    opened = check(db, load_protocol(protocol) if protocol else None)
    for q in opened:
        typer.echo(
            f"#{q.id} {q.patient_id} {q.record_key} {q.column_name}={q.value_shown or ''}: {q.text}"
        )
    typer.echo(f"{len(opened)} queries opened")


@dq_app.command("missing")
def dq_missing(
    protocol: Path = typer.Option(..., "--protocol", help=_PROTOCOL_HELP),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    csv_out: bool = typer.Option(False, "--csv", help="Print CSV (formula cells neutralised)."),
) -> None:
    """Print which cohort patients lack a visit in each timepoint window, and which core-set
    variables are missing at the visits found (the whole registry: the command line is an
    administrator's).

    Example: jiareg dq missing --protocol protocols/tocilizumab-after-anti-tnf.yaml
    """
    from jiareg.services.dq_rules import MISSING_COLUMNS, missing_report
    from jiareg.services.table_csv import csv_rows
    from jiareg.store.users import UserInfo, os_user
    from jiareg.study.protocol_file import load_protocol

    admin = UserInfo(os_user(), "admin", None)
    rows = [r.cells() for r in missing_report(db, load_protocol(protocol), user=admin)]
    if csv_out:
        csv.writer(sys.stdout, lineterminator="\n").writerows(csv_rows(MISSING_COLUMNS, rows))
        return
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(MISSING_COLUMNS)]
    for line in [list(MISSING_COLUMNS), *rows]:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    typer.echo(f"{len(rows)} gaps")


def register(app: typer.Typer) -> None:
    """Add `jiareg dq` to the root app."""
    app.add_typer(dq_app, name="dq")
