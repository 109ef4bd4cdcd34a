"""`data_sha256`: one hash of the rows a study used, the same on every engine (provenance)."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["data_sha256"]


def _canonical_column(values: pd.Series) -> pa.Array:
    """One text per value whatever the engine returned it as: numbers (int, float, decimal)
    rounded to 9 decimals in their shortest form with -0 as 0, dates ISO 8601, booleans
    true/false, missing values (None, NaN, NaT) null."""
    column = pa.array(values, from_pandas=True)
    kind = column.type
    if pa.types.is_timestamp(kind):
        column = column.cast(pa.date32())
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        number = column.cast(pa.float64())
        column = pc.add(pc.round(number, 9), 0.0)  # -0.0 + 0.0 == 0.0
    return column.cast(pa.string())


def data_sha256(tables: dict[str, pd.DataFrame]) -> str:
    """sha256 of the rows a study used, canonicalised so every engine gives the same hash.

    Tables in name order, each announced by its name and columns (in `TABLE_COLUMNS`
    order); then its rows, each the canonical texts of its values (`_canonical_column`)
    joined by US (0x1f) with NUL standing for missing, sorted, one per line. Vectorised in
    Arrow: 1M-patient studies hash in seconds.
    """
    digest = hashlib.sha256()
    for name in sorted(tables):
        frame = tables[name]
        digest.update(json.dumps({"table": name, "columns": list(frame.columns)}).encode())
        if frame.empty:
            continue
        texts = [_canonical_column(frame[column]) for column in frame.columns]
        rows = pc.binary_join_element_wise(
            *texts, "\x1f", null_handling="replace", null_replacement="\x00"
        )
        ordered = rows.take(pc.sort_indices(rows))
        digest.update("\n".join(ordered.to_pylist()).encode() + b"\n")
    return digest.hexdigest()
