"""Save or delete records from a form (the web app's writes) through the import's rules.

`save_records` is the import's path for a form's records (the web app's visit with its joints
and CHAQ items): each record's cells are merged into its stored row (if any), every record
is validated like an imported row, and all are upserted with audit entries naming the user
and the reason in one transaction (all-or-nothing). It reads only the stored rows with the
records' keys and the records' patients, so its cost does not grow with the registry.
`save_record` is `save_records` for one record; `delete_record` removes one record, audited.
The web app's entry and correction: `add_record` inserts a new record and never overwrites a
stored one (`RecordExists`); `update_record` and `delete_record` take the version the user
read and refuse a record changed since (`StaleRecord`, `jiareg.services.versions`). Every
write is authorised at the patient's STORED site.

Saves are validated before the registry's writer lock and re-checked under it
(`jiareg.services.records_prepare`): what is decided under the lock (existence, version,
the right at the stored site, the rules) is the same as when the whole save ran locked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from jiareg.errors import ImportRowError, StoreError
from jiareg.formats.template.dictionary import TemplateTable, table
from jiareg.ingest.validate import Problems
from jiareg.services.imports import ImportSummary, load_validated
from jiareg.services.patients import move_locked
from jiareg.services.record_forms import find_row, form_cells, stored_rows
from jiareg.services.records_prepare import (
    Prepared,
    authorise_stored,
    by_table,
    fire,
    prepare,
    read_inputs,
    snapshot,
    still_valid,
    write_prepared,
)
from jiareg.services.versions import (
    RecordExists,
    RecordNotFound,
    check_version,
    delete_children,
)
from jiareg.store.engine import get_engine, lock_registry
from jiareg.store.load import delete_rows
from jiareg.store.tables import read_rows
from jiareg.store.users import UserInfo, require

__all__ = [
    "RecordChange",
    "add_record",
    "delete_record",
    "save_locked",
    "save_record",
    "save_records",
    "update_record",
]


Turn = Callable[[], AbstractContextManager[object]]
"""What a writer waits for before the registry's writer lock (the web app's `writer_turn`):
entered after a save's preparation, around its locked transaction."""


@dataclass(frozen=True, slots=True)
class RecordChange:
    """What `save_record` did: `action` is insert, update or none (identical data)."""

    table: str
    action: str
    warnings: tuple[str, ...]


def save_records(
    db_url: str | None,
    records: Sequence[tuple[str, Mapping[str, object]]],
    *,
    user: UserInfo,
    reason: str,
) -> ImportSummary:
    """Insert or update records (each by its natural key) through the import's rules, in
    one transaction; audited.

    `records` are (table name, values) pairs, e.g. a visit, its joint exams and its CHAQ
    items. Fields absent from a record's values keep their stored value (two users changing
    different fields of one visit both keep their change: the write lock serialises them).
    Values may be text as in the template, numbers, booleans, dates or None. The user must
    be allowed to `enter` at every patient's STORED site (and at a new patient's site); a
    patient's site is changed by admins only. All-or-nothing: any invalid value raises
    `ImportErrors` (file `<table> form`, row = the record's position among that table's
    records) and nothing is written. Only the stored rows with the records' keys and the
    records' patients are read (by primary key), never whole tables.
    """
    prepared = _prepared(db_url, user, lambda _conn: records)
    with get_engine(db_url).begin() as conn:
        lock_registry(conn)
        ready = _fast(conn, prepared)
        if ready is not None:
            return write_prepared(conn, ready, user=user, reason=reason)
        return save_locked(conn, records, user=user, reason=reason)


def save_locked(
    conn: Connection,
    records: Sequence[tuple[str, Mapping[str, object]]],
    *,
    user: UserInfo,
    reason: str,
) -> ImportSummary:
    """`save_records` inside the caller's write-locked transaction."""
    grouped = by_table(records)
    _specs, _cells, stored, raws, _ids, patients = read_inputs(conn, grouped)
    authorise_stored(patients, grouped.get("patients", []), user)
    changes, warnings = load_validated(
        conn,
        raws,
        Problems(),
        registry_patients=patients,
        stored=stored.__getitem__,
        user=user,
        action="enter",
        reason=reason,
    )
    return ImportSummary("form", changes, warnings)


