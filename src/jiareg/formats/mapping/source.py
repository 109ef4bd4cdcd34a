"""Someone else's file as rows of text cells by column name: a CSV, a workbook's sheets or a
REDCap export (raw CSV, or CDISC ODM XML with its own dictionary)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from jiareg.errors import ImportRowError, InputError
from jiareg.formats.cells import utf8_text
from jiareg.formats.template.limits import check_workbook, import_limits, too_many_rows

__all__ = ["SourceRows", "read_csv_rows", "read_sheets"]


@dataclass
class SourceRows:
    """One table of the source: its `file` (as messages name it), header, rows and lines."""

    file: str
    header: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def _header(file: str, header: list[str], problems: list[ImportRowError]) -> list[str]:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(
                ImportRowError(
                    file=file, row=1, column=name, value=name, expected="each column once"
                )
            )
        seen.add(name)
    return header


def read_csv_rows(path: Path, problems: list[ImportRowError]) -> SourceRows:
    """A CSV file (comma- or semicolon-separated, UTF-8) as rows; blank rows skipped."""
    text = utf8_text(path, problems)
    rows = SourceRows(path.name, [])
    if text is None:
        return rows
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows.header = _header(path.name, [h.strip() for h in next(reader, [])], problems)
    last = reader.line_num
    for record in reader:
        line, last = last + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(rows.header):
            problems.append(
                ImportRowError(
                    file=path.name,
                    row=line,
                    column="(row)",
                    value=delimiter.join(record)[:200],
                    expected=f"{len(rows.header)} cells, found {len(record)}",
                )
            )
            continue
        rows.rows.append({h: c.strip() for h, c in zip(rows.header, record, strict=True)})
        rows.lines.append(line)
    over = too_many_rows(path.name, len(rows.rows), import_limits())
    if over is not None:
        problems.append(over)
    return rows


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_sheets(path: Path, problems: list[ImportRowError]) -> dict[str, SourceRows]:
    """Every sheet of a workbook as rows (first row = header; empty rows skipped)."""
    import openpyxl

    limits = import_limits()
    check_workbook(path, limits)  # refuse a workbook that unpacks to too much, unopened
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InputError(f"{path}: cannot read the workbook ({exc})") from exc
    sheets: dict[str, SourceRows] = {}
    try:
        for sheet in book.worksheets:
            file = f"{path.name}[{sheet.title}]"
            values = sheet.iter_rows(values_only=True)
            header = [_cell_text(v) for v in next(values, ())]
            while header and header[-1] == "":
                header.pop()
            rows = SourceRows(file, _header(file, header, problems))
            for number, cells in enumerate(values, start=2):
                texts = [_cell_text(v) for v in cells[: len(header)]]
                if any(texts):
                    texts += [""] * (len(header) - len(texts))
                    rows.rows.append(dict(zip(header, texts, strict=True)))
                    rows.lines.append(number)
            over = too_many_rows(file, len(rows.rows), limits)
            if over is not None:
                problems.append(over)
            sheets[sheet.title] = rows
    finally:
        book.close()
    return sheets
