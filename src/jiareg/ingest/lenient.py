"""Spreadsheets as people type them: the validator's normalisations, each one counted.

Before a cell is checked (`jiareg.ingest.validate`), what a person plainly meant is rewritten to
the template's spelling, and every rewrite is recorded as a `Normalisation` (file, column,
from, to, count) that the import summary lists:

- codes in any case and common synonyms (`female`, `f` → F; `Systemic` → systemic;
  `RF-negative polyarthritis` → poly_rf_neg; `y`/`true`/`1` → yes; `intravenous` → iv);
- drugs by generic or brand name in any case (`RoActemra` → tocilizumab), from
  `jiareg.vocab.DRUGS` only; a drug jiareg does not know is an error, never a new drug;
- `n/a`, `NA`, `unknown`, `-` ... in a column that may be empty → missing;
- with `CellOptions.decimal_comma`, `0,5` → 0.5; with `CellOptions.date_format`, dates in
  that format → ISO.

A refused code or drug names its closest candidates ("did you mean ...", difflib); a date
typed dd/mm/yyyy or a number with a decimal comma names the import option that reads it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from jiareg.formats.template.dictionary import DRUG_PATTERN, FLAG_VALUES, SIDES, Column
from jiareg.vocab import DRUGS, ILAR_CATEGORIES, SEXES, TREATMENT_ROUTES

__all__ = [
    "MISSING_MARKERS",
    "CellOptions",
    "Normalisation",
    "code_hint",
    "code_lookup",
    "date_hint",
    "drug_hint",
    "drug_lookup",
    "is_drug",
    "iso_dates",
    "key",
    "number_hint",
    "prepare",
    "replace_values",
    "suggest",
]

MISSING_MARKERS: Final = frozenset(
    {"n/a", "na", "n.a.", "n.a", "nk", "n/k", "not known", "unknown", "missing", "-", "--"}
)
"""What people type for "no value" (compared in lower case); read as an empty cell where the
column may be empty."""

_SYNONYMS: Final[dict[frozenset[str], dict[str, str]]] = {
    frozenset(SEXES): {"female": "F", "girl": "F", "male": "M", "boy": "M"},
    frozenset(ILAR_CATEGORIES): {
        "sjia": "systemic",
        "systemic_jia": "systemic",
        "systemic_arthritis": "systemic",
        "persistent_oligoarthritis": "oligo_persistent",
        "oligoarthritis_persistent": "oligo_persistent",
        "extended_oligoarthritis": "oligo_extended",
        "oligoarthritis_extended": "oligo_extended",
        "rf_negative_polyarthritis": "poly_rf_neg",
        "polyarthritis_rf_negative": "poly_rf_neg",
        "poly_rf_negative": "poly_rf_neg",
        "rf_positive_polyarthritis": "poly_rf_pos",
        "polyarthritis_rf_positive": "poly_rf_pos",
        "poly_rf_positive": "poly_rf_pos",
        "psoriatic_arthritis": "psoriatic",
        "enthesitis_related_arthritis": "era",
        "enthesitis_related": "era",
        "undifferentiated_arthritis": "undifferentiated",
    },
    frozenset(FLAG_VALUES): {"y": "yes", "n": "no", "true": "yes", "false": "no", "1": "yes"}
    | {"0": "no", "checked": "yes", "unchecked": "no"},
    frozenset(TREATMENT_ROUTES): {
        "intravenous": "iv",
        "i_v": "iv",
        "subcutaneous": "sc",
        "s_c": "sc",
        "sq": "sc",
        "po": "oral",
        "by_mouth": "oral",
    },
    frozenset(SIDES): {"l": "left", "r": "right"},
}
"""Synonyms per code list (keys in `key` form), beside each code in any case."""

_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAY_FIRST: Final = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{2}|\d{4})$")
DECIMAL_COMMA: Final = r"^[+-]?\d*,\d+$"


@dataclass(frozen=True, slots=True)
class CellOptions:
    """How an import reads cells: `date_format` (strptime, e.g. `%d/%m/%Y`) for dates not
    written YYYY-MM-DD, and `decimal_comma` to read `0,5` as 0.5."""

    date_format: str | None = None
    decimal_comma: bool = False


@dataclass(frozen=True, slots=True)
class Normalisation:
    """`count` cells of `column` in `file` read as `target` where they said `source`.

    >>> str(Normalisation("patients.csv", "sex", "female", "F", 2))
    "patients.csv: sex: 'female' → 'F' (2 cells)"
    """

    file: str
    column: str
    source: str
    target: str
    count: int

    def __str__(self) -> str:
        cells = f"{self.count} cell{'' if self.count == 1 else 's'}"
        return f"{self.file}: {self.column}: {self.source!r} → {self.target!r} ({cells})"


def key(text: str) -> str:
    """A typed value reduced for comparison: lower case, runs of other characters as `_`.

    >>> key(" RF-negative Polyarthritis "), key("0-10")
    ('rf_negative_polyarthritis', '0_10')
    """
    return re.sub(r"[^0-9a-z]+", "_", text.strip().lower()).strip("_")


def is_drug(col: Column) -> bool:
    """A column naming a drug (treatments, administrations, steroids, related_drug)."""
    return col.pattern == DRUG_PATTERN


def code_lookup(col: Column) -> dict[str, str]:
    """`key` form of every accepted spelling of `col`'s codes -> the code."""
    table = {key(c): c for c in col.codes}
    for spelling, code in _SYNONYMS.get(frozenset(col.codes), {}).items():
        table.setdefault(spelling, code)
    return table


