"""`jiareg backup` and `jiareg restore`: a consistent copy of a live registry, and putting it back.

The use case lives in `jiareg.services.backup` (imported inside each command, so that
`jiareg --help` loads no database stack); these commands add the progress bar and the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

_DB_HELP = "Registry URL (default: env JIAREG_DB, else sqlite:///jiareg.db)."


@contextmanager
def _bar(verb: str) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on stderr (terminals only) fed as (what, done, total)."""
    console = Console(stderr=True)
    columns = (
        TextColumn(f"[bold]{verb}[/] {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as progress:
        task = progress.add_task("", total=None)

        def tell(what: str, done: int, total: int) -> None:
            progress.update(task, description=what, completed=done, total=total or None)

        yield tell


def backup(
    dest: Path = typer.Argument(
        ..., help="New backup file, or an existing folder (a dated file is made in it)."
    ),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Copy the registry into one file while it stays in use, plus DEST.manifest.json.

    SQLite is copied with SQLite's online backup API; PostgreSQL with pg_dump (custom
    format), or with COPY in one snapshot where pg_dump is not installed. The manifest
    holds the file's sha256, the schema version, the time and the source URL (no password).

    Example: jiareg backup /backups/ --db postgresql://jiareg@db.example/registry
    """
    from jiareg.services.backup import backup as run_backup
    from jiareg.services.backup import manifest_path

    with _bar("backup") as tell:
        manifest = run_backup(db, dest, progress=tell)
    written = dest / manifest.file if dest.is_dir() else dest
    typer.echo(
        f"backup of {manifest.source} (schema {manifest.schema_version}, {manifest.format}, "
        f"{manifest.bytes:,} bytes) written to {written}"
    )
    typer.echo(f"sha256 {manifest.sha256}  manifest {manifest_path(written)}")


def restore(
    src: Path = typer.Argument(..., help="A backup file written by `jiareg backup`."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    force: bool = typer.Option(
        False, "--force", help="Replace a registry that holds data (it is lost)."
    ),
) -> None:
    """Put a backup back into a registry, then check its audit trail (`jiareg audit verify`).

    The file is checked against its manifest's sha256 and must hold a jiareg registry at a
    schema this jiareg knows; an older schema is migrated. A registry that holds data is
    replaced only with --force. The audit key must be the one the source registry used.

    Example: jiareg restore /backups/jiareg-20260601T020000Z.sqlite --db sqlite:///clinic.db
    """
    from jiareg.services.backup import restore as run_restore

    with _bar("restore") as tell:
        restored = run_restore(src, db, force=force, progress=tell)
    if not restored.checked_sha256:
        typer.echo(f"warning: {src} has no manifest; its sha256 was not checked", err=True)
    migrated = (
        f", migrated to {restored.migrated_to}"
        if restored.migrated_to != restored.schema_version
        else ""
    )
    typer.echo(
        f"restored {src} ({restored.format}, schema {restored.schema_version}{migrated}); "
        f"audit log intact: {restored.audit_entries} entries; the data matches it "
        f"({restored.rows} rows)"
    )


def register(app: typer.Typer) -> None:
    """Add `jiareg backup` and `jiareg restore` to the root app."""
    app.command("backup")(backup)
    app.command("restore")(restore)
