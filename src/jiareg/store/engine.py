"""Registry URL -> SQLAlchemy Engine (`get_engine` for writers, `read_engine` for the web
app's reads), and `init_db` (create or migrate with Alembic).

URLs: `sqlite:///path.db` (embedded, the default `sqlite:///jiareg.db`, or env `JIAREG_DB`)
and `postgresql://user@host/db` (psycopg 3 is used; `postgresql+psycopg://` works too).

Writers serialise on the registry: SQLite transactions start with `BEGIN IMMEDIATE` (the
write lock is taken at the start, so a read-then-write never loses an update); PostgreSQL
writers take a transaction-scoped advisory lock (`write_lock`).
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from jiareg.errors import StoreError
from jiareg.store.audit_key import ensure_key

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "DEFAULT_URL",
    "default_url",
    "deidentification_key",
    "driver_row",
    "get_engine",
    "init_db",
    "lock_registry",
    "normalise_url",
    "read_engine",
    "require_initialised",
    "use_wal",
    "write_lock",
]

DEFAULT_URL: Final = "sqlite:///jiareg.db"
_MIGRATIONS = Path(__file__).parent / "migrations"
_WRITE_LOCK_KEY: Final = 7_301_2011  # any constant; names the registry's writer lock on PostgreSQL
_DEID_KEY: Final = "deidentification_key"


def default_url() -> str:
    """The registry URL when none is given: env `JIAREG_DB`, else `sqlite:///jiareg.db`."""
    return os.environ.get("JIAREG_DB") or DEFAULT_URL


def normalise_url(url: str | None) -> str:
    """The SQLAlchemy URL for a registry URL (psycopg 3 driver for PostgreSQL).

    >>> normalise_url("postgresql://postgres@127.0.0.1/reg")
    'postgresql+psycopg://postgres@127.0.0.1/reg'
    >>> normalise_url("sqlite:///x.db")
    'sqlite:///x.db'
    """
    url = url or default_url()
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    backend = url.split(":", 1)[0].split("+", 1)[0]
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"registry URL {url!r}: expected sqlite:///FILE or postgresql://...")
    return url


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 60000")
    cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB page cache for bulk loads
    cursor.execute("PRAGMA temp_store = MEMORY")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


@cache
def get_engine(url: str | None = None) -> Engine:
    """One pooled Engine per registry URL (SQLite pragmas and BEGIN IMMEDIATE set up)."""
    sa_url = normalise_url(url)
    if sa_url.startswith("sqlite"):
        engine = create_engine(sa_url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(sa_url, pool_pre_ping=True)
    return engine


_POOL_SIZE: Final = 40
"""As many kept connections as request threads (anyio's default 40): a busy server reuses
them instead of opening, setting up and closing an overflow connection per request."""


def _read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 60000")
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()


@cache
def read_engine(url: str) -> Engine:
    """An engine for reads only: the web app's.

    On SQLite the store's engine starts every transaction with `BEGIN IMMEDIATE` (writers
    queue up instead of losing updates), which would also queue every page view behind every
    other one; the web app therefore reads through this read-only engine (plain deferred
    transactions, `PRAGMA query_only`), and writes only through the services.

    On PostgreSQL it is a pool of `_POOL_SIZE` read-only autocommit connections: a page
    view's reads are single statements (each sees what was committed when it started, as
    in a READ COMMITTED transaction), and autocommit spares the BEGIN and ROLLBACK round
    trips of a transaction per read, as the pool's pre-ping is spared (the store's engine
    keeps it). After a database restart the first read of each kept connection fails once
    (a 500) and the pool is renewed.
    """
    sa_url = normalise_url(url)
    if not sa_url.startswith("sqlite"):
        pg = create_engine(
            sa_url,
            isolation_level="AUTOCOMMIT",
            pool_size=_POOL_SIZE,
            max_overflow=10,
            pool_recycle=3600,
            # the session refuses writes, like SQLite's query_only
            connect_args={"options": "-c default_transaction_read_only=on"},
        )
        return pg
    in_memory = make_url(sa_url).database in (None, "", ":memory:")  # one shared connection
    pool: dict[str, Any] = {} if in_memory else {"pool_size": _POOL_SIZE, "max_overflow": 10}
    engine = create_engine(sa_url, connect_args={"timeout": 60, "check_same_thread": False}, **pool)
    event.listen(engine, "connect", _read_only)
    return engine


def driver_row(engine: Engine, sql: str, params: Mapping[str, object]) -> tuple[Any, ...] | None:
    """The first row of `sql` (`:name` parameters, SQL both databases read alike) run on the
    driver's own connection from `engine`'s pool: plain driver values, no SQLAlchemy
    statement, result or events. On PostgreSQL SQLAlchemy's execution costs as much CPU as a
    primary-key read itself; this is for the one read every web request makes."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(_driver_sql(sql, engine.dialect.name), params)
            row = cursor.fetchone()
        finally:
            cursor.close()
    except Exception:
        raw.invalidate()  # e.g. the server restarted: the pool connects anew next time
        raise
    finally:
        raw.close()
    return None if row is None else tuple(row)


