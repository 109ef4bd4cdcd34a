"""Study runs: a protocol over a registry (or a Parquet snapshot) on an engine, then its
report; and the frozen Parquet snapshot of a registry that such runs can read.

The front ends (`jiareg study run`, `jiareg snapshot`, the web's study page) call these; the
study stage (`jiareg.study.run`) is the only code that executes the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from jiareg.errors import InputError
from jiareg.report.render import write_report
from jiareg.store.access import record_access
from jiareg.store.engine import deidentification_key, get_engine
from jiareg.store.tables import read_tables
from jiareg.store.users import os_user
from jiareg.study.backends import ENGINES, Engine, SnapshotTable, write_snapshot
from jiareg.study.dataset_files import write_datasets
from jiareg.study.datasets import analysis_datasets
from jiareg.study.deidentify import deidentify, research_id, whole_year_ages
from jiareg.study.protocol_file import protocol_json_schema
from jiareg.study.result import StudyResult
from jiareg.study.run import Progress, run_study, write_results

__all__ = [
    "ENGINES",
    "Engine",
    "Progress",
    "protocol_json_schema",
    "run_and_report",
    "snapshot_registry",
]


def run_and_report(
    protocol: Path,
    db_url: str | None,
    out_dir: Path,
    *,
    engine: Engine = "duckdb",
    snapshot_dir: Path | None = None,
    spark_master: str | None = None,
    progress: Progress | None = None,
    identified: bool = False,
    by: str | None = None,
    address: str = "cli",
    tables_dir: Path | None = None,
) -> tuple[StudyResult, Path, Path]:
    """Run `protocol` and write results.json, report.html and report.pdf into `out_dir`,
    and with `tables_dir` the analysis datasets (`jiareg.study.datasets`).

    They are de-identified (`jiareg.study.deidentify.deidentify`: responder ids as the
    registry's research pseudonyms, whole-year ages) unless `identified`, which keeps the
    registry ids (ages stay whole years); the analysis datasets use the same pseudonyms (or,
    identified, the ids and dates). A de-identified run needs the registry's key, so reads
    `db_url`, not a snapshot (InputError). Returns the result as written and the paths of the
    HTML and PDF reports. A run over the registry (not a snapshot) is an access event of `by`
    (default the OS user) from `address`.
    """
    if not identified and snapshot_dir is not None:
        raise InputError(
            "de-identified results need the registry's key: run on the registry (--db), "
            "or ask for identified results (--identified)"
        )
    result = run_study(
        protocol,
        db_url,
        engine,
        snapshot_dir=snapshot_dir,
        spark_master=spark_master,
        progress=progress,
    )
    public_id: Callable[[str], str] = str
    if identified:
        results = whole_year_ages(result.results)
    else:
        public_id = partial(research_id, deidentification_key(db_url))
        results = deidentify(result.results, public_id)
    result = replace(result, results=results)
    write_results(result, out_dir)
    if progress is not None:
        progress("writing report.html and report.pdf")
    html, pdf = write_report(result, out_dir)
    if snapshot_dir is None:
        record_access(
            get_engine(db_url),
            username=by or os_user(),
            action="study_run",
            address=address,
            detail=f"{protocol.name} on {engine}",
        )
    if tables_dir is not None:
        if progress is not None:
            progress("writing the analysis datasets")
        datasets = analysis_datasets(result, public_id, identified=identified)
        write_datasets(datasets, tables_dir)
    return result, html, pdf


def snapshot_registry(
    db_url: str | None,
    out_dir: Path,
    *,
    on_read: Callable[[int], None] | None = None,
    on_table: Callable[[str, int], None] | None = None,
) -> list[SnapshotTable]:
    """Write every registry table to `out_dir/<table>.parquet` and `out_dir/manifest.json`.

    `on_read(n_tables)` is called once the registry is read, `on_table(name, rows)` after
    each table is written.
    """
    tables = read_tables(db_url)
    if on_read is not None:
        on_read(len(tables))
    return write_snapshot(tables, out_dir, on_table=on_table)
