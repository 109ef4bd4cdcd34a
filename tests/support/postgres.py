"""Test databases on the PostgreSQL server of JIAREG_TEST_PG (default
postgresql://postgres@127.0.0.1:5432/postgres): each created with a unique name, so xdist
workers and parallel runs never share one. Drops run on a background thread: a DROP DATABASE
waits for the server's checkpoint (0.2-1 s of wall time, little CPU) and no test needs to
wait for it; `wait_for_drops` (pytest_sessionfinish in tests/conftest.py, and at exit) waits
for every queued drop."""

from __future__ import annotations

import atexit
import os
import queue
import threading
import uuid

PG_ADMIN_URL = os.environ.get("JIAREG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy form (postgresql+psycopg://) of a postgresql:// URL."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def create_database(template: str | None = None) -> str:
    """A new database (a copy of database `template` if given); its postgresql:// URL.

    Its commits do not wait for the WAL to reach the disk (`synchronous_commit off`, for this
    throwaway database only): a commit is still atomic and seen by every other connection at
    once; only a crash of the server itself, which no test makes, could lose the last ones."""
    import psycopg

    name = f"jiareg_test_{uuid.uuid4().hex[:12]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{clause}')
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit TO off')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_database(url: str) -> None:
    """Drop the database of `url` (either URL form), closing its connections, on the
    background thread (started by the first drop; see `wait_for_drops`)."""
    global _dropper
    with _dropper_lock:
        if _dropper is None:
            _dropper = threading.Thread(target=_drop_queued, name="drop-databases", daemon=True)
            _dropper.start()
        _queued.put(url.rsplit("/", 1)[1])


_queued: queue.SimpleQueue[str | None] = queue.SimpleQueue()
_failed: list[str] = []
_dropper: threading.Thread | None = None
_dropper_lock = threading.Lock()


def _drop_queued() -> None:
    import psycopg

    while (name := _queued.get()) is not None:
        try:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception as exc:  # reported at exit: no test is waiting for this drop
            _failed.append(f"{name}: {exc}")


def wait_for_drops() -> None:
    """Wait for every queued drop (a later drop starts the thread again); say which failed."""
    global _dropper
    with _dropper_lock:
        if _dropper is not None:
            _queued.put(None)
            _dropper.join()
            _dropper = None
    if _failed:
        failed = "; ".join(_failed)
        _failed.clear()
        raise RuntimeError(f"test databases not dropped: {failed}")


atexit.register(wait_for_drops)  # for a process that is not a pytest session
