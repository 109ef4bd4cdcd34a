"""Export the registry: template CSVs (optionally de-identified), a REDCap raw export or a
FHIR R4 bundle. An export re-imports to the same registry and exports again byte for byte
(the round trip is lossless). `write_empty_template` writes what an import starts from.

De-identified export (`deidentify=True`), for researchers:
- `patient_id` becomes `R` + the first 16 hex digits of HMAC-SHA256(key, patient_id);
- every date of a patient moves by the same per-patient offset of -182..+182 days (from the
  same keyed hash), so intervals within a patient are kept;
- `patients.birth_date` is replaced by `age_at_onset_months` and `visits.csv` gains
  `age_months` (completed months at the visit), computed from the true dates.
- small cells: a `site`, `sex` or `ilar_category` held by fewer than 5 patients is written
  as `<5` (`suppress=False`, `jiareg export --deidentify --no-suppress`, keeps them; the rule
  and its source: docs/reference/deidentification.md).
The key is the registry's own secret (created by `jiareg init`) unless one is given, so
repeated exports use the same pseudonyms. De-identified files are not re-importable.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from jiareg.errors import InputError
from jiareg.formats.fhir.write import write_fhir
from jiareg.formats.redcap.write import write_project, write_redcap
from jiareg.formats.sources import Format
from jiareg.formats.template.dictionary import TABLES
from jiareg.formats.template.write import write_table, write_template
from jiareg.store.access import record_access
from jiareg.store.engine import deidentification_key, get_engine
from jiareg.store.tables import read_tables
from jiareg.store.users import os_user

__all__ = ["export", "export_registry", "write_empty_template"]

_MAX_SHIFT_DAYS: Final = 182
_QUASI_IDENTIFIERS: Final = ("site", "sex", "ilar_category")
"""Patient columns that, when rare, single a patient out (suppressed below SMALL_CELL)."""


def _keyed(key: bytes, purpose: str, ids: list[str]) -> list[bytes]:
    return [hmac.new(key, f"{purpose}:{i}".encode(), hashlib.sha256).digest() for i in ids]


def _months(born: pa.Array, when: pa.Array) -> pa.Array:
    """Completed months from `born` to `when` (vectorised)."""
    months = pc.add(
        pc.multiply(pc.subtract(pc.year(when), pc.year(born)), 12),
        pc.subtract(pc.month(when), pc.month(born)),
    )
    short = pc.less(pc.day(when), pc.day(born))
    return pc.subtract(months, pc.if_else(short, 1, 0))


def _deidentify(tables: dict[str, pa.Table], key: bytes) -> dict[str, pa.Table]:
    # Imported here: jiareg.study pulls in the statistics stack (lifelines, pandas), ~1.5 s of
    # start-up that every plain `jiareg export` paid.
    from jiareg.study.deidentify import research_id

    patients = tables["patients"]
    ids = patients.column("patient_id").to_pylist()
    pseudo = pa.array([research_id(key, i) for i in ids], pa.string())
    shift = pa.array(
        [
            int.from_bytes(d[:4], "big") % (2 * _MAX_SHIFT_DAYS + 1) - _MAX_SHIFT_DAYS
            for d in _keyed(key, "shift", ids)
        ],
        pa.int64(),
    )
    births = patients.column("birth_date").combine_chunks()
    all_ids = pa.array(ids, pa.string())
    out: dict[str, pa.Table] = {}
    for name, table in tables.items():
        where = pc.index_in(table.column("patient_id"), value_set=all_ids)
        cols: dict[str, pa.Array] = {}
        for field in table.schema:
            col = table.column(field.name).combine_chunks()
            if field.name == "patient_id":
                col = pseudo.take(where)
            elif pa.types.is_date(field.type):
                if name == "patients" and field.name == "birth_date":
                    onset = table.column("onset_date").combine_chunks()
                    cols["age_at_onset_months"] = _months(col, onset)
                    continue
                days = pc.add(col.cast(pa.int32()).cast(pa.int64()), shift.take(where))
                col = days.cast(pa.int32()).cast(pa.date32())
            cols[field.name] = col
            if name == "visits" and field.name == "visit_date":
                visit = table.column("visit_date").combine_chunks()
                cols["age_months"] = _months(births.take(where), visit)
        out[name] = pa.table(cols)
    return out


def _suppress_small_cells(patients: pa.Table) -> pa.Table:
    """`patients` with each quasi-identifier value held by fewer than SMALL_CELL patients
    written as "<5"."""
    from jiareg.study.deidentify import SMALL_CELL, SUPPRESSED  # as in `_deidentify`

    for name in _QUASI_IDENTIFIERS:
        column = patients.column(name).combine_chunks()
        counts = column.value_counts()
        rare = pa.array(
            [
                v.as_py()
                for v, n in zip(counts.field(0), counts.field(1), strict=True)
                if n.as_py() < SMALL_CELL and v.is_valid
            ],
            column.type,
        )
        hidden = pc.fill_null(pc.is_in(column, value_set=rare), False)
        shown = pc.if_else(hidden, pa.scalar(SUPPRESSED, column.type), column)
        patients = patients.set_column(patients.schema.get_field_index(name), name, shown)
    return patients


def export_registry(
    url: str | None,
    folder: Path,
    *,
    deidentify: bool = False,
    key: bytes | None = None,
    suppress: bool = True,
) -> list[Path]:
    """Write every registry table as template CSVs in `folder` (optionally de-identified;
    then with small cells suppressed unless not `suppress`).

    Rows are ordered by their natural key, so two exports of the same registry are identical.
    Text a spreadsheet would run as a formula (`=HYPERLINK(...)`, `+cmd|...`) is written with
    a leading `'`, which the template reader takes off again.
    """
    tables = read_tables(url)
    if deidentify:
        tables = _deidentify(tables, key or deidentification_key(url))
        if suppress:
            tables["patients"] = _suppress_small_cells(tables["patients"])
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in TABLES:
        table = tables[spec.name]
        path = folder / spec.file
        write_table(path, table)
        written.append(path)
    return written


def export(
    url: str | None,
    folder: Path,
    *,
    fmt: Format = "template",
    deidentify: bool = False,
    suppress: bool = True,
    by: str | None = None,
    address: str = "cli",
) -> list[Path]:
    """Write the registry into `folder` in `fmt`: template CSVs (`export_registry`),
    `redcap.csv` (a REDCap raw export) or `bundle.json` (a FHIR R4 collection Bundle).

    Only the template format can be de-identified (InputError otherwise). The export is an
    access event of `by` (default the OS user) from `address`.
    """
    if fmt == "template":
        written = export_registry(url, folder, deidentify=deidentify, suppress=suppress)
    elif deidentify:
        raise InputError("--deidentify writes the template format only (--format template)")
    elif fmt == "redcap":
        written = [write_redcap(read_tables(url), folder / "redcap.csv")]
    else:
        written = [write_fhir(read_tables(url), folder / "bundle.json")]
    detail = f"{fmt}{' de-identified' if deidentify else ''} to {folder}"
    record_access(
        get_engine(url), username=by or os_user(), action="export", address=address, detail=detail
    )
    return written


def write_empty_template(folder: Path) -> list[Path]:
    """Write the empty template (one CSV per table, `template.xlsx`) into `folder` and the
    jiareg REDCap project (data dictionary, repeating instruments) into `folder/redcap`."""
    return [*write_template(folder), *write_project(folder / "redcap")]
