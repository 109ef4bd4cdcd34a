"""Batch audit entries: one MAC-chained entry for up to `BATCH_ROWS` rows of one write.

An import writes hundreds of thousands of rows; one entry (and one HMAC) per row cost as much
as the rows themselves. A write of at least `BATCH_MIN` rows to one table is therefore audited
as batch entries: same columns, same chain, same action (`insert`, `update`), `patient_id`
null, and in `row_key`, `before` (updates) and `after` a JSON array holding each row's key
and canonical JSON row (`audit.row_json`), in the same order, one row per line:

    [
    {"patient_id":"P1","visit_date":"2020-01-01"},
    {"patient_id":"P1","visit_date":"2020-03-01"}
    ]

The entry's MAC covers every row's full content, so a direct edit of any data column is still
detected by the replay (`audit_replay`), which reads a batch as its rows. Canonical row JSON
never holds a raw line break (`json_text` escapes it), so the rows are split back exactly at
`,\\n` without re-encoding a value. Smaller writes (a form's records) keep one entry per row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import ColumnElement, Table, literal

from jiareg.store.audit_json import row_texts

__all__ = [
    "BATCH_MIN",
    "BATCH_ROWS",
    "batch_entries",
    "batch_json",
    "batch_patients",
    "batch_rows",
    "expand",
    "is_batch",
    "join_batches",
    "split_batch",
]

BATCH_MIN: Final = 100
"""Writes of fewer rows to one table are audited one entry per row."""
BATCH_ROWS: Final = 20_000
"""At most this many rows per batch entry (bounds an entry's size, ~5 MB of JSON)."""
_OPEN: Final = "[\n"
_SEP: Final = ",\n"
_CLOSE: Final = "\n]"
_NOT_PATIENT_DATA: Final = ("events", "sites", "users")


def is_batch(row_key: str) -> bool:
    """Whether an entry's `row_key` is a batch's key array (a row's key is a JSON object).

    >>> is_batch('[\\n{"site":"A"}\\n]'), is_batch('{"site":"A"}')
    (True, False)
    """
    return row_key.startswith("[")


def join_batches(values: pa.Array, size: int = BATCH_ROWS) -> pa.Array:
    """Canonical JSON texts (no nulls) joined into one batch text per `size` rows.

    >>> join_batches(pa.array(['{"a":1}', '{"a":2}', '{"a":3}']), 2).to_pylist()
    ['[\\n{"a":1},\\n{"a":2}\\n]', '[\\n{"a":3}\\n]']
    """
    n = len(values)
    offsets = pa.array([*range(0, n, size), n], pa.int64())
    lists = pa.LargeListArray.from_arrays(offsets, values.cast(pa.large_string()))
    joined = pc.binary_join(lists, pa.scalar(_SEP, pa.large_string())).cast(pa.string())
    return pc.binary_join_element_wise(_OPEN, joined, _CLOSE, "")


def batch_json(table: pa.Table, size: int = BATCH_ROWS) -> pa.Array:
    """The batch texts of `table`'s rows: `join_batches(row_json(table), size)`, rendered a
    batch at a time, each row with its separator, so the batch is one slice of the rendered
    bytes (no second pass over the rows to join them).

    >>> batch_json(pa.table({"a": [1, 2, 3]}), 2).to_pylist()
    ['[\\n{"a":1},\\n{"a":2}\\n]', '[\\n{"a":3}\\n]']
    """
    texts: list[pa.Array] = []
    for start in range(0, table.num_rows, size):
        rows = row_texts(table.slice(start, size), _SEP)
        bounds = np.frombuffer(rows.buffers()[1], dtype=np.int32)
        first, last = int(bounds[rows.offset]), int(bounds[rows.offset + len(rows)])
        span = pa.py_buffer(np.array([first, last - len(_SEP)], dtype=np.int32))
        body = pa.Array.from_buffers(pa.string(), 1, [None, span, rows.buffers()[2]])
        texts.append(pc.binary_join_element_wise(_OPEN, body, _CLOSE, ""))
    if not texts:
        return pa.array([], pa.string())
    return pa.concat_arrays(texts)


def split_batch(text: str) -> list[str]:
    """A batch text's rows, as the exact canonical JSON texts that were joined.

    >>> split_batch('[\\n{"a":"x,y"},\\n{"a":2}\\n]')
    ['{"a":"x,y"}', '{"a":2}']
    """
    return text[len(_OPEN) : -len(_CLOSE)].split(_SEP)


def batch_rows(
    row_key: str, before: str | None, after: str | None
) -> Iterator[tuple[str, str | None, str | None]]:
    """Each row of a batch entry as (row key, before, after), in the batch's order."""
    keys = split_batch(row_key)
    befores: list[str | None] = [*split_batch(before)] if before else [None] * len(keys)
    afters: list[str | None] = [*split_batch(after)] if after else [None] * len(keys)
    return zip(keys, befores, afters, strict=True)


def batch_entries(log: Table) -> ColumnElement[bool]:
    """The condition on `audit_log` that selects batch entries of patient data (the only
    entries of a patient table without a patient_id)."""
    # a list of literals, not an expanding parameter rendered again at every execution
    return log.c.patient_id.is_(None) & log.c.table_name.not_in(
        [literal(name) for name in _NOT_PATIENT_DATA]
    )


def batch_patients(row_keys: Iterable[str]) -> set[str]:
    """The patients whose rows batch entries wrote, from the entries' `row_key`s.

    >>> sorted(batch_patients(['[\\n{"patient_id":"B"},\\n{"patient_id":"A"}\\n]']))
    ['A', 'B']
    """
    return {str(json.loads(key)["patient_id"]) for text in row_keys for key in split_batch(text)}


def expand(entries: list[dict[str, Any]], needle: str | None = None) -> list[dict[str, Any]]:
    """Stored entries (dicts of the audit columns) with each batch entry replaced by one
    entry per row: its key, patient, before and after, the batch's seq, who, when and why.

    `needle` (`"patient_id":` and the id as JSON) keeps only that patient's rows of a batch;
    canonical JSON makes the match exact (never a prefix of another id).
    """
    out: list[dict[str, Any]] = []
    for entry in entries:
        if not is_batch(entry["row_key"]):
            out.append(entry)
            continue
        for key, before, after in batch_rows(entry["row_key"], entry["before"], entry["after"]):
            if needle is None or needle in key:
                patient = json.loads(key).get("patient_id")
                row = {"row_key": key, "patient_id": patient, "before": before, "after": after}
                out.append(entry | row)
    return out
