"""Read a REDCap "raw" CSV export into template tables (the project: `.project`).

Reading: the header is `record_id`, optionally `redcap_event_name` (longitudinal projects),
`redcap_repeat_instrument`, `redcap_repeat_instance`, then fields. `<form>_complete` and
`redcap_data_access_group` columns are accepted and not used. Any other column that is not a
field of the jiareg dictionary is an error (a renamed field would otherwise be lost without
notice), and so is an instrument exported with only some of its fields (an import replaces
whole rows, so a missing field would erase the stored value).

Each row is one instrument: rows with `redcap_repeat_instrument` set are one instance of that
repeating instrument; the other rows hold the `patient` form (a row whose patient fields are
all empty, e.g. another event of a longitudinal record, adds nothing). Codes are translated to
the template's values here; everything else is checked by the template's validation, with
errors named `export.csv:LINE: record 'P1', event 'e', visit #2: column 'esr' = ...`. A text
cell that jiareg's writer quoted against spreadsheets (`'=...`, `redcap/write.py`) loses that
one quote, as in the template reader (`jiareg.formats.cells.unquoted_cells`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pyarrow as pa

from jiareg.errors import ImportRowError
from jiareg.formats.cells import Place, RawTable, text_cells, unquoted_cells, utf8_text
from jiareg.formats.redcap.project import (
    INSTRUMENTS,
    OTHER_CODE,
    RECORD_ID,
    REPEAT_INSTANCE,
    REPEAT_INSTRUMENT,
    Field,
    Instrument,
)

__all__ = ["read_redcap"]

_EVENT: Final = "redcap_event_name"
_IGNORED: Final = frozenset(
    {"redcap_data_access_group"} | {f"{i.name}_complete" for i in INSTRUMENTS}
)
_BY_FIELD: Final = {f.name: (i, f) for i in INSTRUMENTS for f in i.fields}
_BY_NAME: Final = {i.name: i for i in INSTRUMENTS}
_PATIENT_FIELDS: Final = tuple(f.name for f in _BY_NAME["patient"].fields if f.name != RECORD_ID)


@dataclass
class _Rows:
    """The rows read for one instrument: template cells, lines and per-cell source fields."""

    instrument: Instrument
    cells: dict[str, list[str | None]]
    lines: list[int] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    sources: list[dict[str, str]] = field(default_factory=list)
    reported: set[tuple[int, str]] = field(default_factory=set)

    def raw(self, file: str) -> RawTable:
        spec = self.instrument.spec
        data = pa.Table.from_arrays(
            [unquoted_cells(text_cells(pa.array(self.cells[n], pa.string()))) for n in spec.names],
            names=list(spec.names),
        )
        lines, places, sources = self.lines, self.places, self.sources
        instrument = self.instrument

        def locate(index: int, column: str) -> Place:
            names = [sources[index].get(c) or instrument.source(c) for c in column.split("+")]
            return Place(lines[index], places[index], "+".join(names))

        return RawTable(
            spec,
            file,
            data,
            pa.array(lines, pa.int64()),
            locate=locate,
            reported=frozenset(self.reported),
        )


def _header(file: str, header: list[str], problems: list[ImportRowError]) -> set[str]:
    """The instruments whose fields are all in the header (reporting the other problems)."""
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(
                ImportRowError(
                    file=file, row=1, column=name, value=name, expected="each column once"
                )
            )
        seen.add(name)
        if (
            name not in _BY_FIELD
            and name not in _IGNORED
            and name not in (_EVENT, REPEAT_INSTRUMENT, REPEAT_INSTANCE)
        ):
            problems.append(
                ImportRowError(
                    file=file,
                    row=1,
                    column=name,
                    value=name,
                    expected="a field of the jiareg REDCap dictionary (jiareg_redcap_dictionary"
                    ".csv) or a REDCap column (redcap_event_name, redcap_repeat_instrument, "
                    "redcap_repeat_instance, <form>_complete)",
                )
            )
    if not header or header[0] != RECORD_ID:
        problems.append(
            ImportRowError(
                file=file,
                row=1,
                column=header[0] if header else "(header)",
                value=header[0] if header else "",
                expected=f"{RECORD_ID} as the first column (a REDCap raw export)",
            )
        )
    present: set[str] = set()
    for instrument in INSTRUMENTS:
        names = [f.name for f in instrument.fields if f.name != RECORD_ID]
        given = [n for n in names if n in seen]
        if not given:
            continue
        missing = [n for n in names if n not in seen]
        for name in missing:
            problems.append(
                ImportRowError(
                    file=file,
                    row=1,
                    column=name,
                    value=None,
                    expected=f"every field of instrument {instrument.name!r} once any is "
                    "exported (export whole instruments)",
                )
            )
        if instrument.repeating and REPEAT_INSTRUMENT not in seen:
            problems.append(
                ImportRowError(
                    file=file,
                    row=1,
                    column=REPEAT_INSTRUMENT,
                    value=None,
                    expected=f"{REPEAT_INSTRUMENT} and {REPEAT_INSTANCE} columns (instrument "
                    f"{instrument.name!r} repeats)",
                )
            )
        elif not missing:
            present.add(instrument.name)
    return present


def _translate(f: Field, value: str, other: str | None) -> str | None:
    """The template text of a coded cell, or None when the code is unknown."""
    if f.is_drug and value == OTHER_CODE:
        return other
    return dict(f.choices).get(value)


def _add_row(
    rows: _Rows,
    values: Mapping[str, str],
    line: int,
    place: str,
    file: str,
    problems: list[ImportRowError],
) -> None:
    index = len(rows.lines)
    sources: dict[str, str] = {}
    for f in rows.instrument.fields:
        if f.other_of:
            continue
        value = values.get(f.name, "").strip()
        column = f.column.name
        cell: str | None = value or None
        if f.name == RECORD_ID:
            cell = values[RECORD_ID].strip() or None
        elif f.choices and value:
            other = values.get(f"{f.name}_other", "").strip() or None
            if f.is_drug and value == OTHER_CODE:
                sources[column] = f"{f.name}_other"
            cell = _translate(f, value, other)
            if cell is None and not (f.is_drug and value == OTHER_CODE):
                problems.append(
                    ImportRowError(
                        file=file,
                        row=line,
                        where=place,
                        column=f.name,
                        value=value,
                        expected=f.expected_code(),
                    )
                )
                rows.reported.add((index, column))
        if f.is_drug and value != OTHER_CODE and values.get(f"{f.name}_other", "").strip():
            problems.append(
                ImportRowError(
                    file=file,
                    row=line,
                    where=place,
                    column=f"{f.name}_other",
                    value=values[f"{f.name}_other"].strip(),
                    expected=f"empty unless {f.name} is {OTHER_CODE} (other)",
                )
            )
        rows.cells[column].append(cell)
    if rows.instrument.repeating:  # the patient form's record_id is a field; others take it
        rows.cells["patient_id"].append(values[RECORD_ID].strip() or None)
    rows.lines.append(line)
    rows.places.append(place)
    rows.sources.append(sources)


def read_redcap(path: Path) -> tuple[list[RawTable], list[ImportRowError], set[str]]:
    """Read a REDCap raw CSV export into template tables (as the template's `read_path` does)."""
    problems: list[ImportRowError] = []
    file = path.name
    text = utf8_text(path, problems)
    if text is None:
        return [], problems, {i.spec.name for i in INSTRUMENTS}
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    present = _header(file, header, problems)
    if RECORD_ID not in header:
        return [], problems, {i.spec.name for i in INSTRUMENTS}
    unreadable = {
        i.spec.name
        for i in INSTRUMENTS
        if i.name not in present and any(f.name in header for f in i.fields[1:])
    }
    rows = {
        name: _Rows(_BY_NAME[name], {n: [] for n in _BY_NAME[name].spec.names}) for name in present
    }
    last = reader.line_num
    for record in reader:
        line, last = last + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            problems.append(
                ImportRowError(
                    file=file,
                    row=line,
                    column="(row)",
                    value=",".join(record)[:200],
                    expected=f"{len(header)} cells, found {len(record)}",
                )
            )
            continue
        values = dict(zip(header, record, strict=True))
        _row(values, line, file, rows, problems)
    order = [i.name for i in INSTRUMENTS]
    raws = [rows[name].raw(file) for name in sorted(rows, key=order.index)]
    return raws, problems, unreadable


def _row(
    values: dict[str, str],
    line: int,
    file: str,
    rows: dict[str, _Rows],
    problems: list[ImportRowError],
) -> None:
    """Route one export row to its instrument's rows, checking the REDCap columns."""
    record = values[RECORD_ID].strip()
    event = values.get(_EVENT, "").strip()
    repeat = values.get(REPEAT_INSTRUMENT, "").strip()
    instance = values.get(REPEAT_INSTANCE, "").strip()
    place = f"record {record!r}" + (f", event {event!r}" if event else "")
    if repeat:
        place += f", {repeat} #{instance}"
    name = repeat or "patient"
    if repeat and (repeat not in _BY_NAME or not _BY_NAME[repeat].repeating):
        problems.append(
            ImportRowError(
                file=file,
                row=line,
                where=place,
                column=REPEAT_INSTRUMENT,
                value=repeat,
                expected="one of " + ", ".join(i.name for i in INSTRUMENTS if i.repeating),
            )
        )
        return
    if repeat and not instance.isdigit():
        problems.append(
            ImportRowError(
                file=file,
                row=line,
                where=place,
                column=REPEAT_INSTANCE,
                value=instance,
                expected="a whole number ≥ 1 (the instance of a repeating instrument)",
            )
        )
    if not repeat and instance:
        problems.append(
            ImportRowError(
                file=file,
                row=line,
                where=place,
                column=REPEAT_INSTANCE,
                value=instance,
                expected="empty: repeating events are not supported (use repeating instruments)",
            )
        )
    for column, value in values.items():
        owner = _BY_FIELD.get(column)
        if owner and column != RECORD_ID and owner[0].name != name and value.strip():
            problems.append(
                ImportRowError(
                    file=file,
                    row=line,
                    where=place,
                    column=column,
                    value=value.strip(),
                    expected=f"empty on a {name} row (the field belongs to {owner[0].name}, "
                    "whose rows name it in redcap_repeat_instrument)",
                )
            )
    if name == "patient" and not any(values.get(f, "").strip() for f in _PATIENT_FIELDS):
        return
    if name in rows:
        _add_row(rows[name], values, line, place, file, problems)