def _drug_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for drug in DRUGS:
        table[key(drug.name)] = drug.name
        for brand in drug.brands:
            table.setdefault(key(brand), drug.name)
    return table


_DRUGS: Final = _drug_table()


def drug_lookup(text: str) -> str | None:
    """The generic name of a drug typed by generic or brand name in any case, else None.

    >>> drug_lookup("RoActemra"), drug_lookup("Enbrel®"), drug_lookup("tocilizumb")
    ('tocilizumab', 'etanercept', None)
    """
    return _DRUGS.get(key(text))


def suggest(text: str, table: dict[str, str]) -> list[str]:
    """The codes whose spellings are closest to `text` (at most 3, best first; only those
    nearly as close as the best)."""
    typed = key(text)
    close = difflib.get_close_matches(typed, list(table), n=5, cutoff=0.6)
    best = [difflib.SequenceMatcher(None, typed, c).ratio() for c in close]
    near = [c for c, r in zip(close, best, strict=True) if r >= best[0] - 0.1]
    return list(dict.fromkeys(table[c] for c in near))[:3]


def _did_you_mean(text: str, table: dict[str, str]) -> str:
    close = suggest(text, table)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def code_hint(col: Column) -> Callable[[object], str]:
    """What a refused cell of coded `col` should hold, with the closest codes."""
    table = code_lookup(col)
    return lambda value: col.expected() + _did_you_mean(str(value), table)


def drug_hint(value: object) -> str:
    """What a refused drug cell should hold, with the closest known drugs."""
    return (
        "a drug jiareg knows, by generic or brand name (e.g. tocilizumab, RoActemra)"
        + _did_you_mean(str(value), _DRUGS)
    )


def date_hint(col: Column) -> Callable[[object], str]:
    """What a refused date should hold; a day-first or month-first date names --date-format."""

    def hint(value: object) -> str:
        match = _DAY_FIRST.match(str(value))
        if not match:
            return col.expected()
        sep, year = match.group(2), "%Y" if len(match.group(4)) == 4 else "%y"
        first, second = int(match.group(1)), int(match.group(3))
        day_first, month_first = f"%d{sep}%m{sep}{year}", f"%m{sep}%d{sep}{year}"
        if first > 12 or second > 12:
            fmt = day_first if first > 12 else month_first
            return f"{col.expected()} (or import with --date-format '{fmt}')"
        return f"{col.expected()} (or import with --date-format '{day_first}' or '{month_first}')"

    return hint


