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
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, inspect

from jiareg.errors import InputError
from jiareg.formats.cells import RawTable
from jiareg.formats.fhir.read import Skipped, read_bundle
from jiareg.formats.sources import Format, detect_format, read_source
from jiareg.formats.template.dictionary import TABLES
from jiareg.ingest.validate import CellOptions, Normalisation, Problems, ValidTable, validate_tables
from jiareg.services.dose_check import dose_check
from jiareg.store.bulk import paused_gc
from jiareg.store.engine import get_engine, init_db, require_initialised, write_lock
from jiareg.store.load import TableChange, UpsertPlan, apply_upsert, ensure_sites, upsert_table
from jiareg.store.tables import read_table
from jiareg.store.users import Action, UserInfo, can, require

__all__ = [
    "LOAD_ORDER",
    "CellOptions",
    "ImportSummary",
    "import_path",
    "load_validated",
    "os_user",
    "validate_for_load",
    "write_validated",
]

LOAD_ORDER: Final = tuple(t.name for t in TABLES)
"""The tables in the order an import loads them (its progress steps)."""
_NOT_YOURS: Final = (
    "a new patient_id or that of a patient you may change: no patient you may change has this id"
)
"""What an import says of a stored patient the user may not change (as for no patient)."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did: per-table counts, the non-blocking warnings, the cells read
    leniently (`normalised`: `female` -> F, ...), the source columns a mapping left out
    (`ignored`: column -> cells); for FHIR, the resources skipped (by type and reason, with
    counts) and notes (unit conversions, roundings)."""

    source: str
    tables: tuple[TableChange, ...]
    warnings: tuple[str, ...]
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = ()
    normalised: tuple[Normalisation, ...] = ()
    ignored: tuple[tuple[str, int], ...] = ()

    @property
    def changed(self) -> int:
        """Rows inserted or updated over all tables."""
        return sum(t.inserted + t.updated for t in self.tables)


def os_user() -> str:
    """The audit name of the operating-system user running the CLI (`os:NAME`)."""
    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):
        return "os:unknown"


def _visible(registry_patients: pa.Table, user: UserInfo | None, action: Action) -> pa.Table:
    """The stored patients whose site `user` may `action` (every one for None)."""
    if user is None:
        return registry_patients
    sites = registry_patients.column("site")
    allowed = [s for s in pc.unique(sites).to_pylist() if can(user, action, site=s)]
    return registry_patients.filter(pc.is_in(sites, value_set=pa.array(allowed, pa.string())))


def _check_patients(
    raws: list[RawTable],
    valid: Mapping[str, ValidTable],
    registry_patients: pa.Table,
    visible: pa.Table,
    problems: Problems,
) -> None:
    """Report imported patients the user may not change, and site changes (for anyone).

    A stored patient the user has no right at is reported like a patient that does not
    exist, so an import tells nothing about other sites. A stored patient's site is never
    changed by an import: a move is `move_patient`, an admin's audited action.
    """
    if "patients" not in valid:
        return
    raw = next(r for r in raws if r.spec.name == "patients")
    data = valid["patients"].data
    pid = data.column("patient_id").combine_chunks()
    stored = registry_patients.column("patient_id")
    shown = visible.column("patient_id")
    hidden = pc.and_(pc.is_in(pid, value_set=stored), pc.invert(pc.is_in(pid, value_set=shown)))
    problems.add_mask(raw, hidden, "patient_id", pid, _NOT_YOURS)
    stored_site = visible.column("site").combine_chunks().take(pc.index_in(pid, value_set=shown))
    moved = pc.not_equal(data.column("site").combine_chunks(), stored_site)
    problems.add_mask(
        raw,
        moved,
        "site",
        raw.data.column("site").combine_chunks(),
        "the patient's stored site (an import never moves a patient: an admin does, "
        "with `jiareg patient move`)",
    )


