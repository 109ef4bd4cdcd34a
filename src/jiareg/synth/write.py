"""Stream a synthetic registry to a folder: template CSVs, or Parquet files with a manifest.

Chunks of `CHUNK_PATIENTS` patients are generated and appended to one writer per table, so
memory stays bounded whatever the registry size. Everything is written into a temporary
sibling folder that is renamed to `out_dir` at the end: an interrupted run leaves nothing
half-written behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from jiareg.errors import InputError
from jiareg.store.tables import arrow_schema
from jiareg.study.backends import REQUIRED_TABLES, staged_folder, write_manifest
from jiareg.synth.generate import CHUNK_PATIENTS, generate_chunk, patient_id_width

__all__ = ["MAX_VISITS", "iter_registry", "write_registry"]

MAX_VISITS = 60
"""Upper bound of `--visits`: a longer schedule would not fit between 2004 and the data cut."""


def iter_registry(patients: int, visits: int, seed: int) -> Iterator[dict[str, pa.Table]]:
    """The registry's tables in chunks of `CHUNK_PATIENTS` patients, typed as the store's
    Arrow schema (Contract 2).

    >>> [t["patients"].num_rows for t in iter_registry(12, 4, seed=3)]
    [12]
    """
    if patients < 1:
        raise InputError(f"--patients must be at least 1, got {patients}")
    if not 1 <= visits <= MAX_VISITS:
        raise InputError(f"--visits must be from 1 to {MAX_VISITS}, got {visits}")
    width = patient_id_width(patients)
    for first in range(0, patients, CHUNK_PATIENTS):
        size = min(CHUNK_PATIENTS, patients - first)
        tables = generate_chunk(first, size, visits, seed, width)
        yield {name: table.cast(arrow_schema(name)) for name, table in tables.items()}


def _csv_ready(table: pa.Table) -> pa.Table:
    """Flags as the template's yes/no; every other column as Arrow writes it."""
    for i, field in enumerate(table.schema):
        if pa.types.is_boolean(field.type):
            text = pc.if_else(table.column(i), "yes", "no")
            table = table.set_column(i, pa.field(field.name, pa.string()), text)
    return table


def write_registry(
    out_dir: Path,
    *,
    patients: int,
    visits: int,
    seed: int,
    parquet: bool = False,
    on_chunk: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write a synthetic registry to `out_dir` (which must not exist or be empty).

    CSV: `<table>.csv` in the import template's format. Parquet: `<table>.parquet` plus
    `manifest.json` (a snapshot `open_registry(snapshot_dir=...)` reads directly).
    `on_chunk(n)` is called after each chunk of n patients. Returns rows per table.
    """
    writers: dict[str, Any] = {}
    rows = dict.fromkeys(REQUIRED_TABLES, 0)
    with staged_folder(out_dir) as work:
        try:
            for tables in iter_registry(patients, visits, seed):
                for name, table in tables.items():
                    if name not in writers:
                        writers[name] = _open_writer(work, name, table.schema, parquet)
                    writers[name].write_table(table if parquet else _csv_ready(table))
                    rows[name] += table.num_rows
                if on_chunk is not None:
                    on_chunk(tables["patients"].num_rows)
        finally:
            for writer in writers.values():
                writer.close()
        if parquet:
            write_manifest(work, list(rows))
    return rows


def _open_writer(folder: Path, name: str, schema: pa.Schema, parquet: bool) -> Any:
    if parquet:
        return pq.ParquetWriter(folder / f"{name}.parquet", schema)
    csv_schema = _csv_ready(schema.empty_table()).schema
    return pa_csv.CSVWriter(folder / f"{name}.csv", csv_schema)
