"""Read the registry tables into Arrow with the Contract 2 types (same names as the template).

Types: dates -> date32, numbers -> float64, counts -> int64, flags -> bool, text -> string.
Rows come ordered by the table's natural key, so two reads of the same data are equal.
`read_table` reads a whole table (imports, exports); `read_rows` only the rows with given
natural keys (single-record writes, whose cost must not grow with the registry).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from typing import Any, Final

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    Double,
    Integer,
    Select,
    Table,
    bindparam,
    select,
    tuple_,
)
from sqlalchemy.types import TypeEngine

from jiareg.store.bulk import paused_gc
from jiareg.store.engine import get_engine, require_initialised
from jiareg.store.models import CLINICAL_TABLES

__all__ = ["TABLE_NAMES", "arrow_schema", "read_rows", "read_table", "read_tables"]

_KEYS_PER_QUERY: Final = 500
"""Keys bound in one query (4 key columns x 500 stays far below SQLite's 32,766 variables)."""
TABLE_NAMES: Final[tuple[str, ...]] = tuple(m.__tablename__ for m in CLINICAL_TABLES)
"""The template tables, patients first."""


def _tables() -> dict[str, Table]:
    return {m.__tablename__: m.__table__ for m in CLINICAL_TABLES}  # type: ignore[misc]


def _arrow_type(sql_type: TypeEngine[object]) -> pa.DataType:
    if isinstance(sql_type, Date):
        return pa.date32()
    if isinstance(sql_type, Double):
        return pa.float64()
    if isinstance(sql_type, Integer):
        return pa.int64()
    if isinstance(sql_type, Boolean):
        return pa.bool_()
    return pa.string()


@cache
def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of one template table (template column order; every field nullable,
    so tables from the registry, an import and a form concatenate without casts). Built
    once per table (a schema is immutable; a web save asks for it a dozen times).

    >>> arrow_schema("administrations").types
    [DataType(string), DataType(string), DataType(date32[day]), DataType(double), DataType(double)]
    """
    cols = _tables()[table].columns
    return pa.schema([pa.field(c.name, _arrow_type(c.type)) for c in cols])


def _select_sql(conn: Connection, table: str) -> str:
    t = _tables()[table]
    q = conn.dialect.identifier_preparer.quote
    cols = ", ".join(q(c.name) for c in t.columns)
    order = ", ".join(q(c.name) for c in t.primary_key.columns)
    return f"SELECT {cols} FROM {q(table)} ORDER BY {order}"


def read_table(conn: Connection, table: str) -> pa.Table:
    """One template table as Arrow, read inside `conn`'s transaction."""
    schema = arrow_schema(table)
    sql = _select_sql(conn, table)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        buf = io.BytesIO()
        with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:  # type: ignore[union-attr]
            for chunk in copy:
                buf.write(chunk)
        buf.seek(0)
        if buf.getbuffer().nbytes == 0:
            return schema.empty_table()
        return pacsv.read_csv(
            buf,
            read_options=pacsv.ReadOptions(column_names=schema.names),
            convert_options=pacsv.ConvertOptions(
                column_types=schema,
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        ).cast(schema)
    with paused_gc():
        return _from_rows(conn.exec_driver_sql(sql).fetchall(), schema)


@cache
def _empty(schema: pa.Schema) -> pa.Table:
    """`schema.empty_table()`, made once per schema: it costs ~0.2 ms of CPU, and a save of
    a new record reads its stored row (none) twice. Arrow tables are immutable."""
    return schema.empty_table()


def _from_rows(rows: Sequence[Sequence[object]], schema: pa.Schema) -> pa.Table:
    """Driver rows (dates as date objects or ISO text) as an Arrow table of `schema`."""
    if not rows:  # e.g. a new record's stored row: no column to convert
        return _empty(schema)
    columns = list(zip(*rows, strict=True))
    arrays = [
        pa.array(list(values)).cast(field.type)
        for values, field in zip(columns, schema, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def read_rows(conn: Connection, table: str, keys: pa.Table) -> pa.Table:
    """The rows of one template table whose natural key is a row of `keys`, as Arrow.

    `keys` has the table's primary-key columns (Contract 2 types). One parameterised
    `WHERE (k1, k2, ...) IN (...)` per `_KEYS_PER_QUERY` keys, so the database reads just
    those rows through the primary-key index, whatever the table's size. Rows come ordered
    by the natural key, like `read_table`.
    """
    wanted = sorted(set(zip(*keys.to_pydict().values(), strict=True)), key=repr)
    stmt = _by_keys(table, tuple(keys.column_names))
    rows: list[Sequence[object]] = []
    for start in range(0, len(wanted), _KEYS_PER_QUERY):
        rows += conn.execute(stmt, {"keys": wanted[start : start + _KEYS_PER_QUERY]}).all()
    table_ = _from_rows(rows, arrow_schema(table))
    if table_.num_rows < 2:  # already in order (a save's read of one key; sort_by: ~0.1 ms)
        return table_
    return table_.sort_by([(c, "ascending") for c in keys.column_names])


@cache
def _by_keys(table: str, names: tuple[str, ...]) -> Select[Any]:
    """`read_rows`'s statement, built once per table and key columns (the keys are bound)."""
    t = _tables()[table]
    keys = tuple_(*(t.c[name] for name in names))
    return select(*t.columns).where(keys.in_(bindparam("keys", expanding=True)))


def read_tables(url: str | None = None) -> dict[str, pa.Table]:
    """Every template table of the registry at `url` (SQLite or PostgreSQL) as Arrow.

    The keys are the template table names, patients first; one consistent read transaction.
    """
    with get_engine(url).connect() as conn:
        require_initialised(conn)
        return {name: read_table(conn, name) for name in TABLE_NAMES}
