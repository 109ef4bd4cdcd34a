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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from jiareg.errors import ImportRowError, InputError, StoreError
from jiareg.formats.cells import RawTable
from jiareg.formats.template.dictionary import TABLES, TemplateTable, table
from jiareg.ingest.validate import Problems
from jiareg.services.imports import ImportSummary, load_validated
from jiareg.services.patients import move_locked
from jiareg.services.record_forms import find_row, form_cells, form_table, stored_rows
from jiareg.services.versions import (
    RecordExists,
    RecordNotFound,
    check_version,
    delete_children,
)
from jiareg.store.engine import get_engine, require_initialised, write_lock
from jiareg.store.load import delete_rows
from jiareg.store.tables import read_rows
from jiareg.store.users import UserInfo, can, require

__all__ = [
    "RecordChange",
    "add_record",
    "delete_record",
    "save_locked",
    "save_record",
    "save_records",
    "update_record",
]


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
    with get_engine(db_url).begin() as conn:
        write_lock(conn)
        require_initialised(conn)
        return save_locked(conn, records, user=user, reason=reason)


def save_locked(
    conn: Connection,
    records: Sequence[tuple[str, Mapping[str, object]]],
    *,
    user: UserInfo,
    reason: str,
) -> ImportSummary:
    """`save_records` inside the caller's write-locked transaction."""
    names = {t.name for t in TABLES}
    by_table: dict[str, list[Mapping[str, object]]] = {}
    for table_name, values in records:
        if table_name not in names:
            raise InputError(
                f"unknown table {table_name!r}; expected one of "
                + ", ".join(t.name for t in TABLES)
            )
        by_table.setdefault(table_name, []).append(values)
    specs = [t for t in TABLES if t.name in by_table]
    stored: dict[str, pa.Table] = {}
    raws: list[RawTable] = []
    patient_ids: set[str] = set()
    for spec in specs:
        cells = [form_cells(spec, v) for v in by_table[spec.name]]
        stored[spec.name] = stored_rows(conn, spec, cells)
        raws.append(form_table(spec, by_table[spec.name], cells, stored[spec.name]))
        patient_ids |= {c["patient_id"] for c in cells if c["patient_id"] is not None}
    patients = read_rows(
        conn, "patients", pa.table({"patient_id": pa.array(sorted(patient_ids), pa.string())})
    )
    _authorise_stored(patients, by_table.get("patients", []), user)
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


def _authorise_stored(
    patients: pa.Table, new_patients: Sequence[Mapping[str, object]], user: UserInfo
) -> None:
    """A record's new values never decide where the user may write: the import's rules
    (`load_validated`) answer a stored patient at a site the user may not `enter` at exactly
    like an unknown one, and never change a stored patient's site. Here only a site change of
    a patient the user may see is refused, as the admins' action it is (`move_patient`)."""
    sites = dict(zip(*patients.select(["patient_id", "site"]).to_pydict().values(), strict=True))
    for values in new_patients:
        old = sites.get(str(values.get("patient_id")))
        new = values.get("site")
        changed = old is not None and new is not None and str(new).strip() != old
        if changed and can(user, "enter", site=old):
            require(user, "fix", site=None)


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
    with get_engine(db_url).begin() as conn:
        write_lock(conn)
        require_initialised(conn)
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
    return {k: form_cells(spec, {k: values.get(k)})[k] for k in spec.key}


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
) -> RecordChange:
    """Insert a NEW record (with its `children`, e.g. a visit's joints and CHAQ items).

    Raises `RecordExists` and writes nothing when a record with its key is stored (a visit
    on a date that has one is never overwritten: the user edits that visit instead).
    """
    spec = table(table_name)
    with get_engine(db_url).begin() as conn:
        write_lock(conn)
        require_initialised(conn)
        cells = _key_cells(spec, values)
        if find_row(spec, cells, stored_rows(conn, spec, [cells])).num_rows:
            raise RecordExists(table_name, cells)
        parent = _parent_key(spec, cells)
        kids = [(name, {**c, **parent}) for name, c in children]
        summary = save_locked(conn, [(table_name, values), *kids], user=user, reason=reason)
    return _change(table_name, summary)


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
    with get_engine(db_url).begin() as conn:
        write_lock(conn)
        require_initialised(conn)
        current = find_row(spec, cells, stored_rows(conn, spec, [cells]))
        if current.num_rows == 0:
            raise RecordNotFound(table_name, cells)
        row = current.to_pylist()[0]
        check_version(conn, table_name, row, version)
        if table_name == "patients" and _moves(row, values):
            require(user, "fix", site=None)  # an admin's action, audited with the reason
            move_locked(conn, current, str(values["site"]), username=user.username, reason=reason)
            values = {**values, "site": str(values["site"]).strip()}
        records = [(table_name, {**values, **{k: row[k] for k in spec.key}})]
        if children is not None:
            keep = [(name, {**c, **_parent_key(spec, row)}) for name, c in children]
            require(user, "enter", site=_site(conn, row["patient_id"]))
            delete_children(conn, row, keep=keep, username=user.username, reason=reason)
            records += keep
        summary = save_locked(conn, records, user=user, reason=reason)
    return _change(table_name, summary)


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
