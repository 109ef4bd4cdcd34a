"""Open a registry on an Ibis backend: DuckDB (default), PostgreSQL or Spark.

Every backend exposes the registry under the template's table and column names
(architecture.md, Contract 2), so one Ibis plan runs unchanged on all three:

- **duckdb**: an in-process DuckDB. Data arrives through Arrow (`tables`, or
  `jiareg.store.tables.read_tables(db_url)`, registered as views: no copy) or as views over
  the Parquet files of a snapshot; DuckDB spills to a private temporary folder when a query
  outgrows memory.
- **postgres**: `ibis.postgres.connect` straight onto the registry database, so the compiled
  expressions run inside PostgreSQL. `load_postgres` bulk-loads Arrow tables with `COPY`.
- **spark**: the active SparkSession (or a new one: `local[2]`, or `spark_master` for a
  cluster) reading the Parquet files of a snapshot.

A snapshot is a folder with one `<table>.parquet` per table and `manifest.json` giving each
table's row count and the sha256 of its file (`write_snapshot`), a frozen, hash-identified
data cut that Spark executors and later re-analyses can read.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from jiareg.errors import InputError, StoreError

if TYPE_CHECKING:
    from ibis import BaseBackend
    from pyspark.sql import SparkSession

__all__ = [
    "MANIFEST_NAME",
    "OPTIONAL_TABLES",
    "REQUIRED_TABLES",
    "SPARK_DRIVER_MEMORY_ENV",
    "SPARK_MASTER_ENV",
    "Engine",
    "SnapshotTable",
    "load_postgres",
    "open_registry",
    "read_manifest",
    "sha256_file",
    "spark_session",
    "staged_folder",
    "write_manifest",
    "write_snapshot",
]

Engine = Literal["duckdb", "postgres", "spark"]
ENGINES: Final[tuple[str, ...]] = get_args(Engine)

REQUIRED_TABLES: Final = (
    "patients",
    "visits",
    "treatments",
    "administrations",
    "steroids",
    "adverse_events",
)
"""Tables every registry has (INTERFACE.md, "Template tables")."""

OPTIONAL_TABLES: Final = ("joint_exams", "chaq_items")
"""Template tables a registry may leave out."""

MANIFEST_NAME: Final = "manifest.json"
SPARK_MASTER_ENV: Final = "JIAREG_SPARK_MASTER"
"""Environment variable naming the Spark master when none is given (default local[2])."""
SPARK_DRIVER_MEMORY_ENV: Final = "JIAREG_SPARK_DRIVER_MEMORY"
"""Environment variable giving the Spark driver's heap for a new session (default 4g)."""

_COPY_BATCH_ROWS: Final = 200_000

_PG_TYPES: Final[dict[str, str]] = {
    "string": "text",
    "large_string": "text",
    "double": "double precision",
    "float": "real",
    "int64": "bigint",
    "int32": "integer",
    "int16": "smallint",
    "int8": "smallint",
    "bool": "boolean",
    "date32[day]": "date",
}


@dataclass(frozen=True, slots=True)
class SnapshotTable:
    """One table of a snapshot: its Parquet file, row count and the file's sha256."""

    name: str
    file: str
    rows: int
    sha256: str


