"""The founding protocol at scale on DuckDB, Spark (local[2]) and PostgreSQL.

Registries are synthetic (`jiareg synth`, 20 visits per patient): 100k and 1M patients on
DuckDB and Spark, 100k on PostgreSQL (bulk-loaded with COPY first; the load is its own row).
Every engine must give the same results.json as DuckDB (engine name aside): the row's
`same_results` says so. Peak memory is the whole process tree, the Spark JVM included.
A run that fails is a row with its `error`, so one broken engine does not hide the others.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bench._data import cached_registry, row
from bench._tree_rss import PeakRss
from jiareg.study.backends import load_postgres, read_manifest, spark_session
from jiareg.study.run import run_study

PROTOCOL = Path(__file__).parents[1] / "protocols" / "tocilizumab-after-anti-tnf.yaml"
VISITS = 20
SIZES: dict[bool, tuple[tuple[int, tuple[str, ...]], ...]] = {
    True: ((2_000, ("duckdb", "spark", "postgres")),),
    False: ((100_000, ("duckdb", "spark", "postgres")), (1_000_000, ("duckdb", "spark"))),
}
PG_ADMIN_URL = os.environ.get("JIAREG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _stable(results: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in results.items() if k != "engine"}


def _timed(name: str, rows: int, work: Callable[[], Any]) -> tuple[dict[str, Any], Any]:
    """Run `work` under the memory sampler; a failure becomes a row with its error."""
    with PeakRss() as rss:
        start = time.perf_counter()
        try:
            value = work()
        except Exception as exc:  # a benchmark reports a broken engine, it does not stop
            seconds = time.perf_counter() - start
            error = f"{type(exc).__name__}: {exc}"[:300]
            return row(name, rows, seconds, rss.peak_mb, error=error), None
        seconds = time.perf_counter() - start
    return row(name, rows, seconds, rss.peak_mb), value


def _postgres_database() -> str:
    import psycopg

    name = f"jiareg_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def _drop(url: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _spark_warm() -> float:
    """Start the run's SparkSession before timing (start-up is reported separately)."""
    start = time.perf_counter()
    spark_session().range(1).count()
    return time.perf_counter() - start


def _load_snapshot(url: str, snapshot: Path) -> None:
    load_postgres(url, {p.stem: pq.read_table(p) for p in sorted(snapshot.glob("*.parquet"))})


def _postgres_study(patients: int, snapshot: Path, label: str, rows: int) -> list[Any]:
    """COPY-load the snapshot into a fresh database (its own row), then run the study there."""
    url = _postgres_database()
    try:
        manifest_rows = sum(e.rows for e in read_manifest(snapshot))
        load, _ = _timed(
            f"postgres COPY load {patients:,} patients",
            manifest_rows,
            partial(_load_snapshot, url, snapshot),
        )
        study = partial(run_study, PROTOCOL, db_url=url, engine="postgres")
        result, value = _timed(label, rows, study)
        return [load, result, value]
    finally:
        _drop(url)


def run(quick: bool) -> list[dict[str, Any]]:
    """Time `run_study` on each engine and size; compare every engine's results with DuckDB's."""
    out: list[dict[str, Any]] = []
    spark_started = False
    for patients, engines in SIZES[quick]:
        snapshot = cached_registry(patients, VISITS)
        rows = pq.ParquetFile(snapshot / "visits.parquet").metadata.num_rows
        reference: dict[str, Any] | None = None
        duck_s: float | None = None
        for engine in engines:
            label = f"study {patients:,} patients {engine}"
            if engine == "duckdb":
                result, value = _timed(
                    label, rows, partial(run_study, PROTOCOL, snapshot_dir=snapshot)
                )
                if value is not None:
                    duck_s, reference = result["seconds"], _stable(value.results.to_json())
                    result["cohort_n"] = value.results.n
                out.append(result)
                continue
            if engine == "spark":
                if not spark_started:
                    out.append(row("spark session start (local[2])", 0, _spark_warm(), 0))
                    spark_started = True
                result, value = _timed(
                    label, rows, partial(run_study, PROTOCOL, engine="spark", snapshot_dir=snapshot)
                )
            else:
                load, result, value = _postgres_study(patients, snapshot, label, rows)
                out.append(load)
            if duck_s is not None and "error" not in result:
                result["ratio"], result["baseline"] = round(result["seconds"] / duck_s, 2), "duckdb"
            if value is not None:
                result["same_results"] = _stable(value.results.to_json()) == reference
            out.append(result)
    return out
