"""Import a template folder or workbook, or save one record, through the same rules.

`import_path` is all-or-nothing: read, validate every table against the data dictionary and
the registry, then upsert on natural keys and audit, all in one transaction that holds the
registry's write lock. Any problem raises `ImportErrors` and nothing is written.

`save_records` is the same path for a form's records (the web app's visit with its joints
and CHAQ items): each record's cells are merged into its stored row (if any), every record
is validated like an imported row, and all are upserted with audit entries naming the user
and the reason in one transaction (all-or-nothing). It reads only the stored rows with the
records' keys and the records' patients, so its cost does not grow with the registry.
`save_record` is `save_records` for one record; `delete_record` removes one record, audited.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, inspect
from sqlalchemy.exc import IntegrityError

from jiareg.errors import ImportRowError, InputError, StoreError
from jiareg.ingest.dose_check import dose_warnings
from jiareg.ingest.readers import RawTable, text_cells
from jiareg.ingest.sources import Format, read_source
from jiareg.ingest.template import TABLES, TemplateTable, table
from jiareg.ingest.validate import Problems, ValidTable, validate_tables
from jiareg.store.bulk import paused_gc
from jiareg.store.engine import get_engine, init_db, require_initialised, write_lock
from jiareg.store.load import TableChange, delete_rows, ensure_sites, upsert_table
from jiareg.store.snapshot import arrow_schema, read_rows, read_table
from jiareg.store.users import Action, UserInfo, require

__all__ = [
    "ImportSummary",
    "RecordChange",
    "delete_record",
    "import_path",
    "read_template",
    "save_record",
    "save_records",
]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did: per-table counts and the non-blocking warnings."""

    source: str
    tables: tuple[TableChange, ...]
    warnings: tuple[str, ...]

    @property
    def changed(self) -> int:
        """Rows inserted or updated over all tables."""
        return sum(t.inserted + t.updated for t in self.tables)


@dataclass(frozen=True, slots=True)
class RecordChange:
    """What `save_record` did: `action` is insert, update or none (identical data)."""

    table: str
    action: str
    warnings: tuple[str, ...]


def _os_user() -> str:
    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):
        return "os:unknown"


def _patient_sites(registry_patients: pa.Table, valid: Mapping[str, ValidTable]) -> pa.Table:
    """patient_id -> site for the registry, overridden by the import's patients."""
    registry = registry_patients.select(["patient_id", "site"])
    if "patients" not in valid:
        return registry
    imported = valid["patients"].data.select(["patient_id", "site"])
    keep = pc.invert(pc.is_in(registry.column("patient_id"), value_set=imported.column(0)))
    return pa.concat_tables([imported, registry.filter(keep)])


def _authorise(
    registry_patients: pa.Table,
    user: UserInfo | None,
    action: Action,
    valid: Mapping[str, ValidTable],
) -> None:
    if user is None:
        return
    sites = _patient_sites(registry_patients, valid)
    ids = pc.unique(
        pa.concat_arrays(
            [v.data.column("patient_id").combine_chunks() for v in valid.values()]
        ).drop_null()
    )
    involved = sites.filter(pc.is_in(sites.column("patient_id"), value_set=ids))
    for site in pc.unique(involved.column("site")).to_pylist() or [None]:
        require(user, action, site=site)


