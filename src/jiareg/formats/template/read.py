"""Read a folder of template CSVs or a template workbook into raw text tables.

Each table comes back as text cells (empty cell = null, surrounding spaces removed) with the
row number a person sees in the file (CSV: the line, header = 1; workbook: the sheet row).
Problems with a whole file (not UTF-8, missing or unknown columns, unknown file, more rows
than allowed) are reported like cell problems, with row 1 (the header) or the offending line.
A workbook that unpacks to more than allowed is refused before it is opened
(`jiareg.formats.template.limits`). A cell that an export quoted against spreadsheet
formulas (`'=...`) loses that one quote (`jiareg.formats.cells.unquoted_cells`).
A CSV whose header is semicolon-separated (European Excel) is read with `;`; a folder
whose `template.xlsx` holds data beside header-only CSVs is read from the workbook.
Older files' columns are read as `.older` says.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from jiareg.errors import ImportRowError, InputError
from jiareg.formats.cells import RawTable, text_cells, unquoted_cells, utf8_text
from jiareg.formats.template.dictionary import TABLES, TemplateTable, table
from jiareg.formats.template.limits import (
    ImportLimits,
    check_workbook,
    import_limits,
    too_many_rows,
)
from jiareg.formats.template.older import OLDER_COLUMNS, read_older, upgraded_header

__all__ = ["read_path"]


def _header_problems(
    spec: TemplateTable, file: str, header: list[str], problems: list[ImportRowError]
) -> bool:
    """Report missing, unknown and repeated columns; True when the header is usable."""
    ok = True
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(
                ImportRowError(
                    file=file,
                    row=1,
                    column=name,
                    value=name,
                    expected="each column once in the header",
                )
            )
            ok = False
        seen.add(name)
        if name not in spec.names:
            problems.append(
                ImportRowError(
                    file=file,
                    row=1,
                    column=name,
                    value=name,
                    expected=f"only template columns: {', '.join(spec.names)}",
                )
            )
            ok = False
    for name in spec.names:
        if name not in seen:
            problems.append(
                ImportRowError(
                    file=file,
                    row=1,
                    column=name,
                    value=None,
                    expected="this required column in the header row",
                )
            )
            ok = False
    return ok


def _read_csv(
    spec: TemplateTable, path: Path, problems: list[ImportRowError], limits: ImportLimits
) -> RawTable | None:
    file = path.name
    text = utf8_text(path, problems)
    if text is None:
        return None
    data = text.encode("utf-8")
    if not data or data.isspace():
        problems.append(
            ImportRowError(
                file=file,
                row=1,
                column="(header)",
                value="",
                expected="a header row with the template columns",
            )
        )
        return None
    parsed = _parse_csv(spec, file, data, _delimiter(text), problems)
    if parsed is None:
        return None
    table, bad_rows = parsed
    problems.extend(bad_rows)
    over = too_many_rows(file, table.num_rows, limits)
    if over is not None:
        problems.append(over)
        return None
    header = table.column_names
    if not _header_problems(spec, file, upgraded_header(spec, header), problems):
        return None
    given = {n: unquoted_cells(text_cells(table.column(n))) for n in header}
    columns, notes = read_older(spec, file, given, table.num_rows)
    rows = pa.array(range(2, table.num_rows + 2), pa.int64())
    if bad_rows:  # skipped rows shift line numbers: only exact when every row parsed
        rows = pa.array([0] * table.num_rows, pa.int64())
    data = pa.Table.from_arrays(columns, names=list(spec.names))
    return RawTable(spec, file, data, rows, notes=notes)


def _parse_csv(
    spec: TemplateTable, file: str, data: bytes, delimiter: str, problems: list[ImportRowError]
) -> tuple[pa.Table, list[ImportRowError]] | None:
    """Every cell of `data` as text, and a problem for each row with the wrong cell count
    (skipped), or None after a problem with the whole file.

    Parsed on Arrow's threads first; a file with a bad row is parsed again on one thread,
    which alone knows each row's line number."""
    bad_rows: list[ImportRowError] = []

    def _invalid(row: pacsv.InvalidRow) -> str:
        bad_rows.append(
            ImportRowError(
                file=file,
                row=(row.number or 0),
                column="(row)",
                value=row.text,
                expected=f"{row.expected_columns} cells, found {row.actual_columns}",
            )
        )
        return "skip"

    for threads in (True, False):
        bad_rows.clear()
        try:
            table = pacsv.read_csv(
                io.BytesIO(data),
                read_options=pacsv.ReadOptions(use_threads=threads),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in (*spec.names, *OLDER_COLUMNS)},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid as exc:
            problems.append(
                ImportRowError(
                    file=file,
                    row=1,
                    column="(file)",
                    value=str(exc)[:200],
                    expected="a comma-separated file with a header row",
                )
            )
            return None
        if not bad_rows:
            break
    return table, bad_rows


def _delimiter(text: str) -> str:
    """`;` for a file whose header is semicolon-separated (European Excel's "CSV"), else `,`.

    >>> _delimiter("patient_id;site;sex\\nP1;BA;F\\n"), _delimiter("patient_id,site\\n")
    (';', ',')
    """
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _has_rows(text: str) -> bool:
    """True when a CSV's text holds a data row (a line after the header with a cell)."""
    return any(line.strip(" \t\r,;") for line in text.split("\n")[1:])


