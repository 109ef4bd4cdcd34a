"""Validate raw template tables, column by column (vectorised with pyarrow), into typed tables.

Every check works on whole columns: a check yields a boolean mask of bad cells, and only the
first few of them are turned into `ImportRowError`s (`MAX_REPORTED`, then "and N more").
Checks: required cells, types (numbers, whole numbers, yes/no, codes, real ISO dates),
ranges from the data dictionary (`jiareg.formats.template.dictionary`), globals within their
own scale, decimals (Contract 1), duplicate natural keys in a file, patients that exist (in
the import or the registry), dates on or after birth, stop on or after start.

`read_template` reads and validates a file without a registry (Contract 2).

Before the checks, each cell is read as a person plainly meant it (`jiareg.ingest.lenient`:
codes in any case and common words, drugs by brand name, `n/a` as empty, dates in
`CellOptions.date_format`, decimal commas), and every such reading is counted in
`Problems.normalisations` for the import summary. A drug not in `jiareg.vocab.DRUGS` is an
error, and every refused code names the closest codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from jiareg.formats.cells import RawTable
from jiareg.formats.sources import Format, read_source
from jiareg.formats.template.dictionary import DEFAULT_SCALE, Column, TemplateTable, scale_decimals
from jiareg.ingest.lenient import (
    CellOptions,
    Normalisation,
    code_hint,
    date_hint,
    drug_hint,
    drug_lookup,
    is_drug,
    number_hint,
    prepare,
    replace_values,
)
from jiareg.ingest.problems import MAX_REPORTED, Problems
from jiareg.store.tables import arrow_schema
from jiareg.vocab import SCALE_MAX

__all__ = [
    "MAX_REPORTED",
    "CellOptions",
    "Normalisation",
    "Problems",
    "ValidTable",
    "check_cells",
    "read_template",
    "validate_tables",
]

_THREADED_MIN: Final = 20_000
"""`check_cells` checks a table of this many rows or more on two threads (a form's record
or a small file on one: a thread costs more than it saves there)."""
_DATE_RE: Final = r"^\d{4}-\d{2}-\d{2}$"
_NUMBER_RE: Final = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
_COUNT_RE: Final = r"^-?\d{1,9}$"
_CONTROL_RE: Final = r"[\x00-\x1f\x7f]"
_TYPED: Final = dict(date=pa.date32(), number=pa.float64(), count=pa.int64(), flag=pa.bool_())
"""Each kind's typed column (`Column.kind`; text and codes: string)."""


@dataclass(frozen=True, slots=True)
class ValidTable:
    """A validated table: typed columns (Contract 2 types) and each row's number in its file."""

    spec: TemplateTable
    file: str
    data: pa.Table
    rows: pa.Array


def _match(text: pa.Array, pattern: str) -> pa.Array:
    return pc.match_substring_regex(text, pattern)


def _drug(col: Column, text: pa.Array, raw: RawTable, problems: Problems) -> pa.Array:
    """Drug names by generic or brand name; a drug not in `jiareg.vocab.DRUGS` is an error."""
    out, bad, tally = replace_values(text, drug_lookup)
    for (source, target), count in tally.items():
        problems.normalise(raw.file, col.name, source, target, count)
    problems.add_mask(raw, bad, col.name, text, drug_hint)
    return pc.if_else(bad, pa.scalar(None, pa.string()), out)


