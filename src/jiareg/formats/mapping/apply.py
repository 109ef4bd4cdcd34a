"""Read someone else's CSV, workbook or REDCap export through a mapping file into template tables.

The result is what every reader returns (`RawTable`s, file problems, unreadable tables), so the
import validates and loads it like a template folder: all or nothing, through the one
validator. Each template column takes its source field's cell, translated:

- `values` translate raw codes, or a REDCap field's choice labels (`Male: M` matches code 1
  where the dictionary says `1, Male`); a value they do not list is an error naming the
  file, row, record, field, value and the choices;
- a REDCap choice field without `values` gives its choice label (`Female`), which the
  validator reads as the template's code (F), so a project where 1 means Male is never read
  as jiareg's own 1 = F; a checkbox column (`race___2`) is checked (yes) or not (no);
- dates are read with the column's `date_format`, else the file's, else as YYYY-MM-DD; a
  REDCap date-time field (`datetime_ymd`, ...) gives its date.

Rows: a flat CSV or a sheet gives one row per source row; a REDCap table `from` a repeating
instrument takes that instrument's rows, from another form the rows of no repeating instrument
(each event of a longitudinal project is a row), limited to `events` when given. A row whose
mapped fields are all empty adds nothing, and a row equal to an earlier one (the patient
columns repeated on each row of a flat file) is read once. A REDCap export's record id is
every table's patient_id unless mapped otherwise. Source columns no table uses are counted
(`ignored`), REDCap's form-status (`*_complete`) and survey columns among them.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pyarrow as pa

from jiareg.errors import ImportRowError, InputError
from jiareg.formats.cells import Place, RawTable, text_cells
from jiareg.formats.mapping.model import ColumnMap, MappingFile, TableMap, load_mapping
from jiareg.formats.mapping.source import SourceRows, read_csv_rows, read_sheets
from jiareg.formats.redcap.dictionary import SourceDictionary, SourceField, read_dictionary
from jiareg.formats.template.dictionary import DRUG_PATTERN, TABLES, Column, table

__all__ = ["REDCAP_COLUMNS", "read_mapped"]

EVENT: Final = "redcap_event_name"
REPEAT: Final = "redcap_repeat_instrument"
INSTANCE: Final = "redcap_repeat_instance"
DAG: Final = "redcap_data_access_group"
REDCAP_COLUMNS: Final = (EVENT, REPEAT, INSTANCE, DAG)
"""The columns REDCap adds to an export (a DAG may be mapped, e.g. as the site)."""

Ignored = tuple[tuple[str, int], ...]


@dataclass
class _Source:
    """The source read once: its sheets (None for a CSV), its dictionary and what was used."""

    mapping: MappingFile
    sheets: dict[str | None, SourceRows]
    dictionary: SourceDictionary | None
    problems: list[ImportRowError]
    used: set[tuple[str, str]] = field(default_factory=set)
    mapping_file: str = "mapping"

    def rows_of(self, name: str, spec: TableMap) -> SourceRows | None:
        if self.mapping.format != "xlsx":
            return self.sheets[None]
        sheet = spec.from_ or (next(iter(self.sheets)) if len(self.sheets) == 1 else None)
        if sheet in self.sheets:
            return self.sheets[sheet]
        self.problems.append(
            ImportRowError(
                file=self.mapping_file,
                row=1,
                column=f"tables.{name}.from",
                value=spec.from_,
                expected="a sheet of the workbook: " + ", ".join(str(s) for s in self.sheets),
            )
        )
        return None


def _record_id(source: SourceRows, dictionary: SourceDictionary | None) -> str:
    if dictionary is not None:
        return dictionary.record_id
    return source.header[0] if source.header else "record_id"


def _columns(src: _Source, name: str, spec: TableMap, rows: SourceRows) -> dict[str, ColumnMap]:
    """Every mapped template column of `name`: the table's, then defaults, then record id."""
    columns = dict(spec.columns)
    template = table(name)
    for column, value in src.mapping.defaults.items():
        if column in template.names and column not in columns:
            columns[column] = ColumnMap(value=value)
    if src.mapping.format == "redcap" and "patient_id" not in columns:
        columns["patient_id"] = ColumnMap(field=_record_id(rows, src.dictionary))
    return columns


def _where(row: Mapping[str, str], record_id: str) -> str:
    """`record '1', event 'visit_arm_1', bp #2` (empty for a CSV without a record id)."""
    if record_id not in row:
        return ""
    where = f"record {row[record_id]!r}"
    if row.get(EVENT):
        where += f", event {row[EVENT]!r}"
    if row.get(REPEAT):
        where += f", {row[REPEAT]} #{row.get(INSTANCE, '')}"
    return where


def _takes(
    src: _Source, spec: TableMap, row: Mapping[str, str], repeating: set[str], keys: list[str]
) -> bool:
    """True when `row` is a row of the table (`keys`: the mapped fields that carry data)."""
    if src.mapping.format == "redcap":
        if spec.events and not any(fnmatch.fnmatch(row.get(EVENT, ""), p) for p in spec.events):
            return False
        repeat = row.get(REPEAT, "")
        if repeat != (spec.from_ if spec.from_ in repeating else ""):
            return False
    return any(row.get(k) for k in keys) if keys else True


