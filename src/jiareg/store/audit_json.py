"""Canonical JSON of rows, as the audit trail stores and hashes them (vectorised with pyarrow).

A row is a JSON object with the table's columns in template order, no blanks, strings as JSON
string literals (`"`, `\\`, line feed, carriage return and tab escaped), numbers as Arrow's
shortest round-trip text, flags as `true`/`false`, missing values as `null`. The bytes matter:
the audit chain's MACs cover them and `audit_replay` re-renders the stored rows to compare,
so every writer and the replay use these functions (re-exported by `jiareg.store.audit`).

`row_texts` renders a slice of rows with a suffix after each row; `array_texts` renders each
row as a JSON array of the same value texts, without the column names (the batch writer,
`audit_batch.batch_json`, lays out a batch entry with them without joining the rows again).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["array_texts", "json_text", "row_json", "row_texts"]

_ESCAPES: Final = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_ESCAPED_BYTES: Final = tuple(old.encode() for old, _ in _ESCAPES)


def _may_need_escape(s: pa.Array) -> bool:
    """Whether any character `json_text` escapes occurs in the array's text bytes (those
    between its first and last offset: a slice of a batch reads only its own rows)."""
    offsets, data = s.buffers()[1], s.buffers()[2]
    if data is None or offsets is None or len(s) == 0:
        return False
    bounds = np.frombuffer(offsets, dtype=np.int32)
    first, last = int(bounds[s.offset]), int(bounds[s.offset + len(s)])
    raw = data.slice(first, last - first).to_pybytes()
    return any(needle in raw for needle in _ESCAPED_BYTES)


def json_text(values: pa.Array) -> pa.Array:
    """Each string as a JSON string literal (null -> `null`), vectorised.

    >>> json_text(pa.array(['a"b', None, "c\\\\d", "e\\tf"])).to_pylist()
    ['"a\\\\"b"', 'null', '"c\\\\\\\\d"', '"e\\\\tf"']
    """
    s = values.cast(pa.string())
    if _may_need_escape(s):
        for old, new in _ESCAPES:
            s = pc.replace_substring(s, old, new)
    quoted = pc.binary_join_element_wise('"', s, '"', "")
    return pc.fill_null(quoted, "null")


def _json_values(col: pa.Array) -> pa.Array:
    if pa.types.is_boolean(col.type):
        out = pc.if_else(col, "true", "false")
    elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        out = col.cast(pa.string())
    else:
        return json_text(col)
    return pc.fill_null(out, "null")


def row_texts(table: pa.Table, suffix: str = "") -> pa.Array:
    """Each row's canonical JSON object followed by `suffix` (rows must be > 0).

    >>> t = pa.table({"id": ["P1", "P2"], "esr": [4.2, None]})
    >>> row_texts(t, ",\\n").to_pylist()
    ['{"id":"P1","esr":4.2},\\n', '{"id":"P2","esr":null},\\n']
    """
    prefixes = [
        ("{" if i == 0 else ",") + f'"{name}":' for i, name in enumerate(table.column_names)
    ]
    return _joined(table, prefixes, "}" + suffix)


def array_texts(table: pa.Table, suffix: str = "") -> pa.Array:
    """Each row's canonical value texts (those of `row_texts`) as a JSON array, followed by
    `suffix` (rows must be > 0).

    >>> t = pa.table({"id": ["P1", "P2"], "esr": [4.2, None]})
    >>> array_texts(t, ",\\n").to_pylist()
    ['["P1",4.2],\\n', '["P2",null],\\n']
    """
    return _joined(table, ["[" if i == 0 else "," for i in range(table.num_columns)], "]" + suffix)


def _joined(table: pa.Table, prefixes: list[str], end: str) -> pa.Array:
    parts: list[pa.Array | str] = []
    for i, prefix in enumerate(prefixes):
        col = table.column(i).combine_chunks()
        # a column of nulls is `null` in every row: joined as a constant, without the
        # kernels of its type (most of a form's row; the first column stays an array, so
        # the join gives one text per row)
        empty = i > 0 and col.null_count == len(col)
        parts += [prefix, "null" if empty else _json_values(col)]
    out: pa.Array = pc.binary_join_element_wise(*parts, end, "")
    return out


def row_json(table: pa.Table) -> pa.Array:
    """Each row as a canonical JSON object (template column order, shortest numbers).

    >>> t = pa.table({"id": ["P1"], "esr": [4.2], "n": pa.array([None], pa.int64())})
    >>> row_json(t).to_pylist()
    ['{"id":"P1","esr":4.2,"n":null}']
    """
    if table.num_rows == 0:
        return pa.array([], pa.string())
    return row_texts(table)
