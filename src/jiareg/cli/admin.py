"""Registry administration commands: init, template, import, export (`audit` and `user`:
their own modules).

Each command calls a service (`jiareg.services`), imported inside the command, so that
`jiareg --help` and the other commands do not load SQLAlchemy, pyarrow or Ibis.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from jiareg.formats.sources import Format

_DB_HELP = "Registry URL (default: env JIAREG_DB, else sqlite:///jiareg.db)."


def init(db: str | None = typer.Option(None, "--db", help=_DB_HELP)) -> None:
    """Create the registry, or migrate it to the newest schema (safe to run again).

    Example: jiareg init --db sqlite:///clinic.db
    """
    from jiareg.services.admin import init_db, shown_url

    revision = init_db(db)
    typer.echo(f"registry ready at {shown_url(db)} (schema {revision})")


def import_(
    path: Path = typer.Argument(
        ..., help="Folder of template CSVs, one CSV, an .xlsx, a REDCap export or a FHIR bundle."
    ),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    format_: Format | None = typer.Option(
        None,
        "--format",
        help="template, redcap (raw CSV export) or fhir (R4 Bundle, NDJSON or a folder); "
        "default: fhir for .json/.ndjson, else template.",
    ),
    user: str | None = typer.Option(
        None, "--user", help="Act as this registry user (their role and site are checked)."
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why (default: the file name)."),
    site: str | None = typer.Option(
        None, "--site", help="FHIR: the site of patients without a managingOrganization."
    ),
    skip_unmapped: bool = typer.Option(
        False, "--skip-unmapped", help="FHIR: import what maps; list what was skipped."
    ),
    date_format: str | None = typer.Option(
        None, "--date-format", help="Read dates not written YYYY-MM-DD in this format (%d/%m/%Y)."
    ),
    decimal_comma: bool = typer.Option(False, "--decimal-comma", help="Read 0,5 as 0.5."),
    mapping: Path | None = typer.Option(
        None,
        "--map",
        help="A mapping file: import someone else's CSV, .xlsx or REDCap export through it "
        "(draft one with `jiareg map suggest`).",
    ),
) -> None:
    """Validate and load template files, a REDCap export or a FHIR bundle; all-or-nothing.

    Every problem is listed as FILE:ROW: column 'x' = 'v'; expected ..., and then nothing
    is written (exit 1). REDCap and FHIR problems also name the record and event, or the
    resource. Dose warnings are printed but do not block. Re-importing changes nothing.
    Cells read leniently (`female` as F, `RoActemra` as tocilizumab, `n/a` as empty) are
    listed as `read as:` lines. `--map` reads someone else's CSV, workbook or REDCap export
    through a mapping file (draft one with `jiareg map suggest`).

    Example: jiareg import clinic-export/ --db sqlite:///clinic.db
    """
    from jiareg.services.admin import get_user
    from jiareg.services.imports import LOAD_ORDER, CellOptions, import_path

    acting = get_user(db, user) if user else None
    names = list(LOAD_ORDER)
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

        summary = import_path(
            path,
            db,
            user=acting,
            reason=reason,
            progress=step,
            format=format_,
            site=site,
            skip_unmapped=skip_unmapped,
            options=CellOptions(date_format, decimal_comma),
            mapping=mapping,
        )
        bar.update(task, completed=len(names))
    for warning in summary.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for line in (*(f"skipped {s}" for s in summary.skipped), *summary.notes):
        typer.echo(line)
    for note in summary.normalised:
        typer.echo(f"read as: {note}", err=True)
    if summary.ignored:
        typer.echo(_ignored_line(summary.ignored))
    for change in summary.tables:
        typer.echo(
            f"{change.table}: {change.inserted} added, {change.updated} updated, "
            f"{change.unchanged} unchanged"
        )


def _ignored_line(ignored: tuple[tuple[str, int], ...]) -> str:
    """`ignored: 3 source fields the mapping leaves out (a, b, c; 2 hold data), 2 REDCap
    form-status or survey columns` (the first 8 fields named)."""
    status = [n for n, _ in ignored if n.endswith(("_complete", "_timestamp")) or "redcap_" in n]
    fields = [(n, c) for n, c in ignored if n not in status]
    named = ", ".join(n for n, _ in fields[:8]) + (
        f", ... {len(fields) - 8} more" if len(fields) > 8 else ""
    )
    filled = sum(1 for _, c in fields if c)
    parts = [f"{len(fields)} source fields the mapping leaves out ({named}; {filled} hold data)"]
    if status:
        parts.append(f"{len(status)} REDCap form-status or survey columns")
    return "ignored: " + ", ".join(parts)


def template(
    folder: Path = typer.Argument(..., help="Folder to write the empty template into."),
) -> None:
    """Write the empty import template: one CSV per table and template.xlsx.

    The workbook has one sheet per table, a note on each header with the unit and the
    allowed values, and drop-down lists for coded columns. `redcap/` holds the jiareg
    REDCap project: its data dictionary and repeating-instrument settings.

    Example: jiareg template my-template/
    """
    from jiareg.services.export import write_empty_template

    for path in write_empty_template(folder):
        typer.echo(str(path))


def export(
    folder: Path = typer.Argument(..., help="Folder to write the template CSVs into."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    deidentify: bool = typer.Option(
        False,
        "--deidentify",
        help="Pseudonymous ids, per-patient date shifts, ages in months instead of birth dates.",
    ),
    no_suppress: bool = typer.Option(
        False,
        "--no-suppress",
        help="With --deidentify: keep sites, sexes and categories held by fewer than 5 "
        "patients (default: written as <5).",
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
    from jiareg.services.export import export as export_to

    written = export_to(db, folder, fmt=format_, deidentify=deidentify, suppress=not no_suppress)
    for path in written:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("init")(init)
    app.command("import")(import_)
    app.command("template")(template)
    app.command("export")(export)
