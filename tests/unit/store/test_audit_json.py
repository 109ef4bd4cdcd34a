"""The audit's canonical JSON: a format-2 batch holds each row's very value texts, and reads
back as the exact canonical JSON object of each row (the MAC chain and the replay depend on
those bytes)."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from jiareg.errors import StoreError
from jiareg.store.audit import json_text, row_json
from jiareg.store.audit_batch import batch_json, split_batch


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
def test_batches_read_back_as_each_rows_canonical_json(rows: int, size: int) -> None:
    table = _table(rows)
    texts = batch_json(table, size).to_pylist()
    assert len(texts) == -(-rows // size)
    assert [r for text in texts for r in split_batch(text)] == row_json(table).to_pylist()
    names = table.column_names
    parsed = [row for text in texts for row in _loaded(text, names)]
    assert parsed == json.loads("[" + ",".join(row_json(table).to_pylist()) + "]")


def _loaded(text: str, names: list[str]) -> list[dict[str, object]]:
    """A format-2 batch is one JSON document: the column names once, then value arrays."""
    header, *rows = json.loads(text)
    assert header == names and text.startswith("[[") and text.count("\n") == len(rows)
    return [dict(zip(names, row, strict=True)) for row in rows]


def test_a_slice_of_a_table_renders_only_its_rows() -> None:
    table = _table(50)
    part = table.slice(13, 20)
    texts = batch_json(part, 8).to_pylist()
    assert [r for text in texts for r in split_batch(text)] == row_json(part).to_pylist()
    assert '"P00013"' in texts[0] and '"P00012"' not in texts[0]


def test_a_batch_names_its_columns_once() -> None:
    table = _table(100)
    text = batch_json(table, 100)[0].as_py()
    assert text.count('"visit_date"') == 1
    assert len(text) < sum(len(r) for r in row_json(table).to_pylist()) * 0.7


def test_a_row_that_is_not_canonical_json_is_refused() -> None:
    with pytest.raises(StoreError, match=r'not canonical JSON: \["P1",1,2\]'):
        split_batch('[["a","b"],\n["P0",1],\n["P1",1,2]]')


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