def _prepared(
    db_url: str | None,
    user: UserInfo,
    build: Callable[[Connection], Sequence[tuple[str, Mapping[str, object]]] | None],
) -> Prepared | None:
    """`records_prepare.prepare` of the records `build` makes on a snapshot, before the
    writer lock; None when `build` gives none, or the preparation fails in any way (a
    refusal, an invalid value, a database error): the save is then done whole under the
    lock, which decides."""
    found = None
    try:
        with snapshot(db_url) as conn:
            records = None if conn is None else build(conn)
            if conn is not None and records is not None:
                found = prepare(conn, records, user=user)
    except Exception:  # only an optimisation: redone under the lock, which decides
        found = None
    fire("prepared")
    return found


def _fast(conn: Connection, prepared: Prepared | None, **read: pa.Table) -> Prepared | None:
    """`prepared` if what it read is unchanged under the lock, else None (redo)."""
    ok = prepared is not None and still_valid(conn, prepared, read=read)
    fire("fast" if ok else "redo")
    return prepared if ok else None


def save_record(
    db_url: str | None,
    table_name: str,
    values: Mapping[str, object],
    *,
    user: UserInfo,
    reason: str,
) -> RecordChange:
    """Insert or update one record (by its natural key): `save_records` with one record.

    Raises `ImportErrors` (file `<table> form`, row 1) when a value is invalid; nothing is
    written then.
    """
    summary = save_records(db_url, [(table_name, values)], user=user, reason=reason)
    (change,) = summary.tables
    action = "insert" if change.inserted else "update" if change.updated else "none"
    return RecordChange(table_name, action, summary.warnings)


def delete_record(
    db_url: str | None,
    table_name: str,
    key: Mapping[str, object],
    *,
    user: UserInfo,
    reason: str,
    version: str | None = None,
    turn: Turn = nullcontext,
) -> bool:
    """Delete one record by its natural key (a data manager's or admin's `fix`); audited.

    Returns False when no such record exists. With `version` (the one the user last read,
    `jiareg.services.versions`), a record changed since is refused (`StaleRecord`). A visit
    goes with its joint exams and CHAQ items. Deleting a patient who still has records is
    refused by the database (StoreError).
    """
    spec = table(table_name)
    missing = [k for k in spec.key if key.get(k) is None]
    if missing:
        raise ImportRowError(
            file=f"{table_name} form",
            row=1,
            column=missing[0],
            value=None,
            expected="the record's key: " + ", ".join(spec.key),
        )
    cells = form_cells(spec, {k: key[k] for k in spec.key})
    with turn(), get_engine(db_url).begin() as conn:
        lock_registry(conn)
        doomed = find_row(spec, cells, stored_rows(conn, spec, [cells]))
        if doomed.num_rows == 0:
            return False
        site = read_rows(conn, "patients", doomed.select(["patient_id"]).slice(0, 1))
        require(user, "fix", site=site.column("site")[0].as_py() if site.num_rows else None)
        row = doomed.to_pylist()[0]
        if version is not None:
            check_version(conn, table_name, row, version)
        try:
            with conn.begin_nested():
                if table_name == "visits":
                    delete_children(conn, row, keep=(), username=user.username, reason=reason)
                delete_rows(
                    conn,
                    table_name,
                    spec.key,
                    doomed.select(list(spec.key)),
                    username=user.username,
                    reason=reason,
                )
        except IntegrityError as exc:
            raise StoreError(
                f"{table_name} {cells}: cannot delete, other records refer to "
                "it (delete those first)"
            ) from exc
    return True


def _key_cells(spec: TemplateTable, values: Mapping[str, object]) -> dict[str, str | None]:
    cells = form_cells(spec, {k: values.get(k) for k in spec.key})
    return {k: cells[k] for k in spec.key}


def _change(table_name: str, summary: ImportSummary) -> RecordChange:
    change = next(t for t in summary.tables if t.table == table_name)
    action = "insert" if change.inserted else "update" if change.updated else "none"
    return RecordChange(table_name, action, summary.warnings)


def add_record(
    db_url: str | None,
    table_name: str,
    values: Mapping[str, object],
    *,
    user: UserInfo,
    reason: str,
    children: Sequence[tuple[str, Mapping[str, object]]] = (),
    turn: Turn = nullcontext,
) -> RecordChange:
    """Insert a NEW record (with its `children`, e.g. a visit's joints and CHAQ items).

    Raises `RecordExists` and writes nothing when a record with its key is stored (a visit
    on a date that has one is never overwritten: the user edits that visit instead).
    """
    spec = table(table_name)
    cells = _key_cells(spec, values)
    parent = _parent_key(spec, cells)
    records = [(table_name, values), *[(name, {**c, **parent}) for name, c in children]]
    # prepared even if the key is taken (the lock's check below refuses it): a read fewer
    prepared = _prepared(db_url, user, lambda _conn: records)
    with turn(), get_engine(db_url).begin() as conn:
        lock_registry(conn)
        now = stored_rows(conn, spec, [cells])
        if find_row(spec, cells, now).num_rows:
            raise RecordExists(table_name, cells)
        summary = _write(conn, _fast(conn, prepared, **{table_name: now}), records, user, reason)
    return _change(table_name, summary)


