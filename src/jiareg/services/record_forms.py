"""A form's values as the import's cells: text cells in the template's columns, merged into
the stored row of the same natural key, so a form's record is validated exactly like an
imported row (`jiareg.services.records`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection

from jiareg.errors import InputError
from jiareg.formats.cells import RawTable, text_cells
from jiareg.formats.template.dictionary import TemplateTable
from jiareg.store.tables import arrow_schema, read_rows

__all__ = ["cell_text", "find_row", "form_cells", "form_table", "stored_rows", "typed_key"]


def cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def typed_key(spec: TemplateTable, cells: Mapping[str, str | None]) -> dict[str, object] | None:
    """The record's natural key in its stored types, or None when a key cell is missing or
    not of its type (no stored row can match; validation reports the cell)."""
    schema = arrow_schema(spec.name)
    key: dict[str, object] = {}
    for k in spec.key:
        text = cells[k]
        if text is None:
            return None
        try:
            key[k] = pa.array([text], pa.string()).cast(schema.field(k).type)[0].as_py()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return key


def stored_rows(
    conn: Connection, spec: TemplateTable, cells: Sequence[Mapping[str, str | None]]
) -> pa.Table:
    """The stored rows of `spec` with the natural keys of `cells`, read by key."""
    schema = arrow_schema(spec.name)
    keys = [k for k in (typed_key(spec, c) for c in cells) if k is not None]
    key_schema = pa.schema([schema.field(k) for k in spec.key])
    return read_rows(conn, spec.name, pa.Table.from_pylist(keys, schema=key_schema))


def find_row(spec: TemplateTable, cells: Mapping[str, str | None], existing: pa.Table) -> pa.Table:
    """The stored row(s) whose natural key equals the key cells (compared as template text)."""
    mask = pa.array([True] * existing.num_rows, pa.bool_())
    for k in spec.key:
        col = existing.column(k).cast(pa.string())
        mask = pc.and_(mask, pc.fill_null(pc.equal(col, cells[k] or ""), False))
    return existing.filter(mask)


def form_cells(spec: TemplateTable, values: Mapping[str, object]) -> dict[str, str | None]:
    """A form record's cells as template text (key cells trimmed, as validation reads them)."""
    unknown = sorted(set(values) - set(spec.names))
    if unknown:
        raise InputError(
            f"{spec.name}: unknown field(s) {', '.join(unknown)}; expected " + ", ".join(spec.names)
        )
    cells = {n: cell_text(values.get(n)) for n in spec.names}
    for k in spec.key:
        cells[k] = text_cells(pa.array([cells[k]], pa.string()))[0].as_py()
    return cells


def form_table(
    spec: TemplateTable,
    records: Sequence[Mapping[str, object]],
    cells: Sequence[dict[str, str | None]],
    existing: pa.Table,
) -> RawTable:
    """The records (with their `_form_cells`) as one raw table, row i = record i, each
    merged into its stored row: fields not given keep their stored value."""
    rows = []
    for values, given in zip(records, cells, strict=True):
        current = find_row(spec, given, existing)
        if current.num_rows == 1:
            stored = current.to_pylist()[0]
            given = {n: given[n] if n in values else cell_text(stored[n]) for n in spec.names}
        rows.append(given)
    # every cell trimmed by one call, then cut into columns (`text_cells` is per cell; a
    # call per column cost a save about 1 ms of Arrow call overhead)
    trimmed = text_cells(pa.array([r[n] for n in spec.names for r in rows], pa.string()))
    size = len(rows)
    data = pa.Table.from_arrays(
        [trimmed.slice(i * size, size) for i in range(len(spec.names))], names=list(spec.names)
    )
    numbers = pa.array(range(1, len(rows) + 1), pa.int64())
    return RawTable(spec, f"{spec.name} form", data, numbers)
