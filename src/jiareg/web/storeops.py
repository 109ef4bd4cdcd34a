"""The web app's calls into the store: log-in check, validated audited writes, audit reads.

Every write goes through the store's own validation and audit functions (the same rules as
an import); this module only translates between the web's `Viewer` and the store's API.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Final

from sqlalchemy import Engine, select

from jiareg.services.records import save_records
from jiareg.store import users
from jiareg.store.models import AuditEntry
from jiareg.web.access import Viewer

__all__ = ["WRITERS", "audit_entries", "authenticate", "save_visit"]

WRITERS: Final = threading.BoundedSemaphore(2)
"""Writers queue here rather than in the database: the registry serialises writes anyway
(SQLite BEGIN IMMEDIATE, a PostgreSQL advisory lock), and a bounded number of waiting
writers keeps the connection pool free for readers and away from lock time-outs."""


def authenticate(db_url: str, username: str, password: str) -> Viewer | None:
    """The user with this username and password, or None (unknown user or wrong password)."""
    user = users.authenticate(db_url, username, password)
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
    """Validate and write one visit with its joints and CHAQ items as `who`, in one
    transaction; audited.

    The records go through `jiareg.services.imports.save_records` (the import's rules and
    the store's permission check): any invalid record raises `ImportErrors` and nothing,
    not even the visit, is written. Returns the non-blocking warnings.
    """
    records = _visit_records(patient_id, visit, visit.get("visit_date"), joint_exams, chaq_items)
    with WRITERS:
        summary = save_records(db_url, records, user=who.user, reason=reason)
    return summary.warnings


def _visit_records(
    patient_id: str,
    visit: dict[str, Any],
    visit_date: object,
    joint_exams: list[dict[str, Any]],
    chaq_items: list[dict[str, Any]],
) -> list[tuple[str, dict[str, Any]]]:
    records = [("visits", {**visit, "patient_id": patient_id})]
    records += [
        ("joint_exams", {**j, "patient_id": patient_id, "visit_date": visit_date})
        for j in joint_exams
    ]
    records += [
        ("chaq_items", {**c, "patient_id": patient_id, "visit_date": visit_date})
        for c in chaq_items
    ]
    return records


def audit_entries(engine: Engine, *, patient_id: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest audit-trail entries (optionally of one patient), newest first."""
    log = AuditEntry.__table__
    stmt = select(log).order_by(log.c.seq.desc()).limit(limit)
    if patient_id is not None:
        stmt = stmt.where(log.c.patient_id == patient_id)
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [
        {
            "seq": r["seq"],
            "ts": r["ts"],
            "username": r["username"],
            "action": r["action"],
            "table": r["table_name"],
            "row_key": r["row_key"],
            "patient_id": r["patient_id"],
            "before": json.loads(r["before"]) if r["before"] else None,
            "after": json.loads(r["after"]) if r["after"] else None,
            "reason": r["reason"],
        }
        for r in rows
    ]
