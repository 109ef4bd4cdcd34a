"""The web app's calls into the services: log-in check and validated, audited writes (and
the audit-trail read, `jiareg.store.queries.audit_entries`).

Every write goes through the services (the same rules as an import); this module only
translates between the web's `Viewer` and their users, and queues writers.
"""

from __future__ import annotations

import threading
from typing import Any, Final

from jiareg.services import admin, records
from jiareg.store.queries import audit_entries
from jiareg.web.access import Viewer

__all__ = ["WRITERS", "audit_entries", "authenticate", "save_visit"]

WRITERS: Final = threading.BoundedSemaphore(2)
"""Writers queue here rather than in the database: the registry serialises writes anyway
(SQLite BEGIN IMMEDIATE, a PostgreSQL advisory lock), and a bounded number of waiting
writers keeps the connection pool free for readers and away from lock time-outs."""


def authenticate(db_url: str, username: str, password: str) -> Viewer | None:
    """The user with this username and password, or None (unknown user or wrong password)."""
    user = admin.authenticate(db_url, username, password)
    return None if user is None else Viewer.of(user)


def save_visit(
    db_url: str,
    who: Viewer,
    patient_id: str,
    visit: dict[str, Any],
    *,
    joint_exams: list[dict[str, Any]],
    chaq_items: list[dict[str, Any]],
    reason: str,
) -> tuple[str, ...]:
    """`jiareg.services.records.save_visit` as `who`, queued behind `WRITERS`."""
    with WRITERS:
        return records.save_visit(
            db_url,
            who.user,
            patient_id,
            visit,
            joint_exams=joint_exams,
            chaq_items=chaq_items,
            reason=reason,
        )