def _authorise(
    visible: pa.Table,
    user: UserInfo | None,
    action: Action,
    valid: Mapping[str, ValidTable],
) -> None:
    """`user` may `action` at every site involved: the stored site of each stored patient,
    the imported site of each new one (`_check_patients` has refused site changes)."""
    if user is None:
        return
    sites = visible.select(["patient_id", "site"])
    if "patients" in valid:
        imported = valid["patients"].data.select(["patient_id", "site"])
        new = pc.invert(pc.is_in(imported.column("patient_id"), value_set=sites.column(0)))
        sites = pa.concat_tables([sites, imported.filter(new).cast(sites.schema)])
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
    A stored patient at a site where `user` may not `action` is reported as a row problem,
    like an unknown patient; a stored patient's site never changes here (`move_patient`).
    """
    valid, notes, doses = _validated(
        conn, raws, problems, registry_patients, user, action, patients_unreadable
    )
    username = user.username if user else os_user()
    with ExitStack() as stack:
        dosing = None
        if doses is not None:  # the warnings are computed while the tables are written
            pool = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="jiareg-doses"))
            dosing = pool.submit(doses)
        changes = write_validated(
            conn, valid, stored=stored, username=username, reason=reason, progress=progress
        )
        return changes, (*notes, *(dosing.result() if dosing else ()))


def validate_for_load(
    conn: Connection,
    raws: list[RawTable],
    problems: Problems,
    *,
    registry_patients: pa.Table,
    user: UserInfo | None,
    action: Action,
    patients_unreadable: bool = False,
) -> tuple[dict[str, ValidTable], tuple[str, ...]]:
    """`load_validated`'s checks, writing nothing: the valid tables and the warnings.

    Reads from `conn` only the stored patients and treatments that an administration's dose
    warning needs; everything else it decides from `registry_patients` (and the raws). The
    form saves run it on a snapshot before taking the writer lock
    (`jiareg.services.records_prepare`).
    """
    valid, notes, doses = _validated(
        conn, raws, problems, registry_patients, user, action, patients_unreadable
    )
    return valid, (*notes, *(doses() if doses else ()))


def _validated(
    conn: Connection,
    raws: list[RawTable],
    problems: Problems,
    registry_patients: pa.Table,
    user: UserInfo | None,
    action: Action,
    patients_unreadable: bool,
) -> tuple[dict[str, ValidTable], tuple[str, ...], Callable[[], tuple[str, ...]] | None]:
    """`validate_for_load`'s valid tables, the readers' notes and the dose check still to
    run (`dose_check`: it has read what it needs from `conn`)."""
    visible = _visible(registry_patients, user, action)
    valid = validate_tables(raws, visible, problems, patients_unreadable=patients_unreadable)
    _check_patients(raws, valid, registry_patients, visible, problems)
    problems.raise_if_any()
    _authorise(visible, user, action, valid)
    notes = tuple(note for raw in raws for note in raw.notes)
    return dict(valid), notes, dose_check(valid, conn)


def write_validated(
    conn: Connection,
    valid: Mapping[str, ValidTable],
    *,
    stored: Callable[[str], pa.Table],
    username: str,
    reason: str,
    progress: Callable[[str], None] | None = None,
    plans: Mapping[str, UpsertPlan] | None = None,
) -> tuple[TableChange, ...]:
    """Upsert (and audit) the tables `validate_for_load` returned, in the caller's locked
    transaction; `stored(name)` as for `load_validated`. `plans` (`plan_upsert` of tables
    against their `stored` rows) are written as they are, not compared again."""
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
            if plans is not None and spec.name in plans:
                plan = plans[spec.name]
                changes.append(apply_upsert(conn, plan, username=username, reason=reason))
                continue
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
    return tuple(changes)


def import_path(
    path: Path | str,
    db_url: str | None = None,
    *,
    user: UserInfo | None = None,
    reason: str | None = None,
    progress: Callable[[str], None] | None = None,
    format: Format | None = None,
    site: str | None = None,
    skip_unmapped: bool = False,
    options: CellOptions | None = None,
    mapping: Path | str | None = None,
    dictionary: Path | None = None,
    uploaded: bool = False,
) -> ImportSummary:
    """Validate and load a folder of template CSVs (or one CSV, or a workbook); all-or-nothing.

    `format` is `template`, `redcap` (a REDCap raw CSV export) or `fhir` (an R4 Bundle); None
    reads a `.json` file as FHIR and anything else as the template (`jiareg.formats.sources`).

    `user` (a registry user) must be allowed to import for every site involved; None means
    the operating-system user running the CLI. `reason` goes into every audit entry
    (default: the file or folder name). Raises `ImportErrors` listing every problem (up to
    50, then "and N more"); the registry's data is then unchanged. A database without the
    registry schema is initialised first (as `jiareg init` would). FHIR only: `site` for
    patients without a managingOrganization; `skip_unmapped` imports what maps, lists the rest.
    `options` reads dates in another format or decimal commas; `mapping` (a mapping file) reads
    someone else's CSV, workbook or REDCap export (`jiareg.formats.mapping`), with `dictionary`
    (the REDCap project's data dictionary given beside it) in place of the one the mapping
    names; an `uploaded` mapping (the web page's) opens no file it names.
    """
    source = Path(path)
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = ()
    ignored: tuple[tuple[str, int], ...] = ()
    if mapping is not None:
        from jiareg.formats.mapping import read_mapped

        if format is not None:
            raise InputError("--format and --map: the mapping file gives the format")
        raws, file_problems, unreadable, ignored = read_mapped(
            source, Path(mapping), dictionary, uploaded=uploaded
        )
    elif dictionary is not None:
        raise InputError(f"{dictionary.name}: a data dictionary goes with a mapping file")
    elif (format or detect_format(source)) == "fhir":
        fhir = read_bundle(source, site=site, skip_unmapped=skip_unmapped)
        raws, file_problems, unreadable = fhir.raws, fhir.problems, fhir.unreadable
        skipped, notes = fhir.skipped, fhir.notes
    else:
        raws, file_problems, unreadable = read_source(source, format)
    problems = Problems(options=options or CellOptions())
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
    return ImportSummary(
        str(source), changes, warnings, skipped, notes, problems.normalisations(), ignored
    )
