"""The `jiareg calc` use case: read one CSV file, check every cell, score the rows, write them.

Every cell is checked by the import's own cell rules (`jiareg.ingest.validate.check_cells`)
against the data dictionary's columns (`jiareg.formats.template.dictionary`), renamed to the
calc file's columns (`esr_baseline` is checked as `visits.esr`, `category` as
`patients.ilar_category`), so `jiareg calc` and `jiareg import` accept and refuse the same
cells. Every problem is reported (file, line, column, value, expected; header = line 1) up to
the import's cap, and only then are the rows scored with the columnar rules of `jiareg.derive`
on DuckDB. The output is the input's columns, as written, plus the results, written to a
temporary file and renamed: a failed run leaves no output file (INTERFACE.md "calc files").

One calc-only allowance: a CHAQ DI written with 6 or more decimals that is a CHAQ mean (k/6,
k/7 or k/8, printed by `jiareg calc chaq`) is read as that mean, so `calc chaq`'s output feeds
`calc acr-pedi` exactly; the import keeps the data dictionary's 3 decimals.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from jiareg.derive.acr_pedi import ACR_PEDI_LEVELS
from jiareg.derive.acr_pedi_columnar import acr_pedi_columns
from jiareg.derive.activity import STATE_VERSIONS, visit_activity_exprs
from jiareg.derive.chaq import CHAQ_DOMAINS, CHAQ_ITEMS, chaq_di_table
from jiareg.derive.config import ChaqScoring, CutoffSet, MissingMode, ZeroBaselineWorsening
from jiareg.derive.coreset import CHAQ_MAX
from jiareg.derive.exact import UNITS
from jiareg.errors import ImportRowError, InputError
from jiareg.formats.cells import RawTable, text_cells
from jiareg.formats.template.dictionary import Column, TemplateTable, table
from jiareg.ingest.validate import Problems, check_cells
from jiareg.vocab import CORE_SET_VARIABLES, NONRESPONDER, RESPONDER, InflammationMarker

__all__ = ["CalcFile", "Progress", "acr_pedi", "chaq", "jadas", "read_calc_file"]

Step = Callable[[str], None]
Progress = Callable[[int, str], AbstractContextManager[Step]]
"""Given the row count and the command, a context whose value is told each stage's name."""

STATE_WORDS: Final = {"ID": "inactive", "LDA": "low", "MDA": "moderate", "HDA": "high"}
"""R-JADAS-2 state codes as INTERFACE.md prints them."""

_WHEN: Final = ("baseline", "followup")
_CHAQ_MEAN_RE: Final = r"^\d*\.\d{6,}$"
_CHAQ_MEAN_TOLERANCE: Final = 0.0105  # units of 1/UNITS: 5e-7, the error of a 6-decimal print
_VISITS: Final = table("visits")
_GLOBALS: Final = tuple(v for v in CORE_SET_VARIABLES if _VISITS.column(v).scaled_by)


@contextmanager
def _quiet(_rows: int, _what: str) -> Iterator[Step]:
    yield lambda _stage: None


@dataclass(frozen=True, slots=True)
class CalcFile:
    """A calc input file: its cells as written, the same cells trimmed (empty = null), and
    each row's line number."""

    file: str
    written: pa.Table
    cells: dict[str, pa.Array]
    lines: pa.Array


def read_calc_file(path: Path) -> CalcFile:
    """Every cell of `path` as text (InputError when it is not a readable CSV file)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise InputError(f"{path}:1: the file is empty; expected a header row")
    try:
        written = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV file ({str(exc)[:200]})") from exc
    cells = {name: text_cells(written.column(name)) for name in written.column_names}
    lines = pa.array(range(2, written.num_rows + 2), pa.int64())
    return CalcFile(path.name, written, cells, lines)


def _require(inp: CalcFile, names: Sequence[str], problems: Problems) -> None:
    for name in names:
        if name not in inp.cells:
            expected = f"a column named {name!r} in the header"
            problems.add(
                ImportRowError(
                    file=inp.file, row=1, column=name, value="(no such column)", expected=expected
                )
            )
    problems.raise_if_any()


def _check(
    inp: CalcFile,
    columns: Sequence[Column],
    problems: Problems,
    *,
    leave_alone: frozenset[tuple[int, str]] = frozenset(),
) -> dict[str, pa.Array]:
    """The import's cell rules on `columns` of `inp` (an absent column reads as empty).

    `leave_alone` lists the (row index, column) cells the calc has checked itself (CHAQ
    means), which the import's rules then skip, as they skip a reader's own reports.
    """
    n = inp.written.num_rows
    data = pa.table({c.name: inp.cells.get(c.name, pa.nulls(n, pa.string())) for c in columns})
    spec = TemplateTable("calc", "A jiareg calc input file.", tuple(columns), key=())
    return check_cells(RawTable(spec, inp.file, data, inp.lines, reported=leave_alone), problems)


def _renamed(column: Column, name: str, suffix: str = "") -> list[Column]:
    """`column` (and its scale column, for a global) under the calc file's names."""
    if column.scaled_by is None:
        return [replace(column, name=name)]
    scale = f"{column.scaled_by}{suffix}"
    return [
        replace(column, name=name, scaled_by=scale),
        replace(_VISITS.column(column.scaled_by), name=scale),
    ]