def open_registry(
    db_url: str | None = None,
    *,
    engine: Engine = "duckdb",
    tables: Mapping[str, pa.Table] | None = None,
    snapshot_dir: Path | None = None,
    spark_master: str | None = None,
) -> BaseBackend:
    """An Ibis backend whose tables are the registry's template tables.

    Give exactly one data source: `tables` (Arrow tables by template name), `snapshot_dir`
    (a folder written by `write_snapshot` or `jiareg synth --parquet`) or `db_url` (a registry
    URL; PostgreSQL for engine "postgres"). `spark_master` (e.g. `spark://host:7077`, default
    env JIAREG_SPARK_MASTER, else `local[2]`) is used only when no SparkSession is active yet.

    >>> con = open_registry(tables={"patients": pa.table({"patient_id": ["P1", "P2"]})})
    >>> con.table("patients").count().execute()
    2
    """
    given = [x for x in (db_url, tables, snapshot_dir) if x is not None]
    if len(given) != 1:
        raise InputError(
            "open_registry needs exactly one data source (db_url, tables or snapshot_dir); "
            f"got {len(given)}"
        )
    if engine not in ENGINES:
        raise InputError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
    if engine == "postgres":
        if db_url is None:
            raise InputError(
                "engine 'postgres' runs inside the registry database: give its "
                "postgresql:// URL (load Arrow tables there first with load_postgres)"
            )
        return _connect_postgres(db_url)
    if snapshot_dir is not None:
        files = _snapshot_files(Path(snapshot_dir))
        return _open_spark(files, spark_master) if engine == "spark" else _open_duckdb(files)
    arrow = dict(tables) if tables is not None else _read_store(db_url)
    if engine == "spark":
        folder = Path(tempfile.mkdtemp(prefix="jiareg-spark-"))
        write_snapshot(arrow, folder)
        con = _open_spark(_snapshot_files(folder), spark_master)
        weakref.finalize(con, shutil.rmtree, folder, True)
        return con
    return _open_duckdb(arrow)


def _read_store(db_url: str | None) -> dict[str, pa.Table]:
    from jiareg.store.tables import read_tables  # the store stage (H4); imported lazily

    assert db_url is not None
    return read_tables(db_url)


def _open_duckdb(source: Mapping[str, pa.Table] | Mapping[str, Path]) -> BaseBackend:
    import ibis

    spill = Path(tempfile.mkdtemp(prefix="jiareg-duckdb-"))
    con = ibis.duckdb.connect(temp_directory=str(spill), preserve_insertion_order=False)
    weakref.finalize(con, shutil.rmtree, spill, True)
    for name, item in source.items():
        if isinstance(item, Path):
            con.read_parquet(item, table_name=name)
        else:  # a view of the Arrow table, as of a Parquet file: copying it cost more than a
            con.con.register(name, item)  # small study's queries (86 ms for 280,000 visits)
    return con


