"""Bulk writes of Arrow tables inside the caller's transaction (the caller commits or rolls
back the whole import): on PostgreSQL `COPY`; on SQLite, a large write is staged by ADBC and
copied by SQLite itself (`jiareg.store.sqlite_stage`: the values bound in C), a small one
(`_STAGE_MIN`) bound by `executemany`. Both store the same values with the same types.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Final, TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection

from jiareg.store.sqlite_stage import stage

_T = TypeVar("_T")

__all__ = ["bulk_delete", "bulk_insert", "bulk_update", "bulk_upsert", "paused_gc", "upserting"]

_FEW = 100
"""A few rows: up to this many, PostgreSQL inserts them as parameters (more by COPY), and
`upserting` writes them without a worker thread (a form's save)."""
_COPY_CHUNK: Final = 10_000
"""PostgreSQL: rows per chunk of a COPY (a 200k-visit import sends 20 chunks of ~1 MB)."""
_STAGE_MIN: Final = 5_000
"""SQLite: a write of this many values (rows × columns) or more is staged (`sqlite_stage`),
a smaller one bound by `executemany` (a form's save). Staging costs about 1 ms CPU whatever
the size and then binds each value several times cheaper; measured, the two cost the same
at about 4,600 values (visits, 23 columns) to 8,000 (administrations, 5 columns)."""


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


def _sqlite_values(table: pa.Table) -> pa.Table:
    """`table` with its dates as ISO text, as SQLite stores them."""
    columns = [c.cast(pa.string()) if pa.types.is_date(c.type) else c for c in table.columns]
    return pa.Table.from_arrays(columns, names=table.column_names)


def _python_rows(table: pa.Table, *, dates_as_text: bool = True) -> list[tuple[object, ...]]:
    """Rows as tuples of driver-ready values (dates as ISO text for SQLite)."""
    return list(_row_iter(table, dates_as_text=dates_as_text))


def _row_iter(table: pa.Table, *, dates_as_text: bool = True) -> Iterator[tuple[object, ...]]:
    if dates_as_text:
        table = _sqlite_values(table)
    return zip(*(c.to_pylist() for c in table.columns), strict=True)


def _sqlite_executemany(conn: Connection, sql: str, table: pa.Table) -> None:
    """executemany straight on the sqlite3 cursor, streaming the rows (no list of tuples)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with paused_gc():
            cursor.executemany(sql, _row_iter(table))
    finally:
        cursor.close()


def _csv_chunks(table: pa.Table) -> Iterator[bytes]:
    """`table` as CSV without a header, `_COPY_CHUNK` rows at a time."""
    options = pacsv.WriteOptions(include_header=False)
    for batch in table.to_batches(max_chunksize=_COPY_CHUNK):
        sink = io.BytesIO()
        pacsv.write_csv(batch, sink, write_options=options)
        yield sink.getvalue()


def _copy_in(conn: Connection, name: str, table: pa.Table) -> None:
    """COPY `table` into `name`, sent a chunk at a time: the server parses, checks and
    stores each chunk while this process writes the next."""
    cols = ", ".join(_q(conn, c) for c in table.column_names)
    raw = conn.connection.driver_connection
    sql = f"COPY {_q(conn, name)} ({cols}) FROM STDIN (FORMAT csv)"
    with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
        for chunk in _csv_chunks(table):
            copy.write(chunk)


def upserting(
    conn: Connection,
    name: str,
    new: pa.Table,
    changed: pa.Table,
    key: Sequence[str],
    beside: Callable[[], _T],
) -> _T:
    """`bulk_upsert(conn, name, new, changed, key)` while `beside()` runs in a worker thread
    (it must not use `conn`); `beside`'s result.

    The caller's thread writes (it owns the connection: SQLite's may not leave its thread)
    while the worker renders, e.g. the upsert's audit entries: SQLite's statements, ADBC's
    staging, psycopg's COPY and Arrow's kernels release the GIL, so the two share the cores.
    Both have ended when this returns; the write's error wins over `beside`'s (the
    transaction is rolled back by its owner either way). For a few rows there is no thread:
    `beside` runs after the write.
    """
    if new.num_rows + changed.num_rows <= _FEW:
        bulk_upsert(conn, name, new, changed, key)
        return beside()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jiareg-render") as pool:
        rendering = pool.submit(beside)
        bulk_upsert(conn, name, new, changed, key)
        return rendering.result()


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


def _staged(conn: Connection, tables: dict[str, pa.Table], staged: bool | None) -> str | None:
    """The schema the non-empty `tables` were staged into (`sqlite_stage.stage`), or None to
    bind them with `executemany`: `staged` True / False forces the choice (while the
    connection has an attach slot left), None decides by `_STAGE_MIN`."""
    tables = {k: t for k, t in tables.items() if t.num_rows}
    if staged is None:
        staged = sum(t.num_rows * t.num_columns for t in tables.values()) >= _STAGE_MIN
    if not staged or not tables:
        return None  # bound instead: `_row_iter` converts the dates itself
    return stage(conn, {k: _sqlite_values(t) for k, t in tables.items()})


def _insert_sql(
    conn: Connection, name: str, columns: list[str], constants: Mapping[str, str]
) -> tuple[str, list[str]]:
    """SQLite: `INSERT INTO name (columns, constants)` and the constants' literals."""
    cols = ", ".join(_q(conn, c) for c in [*columns, *constants])
    literals = [_sqlite_literal(v) for v in constants.values()]
    return f"INSERT INTO main.{_q(conn, name)} ({cols})", literals


