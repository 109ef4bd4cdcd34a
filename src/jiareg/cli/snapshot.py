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
    from jiareg.store.snapshot import read_tables
    from jiareg.study.backends import write_snapshot

    console = Console(stderr=True)
    with console.status("reading the registry"):
        tables = read_tables(db)
    columns = (
        TextColumn("[bold]snapshot"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("tables"),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("snapshot", total=len(tables))
        entries = write_snapshot(tables, out, on_table=lambda _n, _r: progress.advance(task))
    for entry in entries:
        typer.echo(f"{entry.name:<16} {entry.rows:>12,} rows  sha256 {entry.sha256}")
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("snapshot")(snapshot)
