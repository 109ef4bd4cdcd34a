"""`jiareg snapshot`: a frozen, hash-identified Parquet copy of the registry."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn


def snapshot(
    db: str | None = typer.Option(
        None, "--db", help="Registry URL (default: env JIAREG_DB, else sqlite:///jiareg.db)."
    ),
    out: Path = typer.Option(..., "--out", help="New (or empty) folder for the snapshot."),
) -> None:
    """Write every registry table to OUT/<table>.parquet and OUT/manifest.json (row counts and
    the sha256 of each file): the data cut a study or a Spark cluster reads.

    Example: jiareg snapshot --db postgresql://registry.example/jia --out cut-2026-06
    """
    from jiareg.services.study import snapshot_registry

    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]snapshot"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("tables"),
    )
    progress = Progress(*columns, console=console, transient=True)
    task = progress.add_task("snapshot", total=None)
    reading = console.status("reading the registry")

    def tables_read(n: int) -> None:
        reading.stop()
        progress.update(task, total=n)
        progress.start()

    reading.start()
    try:
        entries = snapshot_registry(
            db, out, on_read=tables_read, on_table=lambda _n, _r: progress.advance(task)
        )
    finally:
        reading.stop()
        if progress.live.is_started:  # stopping an unstarted bar would print a blank line
            progress.stop()
    for entry in entries:
        typer.echo(f"{entry.name:<16} {entry.rows:>12,} rows  sha256 {entry.sha256}")
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("snapshot")(snapshot)