def _choice_text(column: Column, source: SourceField | None, raw: str) -> str | None:
    """A REDCap choice's label where the template column is coded (None: not a choice)."""
    if source is None or not source.choices:
        return raw
    if column.kind not in ("code", "flag") and column.pattern != DRUG_PATTERN:
        return raw
    return dict(source.choices).get(raw)


def _translate(cm: ColumnMap, source: SourceField | None, raw: str) -> str | None:
    """`raw` through the column's `values`: by raw code, else by the choice's label."""
    assert cm.values is not None
    if raw in cm.values:
        return cm.values[raw]
    label = dict(source.choices).get(raw) if source is not None else None
    wanted = {k.strip().lower(): v for k, v in cm.values.items()}
    return wanted.get((label or raw).strip().lower())


def _choices(cm: ColumnMap, source: SourceField | None) -> str:
    listed = f"the mapping's values: {', '.join(cm.values or ())}" if cm.values else ""
    given = f"the field's choices: {source.describe_choices()}" if source and source.choices else ""
    return "; ".join(p for p in (listed, given) if p) or "a value of the field"


class _Cells:
    """One template table's cells being filled, with where each came from."""

    def __init__(self, name: str, rows: SourceRows) -> None:
        self.spec = table(name)
        self.rows = rows
        self.cells: dict[str, list[str | None]] = {n: [] for n in self.spec.names}
        self.lines: list[int] = []
        self.places: list[str] = []
        self.reported: set[tuple[int, str]] = set()
        self.seen: set[tuple[str | None, ...]] = set()

    def raw(self, fields: Mapping[str, ColumnMap]) -> RawTable:
        data = pa.Table.from_arrays(
            [text_cells(pa.array(self.cells[n], pa.string())) for n in self.spec.names],
            names=list(self.spec.names),
        )
        lines, places = self.lines, self.places

        def locate(index: int, column: str) -> Place:
            names = []
            for c in column.split("+"):
                cm = fields.get(c)
                names.append(cm.field if cm and cm.field else f"{c} (constant)")
            return Place(lines[index], places[index], "+".join(names))

        return RawTable(
            self.spec,
            self.rows.file,
            data,
            pa.array(self.lines, pa.int64()),
            locate=locate,
            reported=frozenset(self.reported),
        )


def _cell(
    src: _Source, cm: ColumnMap, column: Column, raw: str, at: tuple[str, int, str]
) -> tuple[str | None, bool]:
    """The template text of one source cell, and whether it was refused (and reported)."""
    file, line, where = at
    source = src.dictionary.column(cm.field or "") if src.dictionary else None
    text = (
        _translate(cm, source, raw) if cm.values is not None else _choice_text(column, source, raw)
    )

    def refused(expected: str) -> tuple[None, bool]:
        src.problems.append(
            ImportRowError(
                file=file,
                row=line,
                where=where,
                column=cm.field or "",
                value=raw,
                expected=expected,
            )
        )
        return None, True

    if text is None:
        return refused(f"a value that maps to {column.name}: {_choices(cm, source)}")
    if column.kind == "date" and source is not None and source.validation.startswith("datetime"):
        text = text[:10]  # a REDCap date-time field (datetime_ymd ...): its date
    fmt = src.mapping.date_format_of(cm) if column.kind == "date" else None
    if fmt:
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat(), False
        except ValueError:
            if cm.date_format is not None or text != _iso(text):  # ISO is fine too
                return refused(f"a date written {fmt} (the mapping's date_format)")
    return text, False