def _cell(col: Column, text: pa.Array, raw: RawTable, problems: Problems) -> pa.Array:
    """Check one column's cells; return the typed column (bad cells become null). An empty
    optional column (most of a web save's) is all null, without its ~20 kernel calls."""
    if text.null_count == len(text) and not col.required and col.blank is None:
        return pa.nulls(len(text), _TYPED.get(col.kind, pa.string()))
    text = prepare(
        col, text, problems.options, lambda *c: problems.normalise(raw.file, col.name, *c)
    )
    present = pc.is_valid(text)
    if col.required:
        problems.add_mask(
            raw, pc.invert(present), col.name, text, f"a value (required); {col.expected()}"
        )
    if is_drug(col):
        return _drug(col, text, raw, problems)
    if col.kind == "text":
        bad = pc.or_(pc.greater(pc.utf8_length(text), col.max_length), _match(text, _CONTROL_RE))
        if col.pattern:
            bad = pc.or_(bad, pc.invert(_match(text, col.pattern)))
        problems.add_mask(raw, bad, col.name, text, col.expected())
        return pc.if_else(bad, pa.scalar(None, pa.string()), text)
    if col.kind == "code":
        bad = pc.invert(pc.is_in(text, value_set=pa.array(col.codes)))
        problems.add_mask(raw, pc.and_(present, bad), col.name, text, code_hint(col))
        if col.blank is not None:
            return pc.fill_null(text, col.blank)
        return pc.if_else(bad, pa.scalar(None, pa.string()), text)
    if col.kind == "flag":
        bad = pc.invert(pc.is_in(text, value_set=pa.array(col.codes)))
        problems.add_mask(raw, pc.and_(present, bad), col.name, text, code_hint(col))
        return pc.if_else(bad, pa.scalar(None, pa.bool_()), pc.equal(text, "yes"))
    if col.kind == "date":
        parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
        # the date cast writes what strftime's %Y-%m-%d does (years 0000-9999), 25x faster
        same = pc.equal(parsed.cast(pa.date32()).cast(pa.string()), text)
        ok = pc.and_(_match(text, _DATE_RE), pc.fill_null(same, False))
        problems.add_mask(raw, pc.and_(present, pc.invert(ok)), col.name, text, date_hint(col))
        return pc.if_else(ok, parsed, pa.scalar(None, parsed.type)).cast(pa.date32())
    return _number(col, text, raw, problems)


def _too_fine(number: pa.Array, decimals: int) -> pa.Array:
    """More than `decimals` digits after the dot: `\\.\\d{decimals+1,}$` without a regex,
    exact for cells that match `_NUMBER_RE` (at most one dot, only digits after it).

    >>> _too_fine(pa.array(["1.25", "1.2", "12", ".125", None]), 1).to_pylist()
    [True, False, False, True, None]
    """
    dot = pc.find_substring(number, ".")
    after = pc.subtract(pc.subtract(pc.binary_length(number), dot), 1)
    return pc.and_(pc.greater_equal(dot, 0), pc.greater(after, decimals))


def _number(col: Column, text: pa.Array, raw: RawTable, problems: Problems) -> pa.Array:
    present = pc.is_valid(text)
    pattern = _COUNT_RE if col.kind == "count" else _NUMBER_RE
    ok = pc.fill_null(_match(text, pattern), False)
    malformed = pc.and_(present, pc.invert(ok))
    bad = pc.any(malformed).as_py()
    if bad:  # (the masks' kernels only where they can report: a save's few cells are fine)
        problems.add_mask(raw, malformed, col.name, text, lambda v: number_hint(col, v))
    if col.kind == "number" and not col.scaled_by:
        too_fine = _too_fine(text, col.decimals)  # exact where `ok`: one dot, digits after
        problems.add_mask(raw, pc.and_(ok, too_fine), col.name, text, col.expected())
    target = _TYPED[col.kind]
    typed = (pc.if_else(ok, text, pa.scalar(None, pa.string())) if bad else text).cast(target)
    limits = [pc.less(typed, col.minimum)] if col.minimum is not None else []
    if col.maximum is not None:
        limits.append(pc.greater(typed, col.maximum))
    if not limits:
        return typed
    out_of_range = limits[0] if len(limits) == 1 else pc.or_(*limits)
    if not pc.any(out_of_range).as_py():  # None: every cell empty
        return typed
    problems.add_mask(raw, out_of_range, col.name, text, col.expected())
    return pc.if_else(pc.fill_null(out_of_range, False), pa.scalar(None, target), typed)


