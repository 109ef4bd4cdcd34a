"""A form save's read-only work done before the registry's writer lock (`records`).

A web save used to take the writer lock first and then read the stored rows, merge the
form into them and validate the records like an import (about half of its time in the
lock). Saves queue on that lock, so now `prepare` does all of that on a read connection,
without the lock; under the lock `still_valid` re-reads exactly what the result depended
on, and the caller writes the prepared rows only if it is unchanged, else redoes the whole
save under the lock (the old path). Correctness therefore never depends on the race.

What validation reads from the store (`jiareg.services.imports.validate_for_load`, rules in
`jiareg.ingest.validate`): the stored rows with the records' natural keys (each form record
is merged into its stored row; the upsert diffs against them; a new record's key must be
free), and the records' stored patients (existence, birth date, and the STORED site that
decides the user's right and that a site never changes by a save). `still_valid` re-reads
those rows by key and compares them whole; the user's rights are fixed for the request. A
dose warning also reads treatments: records with administrations are never prepared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import pyarrow as pa
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from jiareg.errors import InputError
from jiareg.formats.cells import RawTable
from jiareg.formats.template.dictionary import TABLES, TemplateTable, table
from jiareg.ingest.validate import Problems, ValidTable
from jiareg.services.imports import ImportSummary, validate_for_load, write_validated
from jiareg.services.record_forms import form_cells, form_table, stored_rows
from jiareg.store.engine import default_url, normalise_url, read_engine
from jiareg.store.load import UpsertPlan, plan_upsert
from jiareg.store.tables import read_rows
from jiareg.store.users import UserInfo, can, require

__all__ = [
    "HOOKS",
    "Prepared",
    "authorise_stored",
    "by_table",
    "prepare",
    "read_inputs",
    "snapshot",
    "still_valid",
    "write_prepared",
]

HOOKS: Final[list[Callable[[str], None]]] = []
"""Called with "prepared" after `prepare` (its connection closed, before the lock), and with
"fast" or "redo" under the lock: tests interleave a second writer here."""


def fire(event: str) -> None:
    for hook in HOOKS:
        hook(event)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A save validated on a snapshot: its inputs as read (to re-check), its result and
    the upserts with their audit payloads (`plan_upsert`) it will write."""

    specs: tuple[TemplateTable, ...]
    cells: Mapping[str, Sequence[Mapping[str, str | None]]]
    stored: Mapping[str, pa.Table]
    patient_ids: pa.Table
    patients: pa.Table
    valid: Mapping[str, ValidTable]
    warnings: tuple[str, ...]
    plans: Mapping[str, UpsertPlan]


def by_table(
    records: Sequence[tuple[str, Mapping[str, object]]],
) -> dict[str, list[Mapping[str, object]]]:
    """The records grouped by table name (InputError for an unknown table)."""
    names = {t.name for t in TABLES}
    grouped: dict[str, list[Mapping[str, object]]] = {}
    for table_name, values in records:
        if table_name not in names:
            raise InputError(
                f"unknown table {table_name!r}; expected one of "
                + ", ".join(t.name for t in TABLES)
            )
        grouped.setdefault(table_name, []).append(values)
    return grouped


def read_inputs(
    conn: Connection, grouped: Mapping[str, Sequence[Mapping[str, object]]]
) -> tuple[
    tuple[TemplateTable, ...],
    dict[str, list[dict[str, str | None]]],
    dict[str, pa.Table],
    list[RawTable],
    pa.Table,
    pa.Table,
]:
    """What a save reads: per table its specs, cells, stored rows by key and raw table; the
    records' patient ids and their stored rows."""
    specs = tuple(t for t in TABLES if t.name in grouped)
    cells: dict[str, list[dict[str, str | None]]] = {}
    stored: dict[str, pa.Table] = {}
    raws: list[RawTable] = []
    ids: set[str] = set()
    for spec in specs:
        cells[spec.name] = [form_cells(spec, v) for v in grouped[spec.name]]
        stored[spec.name] = stored_rows(conn, spec, cells[spec.name])
        raws.append(form_table(spec, grouped[spec.name], cells[spec.name], stored[spec.name]))
        ids |= {c["patient_id"] for c in cells[spec.name] if c["patient_id"] is not None}
    patient_ids = pa.table({"patient_id": pa.array(sorted(ids), pa.string())})
    return specs, cells, stored, raws, patient_ids, read_rows(conn, "patients", patient_ids)


def authorise_stored(
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


def prepare(
    conn: Connection, records: Sequence[tuple[str, Mapping[str, object]]], *, user: UserInfo
) -> Prepared | None:
    """The save of `records` validated on `conn` (no lock), or None when it cannot be
    prepared (administrations). Raises what the save would raise on this snapshot; the
    caller redoes a failed preparation under the lock, which decides."""
    grouped = by_table(records)
    if "administrations" in grouped:
        return None
    specs, cells, stored, raws, patient_ids, patients = read_inputs(conn, grouped)
    authorise_stored(patients, grouped.get("patients", []), user)
    valid, warnings = validate_for_load(
        conn, raws, Problems(), registry_patients=patients, user=user, action="enter"
    )
    plans = {
        name: plan_upsert(name, table(name).key, v.data, existing=stored[name], render=True)
        for name, v in valid.items()
    }
    return Prepared(specs, cells, stored, patient_ids, patients, valid, warnings, plans)


def still_valid(
    conn: Connection, prepared: Prepared, *, read: Mapping[str, pa.Table] | None = None
) -> bool:
    """Under the lock: are the stored rows `prepared` depended on unchanged? `read` gives
    tables' stored rows the caller has just read under the lock (not read again)."""
    for spec in prepared.specs:
        now = (read or {}).get(spec.name)
        if now is None:
            now = stored_rows(conn, spec, prepared.cells[spec.name])
        if not bool(now.equals(prepared.stored[spec.name])):
            return False
    patients = read_rows(conn, "patients", prepared.patient_ids)
    return bool(patients.equals(prepared.patients))


def write_prepared(
    conn: Connection, prepared: Prepared, *, user: UserInfo, reason: str
) -> ImportSummary:
    """Write a prepared save (after `still_valid`), in the caller's locked transaction."""
    changes = write_validated(
        conn,
        prepared.valid,
        stored=prepared.stored.__getitem__,
        username=user.username,
        reason=reason,
        plans=prepared.plans,
    )
    return ImportSummary("form", changes, prepared.warnings)


@contextmanager
def snapshot(db_url: str | None) -> Iterator[Connection | None]:
    """A read-only connection to the registry that takes no writer lock (the web app's read
    engine), or None for an in-memory SQLite database (another connection would see
    another database)."""
    url = db_url or default_url()
    sa_url = make_url(normalise_url(url))
    if sa_url.get_backend_name() == "sqlite" and sa_url.database in (None, "", ":memory:"):
        yield None
        return
    with read_engine(url).connect() as conn:
        yield conn
