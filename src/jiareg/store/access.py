"""Access events: who read what, logged in, logged out or failed to, when and from where.

Issue #12: record views, exports, study runs and every log-in, log-out and failed log-in
leave one row in `access_events` (UTC time, user, action, patient, detail, client address).
They are kept apart from the MAC-chained `audit_log` on purpose: the trail records changes,
and `jiareg audit verify` replays it to rebuild the data; a read changes nothing, so it has
nothing to replay, and a log-in per request burst would only lengthen the chain and serialise
readers behind the writers' lock. This module also reads the chained trail with filters
(`trail_entries`, read-only) for `jiareg audit log`.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, replace
from typing import Final

from sqlalchemy import Connection, Engine, TextClause, text

from jiareg.store.audit import AuditRecord, patient_history
from jiareg.store.audit_batch import expand
from jiareg.store.engine import get_engine, require_initialised

__all__ = [
    "ACCESS_ACTIONS",
    "AccessBuffer",
    "AccessRow",
    "Filters",
    "access_events",
    "record_access",
    "trail_entries",
]

ACCESS_ACTIONS: Final = frozenset(
    {
        "view_patient",
        "export",
        "study_run",
        "login",
        "login_failed",
        "logout",
        "totp_enrol",
        "totp_off",
    }
)
"""What an access event may say."""


@dataclass(frozen=True, slots=True)
class AccessRow:
    """One access event as stored."""

    id: int
    ts: str
    username: str
    action: str
    patient_id: str | None
    detail: str
    address: str


@dataclass(frozen=True, slots=True)
class Filters:
    """What `jiareg audit log` keeps: every given field must match (dates inclusive, UTC)."""

    patient_id: str | None = None
    username: str | None = None
    action: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def matches(self, record: AuditRecord) -> bool:
        """Whether a trail record passes the filters (the same rules as `where`)."""
        day = dt.date.fromisoformat(record.ts[:10])
        return (
            all(
                value is None or getattr(record, column) == value
                for column, value in (
                    ("patient_id", self.patient_id),
                    ("username", self.username),
                    ("action", self.action),
                )
            )
            and (self.since is None or day >= self.since)
            and (self.until is None or day <= self.until)
        )

    def where(self) -> tuple[str, dict[str, object]]:
        """The SQL WHERE clause (or "") and its parameters; `ts` is ISO text, so text order
        is time order."""
        terms: list[str] = []
        params: dict[str, object] = {}
        for column, value in (
            ("patient_id", self.patient_id),
            ("username", self.username),
            ("action", self.action),
        ):
            if value is not None:
                terms.append(f"{column} = :{column}")
                params[column] = value
        if self.since is not None:
            terms.append("ts >= :since")
            params["since"] = self.since.isoformat()
        if self.until is not None:
            terms.append("ts < :until")
            params["until"] = (self.until + dt.timedelta(days=1)).isoformat()
        return ("WHERE " + " AND ".join(terms) if terms else ""), params


def now_utc() -> str:
    """The current time as ISO text (UTC, seconds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _row(
    username: str, action: str, address: str, patient_id: str | None, detail: str
) -> dict[str, object]:
    if action not in ACCESS_ACTIONS:
        raise ValueError(f"unknown access action {action!r}")
    return {
        "ts": now_utc(),
        "u": username[:100],
        "a": action,
        "p": patient_id,
        "d": detail,
        "addr": address[:64],
    }


_INSERT: Final = text(
    "INSERT INTO access_events (ts, username, action, patient_id, detail, address) "
    "VALUES (:ts, :u, :a, :p, :d, :addr)"
)


class AccessBuffer:
    """Record views written in the background, a batch per transaction.

    A page view must not queue for the registry's single writer behind the saves (on SQLite
    one write transaction at a time), so the web app hands view events to this buffer: a
    thread writes what has gathered every `interval` seconds (or at once when `close` is
    called, as the app stops). The time of each event is taken when it happens. Sessions'
    last-seen times go the same way (`later`). The price:
    a worker killed outright (SIGKILL, power loss) loses the views of its last `interval`
    seconds; log-ins, exports and study runs are written at once, as before.
    """

    def __init__(self, writer: Engine, interval: float = 0.5) -> None:
        self._writer = writer
        self._interval = interval
        self._rows: list[dict[str, object]] = []
        self._later: dict[tuple[TextClause, str], dict[str, object]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="access-events", daemon=True)
        self._thread.start()

    def add(
        self,
        *,
        username: str,
        action: str,
        address: str,
        patient_id: str | None = None,
        detail: str = "",
    ) -> None:
        """Queue one access event (written within `interval` seconds)."""
        row = _row(username, action, address, patient_id, detail)
        with self._lock:
            self._rows.append(row)

    def later(self, statement: TextClause, key: str, params: dict[str, object]) -> None:
        """Queue a bookkeeping write (e.g. a session's last-seen time) for the next flush;
        a later call with the same statement and `key` replaces the queued parameters."""
        with self._lock:
            self._later[statement, key] = params

    def flush(self) -> None:
        """Write every queued event and bookkeeping write now, in one transaction."""
        with self._lock:
            rows, self._rows = self._rows, []
            later, self._later = self._later, {}
        if rows or later:
            with self._writer.begin() as conn:
                if rows:
                    conn.execute(_INSERT, rows)
                for (statement, _), params in later.items():
                    conn.execute(statement, params)

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        self._thread.join()
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()


def record_access(
    target: Engine | Connection,
    *,
    username: str,
    action: str,
    address: str,
    patient_id: str | None = None,
    detail: str = "",
) -> None:
    """Append one access event (its own transaction when given an Engine)."""
    row = _row(username, action, address, patient_id, detail)
    if isinstance(target, Engine):
        with target.begin() as conn:
            conn.execute(_INSERT, row)
    else:
        target.execute(_INSERT, row)


def access_events(url: str | None, filters: Filters) -> list[AccessRow]:
    """The access events that match, oldest first."""
    where, params = filters.where()
    with get_engine(url).connect() as conn:
        require_initialised(conn)
        rows = conn.execute(
            text(
                "SELECT id, ts, username, action, patient_id, detail, address "
                f"FROM access_events {where} ORDER BY id"
            ),
            params,
        ).all()
    return [AccessRow(*row) for row in rows]


def trail_entries(url: str | None, filters: Filters) -> list[AuditRecord]:
    """The chained trail's entries that match, oldest first, a batch entry (`audit_batch`)
    as one record per row (read only; the chain itself is checked by `jiareg audit verify`).
    A patient's records come from `patient_history`, which finds them inside batches too."""
    if filters.patient_id is not None:
        rest = replace(filters, patient_id=None)
        return [r for r in patient_history(url, filters.patient_id) if rest.matches(r)]
    where, params = filters.where()
    with get_engine(url).connect() as conn:
        require_initialised(conn)
        rows = conn.execute(
            text(
                "SELECT seq, ts, username, action, table_name, row_key, patient_id, before, "
                f"after, reason FROM audit_log {where} ORDER BY seq"
            ),
            params,
        ).all()
    return [AuditRecord(**entry) for entry in expand([dict(row._mapping) for row in rows])]
