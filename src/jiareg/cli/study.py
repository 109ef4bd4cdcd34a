"""`jiareg demo`, `jiareg study run`, `jiareg study schema`: thin commands over the demo and
study services (`jiareg.services.demo`, `jiareg.services.study`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:  # the study stage (pandas, scipy, Ibis) is imported when a command runs
    from jiareg.services.study import Engine
    from jiareg.services.study import Progress as StepReporter

study_app = typer.Typer(
    help=(
        "Run study protocols over a registry.\n\n"
        "Example: jiareg study run protocols/tocilizumab-after-anti-tnf.yaml --out study-output"
    ),
    no_args_is_help=True,
)


@contextmanager
def _progress() -> Iterator[StepReporter]:
    """A rich spinner whose text is each step's description (on stderr)."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting", total=None)
        yield lambda message: bar.update(task, description=message)


def _engine(value: str) -> Engine:
    from jiareg.services.study import ENGINES

    if value not in ENGINES:
        raise typer.BadParameter(f"expected one of {', '.join(ENGINES)}")
    return value  # type: ignore[return-value]  # checked against the Literal's values above


def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for the outputs."),
) -> None:
    """Build the synthetic 9-patient demo registry, run the founding study, write the report.

    Writes DIR/registry.db (SQLite), DIR/results.json, DIR/report.html and DIR/report.pdf.
    The patients are synthetic; their figures reproduce Russo & Katsicas 2011.

    Example: jiareg demo --out demo-output
    """
    from jiareg.services.demo import run_demo

    with _progress() as step:
        result, paths = run_demo(out, progress=step)
    typer.echo(f"{result.results.n} patients; wrote " + ", ".join(str(p) for p in paths))


@study_app.command("run")
def run(
    protocol: Path = typer.Argument(..., help="The protocol YAML file."),
    db: str = typer.Option(
        None, "--db", help="Registry URL (default: env JIAREG_DB, else sqlite:///jiareg.db)."
    ),
    engine: str = typer.Option(
        "duckdb", "--engine", help="Where the plan runs: duckdb, postgres or spark."
    ),
    out: Path = typer.Option(..., "--out", help="Folder for results.json and the report."),
    snapshot: Path = typer.Option(
        None,
        "--snapshot",
        help="Read this Parquet snapshot (from `jiareg snapshot` or `jiareg synth --parquet`) "
        "instead of --db; duckdb or spark.",
    ),
    spark_master: str = typer.Option(
        None,
        "--spark-master",
        help="Spark master URL for --engine spark, e.g. spark://head:7077 "
        "(default: env JIAREG_SPARK_MASTER, else local[2]).",
    ),
    tables: Path = typer.Option(
        None,
        "--tables",
        help="Also write the analysis datasets (patients, timepoints: Parquet, CSV, SAS, Stata, "
        "SPSS, data dictionary) into this folder.",
    ),
    identified: bool = typer.Option(
        False,
        "--identified",
        help="Keep registry ids in results.json and, with --tables, ids and dates in the "
        "datasets (default: the registry's research pseudonyms; a --snapshot run needs this).",
    ),
) -> None:
    """Run a study protocol on a registry; write results.json, report.html and report.pdf.

    Exits 1 with the reason when the protocol is invalid or the cohort is empty.

    Examples (a registry file; a frozen snapshot on a Spark cluster):

      jiareg study run protocols/tocilizumab-after-anti-tnf.yaml --out out --tables out/data

      jiareg snapshot --out cut && jiareg study run protocols/tocilizumab-after-anti-tnf.yaml
      --snapshot cut --engine spark --spark-master spark://head:7077 --out out
    """
    from jiareg.services.study import run_and_report

    if snapshot is not None and db is not None:
        raise typer.BadParameter("give --db or --snapshot, not both", param_hint="--snapshot")
    if spark_master is not None and engine != "spark":
        raise typer.BadParameter(
            "only --engine spark uses a Spark master", param_hint="--spark-master"
        )
    if identified:
        typer.echo(
            "warning: --identified writes real patient ids (and dates with --tables); for "
            "registry administrators only, keep the files inside the registry's protected storage",
            err=True,
        )
    url = (
        None if snapshot is not None else db or os.environ.get("JIAREG_DB") or "sqlite:///jiareg.db"
    )
    with _progress() as step:
        result, html, pdf = run_and_report(
            protocol,
            url,
            out,
            engine=_engine(engine),
            snapshot_dir=snapshot,
            spark_master=spark_master,
            progress=step,
            identified=identified,
            tables_dir=tables,
        )
    typer.echo(f"{result.results.n} patients; wrote {out / 'results.json'}, {html}, {pdf}")
    if tables is not None:
        typer.echo(f"analysis datasets and their data dictionary in {tables}")


@study_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of protocol files (for editors and validators).

    Example: jiareg study schema > protocol.schema.json
    """
    from jiareg.services.study import protocol_json_schema

    typer.echo(json.dumps(protocol_json_schema(), indent=2, sort_keys=True))


def register(app: typer.Typer) -> None:
    """Add `demo` and the `study` group to the root app."""
    app.command("demo")(demo)
    app.add_typer(study_app, name="study")