def _iso(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return ""


def _table(src: _Source, name: str, spec: TableMap, repeating: set[str]) -> RawTable | None:
    rows = src.rows_of(name, spec)
    if rows is None:
        return None
    forms = src.dictionary.forms() if src.dictionary else ()
    if src.mapping.format == "redcap" and spec.from_ and forms and spec.from_ not in forms:
        src.problems.append(
            ImportRowError(
                file=src.mapping_file,
                row=1,
                column=f"tables.{name}.from",
                value=spec.from_,
                expected="a form (instrument) of the project: " + ", ".join(forms),
            )
        )
        return None
    columns = _columns(src, name, spec, rows)
    record_id = _record_id(rows, src.dictionary) if src.mapping.format == "redcap" else ""
    keys = [  # the fields that say a row holds this table's data (none: every row does)
        cm.field
        for c, cm in columns.items()
        if cm.field and c != "patient_id" and cm.field not in REDCAP_COLUMNS
    ]
    for cm in columns.values():
        if cm.field is not None:
            src.used.add((rows.file, cm.field))
            if cm.field not in rows.header:
                src.problems.append(
                    ImportRowError(
                        file=rows.file,
                        row=1,
                        column=cm.field,
                        value=None,
                        expected=f"this column in the source (tables.{name} maps it)",
                    )
                )
                return None
    out = _Cells(name, rows)
    for row, line in zip(rows.rows, rows.lines, strict=True):
        if not _takes(src, spec, row, repeating, keys):
            continue
        where = _where(row, record_id)
        values: dict[str, str | None] = {}
        refused: list[str] = []
        for column in out.spec.columns:
            mapped = columns.get(column.name)
            if mapped is None:
                values[column.name] = None
                continue
            raw = mapped.value if mapped.value is not None else row.get(mapped.field or "", "")
            if raw == "":
                values[column.name] = None
                continue
            text, bad = _cell(src, mapped, column, raw, (rows.file, line, where))
            values[column.name] = text
            if bad:
                refused.append(column.name)
        signature = tuple(values[n] for n in out.spec.names)
        if signature in out.seen and not refused:
            continue
        out.seen.add(signature)
        index = len(out.lines)
        for n in out.spec.names:
            out.cells[n].append(values[n])
        out.reported.update((index, c) for c in refused)
        out.lines.append(line)
        out.places.append(where)
    return out.raw(columns)


def _read(source: Path, mapping: MappingFile, problems: list[ImportRowError]) -> _Source:
    suffix = source.suffix.lower()
    sheets: dict[str | None, SourceRows]
    if not source.is_file():
        raise InputError(f"{source}: expected one {mapping.format} file to import through the map")
    if mapping.format == "xlsx":
        if suffix != ".xlsx":
            raise InputError(f"{source}: the mapping's format is xlsx; expected an .xlsx file")
        sheets = {name: rows for name, rows in read_sheets(source, problems).items()}
    elif suffix == ".xml" and mapping.format == "redcap":
        from jiareg.formats.redcap.odm import read_odm

        dictionary, rows = read_odm(source)
        return _Source(mapping, {None: rows}, dictionary, problems)
    elif suffix in (".csv", ".txt"):
        sheets = {None: read_csv_rows(source, problems)}
    else:
        raise InputError(
            f"{source}: the mapping's format is {mapping.format}; expected a .csv file"
            + (" (or a REDCap ODM .xml export)" if mapping.format == "redcap" else "")
        )
    return _Source(mapping, sheets, None, problems)


def _ignored(src: _Source) -> Ignored:
    """Source columns no table used, with how many cells held something."""
    out: list[tuple[str, int]] = []
    for rows in src.sheets.values():
        for name in rows.header:
            if (rows.file, name) in src.used or name in (EVENT, REPEAT, INSTANCE):
                continue
            label = name if len(src.sheets) == 1 else f"{rows.file}:{name}"
            out.append((label, sum(1 for r in rows.rows if r.get(name))))
    return tuple(out)


def _dictionary_path(
    mapping: MappingFile, mapping_path: Path, dictionary: Path | None, uploaded: bool
) -> Path | None:
    """The source project's data dictionary to read: the one given beside the source, else
    the one the mapping names (relative to it), never that one for an uploaded mapping."""
    if dictionary is not None and mapping.format != "redcap":
        raise InputError(
            f"{dictionary.name}: a data dictionary goes with a REDCap mapping; "
            f"{mapping_path.name} reads format {mapping.format}"
        )
    if dictionary is None and mapping.dictionary and uploaded:
        raise InputError(
            f"{mapping_path.name} names the data dictionary {mapping.dictionary!r}: "
            "upload that file with it (an uploaded mapping opens no file on the server)"
        )
    if dictionary is None and mapping.dictionary:
        return mapping_path.parent / mapping.dictionary
    return dictionary


def read_mapped(
    source: Path, mapping_path: Path, dictionary: Path | None = None, *, uploaded: bool = False
) -> tuple[list[RawTable], list[ImportRowError], set[str], Ignored]:
    """Read `source` through the mapping file at `mapping_path` (see the module docstring).

    `dictionary`, a REDCap data dictionary given beside the source, is read in place of the
    one the mapping names. An `uploaded` mapping (the web page's) opens no file it names:
    its dictionary must be given (a path in it could reach any file on the server).

    Returns the template tables (in load order), the problems found while mapping (each
    names the file, row, record, source field, value and the choices), the tables that could
    not be read, and the source columns left out with their count of non-empty cells.
    """
    mapping = load_mapping(mapping_path)
    dictionary = _dictionary_path(mapping, mapping_path, dictionary, uploaded)
    problems: list[ImportRowError] = []
    src = _read(source, mapping, problems)
    src.mapping_file = mapping_path.name
    if dictionary is not None:
        src.dictionary = read_dictionary(dictionary)
    rows = src.sheets.get(None)
    repeating = {r.get(REPEAT, "") for r in rows.rows} - {""} if rows else set()
    raws: list[RawTable] = []
    unreadable: set[str] = set()
    for spec in TABLES:
        if spec.name in mapping.tables:
            raw = _table(src, spec.name, mapping.tables[spec.name], repeating)
            if raw is None:
                unreadable.add(spec.name)
            else:
                raws.append(raw)
    return raws, problems, unreadable, _ignored(src)
