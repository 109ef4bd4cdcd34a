"""The work behind `jiareg calc`: read, check, score and write one CSV file.

Each command reads the whole file as text, checks every cell against the data dictionary
(`jiareg.ingest.template`), reports every problem (file, line, column, value, expected; header =
line 1) up to a cap, and only then scores the rows with the columnar rules of `jiareg.derive` on
DuckDB. The output is the input's columns, as written, plus the results; it is written to a
temporary file and renamed, so a failed run leaves no output file.

`jiareg.cli.calc` imports this module only when a calc command runs: pyarrow, DuckDB and Ibis
stay out of `jiareg --help` and the other commands.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import duckdb
import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from jiareg.cli.calc import ChaqScoring, CutoffSet, Marker, MissingMode, ZeroBaseline
from jiareg.derive.acr_pedi import (
    ACR_PEDI_LEVELS,
    AcrPediResult,
    acr_pedi_columns,
)
from jiareg.derive.chaq import CHAQ_DOMAINS, CHAQ_ITEMS, chaq_di_table
from jiareg.derive.coreset import CORE_SET_VARIABLES, SCALE_MAX, SCALE_MAX_DECIMALS, SCALES
from jiareg.derive.exact import UNITS
from jiareg.derive.jadas import (
    activity_state_expr,
    activity_state_reason_expr,
    jadas_course_expr,
    jadas_globals_expr,
    sjia_features_active_expr,
)
from jiareg.errors import ImportErrors, ImportRowError, InputError
from jiareg.formats.template.dictionary import ILAR_CODES, Column, table

MAX_REPORTED: Final = 50
"""How many bad cells a run lists before saying "and N more"."""
PROGRESS_MIN_ROWS: Final = 100_000
"""Files with at least this many rows show a progress bar (on a terminal)."""
MISSING_TEXT: Final = ("", "NA", "na", "N/A", "NaN", "nan")
"""Cells read as missing."""
STATE_WORDS: Final = {"ID": "inactive", "LDA": "low", "MDA": "moderate", "HDA": "high"}
"""R-JADAS-2 state codes as INTERFACE.md prints them."""

_NUMBER_RE: Final = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
_COUNT_RE: Final = r"^[+-]?\d+(\.0*)?$"
_CHAQ_MEAN_TOLERANCE: Final = 0.0105  # units of 1/UNITS: 5e-7, the error of a 6-decimal print
_GLOBALS: Final = ("phys_global", "parent_global")


# --- reading and checking ----------------------------------------------------------------


@dataclass
class _Problems:
    """Bad cells in file order; keeps `MAX_REPORTED` and counts the rest."""

    file: str
    items: list[ImportRowError] = field(default_factory=list)
    total: int = 0

    def add(self, row: int, column: str, value: object, expected: str) -> None:
        self.total += 1
        if len(self.items) < MAX_REPORTED:
            self.items.append(
                ImportRowError(
                    file=self.file, row=row, column=column, value=value, expected=expected
                )
            )

    def add_mask(
        self, rows: pa.Array, bad: pa.Array, column: str, text: Any, expected: str
    ) -> None:
        """Record every row where `bad` is true (null = fine)."""
        idx = pc.indices_nonzero(pc.fill_null(bad, False))
        shown = idx[: max(MAX_REPORTED - len(self.items), 0)]
        for row, value in zip(
            rows.take(shown).to_pylist(), text.take(shown).to_pylist(), strict=True
        ):
            self.add(row, column, value, expected)
        self.total += len(idx) - len(shown)

    def raise_if_any(self) -> None:
        if self.total:
            items = sorted(self.items, key=lambda p: p.row)
            raise ImportErrors(items, truncated=self.total - len(items))


@dataclass(frozen=True, slots=True)
class _Input:
    """A calc input file: its cells as written, the same cells cleaned, and line numbers."""

    file: str
    written: pa.Table
    cells: dict[str, pa.Array]
    lines: pa.Array


def _read(path: Path) -> _Input:
    """Every cell as text; cleaned cells are trimmed, with MISSING_TEXT as null."""
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
                null_values=[""],  # only an empty cell; "NA" stays as written
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV file ({str(exc)[:200]})") from exc
    cells = {}
    for name in written.column_names:
        text = pc.utf8_trim_whitespace(written.column(name).combine_chunks())
        missing = pc.is_in(text, value_set=pa.array(MISSING_TEXT))
        cells[name] = pc.if_else(missing, pa.scalar(None, pa.string()), text)
    lines = pa.array(range(2, written.num_rows + 2), pa.int64())
    return _Input(path.name, written, cells, lines)


def _require(inp: _Input, names: Sequence[str], problems: _Problems) -> None:
    for name in names:
        if name not in inp.cells:
            problems.add(1, name, "(no such column)", f"a column named {name!r} in the header")
    problems.raise_if_any()


def _number(inp: _Input, name: str, spec: Column, problems: _Problems) -> pa.Array:
    """A numeric column (float64) checked against `spec`; bad cells are reported."""
    text = inp.cells[name]
    pattern = _COUNT_RE if spec.kind == "count" else _NUMBER_RE
    ok = pc.fill_null(pc.match_substring_regex(text, pattern), True)
    expected = spec.expected()
    problems.add_mask(inp.lines, pc.invert(ok), name, text, expected)
    value = pc.if_else(ok, text, pa.scalar(None, pa.string())).cast(pa.float64())
    bad = pc.or_(pc.less(value, spec.minimum or 0), pc.greater(value, spec.maximum))
    if spec.kind == "number" and not spec.scaled_by:
        too_fine = pc.match_substring_regex(text, rf"\.\d{{{spec.decimals + 1},}}$")
        if spec.name == "chaq":  # a CHAQ mean (k/6, k/7, k/8) printed with >= 6 decimals
            scaled = pc.multiply(value, UNITS)
            off = pc.abs(pc.subtract(scaled, pc.round(scaled)))
            too_fine = pc.and_(too_fine, pc.greater_equal(off, _CHAQ_MEAN_TOLERANCE))
            expected += ", or a CHAQ mean (k/6, k/7, k/8) written with 6 or more decimals"
        bad = pc.or_(bad, too_fine)
    problems.add_mask(inp.lines, bad, name, text, expected)
    return value


def _choice(inp: _Input, name: str, codes: Sequence[str], problems: _Problems) -> pa.Array:
    text = inp.cells[name]
    bad = pc.invert(pc.is_in(text, value_set=pa.array(codes)))
    problems.add_mask(
        inp.lines, pc.and_(pc.is_valid(text), bad), name, text, "one of " + ", ".join(codes)
    )
    return text


def _flag(inp: _Input, name: str, problems: _Problems) -> pa.Array:
    """A yes/no column as booleans (null = unknown)."""
    low = pc.utf8_lower(inp.cells[name])
    problems.add_mask(
        inp.lines,
        pc.and_(pc.is_valid(low), pc.invert(pc.is_in(low, value_set=pa.array(["yes", "no"])))),
        name,
        inp.cells[name],
        "yes or no (empty = unknown)",
    )
    return pc.equal(low, "yes")


def _global(
    inp: _Input, name: str, scale_name: str | None, problems: _Problems
) -> tuple[pa.Array, pa.Array]:
    """A global and its scale (empty or absent scale = 0-10), checked within that scale."""
    value = _number(inp, name, Column(name, "number", "", minimum=0), problems)
    if scale_name is None:
        scale = pa.array(["0-10"] * len(value), pa.string())
    else:
        given = _choice(inp, scale_name, SCALES, problems)
        scale = pc.fill_null(given, "0-10")
    text = inp.cells[name]
    for code, top in SCALE_MAX.items():
        places = SCALE_MAX_DECIMALS[code]
        too_fine = pc.match_substring_regex(text, rf"\.\d{{{places + 1},}}$")
        bad = pc.and_(pc.equal(scale, code), pc.or_(pc.greater(value, top), too_fine))
        expected = f"a number from 0 to {top} with at most {places} decimals (its scale is {code})"
        problems.add_mask(inp.lines, bad, name, text, expected)
    return value, scale


# --- running and writing -----------------------------------------------------------------


@contextmanager
def _steps(rows: int, what: str) -> Iterator[Callable[[str], None]]:
    """A rich progress bar over the stages of a run, for large files on a terminal."""
    console = Console(stderr=True)
    if rows < PROGRESS_MIN_ROWS or not console.is_terminal:
        yield lambda _stage: None
        return
    with Progress(
        TextColumn(f"{what} {rows:,} rows: {{task.description}}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("checking", total=3)

        def advance(stage: str) -> None:
            progress.update(task, advance=1, description=stage)

        yield advance


def _write(inp: _Input, results: pa.Table, out: Path) -> None:
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


def _execute(columns: dict[str, pa.Array], build: Callable[[Any], Any]) -> pa.Table:
    """Run the Ibis table expression that `build` makes from the typed columns, on DuckDB."""
    return ibis.duckdb.connect().to_pyarrow(build(ibis.memtable(pa.table(columns))))


def _tristate(result: Any) -> Any:
    """'RESPONDER' → true, 'NONRESPONDER' → false, 'NOT_EVALUABLE' → null."""
    return ibis.cases(
        (result == AcrPediResult.RESPONDER.value, True),
        (result == AcrPediResult.NONRESPONDER.value, False),
        else_=ibis.null("boolean"),
    )


# --- acr-pedi ----------------------------------------------------------------------------

_VISITS = table("visits")


def _acr_columns(inp: _Input, problems: _Problems) -> dict[str, pa.Array]:
    names = [f"{v}_{w}" for v in CORE_SET_VARIABLES for w in ("baseline", "followup")]
    _require(inp, ["id", *names], problems)
    typed: dict[str, pa.Array] = {}
    for when in ("baseline", "followup"):
        for var in CORE_SET_VARIABLES:
            name = f"{var}_{when}"
            if var in _GLOBALS:
                scale_name = f"{var}_scale_{when}"
                value, scale = _global(
                    inp, name, scale_name if scale_name in inp.cells else None, problems
                )
                typed[f"{when}__{var}"] = value
                typed[f"{when}__{var}_scale"] = scale
            else:
                typed[f"{when}__{var}"] = _number(inp, name, _VISITS.column(var), problems)
    if "fever_followup" in inp.cells:
        typed["fever_absent"] = pc.invert(_flag(inp, "fever_followup", problems))
    problems.raise_if_any()
    return typed


def acr_pedi(path: Path, out: Path, missing_mode: MissingMode, zero_baseline: ZeroBaseline) -> None:
    """Score `path` (`jiareg calc acr-pedi`) into `out`."""
    inp = _read(path)
    with _steps(inp.written.num_rows, "acr-pedi") as step:
        typed = _acr_columns(inp, _Problems(inp.file))
        step("scoring")

        def build(t: Any) -> Any:
            visits = {
                when: {name.split("__", 1)[1]: t[name] for name in typed if name.startswith(when)}
                for when in ("baseline", "followup")
            }
            sjia = "fever_absent" in typed
            scored = acr_pedi_columns(
                t,
                visits["baseline"],
                visits["followup"],
                fever_absent=t.fever_absent if sjia else None,
                zero_baseline_worsening=zero_baseline.value,
                acr_missing_mode=missing_mode.value,
            )
            exprs: dict[str, Any] = {}
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


# --- jadas -------------------------------------------------------------------------------


def jadas(path: Path, out: Path, cutoff_set: CutoffSet, marker: Marker) -> None:
    """Score `path` (`jiareg calc jadas`) into `out`."""
    inp = _read(path)
    with _steps(inp.written.num_rows, "jadas") as step:
        problems = _Problems(inp.file)
        required = ["id", *_GLOBALS, "active_joints", "esr", "category"]
        _require(inp, required + (["crp"] if marker is Marker.crp else []), problems)
        typed: dict[str, pa.Array] = {}
        for name in _GLOBALS:
            scale = f"{name}_scale"
            typed[name], typed[scale] = _global(
                inp, name, scale if scale in inp.cells else None, problems
            )
        typed["active_joints"] = _number(
            inp, "active_joints", _VISITS.column("active_joints"), problems
        )
        typed["marker"] = _number(inp, marker.value, _VISITS.column(marker.value), problems)
        typed["category"] = _choice(inp, "category", ILAR_CODES, problems)
        systemic = (
            _flag(inp, "systemic_features", problems)
            if "systemic_features" in inp.cells
            else pa.nulls(len(typed["marker"]), pa.bool_())
        )
        typed["systemic_features"] = systemic
        problems.raise_if_any()
        step("scoring")

        def build(t: Any) -> dict[str, Any]:
            # Active or unrecorded systemic features of a systemic patient: no state (R-JADAS-2).
            features = sjia_features_active_expr(t.category, t.systemic_features)
            course = jadas_course_expr(t.category)
            exprs: dict[str, Any] = {}
            for version, joints, kind in (
                ("jadas10", 10, marker.value),
                ("jadas27", 27, marker.value),
                ("jadas71", 71, marker.value),
                ("cjadas10", 10, "none"),
            ):
                exprs[version] = jadas_globals_expr(
                    t.phys_global,
                    t.phys_global_scale,
                    t.parent_global,
                    t.parent_global_scale,
                    t.active_joints,
                    joints=joints,  # type: ignore[arg-type]
                    marker=t.marker,
                    marker_kind=kind,  # type: ignore[arg-type]
                )
            for version in ("jadas10", "cjadas10"):
                options: dict[str, Any] = {
                    "version": version,
                    "cutoff_set": cutoff_set.value,
                    "systemic_features_present": features,
                }
                state = activity_state_expr(exprs[version], course, **options)
                exprs[f"{version}_state"] = state.substitute(STATE_WORDS, else_=ibis.null("string"))
                exprs[f"{version}_state_reason"] = activity_state_reason_expr(
                    exprs[version], course, **options
                )
            for version in ("jadas10", "jadas27", "jadas71", "cjadas10"):
                exprs[version] = exprs[version].round(4)
            return exprs

        results = _execute(typed, lambda t: t.select(**build(t)))
        step("writing")
        _write(inp, results, out)


# --- chaq --------------------------------------------------------------------------------

_ITEM_COLUMN = Column("item", "count", "", minimum=0, maximum=3)


def chaq(path: Path, out: Path, scoring: ChaqScoring, min_domains: int) -> None:
    """Score `path` (`jiareg calc chaq`) into `out`."""
    inp = _read(path)
    with _steps(inp.written.num_rows, "chaq") as step:
        problems = _Problems(inp.file)
        _require(inp, ["id", *CHAQ_ITEMS], problems)
        flags = [c for c in inp.cells if c.startswith(("aid_", "help_"))]
        for name in flags:
            if name.split("_", 1)[1] not in CHAQ_DOMAINS:
                problems.add(
                    1,
                    name,
                    name,
                    f"aid_<domain> or help_<domain>, domain one of {', '.join(CHAQ_DOMAINS)}",
                )
        typed = {item: _number(inp, item, _ITEM_COLUMN, problems) for item in CHAQ_ITEMS}
        aid = {domain: pa.array([False] * inp.written.num_rows) for domain in CHAQ_DOMAINS}
        for name in flags:
            domain = name.split("_", 1)[1]
            if domain in aid:
                aid[domain] = pc.or_kleene(
                    aid[domain], pc.fill_null(_flag(inp, name, problems), False)
                )
        problems.raise_if_any()
        step("scoring")
        n = inp.written.num_rows
        row = pa.array(range(n), pa.int64())
        long = pa.table(
            {
                "patient_id": pa.concat_arrays([row] * len(CHAQ_ITEMS)),
                "visit_date": pa.array([0] * (n * len(CHAQ_ITEMS)), pa.int64()),
                "item": pa.concat_arrays([pa.array([item] * n) for item in CHAQ_ITEMS]),
                "score": pa.concat_arrays([typed[item].cast(pa.int64()) for item in CHAQ_ITEMS]),
                "aid": pa.concat_arrays([aid[domain] for domain in CHAQ_ITEMS.values()]),
            }
        )
        per_row = chaq_di_table(ibis.memtable(long), scoring=scoring.value, min_domains=min_domains)
        scored = ibis.duckdb.connect().to_pyarrow(
            per_row.order_by("patient_id").select(
                chaq_di=(per_row.chaq_di_units / UNITS).round(6),
                chaq_n_domains=per_row.chaq_n_domains,
            )
        )
        step("writing")
        _write(inp, scored, out)