def _run(
    conn: Connection,
    raws: list[RawTable],
    problems: Problems,
    *,
    registry_patients: pa.Table,
    stored: Callable[[str], pa.Table],
    user: UserInfo | None,
    action: Action,
    reason: str,
    progress: Callable[[str], None] | None = None,
    patients_unreadable: bool = False,
) -> tuple[tuple[TableChange, ...], tuple[str, ...]]:
    """Validate then write, inside the caller's locked transaction.

    `registry_patients` holds at least the stored patients the raws refer to; `stored(name)`
    at least the stored rows of `name` sharing a key with the raws (what the upsert diffs).
    """
    valid = validate_tables(
        raws, registry_patients, problems, patients_unreadable=patients_unreadable
    )
    problems.raise_if_any()
    _authorise(registry_patients, user, action, valid)
    warnings = dose_warnings(valid, conn)
    username = user.username if user else _os_user()
    changes = []
    if "patients" in valid:
        ensure_sites(
            conn,
            valid["patients"].data.column("site").combine_chunks(),
            username=username,
            reason=reason,
        )
    for spec in TABLES:
        if spec.name in valid:
            if progress:
                progress(spec.name)
            changes.append(
                upsert_table(
                    conn,
                    spec.name,
                    spec.key,
                    valid[spec.name].data,
                    existing=stored(spec.name),
                    username=username,
                    reason=reason,
                )
            )
    return tuple(changes), warnings


def read_template(path: Path | str, *, format: Format | None = None) -> dict[str, pa.Table]:
    """The validated tables of a template folder or workbook (or a REDCap export or FHIR
    bundle, see `import_path`'s `format`), without a registry (Contract 2).

    Patients must be in the same files; raises `ImportErrors` like an import.
    """
    raws, file_problems, unreadable = read_source(Path(path), format)
    problems = Problems()
    for problem in file_problems:
        problems.add(problem)
    valid = validate_tables(
        raws,
        arrow_schema("patients").empty_table(),
        problems,
        patients_unreadable="patients" in unreadable,
    )
    problems.raise_if_any()
    return {name: v.data for name, v in valid.items()}


def import_path(
    path: Path | str,
    db_url: str | None = None,
    *,
    user: UserInfo | None = None,
    reason: str | None = None,
    progress: Callable[[str], None] | None = None,
    format: Format | None = None,
) -> ImportSummary:
    """Validate and load a folder of template CSVs (or one CSV, or a workbook); all-or-nothing.

    `format` is `template`, `redcap` (a REDCap raw CSV export) or `fhir` (an R4 Bundle); None
    reads a `.json` file as FHIR and anything else as the template (`jiareg.ingest.sources`).

    `user` (a registry user) must be allowed to import for every site involved; None means
    the operating-system user running the CLI. `reason` goes into every audit entry
    (default: the file or folder name). Raises `ImportErrors` listing every problem (up to
    50, then "and N more"); the registry's data is then unchanged. A database without the
    registry schema is initialised first (as `jiareg init` would).
    """
    source = Path(path)
    raws, file_problems, unreadable = read_source(source, format)
    problems = Problems()
    for problem in file_problems:
        problems.add(problem)
    with get_engine(db_url).connect() as conn:
        initialised = inspect(conn).has_table("alembic_version")
    if not initialised:
        init_db(db_url)
    with get_engine(db_url).begin() as conn, paused_gc():
        write_lock(conn)
        require_initialised(conn)
        changes, warnings = _run(
            conn,
            raws,
            problems,
            registry_patients=read_table(conn, "patients"),
            stored=lambda name: read_table(conn, name),
            user=user,
            action="import",
            reason=reason or f"import {source.name}",
            progress=progress,
            patients_unreadable="patients" in unreadable,
        )
    return ImportSummary(str(source), changes, warnings)


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _typed_key(spec: TemplateTable, cells: Mapping[str, str | None]) -> dict[str, object] | None:
    """The record's natural key in its stored types, or None when a key cell is missing or
    not of its type (no stored row can match; validation reports the cell)."""
    schema = arrow_schema(spec.name)
    key: dict[str, object] = {}
    for k in spec.key:
        text = cells[k]
        if text is None:
            return None
        try:
            key[k] = pa.array([text], pa.string()).cast(schema.field(k).type)[0].as_py()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return key


def _stored_rows(
    conn: Connection, spec: TemplateTable, cells: Sequence[Mapping[str, str | None]]
) -> pa.Table:
    """The stored rows of `spec` with the natural keys of `cells`, read by key."""
    schema = arrow_schema(spec.name)
    keys = [k for k in (_typed_key(spec, c) for c in cells) if k is not None]
    key_schema = pa.schema([schema.field(k) for k in spec.key])
    return read_rows(conn, spec.name, pa.Table.from_pylist(keys, schema=key_schema))


