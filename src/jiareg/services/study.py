"""Study runs: a protocol over a registry (or a Parquet snapshot) on an engine, then its
report; and the frozen Parquet snapshot of a registry that such runs can read.

The front ends (`jiareg study run`, `jiareg snapshot`, the web's study page) call these; the
study stage (`jiareg.study.run`) is the only code that executes the plan.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from jiareg.report.render import write_report
from jiareg.store.queries import pseudonym
from jiareg.store.snapshot import read_tables
from jiareg.study.backends import ENGINES, Engine, SnapshotTable, write_snapshot
from jiareg.study.dataset_files import write_datasets
from jiareg.study.datasets import analysis_datasets
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

PSEUDONYM_KEY_ENV = "JIAREG_PSEUDONYM_KEY"
"""Where the registry's pseudonym key is read from (as for `jiareg serve`)."""


def run_and_report(
    protocol: Path,
    db_url: str | None,
    out_dir: Path,
    *,
    engine: Engine = "duckdb",
    snapshot_dir: Path | None = None,
    spark_master: str | None = None,
    progress: Progress | None = None,
    tables_dir: Path | None = None,
    deidentify: bool = False,
) -> tuple[StudyResult, Path, Path]:
    """Run `protocol` and write results.json, report.html and report.pdf into `out_dir`,
    and with `tables_dir` the analysis datasets (`jiareg.study.datasets`).

    `deidentify` replaces the patient ids of results.json (the responders) and of the datasets
    by pseudonyms under the registry's key (env JIAREG_PSEUDONYM_KEY), the same in both. Without
    a key results.json lists no responder ids (a key drawn per run would make two runs'
    results.json differ) and the datasets' pseudonyms come from a key drawn for this run.
    Returns the result and the paths of the HTML and PDF reports.
    """
    result = run_study(
        protocol,
        db_url,
        engine,
        snapshot_dir=snapshot_dir,
        spark_master=spark_master,
        progress=progress,
    )
    key = os.environ.get(PSEUDONYM_KEY_ENV, "").encode() or None
    public_id: Callable[[str], str] = str
    if deidentify:
        registry_ids = partial(pseudonym, key=key) if key else None
        result = replace(result, results=result.results.with_public_ids(registry_ids))
        public_id = partial(pseudonym, key=key or secrets.token_bytes(32))
    write_results(result, out_dir)
    if progress is not None:
        progress("writing report.html and report.pdf")
    html, pdf = write_report(result, out_dir)
    if tables_dir is not None:
        if progress is not None:
            progress("writing the analysis datasets")
        datasets = analysis_datasets(result, public_id, identified=not deidentify)
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
