"""Import a template folder or workbook (or a REDCap export or FHIR bundle) into a registry.

`import_path` is all-or-nothing: read, validate every table against the data dictionary and
the registry, then upsert on natural keys and audit, all in one transaction that holds the
registry's write lock. Any problem raises `ImportErrors` and nothing is written.
`load_validated` is the validate-authorise-write step, shared with the form saves
(`jiareg.services.records`).
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, inspect

from jiareg.formats.cells import RawTable
from jiareg.formats.sources import Format, read_source
from jiareg.formats.template.dictionary import TABLES
from jiareg.ingest.validate import Problems, ValidTable, validate_tables
from jiareg.services.dose_check import dose_warnings
from jiareg.store.bulk import paused_gc
from jiareg.store.engine import get_engine, init_db, require_initialised, write_lock
from jiareg.store.load import TableChange, ensure_sites, upsert_table
from jiareg.store.snapshot import read_table
from jiareg.store.users import Action, UserInfo, require

__all__ = ["LOAD_ORDER", "ImportSummary", "import_path", "load_validated"]

LOAD_ORDER: Final = tuple(t.name for t in TABLES)
"""The tables in the order an import loads them (its progress steps)."""


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


def load_validated(
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
    reads a `.json` file as FHIR and anything else as the template (`jiareg.formats.sources`).

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
        changes, warnings = load_validated(
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
