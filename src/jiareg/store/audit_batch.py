"""Batch audit entries: one MAC-chained entry for up to `BATCH_ROWS` rows of one write.

An import writes hundreds of thousands of rows; one entry (and one HMAC) per row cost as much
as the rows themselves. A write of at least `BATCH_MIN` rows to one table is therefore audited
as batch entries: same columns, same chain, same action (`insert`, `update`), `patient_id`
null, and in `row_key`, `before` (updates) and `after` the rows' keys and contents, in the
same order. Two layouts exist; the first two characters tell them apart.

Format 2 (written since 2026-12): a JSON array whose first element is the column names and
each further element one row's canonical value texts (`audit_json.array_texts`: exactly the
texts of the row's canonical JSON object, without the names), one element per line:

    [["patient_id","visit_date"],
    ["P1","2020-01-01"],
    ["P1","2020-03-01"]]

Format 1 (registries written before; still read, never written): a JSON array of each row's
canonical JSON object (`audit.row_json`), one per line:

    [
    {"patient_id":"P1","visit_date":"2020-01-01"},
    {"patient_id":"P1","visit_date":"2020-03-01"}
    ]

Readers get each row of either format as its canonical JSON object (`split_batch`,
`batch_rows`, `expand`), byte for byte the text `row_json` renders for that row, so the
replay (`audit_replay`) compares the same bytes and the audit pages show the same rows. The
entry's MAC covers the stored text, so a direct edit of any data column is still detected.
Canonical value texts never hold a raw line break (`json_text` escapes it), so the rows are
split back exactly at `,\\n` without re-encoding a value. Every patient table's key starts
with `patient_id`, so a format-2 key row of patient P starts `["P",` or is `["P"]`
(`patient_needles`). Smaller writes (a form's records) keep one entry per row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import ColumnElement, Table, literal

from jiareg.errors import StoreError
from jiareg.store.audit_json import array_texts, json_text

__all__ = [
    "BATCH_MIN",
    "BATCH_ROWS",
    "as_object",
    "batch_afters",
    "batch_entries",
    "batch_json",
    "batch_patients",
    "batch_rows",
    "expand",
    "is_batch",
    "patient_needles",
    "split_batch",
]

BATCH_MIN: Final = 100
"""Writes of fewer rows to one table are audited one entry per row."""
BATCH_ROWS: Final = 20_000
"""At most this many rows per batch entry (bounds an entry's size, ~3 MB of JSON)."""
_SEP: Final = ",\n"
_V1_OPEN: Final = "[\n"
_V1_CLOSE: Final = "\n]"
_V2_OPEN: Final = "[["
_VALUE: Final = r'"(?:[^"\\]|\\.)*"|[^,"\[\]]+'
"""One canonical value text: a JSON string literal, or a number, `true`, `false`, `null`."""
_NOT_PATIENT_DATA: Final = ("events", "sites", "users")


def is_batch(row_key: str) -> bool:
    """Whether an entry's `row_key` is a batch's key array (a row's key is a JSON object).

    >>> is_batch('[["site"],\\n["A"]]'), is_batch('[\\n{"site":"A"}\\n]'), is_batch('{"site":"A"}')
    (True, True, False)
    """
    return row_key.startswith("[")


def batch_json(table: pa.Table, size: int = BATCH_ROWS) -> pa.Array:
    """The format-2 batch texts of `table`'s rows, `size` rows per text, rendered a batch at
    a time, each row with its separator, so the batch is one slice of the rendered bytes.

    >>> batch_json(pa.table({"a": [1, 2, 3], "b": ["x", None, "z"]}), 2).to_pylist()
    ['[["a","b"],\\n[1,"x"],\\n[2,null]]', '[["a","b"],\\n[3,"z"]]']
    """
    names = json_text(pa.array(table.column_names, pa.string())).to_pylist()
    header = "[[" + ",".join(names) + "]" + _SEP
    texts: list[pa.Array] = []
    for start in range(0, table.num_rows, size):
        rows = array_texts(table.slice(start, size), _SEP)
        bounds = np.frombuffer(rows.buffers()[1], dtype=np.int32)
        first, last = int(bounds[rows.offset]), int(bounds[rows.offset + len(rows)])
        span = pa.py_buffer(np.array([first, last - len(_SEP)], dtype=np.int32))
        body = pa.Array.from_buffers(pa.string(), 1, [None, span, rows.buffers()[2]])
        texts.append(pc.binary_join_element_wise(header, body, "]", ""))
    if not texts:
        return pa.array([], pa.string())
    return pa.concat_arrays(texts)


def _v2(text: str) -> tuple[list[str], list[str]]:
    """A format-2 batch text's column names and its row lines (each a JSON array)."""
    lines = text[1:-1].split(_SEP)
    return json.loads(lines[0]), lines[1:]


def _objects(names: list[str], lines: list[str]) -> list[str]:
    """Format-2 row lines as the canonical JSON objects `row_json` renders for those rows:
    the stored value texts, each after its column's name (no value is decoded)."""
    if not lines:
        return []
    groups = ",".join(f"(?P<c{i}>{_VALUE})" for i in range(len(names)))
    values = pc.extract_regex(pa.array(lines, pa.string()), rf"^\[{groups}\]$")
    if values.null_count:
        bad = lines[values.is_null().to_pylist().index(True)]
        raise StoreError(f"a batch audit entry holds a row that is not canonical JSON: {bad}")
    parts: list[pa.Array | str] = []
    for i, name in enumerate(names):
        parts += [("{" if i == 0 else ",") + f'"{name}":', values.field(f"c{i}")]
    objects: list[str] = pc.binary_join_element_wise(*parts, "}", "").to_pylist()
    return objects


def split_batch(text: str) -> list[str]:
    """A batch text's rows (either format), each as its canonical JSON object.

    >>> split_batch('[["a","b"],\\n["x,y",1.5],\\n[null,true]]')
    ['{"a":"x,y","b":1.5}', '{"a":null,"b":true}']
    >>> split_batch('[\\n{"a":"x,y"},\\n{"a":2}\\n]')
    ['{"a":"x,y"}', '{"a":2}']
    """
    if text.startswith(_V2_OPEN):
        return _objects(*_v2(text))
    return text[len(_V1_OPEN) : -len(_V1_CLOSE)].split(_SEP)


def batch_afters(row_key: str, after: str | None) -> Iterator[tuple[str, str | None]]:
    """Each row of a batch entry as (its key as canonical JSON object, its `after` as stored:
    a format-2 value array, or a format-1 object), for the replay, which renders the stored
    rows in the same form (converting only the short keys)."""
    if not row_key.startswith(_V2_OPEN):
        return ((k, a) for k, _, a in batch_rows(row_key, None, after))
    keys = _objects(*_v2(row_key))
    return zip(keys, _v2(after)[1] if after else [None] * len(keys), strict=True)


def as_object(names: Sequence[str], row: str) -> str:
    """A format-2 row (a value array) as its canonical JSON object.

    >>> as_object(["a", "b"], '["x,y",null]')
    '{"a":"x,y","b":null}'
    """
    return _objects(list(names), [row])[0]


def patient_needles(patient_id: str) -> tuple[str, ...]:
    """The texts of which a batch entry's `row_key` holds at least one exactly when it has a
    row of `patient_id`'s (canonical JSON: never a prefix of another id).

    >>> patient_needles("P1")
    ('"patient_id":"P1"', '\\n["P1",', '\\n["P1"]')
    """
    patient = _json_id(patient_id)
    return (f'"patient_id":{patient}', *(f"\n{head}" for head in _v2_heads(patient)))


def _json_id(patient_id: str) -> str:
    """The patient id as its canonical JSON text."""
    text: str = json_text(pa.array([patient_id], pa.string()))[0].as_py()
    return text


def _v2_heads(patient: str) -> tuple[str, str]:
    """How a format-2 key row of the patient (`patient`: the id's JSON text) starts
    (`patient_id` is first in every key)."""
    return f"[{patient},", f"[{patient}]"


def batch_rows(
    row_key: str, before: str | None, after: str | None, patient_id: str | None = None
) -> Iterator[tuple[str, str | None, str | None]]:
    """Each row of a batch entry as (row key, before, after) canonical JSON objects, in the
    batch's order; only `patient_id`'s rows when given."""
    if row_key.startswith(_V2_OPEN):
        names, keys = _v2(row_key)
        picked: Sequence[int] = range(len(keys))
        if patient_id is not None:
            heads = _v2_heads(_json_id(patient_id))
            picked = [i for i, line in enumerate(keys) if line.startswith(heads)]

        def rows(text: str | None) -> list[str | None]:
            if text is None:
                return [None] * len(picked)
            columns, lines = _v2(text)
            return [*_objects(columns, [lines[i] for i in picked])]

        return zip(
            _objects(names, [keys[i] for i in picked]), rows(before), rows(after), strict=True
        )
    v1_keys = split_batch(row_key)
    befores: list[str | None] = [*split_batch(before)] if before else [None] * len(v1_keys)
    afters: list[str | None] = [*split_batch(after)] if after else [None] * len(v1_keys)
    out = zip(v1_keys, befores, afters, strict=True)
    if patient_id is None:
        return out
    needle = patient_needles(patient_id)[0]
    return ((k, b, a) for k, b, a in out if needle in k)


def batch_entries(log: Table) -> ColumnElement[bool]:
    """The condition on `audit_log` that selects batch entries of patient data (the only
    entries of a patient table without a patient_id)."""
    # a list of literals, not an expanding parameter rendered again at every execution
    return log.c.patient_id.is_(None) & log.c.table_name.not_in(
        [literal(name) for name in _NOT_PATIENT_DATA]
    )


def _patients(text: str) -> set[str]:
    """The patient ids of a batch's key rows (either format)."""
    if text.startswith(_V2_OPEN):
        names, *rows = json.loads(text)
        column = names.index("patient_id")
        return {str(row[column]) for row in rows}
    return {str(json.loads(key)["patient_id"]) for key in split_batch(text)}


def batch_patients(row_keys: Iterable[str]) -> set[str]:
    """The patients whose rows batch entries wrote, from the entries' `row_key`s (either
    format).

    >>> sorted(batch_patients(['[\\n{"patient_id":"B"},\\n{"patient_id":"A"}\\n]']))
    ['A', 'B']
    """
    return {pid for text in row_keys for pid in _patients(text)}


def expand(entries: list[dict[str, Any]], patient_id: str | None = None) -> list[dict[str, Any]]:
    """Stored entries (dicts of the audit columns) with each batch entry replaced by one
    entry per row (only `patient_id`'s rows when given): its key, patient, before and after,
    the batch's seq, who, when and why."""
    out: list[dict[str, Any]] = []
    for entry in entries:
        if not is_batch(entry["row_key"]):
            out.append(entry)
            continue
        rows = batch_rows(entry["row_key"], entry["before"], entry["after"], patient_id)
        for key, before, after in rows:
            patient = json.loads(key).get("patient_id")
            row = {"row_key": key, "patient_id": patient, "before": before, "after": after}
            out.append(entry | row)
    return out