def _copy_staged(
    conn: Connection, name: str, schema: str, columns: list[str], constants: Mapping[str, str]
) -> None:
    """SQLite: insert the staged table `ins` into `name`."""
    into, literals = _insert_sql(conn, name, columns, constants)
    values = ", ".join([*(f"s.{_q(conn, c)}" for c in columns), *literals])
    conn.exec_driver_sql(f"{into} SELECT {values} FROM {schema}.ins AS s")


def bulk_insert(
    conn: Connection,
    name: str,
    table: pa.Table,
    constants: Mapping[str, str] | None = None,
    *,
    staged: bool | None = None,
) -> None:
    """Insert every row of `table` (columns named as in the SQL table) into `name`.

    `constants` are extra columns with the same text in every row (written once into the
    statement on SQLite, so they are not bound again for each row). SQLite: `staged` forces
    staging (True) or `executemany` (False); None chooses by size.
    """
    if table.num_rows == 0:
        return
    constants = constants or {}
    if conn.dialect.name == "postgresql":
        for column, value in constants.items():
            table = table.append_column(column, pa.array([value] * table.num_rows, pa.string()))
        _pg_insert(conn, name, table)
        return
    schema = _staged(conn, {"ins": table}, staged)
    if schema is not None:
        _copy_staged(conn, name, schema, table.column_names, constants)
        return
    into, literals = _insert_sql(conn, name, table.column_names, constants)
    marks = ", ".join(["?"] * table.num_columns + literals)
    _sqlite_executemany(conn, f"{into} VALUES ({marks})", table)


def _update_from(
    conn: Connection, target: str, source: str, columns: Sequence[str], key: Sequence[str]
) -> None:
    """Set the non-key `columns` of the rows of `target` from the rows of the table `source`
    with the same `key` (`UPDATE ... FROM`: PostgreSQL, and SQLite 3.33+)."""
    sets = ", ".join(f"{_q(conn, c)} = u.{_q(conn, c)}" for c in columns if c not in key)
    match = " AND ".join(f"t.{_q(conn, k)} = u.{_q(conn, k)}" for k in key)
    conn.exec_driver_sql(f"UPDATE {target} AS t SET {sets} FROM {source} AS u WHERE {match}")


def bulk_upsert(
    conn: Connection,
    name: str,
    new: pa.Table,
    changed: pa.Table,
    key: Sequence[str],
    *,
    staged: bool | None = None,
) -> None:
    """Insert the rows of `new` into `name`, then set the non-key columns of the rows of
    `name` whose `key` matches a row of `changed` (SQLite: both staged in one schema, or
    both bound; `staged` as for `bulk_insert`)."""
    if conn.dialect.name == "sqlite":
        schema = _staged(conn, {"ins": new, "upd": changed}, staged)
        if schema is not None:
            if new.num_rows:
                _copy_staged(conn, name, schema, new.column_names, {})
            if changed.num_rows:
                _update_from(
                    conn, f"main.{_q(conn, name)}", f"{schema}.upd", changed.column_names, key
                )
            return
    bulk_insert(conn, name, new, staged=False)
    bulk_update(conn, name, changed, key)


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
        _update_from(conn, _q(conn, name), tmp, table.column_names, key)
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
