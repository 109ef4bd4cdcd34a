"""`jiareg synth`: a synthetic registry in the template format, streamed with a progress bar."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


def synth(
    patients: int = typer.Option(..., "--patients", min=1, help="Number of patients."),
    visits: int = typer.Option(
        20, "--visits", min=1, max=60, help="Mean number of visits per patient (1-60)."
    ),
    seed: int = typer.Option(
        0, "--seed", help="Random seed: the same seed gives the same registry."
    ),
    out: Path = typer.Option(..., "--out", help="New (or empty) folder to write the tables to."),
    parquet: bool = typer.Option(
        False, "--parquet", help="Write Parquet files and a manifest (a snapshot) instead of CSV."
    ),
) -> None:
    """Write a synthetic JIA registry: patients, visits, biologic courses, infusions, steroids
    and adverse events, with the mix of categories, failures and switches of a real network.

    CSV output is the import template (`jiareg import DIR`); Parquet output is a snapshot
    (`jiareg study run ... --engine spark` reads it). 1M patients x 20 visits streams in
    bounded memory.

    Example: jiareg synth --patients 100000 --visits 20 --seed 7 --out synth-100k --parquet
    """
    from jiareg.synth import write_registry

    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]synth"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("patients"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("synth", total=patients)
        rows = write_registry(
            out,
            patients=patients,
            visits=visits,
            seed=seed,
            parquet=parquet,
            on_chunk=lambda n: progress.advance(task, n),
        )
    summary = ", ".join(f"{name} {count:,}" for name, count in rows.items())
    typer.echo(f"wrote {out} ({'Parquet' if parquet else 'CSV'}): {summary}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("synth")(synth)
