"""Read the registry tables into Arrow with the Contract 2 types (same names as the template).

Types: dates -> date32, numbers -> float64, counts -> int64, flags -> bool, text -> string.
Rows come ordered by the table's natural key, so two snapshots of the same data are equal.
"""

from __future__ import annotations

import io
from typing import Final

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Boolean, Connection, Date, Double, Integer, Table
from sqlalchemy.types import TypeEngine

from jiareg.store.bulk import paused_gc
from jiareg.store.engine import get_engine, require_initialised
from jiareg.store.models import CLINICAL_TABLES

__all__ = ["TABLE_NAMES", "arrow_schema", "read_table", "read_tables"]

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


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of one template table (template column order; every field nullable,
    so tables from the registry, an import and a form concatenate without casts).

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
        rows = conn.exec_driver_sql(sql).fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema.names]
        del rows
        arrays = [
            pa.array(list(values)).cast(field.type)
            for values, field in zip(columns, schema, strict=True)
        ]
    return pa.Table.from_arrays(arrays, schema=schema)


def read_tables(url: str | None = None) -> dict[str, pa.Table]:
    """Every template table of the registry at `url` (SQLite or PostgreSQL) as Arrow.

    The keys are the template table names, patients first; one consistent read transaction.
    """
    with get_engine(url).connect() as conn:
        require_initialised(conn)
        return {name: read_table(conn, name) for name in TABLE_NAMES}