def number_hint(col: Column, value: object) -> str:
    """What a refused number should hold; `0,5` names --decimal-comma."""
    if re.match(DECIMAL_COMMA, str(value)):
        return f"{col.expected()} (a decimal comma? import with --decimal-comma)"
    return col.expected()


def replace_values(
    text: pa.Array, lookup: Callable[[str], str | None]
) -> tuple[pa.Array, pa.Array, Counter[tuple[str, str]]]:
    """Cells rewritten by `lookup` (None: left as they are), the mask of cells it did not
    know, and the count of each (from, to) rewrite. Works on the distinct values only."""
    distinct = pc.unique(text.drop_null()).to_pylist()
    found = {v: lookup(v) for v in distinct}
    changes = {v: t for v, t in found.items() if t is not None and t != v}
    unknown = pa.array([v for v, t in found.items() if t is None], pa.string())
    bad = pc.is_in(text, value_set=unknown)
    if not changes:
        return text, bad, Counter()
    sources = pa.array(list(changes), pa.string())
    index = pc.index_in(text, value_set=sources)
    out = pc.coalesce(pa.array(list(changes.values()), pa.string()).take(index), text)
    counts = pc.value_counts(text.filter(pc.is_valid(index))).to_pylist()
    tally = Counter({(c["values"], changes[c["values"]]): c["counts"] for c in counts})
    return out, bad, tally


def iso_dates(text: pa.Array, fmt: str) -> tuple[pa.Array, int]:
    """Dates written in `fmt` rewritten as YYYY-MM-DD (ISO cells and unreadable ones left
    as they are, for the date check to judge) and how many were rewritten."""
    distinct = [v for v in pc.unique(text.drop_null()).to_pylist() if not _ISO_DATE.match(v)]
    changes: dict[str, str] = {}
    for value in distinct:
        try:
            changes[value] = dt.datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    if not changes:
        return text, 0
    index = pc.index_in(text, value_set=pa.array(list(changes), pa.string()))
    out = pc.coalesce(pa.array(list(changes.values()), pa.string()).take(index), text)
    return out, int(pc.sum(pc.is_valid(index)).as_py() or 0)


Record = Callable[[str, str, int], None]
"""Called with (from, to, count) for each rewrite `prepare` makes."""


def prepare(col: Column, text: pa.Array, options: CellOptions, record: Record) -> pa.Array:
    """The cells of `col` as the template spells them, each rewrite passed to `record`."""
    if not col.required and (col.kind != "text" or is_drug(col)):
        distinct = pc.unique(text)  # compared in lower case: only the distinct cells
        markers = pa.array(sorted(MISSING_MARKERS))
        spelt = distinct.filter(pc.fill_null(pc.is_in(pc.utf8_lower(distinct), markers), False))
        if len(spelt):
            marker = pc.is_in(text, value_set=spelt)
            for c in pc.value_counts(text.filter(marker)).to_pylist():
                record(c["values"], "", c["counts"])
            text = pc.if_else(marker, pa.scalar(None, pa.string()), text)
    if col.kind == "number" and options.decimal_comma:
        comma = pc.fill_null(pc.match_substring_regex(text, DECIMAL_COMMA), False)
        count = int(pc.sum(comma).as_py() or 0)
        if count:
            record("0,5 (decimal comma)", "0.5", count)
            text = pc.if_else(comma, pc.replace_substring(text, ",", "."), text)
    if col.kind == "date" and options.date_format:
        text, count = iso_dates(text, options.date_format)
        if count:
            record(options.date_format, "%Y-%m-%d", count)
    if col.kind in ("code", "flag"):
        table = code_lookup(col)
        text, _, tally = replace_values(text, lambda v: table.get(key(v)))
        for (source, target), count in tally.items():
            if col.kind == "code" or source.lower() != target:  # yes/no: case never mattered
                record(source, target, count)
    return text
