"""Stage Arrow tables for SQLite to copy itself: ADBC binds the columns in C.

Python's `sqlite3` binds every value of an `executemany` as a Python object (200k visits are
4.6M values: 1.1-1.6 s CPU), while SQLite copies the same rows from another table in about
0.3 s. So `jiareg.store.bulk` writes a large table in two steps:

1. ADBC's SQLite driver (`adbc-driver-sqlite`: binds Arrow columns in C) writes the tables
   into a *private staging file*: a new file in a fresh temporary directory (under TMPDIR),
   columns without a declared type (each value is stored as bound), no journal. The ADBC
   connection is then closed.
2. The file's bytes are read and the directory deleted (also on error). The registry's own
   connection (Python's `sqlite3`, inside the caller's one transaction) attaches an empty
   in-memory schema and `deserialize`s the bytes into it; the caller then copies with
   `INSERT ... SELECT` or `UPDATE ... FROM`, so the registry is written by one library, in one
   transaction, and a failure or a kill leaves nothing of the import in it.

SAFETY. ADBC's driver links its own SQLite library. Two SQLite libraries in one process must
NEVER have the same database file open at once: POSIX advisory locks belong to the process,
so when one library closes its descriptor of a file the other library's locks on it are
dropped too, and another writer can then corrupt the file. Here ADBC only ever opens the
private staging file, which nothing else knows of, and closes it before its bytes are read;
`sqlite3` never opens that file (it gets the bytes); ADBC never opens the registry.

A staged schema cannot be detached in the transaction that read it (SQLite: "database is
locked"), so it stays attached, holding its copy in memory, until the connection goes back
to the pool, where `_detach_staged` (a pool `checkin` listener) detaches it. SQLite allows 10
attached schemas per connection: `stage` returns None when none is left, and the caller then
binds the rows itself.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
from sqlalchemy import Connection, event

from jiareg.errors import StoreError

__all__ = ["stage"]

_STAGED: Final = "jiareg_staged"
"""Key, in the pooled connection's `info`, of the names of the schemas staged on it."""
_PREFIX: Final = "jiareg_stage_"


def _detach_staged(dbapi_connection: Any, record: Any) -> None:
    """Pool `checkin`: detach the schemas staged on this connection (its transaction has
    ended: the pool rolled back whatever was left open), freeing their memory."""
    names = record.info.pop(_STAGED, [])
    if dbapi_connection is None:  # invalidated: closed, its schemas with it
        return
    for name in names:
        dbapi_connection.execute(f"DETACH {name}")


def _attached(raw: sqlite3.Connection) -> list[str]:
    """The schemas attached to `raw` (not main or temp)."""
    return [r[1] for r in raw.execute("PRAGMA database_list") if r[1] not in ("main", "temp")]


def _execute(adbc: Any, connection: Any, sql: str) -> None:
    with adbc.AdbcStatement(connection) as statement:
        statement.set_sql_query(sql)
        statement.execute_update()


def _staging_bytes(conn: Connection, tables: Mapping[str, pa.Table]) -> bytes:
    """The tables written by ADBC into a private staging file; the file's bytes.

    ADBC's low-level API: its DB-API module imports pandas, polars and pyarrow.dataset
    (0.6-0.8 s CPU on a process's first large write).
    """
    import adbc_driver_manager as adbc  # only large writes need ADBC
    import adbc_driver_sqlite

    q = conn.dialect.identifier_preparer.quote
    try:
        with tempfile.TemporaryDirectory(prefix="jiareg-stage-") as tmp:
            path = Path(tmp) / "stage.db"
            with (
                adbc_driver_sqlite.connect(str(path)) as database,
                adbc.AdbcConnection(database) as connection,  # autocommit
            ):
                _execute(adbc, connection, "PRAGMA journal_mode = OFF")  # scratch: no journal
                _execute(adbc, connection, "PRAGMA synchronous = OFF")
                for name, table in tables.items():
                    columns = ", ".join(map(q, table.column_names))
                    _execute(adbc, connection, f"CREATE TABLE {q(name)} ({columns})")
                    with adbc.AdbcStatement(connection) as statement:
                        statement.set_options(
                            **{
                                adbc.INGEST_OPTION_TARGET_TABLE: name,
                                adbc.INGEST_OPTION_MODE: adbc.INGEST_OPTION_MODE_APPEND,
                            }
                        )
                        statement.bind_stream(table)  # the Arrow C stream: no Python values
                        statement.execute_update()
            return path.read_bytes()
    except (adbc.Error, OSError) as e:
        raise StoreError(
            f"could not stage the rows to write in the temporary folder "
            f"{tempfile.gettempdir()} (set TMPDIR to a writable folder with room): {e}"
        ) from e


def stage(conn: Connection, tables: Mapping[str, pa.Table]) -> str | None:
    """Attach `tables` to `conn`'s SQLite connection as one in-memory schema; its name.

    Each value is stored as ADBC binds it (int64 -> INTEGER, float64 -> REAL, bool -> 0/1,
    string -> TEXT, null -> NULL; other types: convert them first, as `bulk` does dates),
    which is what `sqlite3` binds for the same Python values: a copy into the registry then
    stores the same values with the same types as an `executemany` would. None when the
    connection has no attach slot left (the caller binds the rows itself).
    """
    raw: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
    attached = _attached(raw)
    if len(attached) >= raw.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED):
        return None
    engine = conn.engine
    if not event.contains(engine, "checkin", _detach_staged):
        event.listen(engine, "checkin", _detach_staged)
    data = _staging_bytes(conn, tables)
    staged: list[str] = conn.connection.info.setdefault(_STAGED, [])
    name = next(
        f"{_PREFIX}{i}" for i in range(len(attached) + 1) if f"{_PREFIX}{i}" not in attached
    )
    raw.execute(f"ATTACH ':memory:' AS {name}")
    staged.append(name)
    raw.deserialize(data, name=name)
    return name
