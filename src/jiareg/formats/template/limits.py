"""How much a template import may hold: rows per table, and a workbook's unpacked size.

An .xlsx is a zip of XML: a 240 KB workbook can unpack to 54 MB of XML and cost half a minute
of CPU to parse. `check_workbook` reads only the zip's directory, before openpyxl opens it:
the declared uncompressed sizes (zipfile never inflates a member past its declared size) and
the member count. Every CSV file and sheet holds at most `rows` rows. The limits are set by
environment variables (`JIAREG_IMPORT_MAX_ROWS`, `JIAREG_IMPORT_MAX_XLSX_MB`).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from jiareg.errors import ImportRowError, InputError

__all__ = ["ImportLimits", "check_workbook", "import_limits", "too_many_rows"]

ROWS_ENV: Final = "JIAREG_IMPORT_MAX_ROWS"
XLSX_MB_ENV: Final = "JIAREG_IMPORT_MAX_XLSX_MB"


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """Rows per table; a workbook's total uncompressed size (MB) and its number of files."""

    rows: int = 1_000_000
    xlsx_mb: float = 50.0
    xlsx_members: int = 1000


def _setting(name: str, default: float, kind: type[int] | type[float]) -> float:
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError(f"{name}={text!r}: expected a positive {kind.__name__}")
    return value


def import_limits() -> ImportLimits:
    """The limits in force: the defaults, or the environment's (InputError when invalid)."""
    default = ImportLimits()
    return ImportLimits(
        rows=int(_setting(ROWS_ENV, default.rows, int)),
        xlsx_mb=_setting(XLSX_MB_ENV, default.xlsx_mb, float),
    )


def check_workbook(path: Path, limits: ImportLimits) -> None:
    """Refuse (InputError) a workbook that unpacks to more than the limits allow."""
    try:
        with zipfile.ZipFile(path) as book:
            members = book.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: cannot read the workbook ({exc})") from exc
    if len(members) > limits.xlsx_members:
        raise InputError(
            f"{path.name}: {len(members)} files in the workbook, more than the "
            f"{limits.xlsx_members} a template workbook may hold; save it again from a "
            "spreadsheet program, or import CSV files"
        )
    size = sum(m.file_size for m in members) / 2**20
    if size > limits.xlsx_mb:
        raise InputError(
            f"{path.name}: unpacks to {size:.1f} MB of XML, over the limit of "
            f"{limits.xlsx_mb:g} MB ({XLSX_MB_ENV}); split the workbook, or import CSV files"
        )


def too_many_rows(file: str, rows: int, limits: ImportLimits) -> ImportRowError | None:
    """The problem of a table of `rows` data rows over the limit, else None."""
    if rows <= limits.rows:
        return None
    return ImportRowError(
        file=file,
        row=limits.rows + 2,
        column="(file)",
        value=f"more than {limits.rows} rows",
        expected=f"at most {limits.rows} rows per table ({ROWS_ENV}); split the file "
        "into several imports",
    )