def _chaq_means(inp: CalcFile, names: Sequence[str]) -> frozenset[tuple[int, str]]:
    """The cells of `names` holding a CHAQ mean written with 6 or more decimals."""
    cells: set[tuple[int, str]] = set()
    for name in names:
        text = inp.cells[name]
        looks = pc.fill_null(pc.match_substring_regex(text, _CHAQ_MEAN_RE), False)
        value = pc.if_else(looks, text, pa.scalar(None, pa.string())).cast(pa.float64())
        scaled = pc.multiply(value, UNITS)
        near = pc.less(pc.abs(pc.subtract(scaled, pc.round(scaled))), _CHAQ_MEAN_TOLERANCE)
        mean = pc.fill_null(pc.and_(near, pc.less_equal(value, CHAQ_MAX)), False)
        cells.update((i, name) for i in pc.indices_nonzero(mean).to_pylist())
    return frozenset(cells)


def _write(inp: CalcFile, results: pa.Table, out: Path) -> None:
    """Input columns as written plus `results`, to a temporary file renamed onto `out`.

    DuckDB writes the CSV: quotes only where needed, true/false, empty for missing.
    """
    table_ = inp.written
    for name in results.column_names:
        table_ = table_.append_column(name, results.column(name))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    con = duckdb.connect()
    try:
        con.register("calc_output", table_)
        target = str(tmp).replace("'", "''")
        con.execute(f"COPY calc_output TO '{target}' (FORMAT csv, HEADER)")
        os.replace(tmp, out)
    finally:
        con.close()
        tmp.unlink(missing_ok=True)


def _execute(columns: dict[str, pa.Array], build: Callable[[ir.Table], ir.Table]) -> pa.Table:
    """Run the Ibis table expression that `build` makes from the typed columns, on DuckDB."""
    return ibis.duckdb.connect().to_pyarrow(build(ibis.memtable(pa.table(columns))))


def _tristate(result: ir.StringValue) -> ir.BooleanValue:
    """RESPONDER → true, NONRESPONDER → false, NOT_EVALUABLE → null."""
    return ibis.cases(
        (result == RESPONDER, True), (result == NONRESPONDER, False), else_=ibis.null("boolean")
    )


def acr_pedi(
    path: Path,
    out: Path,
    *,
    missing_mode: MissingMode,
    zero_baseline: ZeroBaselineWorsening,
    progress: Progress = _quiet,
) -> None:
    """Score `path` (`jiareg calc acr-pedi`) into `out`."""
    inp = read_calc_file(path)
    with progress(inp.written.num_rows, "acr-pedi") as step:
        problems = Problems()
        _require(inp, ["id", *(f"{v}_{w}" for v in CORE_SET_VARIABLES for w in _WHEN)], problems)
        columns = [
            c
            for w in _WHEN
            for v in CORE_SET_VARIABLES
            for c in _renamed(_VISITS.column(v), f"{v}_{w}", f"_{w}")
        ]
        sjia = "fever_followup" in inp.cells
        if sjia:
            columns += _renamed(_VISITS.column("fever"), "fever_followup")
        means = _chaq_means(inp, [f"chaq_{w}" for w in _WHEN])
        typed = _check(inp, columns, problems, leave_alone=means)
        problems.raise_if_any()
        step("scoring")

        def build(t: ir.Table) -> ir.Table:
            visits = {
                w: {v: t[f"{v}_{w}"] for v in CORE_SET_VARIABLES}
                | {f"{g}_scale": t[f"{g}_scale_{w}"] for g in _GLOBALS}
                for w in _WHEN
            }
            scored = acr_pedi_columns(
                t,
                visits["baseline"],
                visits["followup"],
                fever_absent=~t.fever_followup if sjia else None,
                zero_baseline_worsening=zero_baseline,
                acr_missing_mode=missing_mode,
            )
            exprs: dict[str, ir.Value] = {}
            for variant in ("acr_pedi", "acr_pedi_sjia") if sjia else ("acr_pedi",):
                exprs |= {
                    f"{variant}_{lv}": _tristate(scored[f"{variant}_{lv}"])
                    for lv in ACR_PEDI_LEVELS
                }
                exprs[f"{variant}_level"] = scored[f"{variant}_level"]
            return scored.select(**exprs)

        results = _execute(typed, build)
        step("writing")
        _write(inp, results, out)


