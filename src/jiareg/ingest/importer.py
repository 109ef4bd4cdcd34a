"""Import a template folder or workbook, or save one record, through the same rules.

`import_path` is all-or-nothing: read, validate every table against the data dictionary and
the registry, then upsert on natural keys and audit, all in one transaction that holds the
registry's write lock. Any problem raises `ImportErrors` and nothing is written.

`save_record` is the same path for one record (the web app's forms): the given cells are
merged into the existing row (if any), validated like an imported row and upserted with an
audit entry naming the user and the reason. `delete_record` removes one record, audited.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, inspect
from sqlalchemy.exc import IntegrityError

from jiareg.errors import ImportRowError, InputError, StoreError
from jiareg.ingest.dose_check import dose_warnings
from jiareg.ingest.readers import RawTable, read_path, text_cells
from jiareg.ingest.template import TABLES, TemplateTable, table
from jiareg.ingest.validate import Problems, ValidTable, validate_tables
from jiareg.store.bulk import paused_gc
from jiareg.store.engine import get_engine, init_db, require_initialised, write_lock
from jiareg.store.load import TableChange, delete_rows, ensure_sites, upsert_table
from jiareg.store.snapshot import arrow_schema, read_table
from jiareg.store.users import Action, UserInfo, require

__all__ = [
    "ImportSummary",
    "RecordChange",
    "delete_record",
    "import_path",
    "read_template",
    "save_record",
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


def _patient_sites(conn: Connection, valid: Mapping[str, ValidTable]) -> pa.Table:
    """patient_id -> site for the registry, overridden by the import's patients."""
    registry = read_table(conn, "patients").select(["patient_id", "site"])
    if "patients" not in valid:
        return registry
    imported = valid["patients"].data.select(["patient_id", "site"])
    keep = pc.invert(pc.is_in(registry.column("patient_id"), value_set=imported.column(0)))
    return pa.concat_tables([imported, registry.filter(keep)])


def _authorise(
    conn: Connection, user: UserInfo | None, action: Action, valid: Mapping[str, ValidTable]
) -> None:
    if user is None:
        return
    sites = _patient_sites(conn, valid)
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
    user: UserInfo | None,
    action: Action,
    reason: str,
    progress: Callable[[str], None] | None = None,
    patients_unreadable: bool = False,
) -> tuple[tuple[TableChange, ...], tuple[str, ...]]:
    """Validate then write, inside the caller's locked transaction."""
    require_initialised(conn)
    registry_patients = read_table(conn, "patients")
    valid = validate_tables(
        raws, registry_patients, problems, patients_unreadable=patients_unreadable
    )
    problems.raise_if_any()
    _authorise(conn, user, action, valid)
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
                    username=username,
                    reason=reason,
                )
            )
    return tuple(changes), warnings


def read_template(path: Path | str) -> dict[str, pa.Table]:
    """The validated tables of a template folder or workbook, without a registry (Contract 2).

    Patients must be in the same files; raises `ImportErrors` like an import.
    """
    raws, file_problems, unreadable = read_path(Path(path))
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
) -> ImportSummary:
    """Validate and load a folder of template CSVs (or one CSV, or a workbook); all-or-nothing.

    `user` (a registry user) must be allowed to import for every site involved; None means
    the operating-system user running the CLI. `reason` goes into every audit entry
    (default: the file or folder name). Raises `ImportErrors` listing every problem (up to
    50, then "and N more"); the registry's data is then unchanged. A database without the
    registry schema is initialised first (as `jiareg init` would).
    """
    source = Path(path)
    raws, file_problems, unreadable = read_path(source)
    problems = Problems()
    for problem in file_problems:
        problems.add(problem)
    with get_engine(db_url).connect() as conn:
        initialised = inspect(conn).has_table("alembic_version")
    if not initialised:
        init_db(db_url)
    with get_engine(db_url).begin() as conn, paused_gc():
        write_lock(conn)
        changes, warnings = _run(
            conn,
            raws,
            problems,
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


def _find(spec: TemplateTable, cells: Mapping[str, str | None], existing: pa.Table) -> pa.Table:
    """The stored row(s) whose natural key equals the key cells (compared as template text)."""
    mask = pa.array([True] * existing.num_rows, pa.bool_())
    for k in spec.key:
        col = existing.column(k).cast(pa.string())
        mask = pc.and_(mask, pc.fill_null(pc.equal(col, cells[k] or ""), False))
    return existing.filter(mask)


def _one_row(spec: TemplateTable, values: Mapping[str, object], existing: pa.Table) -> RawTable:
    unknown = sorted(set(values) - set(spec.names))
    if unknown:
        raise InputError(
            f"{spec.name}: unknown field(s) {', '.join(unknown)}; expected " + ", ".join(spec.names)
        )
    cells = {n: _cell(values.get(n)) for n in spec.names}
    current = _find(spec, cells, existing)
    if current.num_rows == 1:  # fields not given keep their stored value
        stored = current.to_pylist()[0]
        cells = {n: cells[n] if n in values else _cell(stored[n]) for n in spec.names}
    data = pa.Table.from_arrays(
        [text_cells(pa.array([cells[n]], pa.string())) for n in spec.names], names=list(spec.names)
    )
    return RawTable(spec, f"{spec.name} form", data, pa.array([1], pa.int64()))


def save_record(
    db_url: str | None,
    table_name: str,
    values: Mapping[str, object],
    *,
    user: UserInfo,
    reason: str,
) -> RecordChange:
    """Insert or update one record (by its natural key) through the import's rules; audited.

    Fields absent from `values` keep their stored value (two users changing different
    fields of one visit both keep their change: the write lock serialises them). Values may
    be text as in the template, numbers, booleans, dates or None. The user must be allowed
    to `enter` at the patient's site. Raises `ImportErrors` (file `<table> form`, row 1)
    when a value is invalid; nothing is written then.
    """
    if table_name not in {t.name for t in TABLES}:
        raise InputError(
            f"unknown table {table_name!r}; expected one of " + ", ".join(t.name for t in TABLES)
        )
    spec = table(table_name)
    with get_engine(db_url).begin() as conn:
        write_lock(conn)
        require_initialised(conn)
        raw = _one_row(spec, values, read_table(conn, table_name))
        (change,), warnings = _run(
            conn, [raw], Problems(), user=user, action="enter", reason=reason
        )
    action = "insert" if change.inserted else "update" if change.updated else "none"
    return RecordChange(table_name, action, warnings)


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
    cells = {k: _cell(key[k]) for k in spec.key}
    with get_engine(db_url).begin() as conn:
        write_lock(conn)
        require_initialised(conn)
        doomed = _find(spec, cells, read_table(conn, table_name))
        if doomed.num_rows == 0:
            return False
        sites = read_table(conn, "patients").select(["patient_id", "site"])
        site = sites.filter(pc.equal(sites.column("patient_id"), cells["patient_id"]))
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
