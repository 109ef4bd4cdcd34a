"""Registry commands: init, template, import, export (`audit` and `user`: their own modules).

The ingest and store stages (SQLAlchemy, pyarrow, Ibis) are imported inside each command, so
that `jiareg --help` and the other commands do not load them.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from jiareg.errors import InputError
from jiareg.ingest.sources import Format

_DB_HELP = "Registry URL (default: env JIAREG_DB, else sqlite:///jiareg.db)."


def _shown(url: str | None) -> str:
    from sqlalchemy.engine import make_url

    from jiareg.store.engine import normalise_url

    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def init(db: str | None = typer.Option(None, "--db", help=_DB_HELP)) -> None:
    """Create the registry, or migrate it to the newest schema (safe to run again).

    Example: jiareg init --db sqlite:///clinic.db
    """
    from jiareg.store.engine import init_db

    revision = init_db(db)
    typer.echo(f"registry ready at {_shown(db)} (schema {revision})")


def import_(
    path: Path = typer.Argument(
        ..., help="Folder of template CSVs, one CSV, an .xlsx, a REDCap export or a FHIR bundle."
    ),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    format_: Format | None = typer.Option(
        None,
        "--format",
        help="template, redcap (raw CSV export) or fhir (R4 Bundle JSON); "
        "default: fhir for a .json file, else template.",
    ),
    user: str | None = typer.Option(
        None, "--user", help="Act as this registry user (their role and site are checked)."
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why (default: the file name)."),
) -> None:
    """Validate and load template files, a REDCap export or a FHIR bundle; all-or-nothing.

    Every problem is listed as FILE:ROW: column 'x' = 'v'; expected ..., and then nothing
    is written (exit 1). REDCap and FHIR problems also name the record and event, or the
    resource. Dose warnings are printed but do not block. Re-importing changes nothing.

    Example: jiareg import clinic-export/ --db sqlite:///clinic.db
    """
    from jiareg.ingest.importer import import_path
    from jiareg.ingest.template import TABLES
    from jiareg.store.users import get_user

    acting = get_user(db, user) if user else None
    names = [t.name for t in TABLES]
    console = Console(stderr=True)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # scripts and logs get the summary lines only
    ) as bar:
        task = bar.add_task("validating", total=len(names))

        def step(table: str) -> None:
            bar.update(task, description=f"loading {table}", completed=names.index(table))

        summary = import_path(path, db, user=acting, reason=reason, progress=step, format=format_)
        bar.update(task, completed=len(names))
    for warning in summary.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for change in summary.tables:
        typer.echo(
            f"{change.table}: {change.inserted} added, {change.updated} updated, "
            f"{change.unchanged} unchanged"
        )


def template(
    folder: Path = typer.Argument(..., help="Folder to write the empty template into."),
) -> None:
    """Write the empty import template: one CSV per table and template.xlsx.

    The workbook has one sheet per table, a note on each header with the unit and the
    allowed values, and drop-down lists for coded columns. `redcap/` holds the jiareg
    REDCap project: its data dictionary and repeating-instrument settings.

    Example: jiareg template my-template/
    """
    from jiareg.ingest.redcap import write_project
    from jiareg.ingest.writers import write_template

    for path in [*write_template(folder), *write_project(folder / "redcap")]:
        typer.echo(str(path))


def export(
    folder: Path = typer.Argument(..., help="Folder to write the template CSVs into."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    deidentify: bool = typer.Option(
        False,
        "--deidentify",
        help="Pseudonymous ids, per-patient date shifts, ages in months instead of birth dates.",
    ),
    format_: Format = typer.Option(
        "template",
        "--format",
        help="template (CSVs), redcap (DIR/redcap.csv, a raw export) or fhir (DIR/bundle.json).",
    ),
) -> None:
    """Write the registry back out (re-importable unless de-identified).

    `--format redcap` writes a REDCap raw export of the jiareg project (`jiareg template`
    writes its data dictionary); `--format fhir` an R4 collection Bundle.

    Example: jiareg export backup/ --db sqlite:///clinic.db --format fhir
    """
    from jiareg.ingest.fhir_writer import write_fhir
    from jiareg.ingest.redcap_export import write_redcap
    from jiareg.ingest.writers import export_registry
    from jiareg.store.snapshot import read_tables

    if format_ == "template":
        written = export_registry(db, folder, deidentify=deidentify)
    elif deidentify:
        raise InputError("--deidentify writes the template format only (--format template)")
    elif format_ == "redcap":
        written = [write_redcap(read_tables(db), folder / "redcap.csv")]
    else:
        written = [write_fhir(read_tables(db), folder / "bundle.json")]
    for path in written:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("init")(init)
    app.command("import")(import_)
    app.command("template")(template)
    app.command("export")(export)