def spark_session(spark_master: str | None = None) -> SparkSession:
    """The active SparkSession, or a new one set up for jiareg.

    The master is `spark_master`, else env `JIAREG_SPARK_MASTER` (e.g. spark://host:7077),
    else `local[2]`. SPARK_LOCAL_IP=127.0.0.1 unless set, no UI, UTC session time zone, log
    level ERROR; the driver's heap is env `JIAREG_SPARK_DRIVER_MEMORY`, else 4g (Spark's 1g
    default ran out collecting the 1M-patient study's 1.7M infusion rows). Plan texts are
    cut at 64 KB (`spark.sql.maxPlanStringLength`): a study's plans over cached tables embed
    every cached plan, and Spark writing them out for its listeners filled the heap.
    """
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    session = (
        SparkSession.builder.master(spark_master or os.environ.get(SPARK_MASTER_ENV, "local[2]"))
        .appName("jiareg")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.driver.memory", os.environ.get(SPARK_DRIVER_MEMORY_ENV, "4g"))
        .config("spark.sql.maxPlanStringLength", "65536")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _open_spark(files: Mapping[str, Path], spark_master: str | None) -> BaseBackend:
    import ibis

    con = ibis.pyspark.connect(spark_session(spark_master))
    for name, path in files.items():
        con.read_parquet(str(path), table_name=name)
    return con


def _pg_params(db_url: str) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if not url.drivername.startswith("postgresql"):
        raise InputError(f"{db_url}: engine 'postgres' needs a postgresql:// registry URL")
    return {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username,
        "password": url.password,
        "database": url.database,
    }


def _connect_postgres(db_url: str) -> BaseBackend:
    import ibis

    con = ibis.postgres.connect(**_pg_params(db_url))
    missing = sorted(set(REQUIRED_TABLES) - set(con.list_tables()))
    if missing:
        con.disconnect()
        raise StoreError(f"{db_url}: the registry has no table(s) {', '.join(missing)}")
    return con


def load_postgres(db_url: str, tables: Mapping[str, pa.Table]) -> None:
    """Create the template tables in a PostgreSQL database and bulk-load them with COPY.

    For benchmarks and parity tests on synthetic registries: tables are created with the
    template names and Arrow-derived types, in one transaction (nothing is left on error).
    """
    import psycopg

    params = _pg_params(db_url)
    conninfo = psycopg.conninfo.make_conninfo(
        host=params["host"],
        port=params["port"],
        user=params["user"],
        password=params["password"],
        dbname=params["database"],
    )
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        for name, table in tables.items():
            columns = ", ".join(f'"{field.name}" {_pg_type(name, field)}' for field in table.schema)
            cur.execute(f'CREATE TABLE "{name}" ({columns})')
            names = ", ".join(f'"{c}"' for c in table.column_names)
            no_header = pa_csv.WriteOptions(include_header=False)
            with cur.copy(f'COPY "{name}" ({names}) FROM STDIN (FORMAT csv)') as cp:
                for batch in table.to_batches(max_chunksize=_COPY_BATCH_ROWS):
                    buffer = io.BytesIO()
                    pa_csv.write_csv(batch, buffer, write_options=no_header)
                    cp.write(buffer.getvalue())
            cur.execute(f'ANALYZE "{name}"')


def _pg_type(table: str, field: pa.Field) -> str:
    try:
        return _PG_TYPES[str(field.type)]
    except KeyError:
        raise InputError(
            f"table {table!r}, column {field.name!r}: Arrow type {field.type} has no "
            "PostgreSQL counterpart here"
        ) from None


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_snapshot(
    tables: Mapping[str, pa.Table],
    out_dir: Path,
    *,
    on_table: Callable[[str, int], None] | None = None,
) -> list[SnapshotTable]:
    """Write each table to `out_dir/<name>.parquet`, then the manifest; returns its entries.

    `out_dir` must not exist or be empty; it appears only once complete (`staged_folder`).
    `on_table(name, rows)` is called after each table.
    """
    with staged_folder(out_dir) as work:
        for name, table in tables.items():
            pq.write_table(table, work / f"{name}.parquet")
            if on_table is not None:
                on_table(name, table.num_rows)
        write_manifest(work, list(tables))
    return read_manifest(out_dir)


@contextmanager
def staged_folder(out_dir: Path) -> Iterator[Path]:
    """A temporary sibling folder renamed to `out_dir` on success, removed on any error.

    `out_dir` must not exist or be an empty folder, so nothing is overwritten and an
    interrupted run leaves nothing half-written.
    """
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError(f"{out_dir}: exists and is not an empty folder; choose a new --out")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        yield work
        if out_dir.exists():
            out_dir.rmdir()
        work.rename(out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def write_manifest(out_dir: Path, names: list[str]) -> list[SnapshotTable]:
    """Hash the Parquet file of each named table and write `manifest.json` next to them."""
    entries = []
    for name in names:
        path = out_dir / f"{name}.parquet"
        rows = pq.ParquetFile(path).metadata.num_rows
        entries.append(SnapshotTable(name, path.name, rows, sha256_file(path)))
    manifest = {"format": "jiareg-snapshot-1", "tables": [_entry_json(e) for e in entries]}
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    return entries


def _entry_json(entry: SnapshotTable) -> dict[str, object]:
    return {"name": entry.name, "file": entry.file, "rows": entry.rows, "sha256": entry.sha256}


def read_manifest(snapshot_dir: Path) -> list[SnapshotTable]:
    """The entries of `snapshot_dir/manifest.json`; error naming the file when it is bad."""
    path = snapshot_dir / MANIFEST_NAME
    try:
        data = json.loads(path.read_text())
        return [
            SnapshotTable(str(t["name"]), str(t["file"]), int(t["rows"]), str(t["sha256"]))
            for t in data["tables"]
        ]
    except FileNotFoundError:
        raise InputError(
            f"{path}: no snapshot manifest (write one with `jiareg snapshot`)"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a jiareg snapshot manifest ({exc})") from None


def _snapshot_files(snapshot_dir: Path) -> dict[str, Path]:
    files = {e.name: snapshot_dir / e.file for e in read_manifest(snapshot_dir)}
    missing = [t for t in REQUIRED_TABLES if t not in files]
    if missing:
        raise InputError(f"{snapshot_dir}: the snapshot has no table(s) {', '.join(missing)}")
    for path in files.values():
        if not path.is_file():
            raise InputError(f"{path}: listed in the manifest but missing")
    return files
