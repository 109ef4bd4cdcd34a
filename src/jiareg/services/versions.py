"""Record versions for optimistic concurrency, and the refusals of a form's write.

A record's `version` is a digest of its stored values (a visit's includes its joint exams
and CHAQ items): the web app hands it out with each record, an edit or a deletion sends it
back, and a record whose stored values no longer give that digest has been changed by
someone else since the user read it (`StaleRecord`, answered 409 with both versions). A
digest needs no extra column and no migration, and an edit that changes nothing keeps it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import pyarrow as pa
from sqlalchemy import Connection, select

from jiareg.errors import StoreError
from jiareg.store.load import delete_rows
from jiareg.store.models import Base

__all__ = [
    "VISIT_CHILDREN",
    "RecordExists",
    "RecordNotFound",
    "StaleRecord",
    "check_version",
    "delete_children",
    "record_version",
    "visit_children",
]

VISIT_CHILDREN: Final = ("joint_exams", "chaq_items")
"""The tables whose rows belong to one visit (same patient_id and visit_date)."""
_CHILD_KEYS: Final = {"joint_exams": ("joint", "side"), "chaq_items": ("item",)}


class RecordExists(StoreError):
    """A new record's key is already stored (nothing was written)."""

    def __init__(self, table_name: str, key: Mapping[str, object]) -> None:
        super().__init__(f"{table_name}: a record with {_shown(key)} exists already")
        self.table = table_name
        self.key = dict(key)


class RecordNotFound(StoreError):
    """No stored record has the key."""

    def __init__(self, table_name: str, key: Mapping[str, object]) -> None:
        super().__init__(f"{table_name}: no record with {_shown(key)}")
        self.table = table_name
        self.key = dict(key)


class StaleRecord(StoreError):
    """The record changed since the user read it: `given` is the version the user had,
    `current` the stored one, `record` the stored values (nothing was written)."""

    def __init__(
        self, table_name: str, given: str, current: str, record: Mapping[str, object]
    ) -> None:
        super().__init__(
            f"{table_name}: the record was changed by someone else since you opened it "
            f"(your version {given}, now {current}); nothing was saved"
        )
        self.table = table_name
        self.given = given
        self.current = current
        self.record = dict(record)


def _shown(key: Mapping[str, object]) -> str:
    return ", ".join(f"{k} {v}" for k, v in key.items())


def _text(value: object) -> str | None:
    """A stored value as text, the same whichever reader gave it (numbers as floats)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return repr(float(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def record_version(row: Mapping[str, object], children: Iterable[Mapping[str, object]] = ()) -> str:
    """A 16-hex-digit digest of a stored record's values (patient_id left out: researchers
    see pseudonyms) and of its children's (a visit's joints and CHAQ items, any order).

    >>> a = record_version({"patient_id": "A", "esr": 12.0})
    >>> a == record_version({"patient_id": "P-1", "esr": 12}), a == record_version({"esr": 13})
    (True, False)
    """

    def canon(r: Mapping[str, object]) -> str:
        return json.dumps(
            {k: _text(v) for k, v in r.items() if k not in ("patient_id", "version")},
            sort_keys=True,
        )

    text = canon(row) + "|" + "|".join(sorted(canon(c) for c in children))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def visit_children(
    conn: Connection, patient_id: str, visit_date: object
) -> dict[str, list[dict[str, Any]]]:
    """The stored joint exams and CHAQ items of one visit."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in VISIT_CHILDREN:
        t = Base.metadata.tables[name]
        stmt = select(t).where(t.c.patient_id == patient_id, t.c.visit_date == visit_date)
        out[name] = [dict(r) for r in conn.execute(stmt).mappings()]
    return out


def check_version(conn: Connection, table_name: str, row: Mapping[str, object], given: str) -> None:
    """`StaleRecord` unless the stored `row` (with a visit's children) has version `given`."""
    children: list[dict[str, Any]] = []
    if table_name == "visits":
        for rows in visit_children(conn, str(row["patient_id"]), row["visit_date"]).values():
            children += rows
    current = record_version(row, children)
    if current != given:
        raise StaleRecord(table_name, given, current, row)


def delete_children(
    conn: Connection,
    visit: Mapping[str, object],
    *,
    keep: Sequence[tuple[str, Mapping[str, object]]],
    username: str,
    reason: str,
) -> None:
    """Delete a visit's stored joints and CHAQ items that are not among `keep`; audited."""
    stored = visit_children(conn, str(visit["patient_id"]), visit["visit_date"])
    for name in VISIT_CHILDREN:
        own = _CHILD_KEYS[name]
        kept = {tuple(str(v.get(k) or "") for k in own) for n, v in keep if n == name}
        doomed = [r for r in stored[name] if tuple(str(r[k] or "") for k in own) not in kept]
        if doomed:
            key = ("patient_id", "visit_date", *own)
            keys = pa.Table.from_pylist([{k: r[k] for k in key} for r in doomed])
            delete_rows(conn, name, key, keys, username=username, reason=reason)
