"""Write the empty template (CSV headers and `template.xlsx`) and registry exports.

Cells are written as the template reads them: dates YYYY-MM-DD, numbers in their shortest
decimal form (4.2, 130, 0.875), flags yes/no, missing = empty. An export re-imports to the
same registry and exports again byte for byte (the round trip is lossless).

De-identified export (`deidentify=True`), for researchers:
- `patient_id` becomes `R` + the first 16 hex digits of HMAC-SHA256(key, patient_id);
- every date of a patient moves by the same per-patient offset of -182..+182 days (from the
  same keyed hash), so intervals within a patient are kept;
- `patients.birth_date` is replaced by `age_at_onset_months` and `visits.csv` gains
  `age_months` (completed months at the visit), computed from the true dates.
The key is the registry's own secret (created by `jiareg init`) unless one is given, so
repeated exports use the same pseudonyms. De-identified files are not re-importable.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from jiareg.ingest.template import TABLES, Column, TemplateTable
from jiareg.store.engine import deidentification_key
from jiareg.store.snapshot import read_tables

__all__ = ["export_registry", "table_text", "write_template"]

WORKBOOK: Final = "template.xlsx"
LISTS_SHEET: Final = "_lists"
"""The workbook's hidden sheet holding drop-down lists; readers skip sheets starting with _."""
_MAX_SHIFT_DAYS: Final = 182


def _text(col: pa.Array) -> pa.Array:
    if pa.types.is_boolean(col.type):
        return pc.if_else(col, "yes", "no")
    return col.cast(pa.string())


def table_text(table: pa.Table) -> list[list[str]]:
    """The rows of `table` as template text cells (empty string for missing).

    >>> table_text(pa.table({"esr": [4.2, None], "fever": [True, None]}))
    [['4.2', 'yes'], ['', '']]
    """
    columns = [pc.fill_null(_text(c.combine_chunks()), "").to_pylist() for c in table.columns]
    return [list(row) for row in zip(*columns, strict=True)]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _note(col: Column, spec: TemplateTable) -> str:
    lines = [col.description, f"Expected: {col.expected()}."]
    if col.required:
        lines.append("Required.")
    if col.name in spec.key:
        lines.append("Part of the row's key: " + " + ".join(spec.key) + ".")
    return "\n".join(lines)


def _write_workbook(path: Path) -> None:
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = openpyxl.Workbook()
    book.remove(book.active)
    lists = book.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    list_ranges: dict[tuple[str, ...], str] = {}
    for spec in TABLES:
        sheet = book.create_sheet(spec.name)
        sheet.freeze_panes = "A2"
        for i, col in enumerate(spec.columns, start=1):
            cell = sheet.cell(row=1, column=i, value=col.name)
            cell.font = Font(bold=True)
            comment = Comment(_note(col, spec), "jiareg")
            comment.width, comment.height = 320, 140
            cell.comment = comment
            letter = get_column_letter(i)
            sheet.column_dimensions[letter].width = max(12, len(col.name) + 2)
            if col.codes:
                if col.codes not in list_ranges:
                    n = len(list_ranges) + 1
                    for r, code in enumerate(col.codes, start=1):
                        lists.cell(row=r, column=n, value=code)
                    lcol = get_column_letter(n)
                    list_ranges[col.codes] = f"{LISTS_SHEET}!${lcol}$1:${lcol}${len(col.codes)}"
                check = DataValidation(
                    type="list",
                    formula1=list_ranges[col.codes],
                    allow_blank=True,
                    showErrorMessage=True,
                    error=f"Expected {col.expected()}.",
                )
                check.add(f"{letter}2:{letter}10000")
                sheet.add_data_validation(check)
    book.move_sheet(LISTS_SHEET, offset=len(TABLES))
    book.active = 0
    book.save(path)


def write_template(folder: Path) -> list[Path]:
    """Write the empty template into `folder`: one CSV per table and `template.xlsx`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in TABLES:
        path = folder / spec.file
        _write_csv(path, list(spec.names), [])
        written.append(path)
    _write_workbook(folder / WORKBOOK)
    written.append(folder / WORKBOOK)
    return written


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
    patients = tables["patients"]
    ids = patients.column("patient_id").to_pylist()
    pseudo = pa.array(["R" + d.hex()[:16] for d in _keyed(key, "id", ids)], pa.string())
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


def export_registry(
    url: str | None, folder: Path, *, deidentify: bool = False, key: bytes | None = None
) -> list[Path]:
    """Write every registry table as template CSVs in `folder` (optionally de-identified).

    Rows are ordered by their natural key, so two exports of the same registry are identical.
    """
    tables = read_tables(url)
    if deidentify:
        tables = _deidentify(tables, key or deidentification_key(url))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in TABLES:
        table = tables[spec.name]
        path = folder / spec.file
        _write_csv(path, table.column_names, table_text(table))
        written.append(path)
    return written
