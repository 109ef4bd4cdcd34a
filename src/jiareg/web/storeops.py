"""The web app's calls into the services: log-in check and validated, audited writes (and
the audit-trail read, `jiareg.store.queries.audit_entries`).

Every write goes through the services (the same rules as an import); this module only
translates between the web's `Viewer` and their users, and queues writers.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Final

from sqlalchemy.engine import make_url

from jiareg.services import admin, records
from jiareg.store.engine import normalise_url
from jiareg.store.queries import audit_entries
from jiareg.web.access import Viewer

__all__ = [
    "WRITERS",
    "add_record",
    "audit_entries",
    "authenticate",
    "delete_record",
    "update_record",
    "writer_turn",
]

WRITERS: Final = threading.BoundedSemaphore(2)
"""Writers queue here rather than in the database: the registry serialises writes anyway
(SQLite BEGIN IMMEDIATE, a PostgreSQL advisory lock), and a bounded number of waiting
writers keeps the connection pool free for readers and away from lock time-outs."""


@contextmanager
def writer_turn(db_url: str) -> Iterator[None]:
    """Wait for this process's turn (`WRITERS`), then, on a SQLite file, for the registry's
    writer across processes in the kernel (`flock` on FILE.writer): SQLite's own wait for
    its write lock polls, sleeping up to 100 ms between tries, so with several workers
    saving the lock would stand free while the next writer slept. The flock wakes the next
    writer as soon as the last one is done; SQLite's lock is still what protects the data
    (other writers, e.g. `jiareg import`, do not take the flock)."""
    with WRITERS:
        path = _sqlite_file(db_url)
        if path is None:
            yield
            return
        with open(f"{path}.writer", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


@cache
def _sqlite_file(db_url: str) -> str | None:
    url = make_url(normalise_url(db_url))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return str(url.database)


def authenticate(db_url: str, username: str, password: str) -> Viewer | None:
    """The user with this username and password, or None (unknown user or wrong password)."""
    user = admin.authenticate(db_url, username, password)
    return None if user is None else Viewer.of(user)


def add_record(
    db_url: str,
    who: Viewer,
    table_name: str,
    values: Mapping[str, object],
    *,
    reason: str,
    children: Sequence[tuple[str, Mapping[str, object]]] = (),
) -> records.RecordChange:
    """`jiareg.services.records.add_record` as `who`; prepared before, then written in its
    `writer_turn`."""
    return records.add_record(
        db_url,
        table_name,
        values,
        user=who.user,
        reason=reason,
        children=children,
        turn=lambda: writer_turn(db_url),
    )


def update_record(
    db_url: str,
    who: Viewer,
    table_name: str,
    key: Mapping[str, object],
    values: Mapping[str, object],
    *,
    version: str,
    reason: str,
    children: Sequence[tuple[str, Mapping[str, object]]] | None = None,
) -> records.RecordChange:
    """`jiareg.services.records.update_record` as `who`; prepared before, then written in
    its `writer_turn`."""
    return records.update_record(
        db_url,
        table_name,
        key,
        values,
        version=version,
        user=who.user,
        reason=reason,
        children=children,
        turn=lambda: writer_turn(db_url),
    )


def delete_record(
    db_url: str,
    who: Viewer,
    table_name: str,
    key: Mapping[str, object],
    *,
    version: str,
    reason: str,
) -> bool:
    """`jiareg.services.records.delete_record` as `who`, in its `writer_turn`."""
    return records.delete_record(
        db_url,
        table_name,
        key,
        user=who.user,
        reason=reason,
        version=version,
        turn=lambda: writer_turn(db_url),
    )