@cache
def _driver_sql(sql: str, dialect: str) -> str:
    """`sql` in the driver's parameter style (psycopg: `%(name)s`; sqlite3 reads `:name`).

    >>> _driver_sql("SELECT a FROM t WHERE b = :b", "postgresql")
    'SELECT a FROM t WHERE b = %(b)s'
    """
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql) if dialect == "postgresql" else sql


def use_wal(url: str | None = None) -> str:
    """Put a SQLite registry file in write-ahead-log mode; returns the journal mode.

    In WAL mode readers never wait for the writer's commit, nor the writer for readers,
    which a server with many concurrent page views needs (in the default rollback mode a
    commit waits for every reader, and new readers wait for the commit, sleeping in
    SQLite's busy handler). The mode is stored in the file, so later connections use it
    too; commits stay fully synchronous. While connections are open the latest
    transactions live in `FILE-wal`: copy a registry with `sqlite3 .backup`, not `cp`.
    PostgreSQL, or a file another process holds locked: the mode is left as it is.
    """
    engine = get_engine(url)
    if engine.dialect.name != "sqlite":
        return "postgresql"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            return str(cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError:  # locked by another process: keep its mode
            return str(cursor.execute("PRAGMA journal_mode").fetchone()[0])
        finally:
            cursor.close()
    finally:
        raw.close()


def write_lock(conn: Connection) -> None:
    """Serialise writers for the rest of this transaction.

    SQLite already holds the write lock (BEGIN IMMEDIATE); PostgreSQL takes a
    transaction-scoped advisory lock, so imports, web writes and audit appends queue up
    instead of interleaving their hash chains.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _WRITE_LOCK_KEY})


_LOCK_AND_CHECK: Final = text(
    "SELECT pg_advisory_xact_lock(:k), to_regclass('alembic_version') IS NOT NULL"
)


def lock_registry(conn: Connection) -> None:
    """`write_lock`, then `require_initialised`: on PostgreSQL one statement, so a writer
    waits one round trip fewer inside the lock (and spares the catalog query of SQLAlchemy's
    inspector)."""
    if conn.dialect.name != "postgresql":
        write_lock(conn)
        require_initialised(conn)
    elif not conn.execute(_LOCK_AND_CHECK, {"k": _WRITE_LOCK_KEY}).one()[1]:
        raise _not_initialised(conn)


def _alembic_config(conn: Connection) -> Config:
    # Alembic is imported only to migrate (~0.2 s of start-up that every command paid).
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def init_db(url: str | None = None) -> str:
    """Create the registry or migrate it to the newest schema; returns the Alembic revision.

    Idempotent: running it on an up-to-date registry changes nothing. A new registry gets
    its audit key (`jiareg.store.audit_key.ensure_key`).
    """
    from alembic import command

    engine = get_engine(url)
    if engine.dialect.name == "sqlite":
        database = make_url(normalise_url(url)).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    with engine.begin() as conn:
        write_lock(conn)
        command.upgrade(_alembic_config(conn), "head")
        ensure_key(conn)
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        if _setting(conn, _DEID_KEY) is None:
            conn.execute(
                text("INSERT INTO settings (name, value) VALUES (:n, :v)"),
                {"n": _DEID_KEY, "v": secrets.token_hex(32)},
            )
    return str(revision)


def _setting(conn: Connection, name: str) -> str | None:
    value = conn.execute(text("SELECT value FROM settings WHERE name = :n"), {"n": name}).scalar()
    return None if value is None else str(value)


def deidentification_key(url: str | None = None) -> bytes:
    """The registry's secret for pseudonyms and date shifts (made by `init_db`)."""
    with get_engine(url).connect() as conn:
        require_initialised(conn)
        value = _setting(conn, _DEID_KEY)
    if value is None:
        raise StoreError("the registry has no de-identification key; run `jiareg init`")
    return bytes.fromhex(value)


def require_initialised(conn: Connection) -> None:
    """StoreError (with the fix) when the database has no registry schema yet."""
    if not inspect(conn).has_table("alembic_version"):
        raise _not_initialised(conn)


def _not_initialised(conn: Connection) -> StoreError:
    return StoreError(
        f"{conn.engine.url.render_as_string(hide_password=True)} is not a jiareg registry "
        "yet; run `jiareg init --db URL` first"
    )