def _find(spec: TemplateTable, cells: Mapping[str, str | None], existing: pa.Table) -> pa.Table:
    """The stored row(s) whose natural key equals the key cells (compared as template text)."""
    mask = pa.array([True] * existing.num_rows, pa.bool_())
    for k in spec.key:
        col = existing.column(k).cast(pa.string())
        mask = pc.and_(mask, pc.fill_null(pc.equal(col, cells[k] or ""), False))
    return existing.filter(mask)


def _form_cells(spec: TemplateTable, values: Mapping[str, object]) -> dict[str, str | None]:
    """A form record's cells as template text (key cells trimmed, as validation reads them)."""
    unknown = sorted(set(values) - set(spec.names))
    if unknown:
        raise InputError(
            f"{spec.name}: unknown field(s) {', '.join(unknown)}; expected " + ", ".join(spec.names)
        )
    cells = {n: _cell(values.get(n)) for n in spec.names}
    for k in spec.key:
        cells[k] = text_cells(pa.array([cells[k]], pa.string()))[0].as_py()
    return cells


def _form_table(
    spec: TemplateTable,
    records: Sequence[Mapping[str, object]],
    cells: Sequence[dict[str, str | None]],
    existing: pa.Table,
) -> RawTable:
    """The records (with their `_form_cells`) as one raw table, row i = record i, each
    merged into its stored row: fields not given keep their stored value."""
    rows = []
    for values, given in zip(records, cells, strict=True):
        current = _find(spec, given, existing)
        if current.num_rows == 1:
            stored = current.to_pylist()[0]
            given = {n: given[n] if n in values else _cell(stored[n]) for n in spec.names}
        rows.append(given)
    data = pa.Table.from_arrays(
        [text_cells(pa.array([r[n] for r in rows], pa.string())) for n in spec.names],
        names=list(spec.names),
    )
    numbers = pa.array(range(1, len(rows) + 1), pa.int64())
    return RawTable(spec, f"{spec.name} form", data, numbers)


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
    be allowed to `enter` at every patient's site. All-or-nothing: any invalid value raises
    `ImportErrors` (file `<table> form`, row = the record's position among that table's
    records) and nothing is written. Only the stored rows with the records' keys and the
    records' patients are read (by primary key), never whole tables.
    """
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
    with get_engine(db_url).begin() as conn:
        write_lock(conn)
        require_initialised(conn)
        stored: dict[str, pa.Table] = {}
        raws: list[RawTable] = []
        patient_ids: set[str] = set()
        for spec in specs:
            cells = [_form_cells(spec, v) for v in by_table[spec.name]]
            stored[spec.name] = _stored_rows(conn, spec, cells)
            raws.append(_form_table(spec, by_table[spec.name], cells, stored[spec.name]))
            patient_ids |= {c["patient_id"] for c in cells if c["patient_id"] is not None}
        patients = read_rows(
            conn, "patients", pa.table({"patient_id": pa.array(sorted(patient_ids), pa.string())})
        )
        changes, warnings = _run(
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
) -> bool:
    """Delete one record by its natural key (a data manager's or admin's `fix`); audited.

    Returns False when no such record exists. Deleting a patient who still has records is
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
    cells = _form_cells(spec, {k: key[k] for k in spec.key})
    with get_engine(db_url).begin() as conn:
        write_lock(conn)
        require_initialised(conn)
        doomed = _find(spec, cells, _stored_rows(conn, spec, [cells]))
        if doomed.num_rows == 0:
            return False
        site = read_rows(conn, "patients", doomed.select(["patient_id"]).slice(0, 1))
        require(user, "fix", site=site.column("site")[0].as_py() if site.num_rows else None)
        try:
            with conn.begin_nested():
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
