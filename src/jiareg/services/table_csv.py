"""A table shown on screen as CSV, safe to open in a spreadsheet (formula cells neutralised).

Each column keeps its type (numbers and dates are never quoted); a text cell a spreadsheet
would run as a formula gets a leading `'`: `jiareg.formats.cells.table_text` with
`spreadsheet_safe`, the rule the registry export follows (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import pyarrow as pa

from jiareg.formats.cells import table_text

__all__ = ["csv_rows", "csv_text"]


def _column(values: list[object]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def csv_rows(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> list[list[str]]:
    """The header and the rows as neutralised text cells.

    >>> csv_rows(["id", "note", "n"], [["A-1", "=cmd()", -2]])
    [['id', 'note', 'n'], ['A-1', "'=cmd()", '-2']]
    """
    data = pa.table(
        {str(i): _column([r[i] for r in rows]) for i in range(len(columns))}
        if rows
        else {str(i): pa.array([], pa.string()) for i in range(len(columns))}
    )
    header = table_text(pa.table({"h": list(columns)}), spreadsheet_safe=True)
    return [[h[0] for h in header], *table_text(data, spreadsheet_safe=True)]


def csv_text(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """`csv_rows` as CSV text (one header line)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(csv_rows(columns, rows))
    return out.getvalue()
