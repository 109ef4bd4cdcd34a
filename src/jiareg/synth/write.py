"""Stream a synthetic registry to a folder: template CSVs, or Parquet files with a manifest.

Chunks of `CHUNK_PATIENTS` patients are generated and appended to one writer per table, so
memory stays bounded whatever the registry size. Everything is written into a temporary
sibling folder that is renamed to `out_dir` at the end: an interrupted run leaves nothing
half-written behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from jiareg.errors import InputError
from jiareg.store.tables import arrow_schema
from jiareg.study.backends import REQUIRED_TABLES, staged_folder, write_manifest
from jiareg.synth.generate import CHUNK_PATIENTS, generate_chunk, patient_id_width

if TYPE_CHECKING:
    from jiareg.synth.planted import PlantedChunk, PlantedEffect

__all__ = ["MAX_VISITS", "TRUTH_FILE", "iter_registry", "planted_registry", "write_registry"]

TRUTH_FILE = "truth.json"
"""Written beside the tables of a planted-effect registry (`jiareg.synth.truth`)."""

MAX_VISITS = 60
"""Upper bound of `--visits`: a longer schedule would not fit between 2004 and the data cut."""


def iter_registry(patients: int, visits: int, seed: int) -> Iterator[dict[str, pa.Table]]:
    """The registry's tables in chunks of `CHUNK_PATIENTS` patients, typed as the store's
    Arrow schema (Contract 2).

    >>> [t["patients"].num_rows for t in iter_registry(12, 4, seed=3)]
    [12]
    """
    _check_sizes(patients, visits)
    width = patient_id_width(patients)
    for first in range(0, patients, CHUNK_PATIENTS):
        size = min(CHUNK_PATIENTS, patients - first)
        tables = generate_chunk(first, size, visits, seed, width)
        yield _typed(tables)


def _check_sizes(patients: int, visits: int) -> None:
    if patients < 1:
        raise InputError(f"--patients must be at least 1, got {patients}")
    if not 1 <= visits <= MAX_VISITS:
        raise InputError(f"--visits must be from 1 to {MAX_VISITS}, got {visits}")


def _typed(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    return {name: table.cast(arrow_schema(name)) for name, table in tables.items()}


def _iter_planted(
    patients: int, visits: int, seed: int, effect: PlantedEffect, kept: list[PlantedChunk]
) -> Iterator[dict[str, pa.Table]]:
    """As `iter_registry`, with the planted comparison; each chunk's potential outcomes are
    appended to `kept` for the truth."""
    from jiareg.synth.planted import PlantedChunk, generate_planted_chunk

    _check_sizes(patients, visits)
    width = patient_id_width(patients)
    for first in range(0, patients, CHUNK_PATIENTS):
        size = min(CHUNK_PATIENTS, patients - first)
        chunk = generate_planted_chunk(first, size, visits, seed, width, effect)
        worlds = {drug: _typed(tables) for drug, tables in chunk.worlds.items()}
        kept.append(PlantedChunk({}, worlds, chunk.patients))
        yield _typed(chunk.tables)


def planted_registry(
    patients: int, visits: int, seed: int, effect: PlantedEffect
) -> tuple[dict[str, pa.Table], dict[str, object]]:
    """A planted-effect registry in memory: its tables (Contract 2 types) and its truth
    (`jiareg.synth.truth.planted_truth`, the content of truth.json)."""
    from jiareg.synth.truth import planted_truth

    kept: list[PlantedChunk] = []
    chunks = list(_iter_planted(patients, visits, seed, effect, kept))
    tables = {name: pa.concat_tables([c[name] for c in chunks]) for name in chunks[0]}
    truth = planted_truth(kept, effect, patients=patients, visits=visits, seed=seed)
    return tables, truth


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
    planted: PlantedEffect | None = None,
) -> dict[str, int]:
    """Write a synthetic registry to `out_dir` (which must not exist or be empty).

    CSV: `<table>.csv` in the import template's format. Parquet: `<table>.parquet` plus
    `manifest.json` (a snapshot `open_registry(snapshot_dir=...)` reads directly).
    `planted`: plant that effect of tocilizumab versus abatacept (`jiareg.synth.planted`) and
    write its truth to `truth.json` in the same folder (`jiareg.synth.truth`); without it the
    registry is the same, byte for byte, as before the option existed.
    `on_chunk(n)` is called after each chunk of n patients. Returns rows per table.
    """
    writers: dict[str, Any] = {}
    rows = dict.fromkeys(REQUIRED_TABLES, 0)
    kept: list[PlantedChunk] = []
    source = (
        iter_registry(patients, visits, seed)
        if planted is None
        else _iter_planted(patients, visits, seed, planted, kept)
    )
    with staged_folder(out_dir) as work:
        try:
            for tables in source:
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
        if planted is not None:
            from jiareg.synth.truth import planted_truth

            truth = planted_truth(kept, planted, patients=patients, visits=visits, seed=seed)
            text = json.dumps(truth, indent=2, sort_keys=True, allow_nan=False) + "\n"
            (work / TRUTH_FILE).write_text(text, encoding="utf-8")
    return rows


def _open_writer(folder: Path, name: str, schema: pa.Schema, parquet: bool) -> Any:
    if parquet:
        return pq.ParquetWriter(folder / f"{name}.parquet", schema)
    csv_schema = _csv_ready(schema.empty_table()).schema
    return pa_csv.CSVWriter(folder / f"{name}.csv", csv_schema)