def _scaled_globals(
    spec: TemplateTable,
    texts: dict[str, pa.Array],
    typed: dict[str, pa.Array],
    raw: RawTable,
    problems: Problems,
) -> None:
    """Globals within their own scale; an empty scale next to a value means 0-10."""
    for col in spec.columns:
        if not col.scaled_by:
            continue
        value, text = typed[col.name], texts[col.name]
        fine: dict[int, pa.Array] = {}  # too many decimals, by the scale's decimals
        scale = typed[col.scaled_by]
        given = pc.is_valid(texts[col.scaled_by])
        scale = pc.if_else(pc.and_(pc.is_valid(value), pc.invert(given)), DEFAULT_SCALE, scale)
        typed[col.scaled_by] = scale
        for name, top in SCALE_MAX.items():
            on = pc.equal(scale, name)
            if not pc.any(on).as_py():  # no cell on this scale: nothing to report or clear
                continue  # (a web save's one row is on one scale: ~10 kernel calls each)
            decimals = scale_decimals(name)
            if decimals not in fine:
                fine[decimals] = _match(text, rf"\.\d{{{decimals + 1},}}$")
            bad = pc.or_(pc.greater(value, top), fine[decimals])
            problems.add_mask(
                raw,
                pc.and_(on, bad),
                col.name,
                text,
                f"a number from 0 to {top} with at most {decimals} decimals (its scale is {name})",
            )
            typed[col.name] = pc.if_else(
                pc.fill_null(pc.and_(on, bad), False),
                pa.scalar(None, pa.float64()),
                typed[col.name],
            )


def _duplicates(spec: TemplateTable, typed: pa.Table, raw: RawTable, problems: Problems) -> None:
    """Every row whose natural key repeats an earlier row of the same file."""
    keyed = typed.select(list(spec.key)).append_column(
        "__i", pa.array(range(typed.num_rows), pa.int64())
    )
    for name in spec.key:
        keyed = keyed.filter(pc.is_valid(keyed.column(name)))
    m = keyed.num_rows
    if m < 2:
        return
    keyed = keyed.take(
        pc.sort_indices(keyed, sort_keys=[(k, "ascending") for k in (*spec.key, "__i")])
    )
    same = pa.array([True] * (m - 1), pa.bool_())
    for name in spec.key:
        col = keyed.column(name).combine_chunks()
        same = pc.and_(same, pc.equal(col.slice(1), col.slice(0, m - 1)))
    idx = pc.indices_nonzero(same)
    if len(idx) == 0:
        return
    head = idx[:MAX_REPORTED]
    index = keyed.column("__i").combine_chunks()
    later = index.take(pc.add(head, 1)).to_pylist()
    earlier = index.take(head).to_pylist()
    values = _key_text(spec, keyed.take(pc.add(head, 1))).to_pylist()
    for i, first, value in zip(later, earlier, values, strict=True):
        problems.add(
            raw.problem(
                i,
                "+".join(spec.key),
                value,
                f"a key not already used in this file (row {raw.row_number(first)} has it)",
            )
        )
    problems.total += len(idx) - len(head)


def _key_text(spec: TemplateTable, keyed: pa.Table) -> pa.Array:
    parts = [keyed.column(k).cast(pa.string()) for k in spec.key]
    return pc.binary_join_element_wise(*parts, "|")


def check_cells(raw: RawTable, problems: Problems) -> dict[str, pa.Array]:
    """Every cell of `raw` checked against its column of `raw.spec`: the typed columns.

    The cell rules of an import (types, ranges, codes, decimals, globals within their scale),
    without keys or cross-table checks; `jiareg calc` checks its files with them too.
    """
    spec = raw.spec
    texts = {name: raw.data.column(name).combine_chunks() for name in spec.names}
    if raw.data.num_rows < _THREADED_MIN:
        typed = {c.name: _cell(c, texts[c.name], raw, problems) for c in spec.columns}
    else:  # Arrow's kernels release the GIL: the columns are checked on two threads
        found = [Problems(options=problems.options) for _ in spec.columns]
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="jiareg-check") as pool:
            done = pool.map(
                _cell, spec.columns, [texts[n] for n in spec.names], [raw] * len(found), found
            )
            typed = dict(zip(spec.names, done, strict=True))
        for column_problems in found:
            problems.merge(column_problems)
    _scaled_globals(spec, texts, typed, raw, problems)
    return typed


