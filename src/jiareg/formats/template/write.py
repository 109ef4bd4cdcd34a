"""Write the empty template (one CSV per table and `template.xlsx`) and template CSVs of data.

Cells are written as the template reads them (`jiareg.formats.cells.table_text`): dates
YYYY-MM-DD, numbers in their shortest decimal form (4.2, 130, 0.875), flags yes/no, missing =
empty; a text cell starting with =, +, -, @, tab or CR gets a leading `'` so that a
spreadsheet shows it instead of running it (OWASP "CSV injection"). The workbook has one
sheet per table, a note on each header with the unit and the allowed values, and drop-down
lists for coded columns.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Final

import pyarrow as pa

from jiareg.formats.cells import table_text
from jiareg.formats.template.dictionary import TABLES, Column, TemplateTable

__all__ = ["write_csv", "write_table", "write_template"]

WORKBOOK: Final = "template.xlsx"
LISTS_SHEET: Final = "_lists"
"""The workbook's hidden sheet holding drop-down lists; readers skip sheets starting with _."""


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Write one template CSV: UTF-8, a header row, then `rows`."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_table(path: Path, table: pa.Table) -> None:
    """Write a table as one template CSV, text that a spreadsheet would run as a formula
    quoted (`table_text(..., spreadsheet_safe=True)`; the template reader unquotes it)."""
    write_csv(path, table.column_names, table_text(table, spreadsheet_safe=True))


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
        write_csv(path, list(spec.names), [])
        written.append(path)
    _write_workbook(folder / WORKBOOK)
    written.append(folder / WORKBOOK)
    return written
