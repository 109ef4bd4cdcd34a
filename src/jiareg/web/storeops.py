"""The web app's calls into the services: log-in check and validated, audited writes (and
the audit-trail read, `jiareg.store.queries.audit_entries`).

Every write goes through the services (the same rules as an import); this module only
translates between the web's `Viewer` and their users, and queues writers.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Final

from jiareg.services import admin, records
from jiareg.store.queries import audit_entries
from jiareg.web.access import Viewer

__all__ = [
    "WRITERS",
    "add_record",
    "audit_entries",
    "authenticate",
    "delete_record",
    "update_record",
]

WRITERS: Final = threading.BoundedSemaphore(2)
"""Writers queue here rather than in the database: the registry serialises writes anyway
(SQLite BEGIN IMMEDIATE, a PostgreSQL advisory lock), and a bounded number of waiting
writers keeps the connection pool free for readers and away from lock time-outs."""


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
    """`jiareg.services.records.add_record` as `who`, queued behind `WRITERS`."""
    with WRITERS:
        return records.add_record(
            db_url, table_name, values, user=who.user, reason=reason, children=children
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
    """`jiareg.services.records.update_record` as `who`, queued behind `WRITERS`."""
    with WRITERS:
        return records.update_record(
            db_url,
            table_name,
            key,
            values,
            version=version,
            user=who.user,
            reason=reason,
            children=children,
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
    """`jiareg.services.records.delete_record` as `who`, queued behind `WRITERS`."""
    with WRITERS:
        return records.delete_record(
            db_url, table_name, key, user=who.user, reason=reason, version=version
        )
