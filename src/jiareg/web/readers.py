"""The engine the web app reads through.

On PostgreSQL it is the store's engine. On SQLite the store's engine starts every
transaction with `BEGIN IMMEDIATE` (writers queue up instead of losing updates), which would
also queue every page view behind every other one; the web app therefore reads through its
own read-only engine (plain deferred transactions, `PRAGMA query_only`), and writes only
through the store's functions.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from jiareg.store.engine import get_engine, normalise_url

__all__ = ["read_engine"]

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
    """An engine for reads only (see the module docstring)."""
    sa_url = normalise_url(url)
    if not sa_url.startswith("sqlite"):
        return get_engine(sa_url)
    in_memory = make_url(sa_url).database in (None, "", ":memory:")  # one shared connection
    pool: dict[str, Any] = {} if in_memory else {"pool_size": _POOL_SIZE, "max_overflow": 10}
    engine = create_engine(sa_url, connect_args={"timeout": 60, "check_same_thread": False}, **pool)
    event.listen(engine, "connect", _read_only)
    return engine