def jadas(
    path: Path,
    out: Path,
    *,
    cutoff_set: CutoffSet,
    marker: InflammationMarker,
    progress: Progress = _quiet,
) -> None:
    """Score `path` (`jiareg calc jadas`) into `out`."""
    inp = read_calc_file(path)
    with progress(inp.written.num_rows, "jadas") as step:
        problems = Problems()
        required = ["id", "phys_global", "parent_global", "active_joints", "esr", "category"]
        _require(inp, required + (["crp"] if marker == "crp" else []), problems)
        columns = [
            *_renamed(_VISITS.column("phys_global"), "phys_global"),
            *_renamed(_VISITS.column("parent_global"), "parent_global"),
            _VISITS.column("active_joints"),
            _VISITS.column(marker),
            *_renamed(table("patients").column("ilar_category"), "category"),
            *_renamed(_VISITS.column("fever"), "systemic_features"),
        ]
        typed = _check(inp, columns, problems)
        problems.raise_if_any()
        step("scoring")

        def build(t: ir.Table) -> ir.Table:
            activity = visit_activity_exprs(
                t.phys_global,
                t.phys_global_scale,
                t.parent_global,
                t.parent_global_scale,
                t.active_joints,
                t[marker],
                t.category,
                t.systemic_features,
                marker_kind=marker,
                cutoff_set=cutoff_set,
            )
            exprs: dict[str, ir.Value] = {
                version: score.round(4) for version, score in activity.scores.items()
            }
            for version in STATE_VERSIONS:
                state = activity.states[version]
                exprs[f"{version}_state"] = state.substitute(STATE_WORDS, else_=ibis.null("string"))
                exprs[f"{version}_state_reason"] = activity.reasons[version]
            return t.select(**exprs)

        results = _execute(typed, build)
        step("writing")
        _write(inp, results, out)


def chaq(
    path: Path,
    out: Path,
    *,
    scoring: ChaqScoring,
    min_domains: int,
    progress: Progress = _quiet,
) -> None:
    """Score `path` (`jiareg calc chaq`) into `out`."""
    inp = read_calc_file(path)
    with progress(inp.written.num_rows, "chaq") as step:
        problems = Problems()
        _require(inp, ["id", *CHAQ_ITEMS], problems)
        flags = [c for c in inp.cells if c.startswith(("aid_", "help_"))]
        for name in flags:
            if name.split("_", 1)[1] not in CHAQ_DOMAINS:
                problems.add(
                    ImportRowError(
                        file=inp.file,
                        row=1,
                        column=name,
                        value=name,
                        expected="aid_<domain> or help_<domain>, domain one of "
                        + ", ".join(CHAQ_DOMAINS),
                    )
                )
        items = table("chaq_items")
        columns = [replace(items.column("score"), name=item) for item in CHAQ_ITEMS]
        columns += [replace(items.column("aid"), name=name) for name in flags]
        typed = _check(inp, columns, problems)
        problems.raise_if_any()
        step("scoring")
        n = inp.written.num_rows
        aid = {domain: pa.array([False] * n) for domain in CHAQ_DOMAINS}
        for name in flags:
            domain = name.split("_", 1)[1]
            aid[domain] = pc.or_kleene(aid[domain], pc.fill_null(typed[name], False))
        row = pa.array(range(n), pa.int64())
        long = pa.table(
            {
                "patient_id": pa.concat_arrays([row] * len(CHAQ_ITEMS)),
                "visit_date": pa.array([0] * (n * len(CHAQ_ITEMS)), pa.int64()),
                "item": pa.concat_arrays([pa.array([item] * n) for item in CHAQ_ITEMS]),
                "score": pa.concat_arrays([typed[item] for item in CHAQ_ITEMS]),
                "aid": pa.concat_arrays([aid[domain] for domain in CHAQ_ITEMS.values()]),
            }
        )
        per_row = chaq_di_table(ibis.memtable(long), scoring=scoring, min_domains=min_domains)
        scored = ibis.duckdb.connect().to_pyarrow(
            per_row.order_by("patient_id").select(
                chaq_di=(per_row.chaq_di_units / UNITS).round(6),
                chaq_n_domains=per_row.chaq_n_domains,
            )
        )
        step("writing")
        _write(inp, scored, out)