def _write(
    conn: Connection,
    ready: Prepared | None,
    records: Sequence[tuple[str, Mapping[str, object]]],
    user: UserInfo,
    reason: str,
) -> ImportSummary:
    """Under the lock: the prepared save if still valid, else the whole save (`save_locked`)."""
    if ready is not None:
        return write_prepared(conn, ready, user=user, reason=reason)
    return save_locked(conn, records, user=user, reason=reason)


def update_record(
    db_url: str | None,
    table_name: str,
    key: Mapping[str, object],
    values: Mapping[str, object],
    *,
    version: str,
    user: UserInfo,
    reason: str,
    children: Sequence[tuple[str, Mapping[str, object]]] | None = None,
    turn: Turn = nullcontext,
) -> RecordChange:
    """Change the stored record with `key` to `values` (fields not given keep their value).

    `version` is the one the user last read (`jiareg.services.versions.record_version`); a
    record changed since is refused with `StaleRecord` (both versions) and nothing is
    written. A key field cannot change (delete the record and enter it anew). For a visit,
    `children` (joint exams and CHAQ items) replace the stored ones when given. Raises
    `RecordNotFound` when no record has `key`.
    """
    spec = table(table_name)
    cells = _key_cells(spec, key)
    for k in spec.key:
        if k in values and _key_cells(spec, {**key, k: values[k]})[k] != cells[k]:
            raise ImportRowError(
                file=f"{table_name} form",
                row=1,
                column=k,
                value=values[k],
                expected=f"{cells[k]} (a key field: delete the record and enter it anew)",
            )

    def edit(conn: Connection) -> Sequence[tuple[str, Mapping[str, object]]] | None:
        current = find_row(spec, cells, stored_rows(conn, spec, [cells]))
        if current.num_rows == 0:
            return None
        row = current.to_pylist()[0]
        if table_name == "patients" and _moves(row, values):
            return None  # an admin's move: done under the lock only
        return _edited(spec, row, values, children)

    prepared = _prepared(db_url, user, edit)
    with turn(), get_engine(db_url).begin() as conn:
        lock_registry(conn)
        now = stored_rows(conn, spec, [cells])
        current = find_row(spec, cells, now)
        if current.num_rows == 0:
            raise RecordNotFound(table_name, cells)
        row = current.to_pylist()[0]
        check_version(conn, table_name, row, version)
        if table_name == "patients" and _moves(row, values):
            require(user, "fix", site=None)  # an admin's action, audited with the reason
            move_locked(conn, current, str(values["site"]), username=user.username, reason=reason)
            values = {**values, "site": str(values["site"]).strip()}
            prepared = None
        records = _edited(spec, row, values, children)
        if children is not None:
            require(user, "enter", site=_site(conn, row["patient_id"]))
            keep = records[1:]
            delete_children(conn, row, keep=keep, username=user.username, reason=reason)
        # after delete_children: a prepared child row it deleted fails the check (redo)
        summary = _write(conn, _fast(conn, prepared, **{table_name: now}), records, user, reason)
    return _change(table_name, summary)


def _edited(
    spec: TemplateTable,
    row: Mapping[str, object],
    values: Mapping[str, object],
    children: Sequence[tuple[str, Mapping[str, object]]] | None,
) -> list[tuple[str, Mapping[str, object]]]:
    """An edit's records: the record with its stored key, then its children (if given)."""
    records: list[tuple[str, Mapping[str, object]]] = [
        (spec.name, {**values, **{k: row[k] for k in spec.key}})
    ]
    if children is not None:
        records += [(name, {**c, **_parent_key(spec, row)}) for name, c in children]
    return records


def _moves(row: Mapping[str, object], values: Mapping[str, object]) -> bool:
    """Whether an edit of a patient's row names another site than the stored one."""
    new = values.get("site")
    return new is not None and str(new).strip() != row["site"]


def _parent_key(spec: TemplateTable, row: Mapping[str, object]) -> dict[str, object]:
    """The key fields a record's children repeat (a visit's patient_id and visit_date)."""
    return {k: row[k] for k in spec.key}


def _site(conn: Connection, patient_id: str) -> str | None:
    found = read_rows(conn, "patients", pa.table({"patient_id": [patient_id]}))
    return str(found.column("site")[0].as_py()) if found.num_rows else None
