"""Template text cells: what every format's reader produces and every writer consumes.

A reader (template CSV/XLSX, REDCap export, FHIR bundle) returns `RawTable`s: one template
table's cells as text (empty cell = null, surrounding blanks removed) with where each row came
from, so validation (`jiareg.ingest.validate`) never depends on the format. A writer turns
stored tables back into the same text cells (`table_text`); the template's CSVs quote text
that a spreadsheet would run as a formula, and its reader takes the quote off
(`unquoted_cells`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from jiareg.errors import ImportRowError
from jiareg.formats.template.dictionary import TemplateTable

__all__ = [
    "Place",
    "RawTable",
    "formula_safe",
    "table_text",
    "text_cells",
    "unquoted_cells",
    "utf8_text",
]

_BOM = b"\xef\xbb\xbf"
_FORMULA_RE: Final = r"^'*[=+\-@\t\r]"
"""Text a spreadsheet may run as a formula (=, +, -, @, tab, CR first; OWASP "CSV
injection"), or such text already behind quotes, which gets one more to round-trip."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where one cell came from, for a source that is not one table per file.

    `row` is the CSV line (REDCap) or the bundle entry's index (FHIR), `where` names the
    record or resource (`record 'P1', event 'visit_arm_1', visit #2`; `Observation/esr-1`),
    `column` the source's field (`adm_dose_mg`; `entry[12].resource.valueQuantity.value`).
    """

    row: int
    where: str
    column: str


@dataclass(frozen=True, slots=True)
class RawTable:
    """One file's cells as text, before validation.

    `file` is what messages call the file (`visits.csv`, or `book.xlsx[visits]`); `rows`
    holds each data row's number in that file. A reader of another format (REDCap, FHIR)
    gives `locate` (row index, template column -> the cell's `Place` in its own terms) and
    `reported`, the (row index, column) cells it has already reported (a REDCap code it
    could not translate), which validation then leaves alone. `notes` say how an older
    file's columns were read (reported with the import's warnings).
    """

    spec: TemplateTable
    file: str
    data: pa.Table
    rows: pa.Array
    locate: Callable[[int, str], Place] | None = None
    reported: frozenset[tuple[int, str]] = field(default_factory=frozenset)
    notes: tuple[str, ...] = ()

    def row_number(self, index: int) -> int:
        """The row a person finds row `index` at (CSV line, sheet row or bundle entry)."""
        if self.locate is None:
            return int(self.rows[index].as_py())
        return self.locate(index, self.spec.key[0]).row

    def problem(self, index: int, column: str, value: object, expected: str) -> ImportRowError:
        """The error for the cell at row `index`, template `column`, named in the source's terms."""
        if self.locate is None:
            row = self.rows[index].as_py()
            return ImportRowError(
                file=self.file, row=row, column=column, value=value, expected=expected
            )
        place = self.locate(index, column)
        return ImportRowError(
            file=self.file,
            row=place.row,
            where=place.where,
            column=place.column,
            value=value,
            expected=expected,
        )


def text_cells(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Text with surrounding blanks removed; empty cells become null."""
    text = pc.utf8_trim_whitespace(column.cast(pa.string()))
    out = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def unquoted_cells(column: pa.Array) -> pa.Array:
    """Cells with the quote `table_text(..., spreadsheet_safe=True)` added taken off again:
    one leading `'` when quotes then =, +, -, @, tab or CR follow.

    >>> unquoted_cells(pa.array(["'=1+1", "''-x", "'ok", "=2", None])).to_pylist()
    ['=1+1', "'-x", "'ok", '=2', None]
    """
    if not pc.any(pc.starts_with(column, "'")).as_py():  # the usual file: no quoted cell
        return column
    quoted = pc.match_substring_regex(column, "^'" + _FORMULA_RE[1:])
    return pc.if_else(quoted, pc.utf8_slice_codeunits(column, 1), column)


def utf8_text(path: Path, problems: list[ImportRowError]) -> str | None:
    """The file's text (a UTF-8 BOM removed), or None after reporting where it is not UTF-8."""
    data = path.read_bytes()
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(
            ImportRowError(
                file=path.name,
                row=data.count(b"\n", 0, exc.start) + 1,
                column="(file)",
                value=data[exc.start : exc.start + 4],
                expected="UTF-8 text (save the file as CSV UTF-8)",
            )
        )
        return None


def _text(col: pa.Array, spreadsheet_safe: bool) -> pa.Array:
    if pa.types.is_boolean(col.type):
        return pc.if_else(col, "yes", "no")
    if spreadsheet_safe and pa.types.is_string(col.type):
        formula = pc.match_substring_regex(col, _FORMULA_RE)
        return pc.if_else(formula, pc.binary_join_element_wise("'", col, ""), col)
    return col.cast(pa.string())


def formula_safe(text: str) -> str:
    """One text cell as `table_text(..., spreadsheet_safe=True)` writes it.

    >>> [formula_safe(t) for t in ["=HYPERLINK()", "-x", "ok"]]
    ["'=HYPERLINK()", "'-x", 'ok']
    """
    return f"'{text}" if re.match(_FORMULA_RE, text) else text


def table_text(table: pa.Table, *, spreadsheet_safe: bool = False) -> list[list[str]]:
    """The rows of `table` as template text cells (empty string for missing).

    With `spreadsheet_safe`, a text cell a spreadsheet would run as a formula (it starts
    with =, +, -, @, tab or CR) gets a leading `'` (OWASP); so does such a cell already
    behind quotes, so that `unquoted_cells` restores every cell exactly. Numbers, dates and
    flags are never quoted.

    >>> table_text(pa.table({"esr": [4.2, None], "fever": [True, None]}))
    [['4.2', 'yes'], ['', '']]
    >>> table_text(pa.table({"n": [-1.5], "t": ["=HYPERLINK()"]}), spreadsheet_safe=True)
    [['-1.5', "'=HYPERLINK()"]]
    """
    columns = [
        pc.fill_null(_text(c.combine_chunks(), spreadsheet_safe), "").to_pylist()
        for c in table.columns
    ]
    return [list(row) for row in zip(*columns, strict=True)]