def _validate_cells(raw: RawTable, problems: Problems) -> ValidTable:
    spec = raw.spec
    typed = check_cells(raw, problems)
    data = pa.Table.from_arrays([typed[n] for n in spec.names], schema=arrow_schema(spec.name))
    _duplicates(spec, data, raw, problems)
    for start, stop in spec.ordered:
        bad = pc.less(data.column(stop), data.column(start))
        text = raw.data.column(stop).combine_chunks()
        problems.add_mask(raw, bad.combine_chunks(), stop, text, f"a date on or after {start}")
    return ValidTable(spec, raw.file, data, raw.rows)


def validate_tables(
    raws: Sequence[RawTable],
    registry_patients: pa.Table,
    problems: Problems,
    *,
    patients_unreadable: bool = False,
) -> dict[str, ValidTable]:
    """Validate every raw table; add cross-table checks against the import and the registry.

    `registry_patients` is the registry's `patients` table (at least patient_id, birth_date).
    With `patients_unreadable` (the import's patients file could not be read, which is
    already a problem) patient ids are not checked, so one bad header does not also flag
    every visit. Problems are added to `problems`; the caller raises them before writing.
    """
    valid = {raw.spec.name: _validate_cells(raw, problems) for raw in raws}
    known_ids = registry_patients.column("patient_id").combine_chunks()
    known_births = registry_patients.column("birth_date").combine_chunks()
    if "patients" in valid:
        imported = valid["patients"].data
        keep = pc.invert(pc.is_in(known_ids, value_set=imported.column("patient_id")))
        known_ids = pa.concat_arrays(
            [imported.column("patient_id").combine_chunks(), known_ids.filter(keep)]
        )
        known_births = pa.concat_arrays(
            [imported.column("birth_date").combine_chunks(), known_births.filter(keep)]
        )
    raw_by_name = {raw.spec.name: raw for raw in raws}
    for name, table_ in valid.items():
        raw = raw_by_name[name]
        pid = table_.data.column("patient_id").combine_chunks()
        if name != "patients" and not patients_unreadable:
            unknown = pc.and_(pc.is_valid(pid), pc.invert(pc.is_in(pid, value_set=known_ids)))
            expected = "a patient_id among the imported patients or already in the registry"
            problems.add_mask(raw, unknown, "patient_id", pid, expected)
        births = known_births.take(pc.index_in(pid, value_set=known_ids))
        for column in table_.spec.after_birth:
            when = table_.data.column(column).combine_chunks()
            problems.add_mask(
                raw,
                pc.less(when, births),
                column,
                raw.data.column(column).combine_chunks(),
                "a date on or after the patient's birth_date",
            )
    return valid


def read_template(
    path: Path | str, *, format: Format | None = None, options: CellOptions | None = None
) -> dict[str, pa.Table]:
    """The validated tables of a template folder or workbook (or a REDCap export or FHIR
    bundle, see `import_path`'s `format`), without a registry (Contract 2).

    Patients must be in the same files; raises `ImportErrors` like an import.
    """
    raws, file_problems, unreadable = read_source(Path(path), format)
    problems = Problems(options=options or CellOptions())
    for problem in file_problems:
        problems.add(problem)
    valid = validate_tables(
        raws,
        arrow_schema("patients").empty_table(),
        problems,
        patients_unreadable="patients" in unreadable,
    )
    problems.raise_if_any()
    return {name: v.data for name, v in valid.items()}
