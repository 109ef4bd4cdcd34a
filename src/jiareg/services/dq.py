"""Data-quality queries: a reviewer (or a rule) queries one stored value, the site answers,
the reviewer closes it (issue #13, the REDCap "data resolution" workflow).

- open: admins and data managers (at the patient's STORED site), or a rule of
  `jiareg.services.dq_rules` (opened by `rule:<name>`);
- answer: a clinician or data manager at the patient's site (admins too);
- close: the reviewer roles again (admin, or the site's data manager).

Every step writes one audit entry (table `dq_queries`, the query row before and after) in the
same transaction as the change, after the write lock. A query outside the user's site is
reported exactly like a missing one (`None`, a 404 on the web), as patients are.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

import pyarrow as pa
from sqlalchemy import Connection, insert, select, update

from jiareg.errors import AccessDenied, InputError, StoreError
from jiareg.formats.cells import table_text
from jiareg.formats.template.dictionary import TABLES, table
from jiareg.store.audit import append_entries, row_json
from jiareg.store.engine import get_engine, require_initialised, write_lock
from jiareg.store.models import DqQuery, Patient
from jiareg.store.tables import arrow_schema, read_rows
from jiareg.store.users import UserInfo, can, require

__all__ = [
    "STATUSES",
    "Query",
    "QueryNotFound",
    "answer_query",
    "close_query",
    "counts",
    "get_query",
    "list_queries",
    "open_locked",
    "open_query",
]

STATUSES: Final = ("open", "answered", "closed")
_REVIEWERS: Final = frozenset({"admin", "data_manager"})
_Q: Final = DqQuery.__table__
_P: Final = Patient.__table__
_MAX_TEXT: Final = 2000


class QueryNotFound(StoreError):
    """No query with this id that the user may see."""


@dataclass(frozen=True, slots=True)
class Query:
    """One data-quality query as stored, with the patient's site."""

    id: int
    patient_id: str
    site: str
    table_name: str
    record_key: str
    column_name: str
    value_shown: str | None
    text: str
    status: str
    opened_by: str
    opened_at: str
    answer: str | None
    answered_by: str | None
    answered_at: str | None
    closed_by: str | None
    closed_at: str | None

    @property
    def key(self) -> dict[str, Any]:
        """The record's natural key."""
        parsed: dict[str, Any] = json.loads(self.record_key)
        return parsed

    def as_dict(self) -> dict[str, Any]:
        """The query as JSON-ready values (the record key as an object)."""
        return {**asdict(self), "record_key": self.key}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _text(value: str, what: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InputError(f"{what}: expected some text")
    if len(cleaned) > _MAX_TEXT:
        raise InputError(f"{what}: expected at most {_MAX_TEXT} characters")
    return cleaned


def _audit(
    conn: Connection, username: str, reason: str, before: Query | None, after: Query
) -> None:
    def one(q: Query | None) -> pa.Array:
        if q is None:
            return pa.nulls(1, pa.string())
        row = {k: v for k, v in asdict(q).items() if k != "site"}
        types = {"id": pa.int64()}
        return row_json(
            pa.table({k: pa.array([v], types.get(k, pa.string())) for k, v in row.items()})
        )

    append_entries(
        conn,
        username=username,
        reason=reason,
        table_name="dq_queries",
        action="insert" if before is None else "update",
        row_key=row_json(pa.table({"id": pa.array([after.id], pa.int64())})),
        patient_id=pa.array([after.patient_id], pa.string()),
        before=one(before),
        after=one(after),
    )


def _select() -> Any:
    return select(_Q, _P.c.site).join(_P, _P.c.patient_id == _Q.c.patient_id)


def _fetch(conn: Connection, query_id: int) -> Query | None:
    row = conn.execute(_select().where(_Q.c.id == query_id)).mappings().first()
    return None if row is None else Query(**dict(row))


def _stored_value(
    conn: Connection, table_name: str, key: Mapping[str, object], column: str
) -> tuple[dict[str, Any], str | None]:
    """The record's key in template text and the column's value as the template shows it."""
    if table_name not in {t.name for t in TABLES}:
        raise InputError(f"unknown table {table_name!r}")
    spec = table(table_name)
    if column not in spec.names or column in spec.key:
        raise InputError(f"{table_name}: {column!r} is not a value column")
    schema = arrow_schema(table_name)
    try:
        typed = pa.table(
            {k: pa.array([str(key[k])], pa.string()).cast(schema.field(k).type) for k in spec.key}
        )
    except (KeyError, pa.ArrowInvalid) as exc:
        raise InputError(f"{table_name}: the record's key is {', '.join(spec.key)}") from exc
    found = read_rows(conn, table_name, typed)
    if found.num_rows != 1:
        raise QueryNotFound(f"{table_name}: no record {json.dumps(dict(key), default=str)}")
    (cells,) = table_text(found.select([*spec.key, column]))
    record_key = dict(zip(spec.key, cells[:-1], strict=True))
    return record_key, cells[-1] or None


def open_locked(
    conn: Connection,
    *,
    username: str,
    table_name: str,
    key: Mapping[str, object],
    column: str,
    text: str,
) -> Query | None:
    """Open a query inside the caller's write-locked transaction (no permission check: the
    caller has made one). Returns None when a query on the same value already exists."""
    record_key, value = _stored_value(conn, table_name, key, column)
    key_json = json.dumps(record_key, separators=(",", ":"))
    same = conn.execute(
        select(_Q.c.id).where(
            (_Q.c.table_name == table_name)
            & (_Q.c.record_key == key_json)
            & (_Q.c.column_name == column)
            & (_Q.c.value_shown.is_(None) if value is None else _Q.c.value_shown == value)
        )
    ).first()
    if same is not None:
        return None
    values = {
        "patient_id": record_key["patient_id"],
        "table_name": table_name,
        "record_key": key_json,
        "column_name": column,
        "value_shown": value,
        "text": _text(text, "query"),
        "status": "open",
        "opened_by": username,
        "opened_at": _now(),
    }
    new_id = conn.execute(insert(DqQuery).values(**values).returning(_Q.c.id)).scalar_one()
    query = _fetch(conn, int(new_id))
    assert query is not None
    _audit(conn, username, f"query opened: {query.text}", None, query)
    return query


def _site_of(conn: Connection, patient_id: str) -> str | None:
    return conn.execute(select(_P.c.site).where(_P.c.patient_id == patient_id)).scalar()


def open_query(
    db_url: str | None,
    *,
    user: UserInfo,
    table_name: str,
    key: Mapping[str, object],
    column: str,
    text: str,
) -> Query:
    """Open a query on the stored value `table_name`[`key`].`column`; audited.

    Reviewers only (admin, or the data manager of the patient's stored site). Raises
    `QueryNotFound` when the record does not exist or is outside the user's site, and
    `StoreError` when a query on the same value exists already.
    """
    with get_engine(db_url).begin() as conn:
        write_lock(conn)
        require_initialised(conn)
        site = _site_of(conn, str(key.get("patient_id")))
        if site is None or not can(user, "view_identified", site=site):
            raise QueryNotFound(f"{table_name}: no record {json.dumps(dict(key), default=str)}")
        if user.role not in _REVIEWERS:
            raise AccessDenied(f"user {user.username!r} ({user.role}) may not open queries")
        require(user, "fix", site=site)
        query = open_locked(
            conn, username=user.username, table_name=table_name, key=key, column=column, text=text
        )
    if query is None:
        raise StoreError(f"a query on {table_name}.{column} of this record with this value exists")
    return query


def _change(
    db_url: str | None, query_id: int, user: UserInfo, action: str, values: dict[str, Any]
) -> Query:
    with get_engine(db_url).begin() as conn:
        write_lock(conn)
        require_initialised(conn)
        before = _fetch(conn, query_id)
        if before is None or not can(user, "view_identified", site=before.site):
            raise QueryNotFound(f"no query {query_id}")
        if action == "answer":
            require(user, "enter", site=before.site)
            if before.status != "open":
                raise StoreError(
                    f"query {query_id} is {before.status}: only an open one is answered"
                )
        else:
            if user.role not in _REVIEWERS:
                raise AccessDenied(f"user {user.username!r} ({user.role}) may not close queries")
            require(user, "fix", site=before.site)
            if before.status == "closed":
                raise StoreError(f"query {query_id} is closed already")
        conn.execute(update(DqQuery).where(_Q.c.id == query_id).values(**values))
        after = _fetch(conn, query_id)
        assert after is not None
        reason = f"query answered: {after.answer}" if action == "answer" else "query closed"
        _audit(conn, user.username, reason, before, after)
    return after


def answer_query(db_url: str | None, query_id: int, *, user: UserInfo, answer: str) -> Query:
    """Answer an open query (a clinician or data manager at the patient's site); audited."""
    text = _text(answer, "answer")
    values = {"answer": text, "answered_by": user.username, "answered_at": _now()}
    return _change(db_url, query_id, user, "answer", {**values, "status": "answered"})


def close_query(db_url: str | None, query_id: int, *, user: UserInfo) -> Query:
    """Close a query (admin, or the data manager of the patient's site); audited."""
    values = {"status": "closed", "closed_by": user.username, "closed_at": _now()}
    return _change(db_url, query_id, user, "close", values)


def get_query(db_url: str | None, query_id: int, *, user: UserInfo) -> Query | None:
    """The query, or None when it does not exist or is outside the user's sites."""
    with get_engine(db_url).connect() as conn:
        require_initialised(conn)
        query = _fetch(conn, query_id)
    return query if query is not None and can(user, "view_identified", site=query.site) else None


def list_queries(
    db_url: str | None,
    *,
    user: UserInfo,
    status: str | None = None,
    patient_id: str | None = None,
) -> list[Query]:
    """The queries the user may see (admin: all; data manager, clinician: own site), newest
    first. Researchers see no queries (they quote identified values): AccessDenied."""
    if user.role == "researcher":
        raise AccessDenied(f"user {user.username!r} (researcher) may not read queries")
    if status is not None and status not in STATUSES:
        raise InputError(f"status: expected one of {', '.join(STATUSES)}")
    stmt = _select().order_by(_Q.c.id.desc())
    if user.role != "admin":
        stmt = stmt.where(_P.c.site == user.site)
    if status is not None:
        stmt = stmt.where(_Q.c.status == status)
    if patient_id is not None:
        stmt = stmt.where(_Q.c.patient_id == patient_id)
    with get_engine(db_url).connect() as conn:
        require_initialised(conn)
        return [Query(**dict(r)) for r in conn.execute(stmt).mappings()]


def counts(queries: Sequence[Query]) -> dict[str, int]:
    """The number of queries in each status (every status present, zero included)."""
    out = dict.fromkeys(STATUSES, 0)
    for q in queries:
        out[q.status] += 1
    return out
