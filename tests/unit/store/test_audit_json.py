"""The audit's canonical JSON: the batch writer's one-pass layout gives the very bytes of
rendering each row and joining them (the MAC chain and the replay depend on those bytes)."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from jiareg.store.audit import json_text, row_json
from jiareg.store.audit_batch import batch_json, join_batches, split_batch


def _table(n: int) -> pa.Table:
    texts = ["plain", 'quote "x"', "back\\slash", "line\nfeed", "cr\rtab\t", "é ü 中", None]
    return pa.table(
        {
            "patient_id": [f"P{i:05d}" for i in range(n)],
            "visit_date": pa.array(
                [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(n)], pa.date32()
            ),
            "note": [texts[i % len(texts)] for i in range(n)],
            "esr": [None if i % 5 == 0 else i / 7 for i in range(n)],
            "joints": pa.array([None if i % 3 == 0 else i for i in range(n)], pa.int64()),
            "fever": [None if i % 4 == 0 else i % 2 == 0 for i in range(n)],
        }
    )


@pytest.mark.parametrize(("rows", "size"), [(1, 3), (3, 3), (7, 3), (100, 7), (250, 250)])
def test_batches_are_the_rows_joined(rows: int, size: int) -> None:
    table = _table(rows)
    expected = join_batches(row_json(table), size).to_pylist()
    assert batch_json(table, size).to_pylist() == expected
    assert [r for text in expected for r in split_batch(text)] == row_json(table).to_pylist()


def test_a_slice_of_a_table_renders_only_its_rows() -> None:
    table = _table(50)
    part = table.slice(13, 20)
    assert batch_json(part, 8).to_pylist() == join_batches(row_json(part), 8).to_pylist()


def test_rows_are_valid_json_with_every_escape() -> None:
    table = _table(14)
    for text, row in zip(row_json(table).to_pylist(), table.to_pylist(), strict=True):
        parsed = json.loads(text)
        assert parsed["note"] == row["note"] and parsed["esr"] == row["esr"]
        assert "\n" not in text and "\r" not in text and "\t" not in text


def test_json_text_escapes_only_when_needed() -> None:
    plain = pa.array(["a", None, "b c"])
    assert json_text(plain).to_pylist() == ['"a"', "null", '"b c"']
    tricky = pa.array(['a"', "\\", "\t\r\n"])
    assert json_text(tricky).to_pylist() == ['"a\\""', '"\\\\"', '"\\t\\r\\n"']
    # slices: only their own rows' bytes are looked at, and the text is right either way
    sliced = pa.array(['x"', "y", "z"]).slice(1, 2)
    assert json_text(sliced).to_pylist() == ['"y"', '"z"']
    assert json_text(pa.array(["a", 'b"', "c"]).slice(1, 1)).to_pylist() == ['"b\\""']
    assert json_text(pa.array(["a", 'b"']).slice(2, 0)).to_pylist() == []