def _workbook_filled(path: Path, limits: ImportLimits) -> bool:
    """True when a sheet of the workbook holds a data row below its header."""
    import openpyxl

    check_workbook(path, limits)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InputError(f"{path}: cannot read the workbook ({exc})") from exc
    try:
        for sheet in book.worksheets:
            rows = sheet.iter_rows(min_row=2, values_only=True)
            if not sheet.title.startswith("_") and any(
                any(v is not None and str(v).strip() for v in row) for row in rows
            ):
                return True
    finally:
        book.close()
    return False


def _folder_workbook(folder: Path, limits: ImportLimits) -> Path | None:
    """The folder's `template.xlsx` when it, not the CSVs beside it, holds the data.

    A filled workbook beside empty (header-only) CSVs is what `jiareg template DIR` then
    filling in the workbook leaves; both filled is ambiguous, so it is an error.
    """
    book = folder / "template.xlsx"
    if not book.is_file() or not _workbook_filled(book, limits):
        return None
    filled = [
        p.name
        for p in sorted(folder.glob("*.csv"))
        if _has_rows(p.read_text(encoding="utf-8", errors="replace"))
    ]
    if filled:
        raise InputError(
            f"{folder}: both template.xlsx and {', '.join(filled)} hold data; import one: "
            f"`jiareg import {book}`, or move the workbook out to import the CSV files"
        )
    return book


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(
    path: Path, problems: list[ImportRowError], unreadable: set[str], limits: ImportLimits
) -> list[RawTable]:
    import openpyxl

    check_workbook(path, limits)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InputError(f"{path}: cannot read the workbook ({exc})") from exc
    out: list[RawTable] = []
    try:
        for sheet in book.worksheets:
            if sheet.title.startswith("_"):  # helper sheets (drop-down lists)
                continue
            file = f"{path.name}[{sheet.title}]"
            if sheet.title not in {t.name for t in TABLES}:
                problems.append(
                    ImportRowError(
                        file=file,
                        row=1,
                        column="(sheet)",
                        value=sheet.title,
                        expected="a sheet named after a template table: "
                        + ", ".join(t.name for t in TABLES),
                    )
                )
                continue
            spec = table(sheet.title)
            rows_iter = sheet.iter_rows(values_only=True)
            header_cells = next(rows_iter, None)
            header = [_cell_text(v) or "" for v in (header_cells or ())]
            while header and header[-1] == "":
                header.pop()
            if not _header_problems(spec, file, upgraded_header(spec, header), problems):
                unreadable.add(spec.name)
                continue
            cells: list[list[str | None]] = [[] for _ in header]
            numbers: list[int] = []
            for number, values in enumerate(rows_iter, start=2):
                over = too_many_rows(file, number - 1, limits)
                if over is not None:
                    problems.append(over)
                    unreadable.add(spec.name)
                    break
                texts = [_cell_text(v) for v in values[: len(header)]]
                if all(t is None or t.strip() == "" for t in texts):
                    continue
                texts += [None] * (len(header) - len(texts))
                for i, text in enumerate(texts):
                    cells[i].append(text)
                numbers.append(number)
            if spec.name in unreadable:
                continue
            by_name = dict(zip(header, cells, strict=True))
            given = {
                n: unquoted_cells(text_cells(pa.array(v, pa.string()))) for n, v in by_name.items()
            }
            columns, notes = read_older(spec, file, given, len(numbers))
            out.append(
                RawTable(
                    spec,
                    file,
                    pa.Table.from_arrays(columns, names=list(spec.names)),
                    pa.array(numbers, pa.int64()),
                    notes=notes,
                )
            )
    finally:
        book.close()
    return out


def read_path(path: Path) -> tuple[list[RawTable], list[ImportRowError], set[str]]:
    """Read a folder of template CSVs or one `.xlsx` workbook.

    Returns the readable tables (in load order), the file-level problems found and the names
    of the tables that were given but could not be read. A folder may hold any subset of the
    template files; other `.csv` files are a problem.
    """
    problems: list[ImportRowError] = []
    unreadable: set[str] = set()
    limits = import_limits()
    if path.is_file() and path.suffix.lower() == ".xlsx":
        raws = _read_xlsx(path, problems, unreadable, limits)
    elif path.is_file() and path.suffix.lower() == ".csv":
        raws = _read_folder(path.parent, problems, unreadable, limits, only=path.name)
    elif path.is_dir() and (book := _folder_workbook(path, limits)) is not None:
        raws = _read_xlsx(book, problems, unreadable, limits)
    elif path.is_dir():
        raws = _read_folder(path, problems, unreadable, limits)
    else:
        raise InputError(f"{path}: expected a folder of template CSV files or an .xlsx workbook")
    order = [t.name for t in TABLES]
    raws.sort(key=lambda r: order.index(r.spec.name))
    return raws, problems, unreadable


def _read_folder(
    folder: Path,
    problems: list[ImportRowError],
    unreadable: set[str],
    limits: ImportLimits,
    *,
    only: str | None = None,
) -> list[RawTable]:
    known = {t.file: t for t in TABLES}
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv")
    if only is not None:
        files = [p for p in files if p.name == only]
    raws: list[RawTable] = []
    for path in files:
        spec = known.get(path.name)
        if spec is None:
            problems.append(
                ImportRowError(
                    file=path.name,
                    row=1,
                    column="(file)",
                    value=path.name,
                    expected="a template file name: "
                    + ", ".join(known)
                    + (" (a REDCap export? add --format redcap)" if only else ""),
                )
            )
            continue
        raw = _read_csv(spec, path, problems, limits)
        if raw is None:
            unreadable.add(spec.name)
        else:
            raws.append(raw)
    if not raws and not problems:
        raise InputError(
            f"{folder}: no template CSV files found; expected some of " + ", ".join(known)
        )
    return raws
