"""Bulk writes of Arrow tables: SQLite `executemany` and PostgreSQL `COPY`, inside the caller's
transaction (the caller commits or rolls back the whole import)."""

from __future__ import annotations

import gc
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection

__all__ = ["bulk_delete", "bulk_insert", "bulk_update", "inserting", "paused_gc"]

_FEW = 100
"""PostgreSQL: up to this many rows are inserted as parameters, more by COPY."""


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cycle collector while millions of row tuples are made and dropped.

    Row tuples are containers, so every 700 allocations trigger a collection that walks the
    growing heap; a 200k-row fetch or executemany spends most of its time there otherwise.
    Reference counting still frees everything; the collector runs again afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _q(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _python_rows(table: pa.Table, *, dates_as_text: bool = True) -> list[tuple[object, ...]]:
    """Rows as tuples of driver-ready values (dates as ISO text for SQLite)."""
    return list(_row_iter(table, dates_as_text=dates_as_text))


def _row_iter(table: pa.Table, *, dates_as_text: bool = True) -> Iterator[tuple[object, ...]]:
    columns = []
    for col in table.columns:
        if dates_as_text and pa.types.is_date(col.type):
            col = col.cast(pa.string())
        columns.append(col.to_pylist())
    return zip(*columns, strict=True)


def _sqlite_executemany(conn: Connection, sql: str, table: pa.Table) -> None:
    """executemany straight on the sqlite3 cursor, streaming the rows (no list of tuples)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with paused_gc():
            cursor.executemany(sql, _row_iter(table))
    finally:
        cursor.close()


def _csv_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


def _copy_in(conn: Connection, name: str, table: pa.Table) -> None:
    _copier(conn, name, table)()


def _copier(conn: Connection, name: str, table: pa.Table) -> Callable[[], None]:
    """The COPY of `table` into `name`, on the connection's psycopg connection only (so a
    worker thread can run it while the caller's thread leaves the connection alone)."""
    cols = ", ".join(_q(conn, c) for c in table.column_names)
    raw = conn.connection.driver_connection
    sql = f"COPY {_q(conn, name)} ({cols}) FROM STDIN (FORMAT csv)"

    def copy_in() -> None:
        with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
            copy.write(_csv_bytes(table))

    return copy_in


@contextmanager
def inserting(conn: Connection, name: str, table: pa.Table) -> Iterator[None]:
    """`bulk_insert(conn, name, table)` overlapping the block, which must not use `conn`.

    On PostgreSQL a COPY runs in a worker thread while the block runs: the server parses,
    checks (foreign keys) and indexes the rows while this process renders (psycopg and
    Arrow's CSV writer release the GIL). The COPY has ended when the block exits; its error,
    if any, is raised then (a block's own error wins; the COPY is waited for either way).
    Elsewhere, and for a few rows, the insert runs before the block.
    """
    if conn.dialect.name != "postgresql" or table.num_rows <= _FEW:
        bulk_insert(conn, name, table)
        yield
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jiareg-copy") as pool:
        copying = pool.submit(_copier(conn, name, table))
        yield
        copying.result()


def _sqlite_literal(value: str) -> str:
    """A SQLite string literal.

    >>> _sqlite_literal("it's")
    "'it''s'"
    """
    return "'" + value.replace("\x00", "").replace("'", "''") + "'"


def _pg_insert(conn: Connection, name: str, table: pa.Table) -> None:
    """COPY, or for a few rows (batch audit entries of megabytes each) an INSERT whose
    values are bound as parameters: the server stores them without parsing them as CSV."""
    if table.num_rows > _FEW:
        _copy_in(conn, name, table)
        return
    cols = ", ".join(_q(conn, c) for c in table.column_names)
    marks = ", ".join(["%s"] * table.num_columns)
    sql = f"INSERT INTO {_q(conn, name)} ({cols}) VALUES ({marks})"
    conn.exec_driver_sql(sql, _python_rows(table, dates_as_text=False))


def bulk_insert(
    conn: Connection, name: str, table: pa.Table, constants: Mapping[str, str] | None = None
) -> None:
    """Insert every row of `table` (columns named as in the SQL table) into `name`.

    `constants` are extra columns with the same text in every row (written once into the
    statement on SQLite, so they are not bound again for each row).
    """
    if table.num_rows == 0:
        return
    constants = constants or {}
    if conn.dialect.name == "postgresql":
        for column, value in constants.items():
            table = table.append_column(column, pa.array([value] * table.num_rows, pa.string()))
        _pg_insert(conn, name, table)
        return
    names = [*table.column_names, *constants]
    cols = ", ".join(_q(conn, c) for c in names)
    marks = ["?"] * table.num_columns + [_sqlite_literal(v) for v in constants.values()]
    sql = f"INSERT INTO {_q(conn, name)} ({cols}) VALUES ({', '.join(marks)})"
    _sqlite_executemany(conn, sql, table)


def bulk_update(conn: Connection, name: str, table: pa.Table, key: Sequence[str]) -> None:
    """Set the non-key columns of the rows of `name` whose `key` matches a row of `table`."""
    if table.num_rows == 0:
        return
    values = [c for c in table.column_names if c not in key]
    if conn.dialect.name == "postgresql":
        tmp = f"_jiareg_upd_{name}"
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE {tmp} AS SELECT * FROM {_q(conn, name)} WITH NO DATA"
        )
        _copy_in(conn, tmp, table)
        sets = ", ".join(f"{_q(conn, c)} = u.{_q(conn, c)}" for c in values)
        match = " AND ".join(f"t.{_q(conn, k)} = u.{_q(conn, k)}" for k in key)
        conn.exec_driver_sql(
            f"UPDATE {_q(conn, name)} AS t SET {sets} FROM {tmp} AS u WHERE {match}"
        )
        conn.exec_driver_sql(f"DROP TABLE {tmp}")
        return
    sets = ", ".join(f"{_q(conn, c)} = ?" for c in values)
    match = " AND ".join(f"{_q(conn, k)} = ?" for k in key)
    ordered = table.select([*values, *key])
    _sqlite_executemany(conn, f"UPDATE {_q(conn, name)} SET {sets} WHERE {match}", ordered)


def bulk_delete(conn: Connection, name: str, keys: pa.Table) -> None:
    """Delete the rows of `name` whose key (the columns of `keys`) matches a row of `keys`."""
    if keys.num_rows == 0:
        return
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    match = " AND ".join(f"{_q(conn, k)} = {mark}" for k in keys.column_names)
    rows = _python_rows(keys, dates_as_text=conn.dialect.name == "sqlite")
    conn.exec_driver_sql(f"DELETE FROM {_q(conn, name)} WHERE {match}", rows)
