"""ACR Pediatric 30/50/70/90/100 response (SPEC R-ACRPEDI-1, -2, -4), exact scalar and Ibis.

Giannini 1997: at least 3 of the 6 core-set variables improved by at least X %, with no more
than 1 of the remaining variables worsened by more than 30 %. Every threshold is decided by
cross-multiplication on exact numbers (SPEC R-NUM-1): Fractions in the scalar form, integer
units (`jiareg.derive.exact.units_expr`) in the Ibis form, so DuckDB, PostgreSQL and Spark agree
with the scalar form on every input.

Source: Giannini EH, Ruperto N, Ravelli A, Lovell DJ, Felson DT, Martini A. Preliminary
definition of improvement in juvenile arthritis. Arthritis Rheum 1997;40(7):1202-1209.
Systemic variant: De Benedetti F et al. N Engl J Med 2012;367(25):2385-2395 (TENDER).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any, Final, Literal

import ibis

from jiareg.derive.config import DEFAULT_CONFIG
from jiareg.derive.coreset import (
    CORE_SET_VARIABLES,
    CoreSet,
    comparable_globals,
    comparable_globals_expr,
)
from jiareg.derive.exact import improved_by_at_least, units_expr, worsened_by_more_than
from jiareg.errors import DerivationError

__all__ = [
    "ACR_PEDI_LEVELS",
    "AcrPediResponse",
    "AcrPediResult",
    "AcrPediSjiaResponse",
    "VariableChange",
    "acr_pedi_columns",
    "acr_pedi_level",
    "acr_pedi_response",
    "acr_pedi_sjia_level",
    "acr_pedi_sjia_response",
    "classify_variable",
]

ACR_PEDI_LEVELS: Final = (30, 50, 70, 90, 100)
"""Improvement levels X (%) of ACR Pedi X."""
WORSENING_PCT: Final = 30
"""A variable is worsened when it rises by more than this percentage, at every level."""
MIN_IMPROVED: Final = 3
"""At least this many variables must improve by X %."""
MAX_WORSENED: Final = 1
"""No more than this many of the others may worsen by more than 30 %."""

ZeroBaselineWorsening = Literal["any_increase", "never"]
MissingMode = Literal["determinate", "complete_case"]
VariableChange = Literal["improved", "worsened", "unchanged", "missing"]


class AcrPediResult(StrEnum):
    """Outcome of ACR Pedi X for one baseline/follow-up pair."""

    RESPONDER = "RESPONDER"
    NONRESPONDER = "NONRESPONDER"
    NOT_EVALUABLE = "NOT_EVALUABLE"


@dataclass(frozen=True, slots=True)
class AcrPediResponse:
    """ACR Pedi at one level: the result and the counts it was decided from (R-ACRPEDI-2)."""

    level: int
    result: AcrPediResult
    n_improved: int
    n_worsened: int
    n_missing: int
    per_variable: Mapping[str, VariableChange]


@dataclass(frozen=True, slots=True)
class AcrPediSjiaResponse:
    """Systemic-JIA adapted ACR Pedi: ACR Pedi X and absence of fever (R-ACRPEDI-4)."""

    level: int
    result: AcrPediResult
    acr_pedi: AcrPediResponse
    fever_absent: bool | None


def _check_level(level: int) -> None:
    if level not in ACR_PEDI_LEVELS:
        raise DerivationError(f"ACR Pedi level {level!r}; expected one of {ACR_PEDI_LEVELS}")


def classify_variable(
    baseline: Fraction | int | None,
    followup: Fraction | int | None,
    level: int,
    *,
    zero_baseline_worsening: ZeroBaselineWorsening = DEFAULT_CONFIG.zero_baseline_worsening,
) -> VariableChange:
    """Whether one core-set variable improved by `level` %, worsened by > 30 %, or neither.

    With baseline b > 0: improved iff ``(b - f) * 100 >= level * b`` (inclusive: 6 -> 4.2 is
    30 %; at level 100 this means f == 0); worsened iff ``(f - b) * 100 > 30 * b`` (strict:
    10 -> 13 is not worsening). With b == 0 the variable is never improved; a rise from 0 is
    worsening when `zero_baseline_worsening` is "any_increase" (default, a jiareg choice) and
    not when "never". Either value None → "missing". Higher = worse for all six variables.
    Source: Giannini 1997; SPEC R-ACRPEDI-1.

    >>> classify_variable(Fraction(6), Fraction("4.2"), 30), classify_variable(10, 13, 30)
    ('improved', 'unchanged')
    >>> classify_variable(0, 1, 30), classify_variable(0, 1, 30, zero_baseline_worsening="never")
    ('worsened', 'unchanged')
    """
    _check_level(level)
    if baseline is None or followup is None:
        return "missing"
    if baseline > 0:
        if improved_by_at_least(baseline, followup, level):
            return "improved"
        if worsened_by_more_than(baseline, followup, WORSENING_PCT):
            return "worsened"
        return "unchanged"
    if followup > 0 and zero_baseline_worsening == "any_increase":
        return "worsened"
    return "unchanged"


def _decide(n_improved: int, n_worsened: int, n_missing: int, mode: MissingMode) -> AcrPediResult:
    """R-ACRPEDI-2: the determinate rule, or complete case."""
    if mode == "complete_case" and n_missing:
        return AcrPediResult.NOT_EVALUABLE
    worst = n_improved >= MIN_IMPROVED and n_worsened + n_missing <= MAX_WORSENED
    best = n_improved + n_missing >= MIN_IMPROVED and n_worsened <= MAX_WORSENED
    if worst:
        return AcrPediResult.RESPONDER
    if not best:
        return AcrPediResult.NONRESPONDER
    return AcrPediResult.NOT_EVALUABLE


def _pairs(baseline: CoreSet, followup: CoreSet) -> dict[str, tuple[Any, Any]]:
    """The six (baseline, follow-up) pairs on comparable scales; (None, None) = missing."""
    pairs: dict[str, tuple[Any, Any]] = {}
    for name in CORE_SET_VARIABLES:
        b, f = getattr(baseline, name), getattr(followup, name)
        if name in ("phys_global", "parent_global"):
            pair = comparable_globals(b, f)
            pairs[name] = (None, None) if pair is None else pair
        else:
            pairs[name] = (b, f)
    return pairs


def acr_pedi_response(
    baseline: CoreSet,
    followup: CoreSet,
    level: int = 30,
    *,
    zero_baseline_worsening: ZeroBaselineWorsening = DEFAULT_CONFIG.zero_baseline_worsening,
    acr_missing_mode: MissingMode = DEFAULT_CONFIG.acr_missing_mode,
) -> AcrPediResponse:
    """ACR Pedi `level` (30/50/70/90/100) response of a follow-up visit against baseline.

    Responder: at least 3 of the 6 variables improved by ≥ `level` %, and at most 1 worsened by
    > 30 % (see `classify_variable`). Globals on different scales are compared on 0-10; a Likert
    (0-3) global against a non-Likert one is not comparable and counts as missing.
    Missing data (`acr_missing_mode`): "determinate" (default) returns RESPONDER only if the
    worst case (every missing variable worsened) passes, NONRESPONDER only if the best case
    (every missing variable improved) fails, else NOT_EVALUABLE; "complete_case" returns
    NOT_EVALUABLE whenever a variable is missing. Source: Giannini 1997; SPEC R-ACRPEDI-1/2.

    >>> from jiareg.derive.coreset import Global
    >>> def visit(pga, par, chaq, ajc, lom, esr):
    ...     return CoreSet(Global(Fraction(pga)), Global(Fraction(par)), Fraction(chaq),
    ...                    ajc, lom, Fraction(esr))
    >>> b, f = visit("5", "6", "1.5", 10, 8, 40), visit("3.5", "4.2", "1.05", 7, 8, 40)
    >>> r = acr_pedi_response(b, f)
    >>> r.result, r.n_improved, r.n_worsened, r.n_missing
    (<AcrPediResult.RESPONDER: 'RESPONDER'>, 4, 0, 0)
    """
    per_variable = {
        name: classify_variable(b, f, level, zero_baseline_worsening=zero_baseline_worsening)
        for name, (b, f) in _pairs(baseline, followup).items()
    }
    counts = {c: sum(v == c for v in per_variable.values()) for c in ("improved", "worsened")}
    n_missing = sum(v == "missing" for v in per_variable.values())
    return AcrPediResponse(
        level=level,
        result=_decide(counts["improved"], counts["worsened"], n_missing, acr_missing_mode),
        n_improved=counts["improved"],
        n_worsened=counts["worsened"],
        n_missing=n_missing,
        per_variable=per_variable,
    )


def _level_of(results: Mapping[int, AcrPediResult]) -> int | None:
    """Highest level that is RESPONDER; 0 if level 30 is NONRESPONDER; None if 30 is NE."""
    for level in reversed(ACR_PEDI_LEVELS):
        if results[level] is AcrPediResult.RESPONDER:
            return level
    return 0 if results[ACR_PEDI_LEVELS[0]] is AcrPediResult.NONRESPONDER else None


def acr_pedi_level(
    baseline: CoreSet,
    followup: CoreSet,
    *,
    zero_baseline_worsening: ZeroBaselineWorsening = DEFAULT_CONFIG.zero_baseline_worsening,
    acr_missing_mode: MissingMode = DEFAULT_CONFIG.acr_missing_mode,
) -> int | None:
    """The highest ACR Pedi level met: 0, 30, 50, 70, 90 or 100; None if not evaluable.

    The level is the highest X whose result is RESPONDER (responses are nested: a responder at
    70 is one at 50 and 30, R-ACRPEDI-3). It is 0 when ACR Pedi 30 is NONRESPONDER and None
    only when ACR Pedi 30 is NOT_EVALUABLE. A jiareg choice: when a higher level is
    NOT_EVALUABLE (missing data could lift the patient to it), the level reported is the
    highest one the data prove. Source: SPEC R-ACRPEDI-2/3.

    >>> from jiareg.derive.coreset import Global
    >>> b = CoreSet(Global(Fraction(10)), Global(Fraction(10)), Fraction(2), 10, 10, Fraction(20))
    >>> f = CoreSet(Global(Fraction(3)), Global(Fraction(3)), Fraction("0.6"), 4, 10, Fraction(20))
    >>> acr_pedi_level(b, f)
    70
    """
    return _level_of(
        {
            level: acr_pedi_response(
                baseline,
                followup,
                level,
                zero_baseline_worsening=zero_baseline_worsening,
                acr_missing_mode=acr_missing_mode,
            ).result
            for level in ACR_PEDI_LEVELS
        }
    )


def _sjia(result: AcrPediResult, fever_absent: bool | None) -> AcrPediResult:
    """R-ACRPEDI-4: RESPONDER and no fever; unknown fever is NE unless already NONRESPONDER."""
    if result is AcrPediResult.NONRESPONDER or fever_absent is False:
        return AcrPediResult.NONRESPONDER
    if result is AcrPediResult.RESPONDER and fever_absent:
        return AcrPediResult.RESPONDER
    return AcrPediResult.NOT_EVALUABLE


def acr_pedi_sjia_response(
    baseline: CoreSet,
    followup: CoreSet,
    fever_absent: bool | None,
    level: int = 30,
    *,
    zero_baseline_worsening: ZeroBaselineWorsening = DEFAULT_CONFIG.zero_baseline_worsening,
    acr_missing_mode: MissingMode = DEFAULT_CONFIG.acr_missing_mode,
) -> AcrPediSjiaResponse:
    """Systemic-JIA adapted ACR Pedi X: ACR Pedi X RESPONDER and absence of fever.

    `fever_absent` is True when no temperature ≥ `config.fever_threshold_c` (37.5 °C) was
    recorded in the `config.fever_window_days` (7) days before the visit, None when unknown
    (both numbers unverified — from memory, SPEC §12.1). Fever present → NONRESPONDER; fever
    unknown → NOT_EVALUABLE unless the ACR Pedi part is already NONRESPONDER.
    Source: De Benedetti 2012 (TENDER); SPEC R-ACRPEDI-4.

    >>> from jiareg.derive.coreset import Global
    >>> b = CoreSet(Global(Fraction(10)), Global(Fraction(10)), Fraction(2), 10, 10, Fraction(20))
    >>> f = CoreSet(Global(Fraction(5)), Global(Fraction(5)), Fraction(1), 5, 10, Fraction(20))
    >>> [acr_pedi_sjia_response(b, f, fever).result.value for fever in (True, False, None)]
    ['RESPONDER', 'NONRESPONDER', 'NOT_EVALUABLE']
    """
    acr = acr_pedi_response(
        baseline,
        followup,
        level,
        zero_baseline_worsening=zero_baseline_worsening,
        acr_missing_mode=acr_missing_mode,
    )
    return AcrPediSjiaResponse(level, _sjia(acr.result, fever_absent), acr, fever_absent)


def acr_pedi_sjia_level(
    baseline: CoreSet,
    followup: CoreSet,
    fever_absent: bool | None,
    *,
    zero_baseline_worsening: ZeroBaselineWorsening = DEFAULT_CONFIG.zero_baseline_worsening,
    acr_missing_mode: MissingMode = DEFAULT_CONFIG.acr_missing_mode,
) -> int | None:
    """The highest systemic-JIA ACR Pedi level met, as `acr_pedi_level` (SPEC R-ACRPEDI-4).

    >>> from jiareg.derive.coreset import Global
    >>> b = CoreSet(Global(Fraction(10)), Global(Fraction(10)), Fraction(2), 10, 10, Fraction(20))
    >>> f = CoreSet(Global(Fraction(5)), Global(Fraction(5)), Fraction(1), 5, 10, Fraction(20))
    >>> acr_pedi_sjia_level(b, f, True), acr_pedi_sjia_level(b, f, False)
    (50, 0)
    """
    return _level_of(
        {
            level: acr_pedi_sjia_response(
                baseline,
                followup,
                fever_absent,
                level,
                zero_baseline_worsening=zero_baseline_worsening,
                acr_missing_mode=acr_missing_mode,
            ).result
            for level in ACR_PEDI_LEVELS
        }
    )


# --- columnar (Ibis) twin --------------------------------------------------------------------


def _unit_pairs(baseline: Mapping[str, Any], followup: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    """The six (baseline, follow-up) pairs as exact int64 units; NULL = missing/not comparable."""
    pairs = []
    for name in CORE_SET_VARIABLES:
        if name in ("phys_global", "parent_global"):
            b, f = comparable_globals_expr(
                baseline[name],
                baseline.get(f"{name}_scale", "0-10"),
                followup[name],
                followup.get(f"{name}_scale", "0-10"),
            )
        else:
            b, f = baseline[name], followup[name]
        pairs.append((units_expr(b), units_expr(f)))
    return pairs


def _count(flags: list[Any]) -> Any:
    """Number of True flags (NULL counts as False), without casting booleans (PostgreSQL)."""
    total = flags[0].ifelse(1, 0)
    for flag in flags[1:]:
        total = total + flag.ifelse(1, 0)
    return total


def _worsened_expr(b: Any, f: Any, zero_baseline_worsening: ZeroBaselineWorsening) -> Any:
    worse = (b > 0) & worsened_by_more_than(b, f, WORSENING_PCT)
    if zero_baseline_worsening == "any_increase":
        worse = worse | ((b == 0) & (f > 0))
    return worse


def _result_from_counts(n_imp: Any, n_wor: Any, n_miss: Any, mode: MissingMode) -> Any:
    """Ibis twin of `_decide`."""
    worst = (n_imp >= MIN_IMPROVED) & (n_wor + n_miss <= MAX_WORSENED)
    best = (n_imp + n_miss >= MIN_IMPROVED) & (n_wor <= MAX_WORSENED)
    branches = [(worst, AcrPediResult.RESPONDER.value), (~best, AcrPediResult.NONRESPONDER.value)]
    if mode == "complete_case":
        branches.insert(0, (n_miss > 0, AcrPediResult.NOT_EVALUABLE.value))
    return ibis.cases(*branches, else_=AcrPediResult.NOT_EVALUABLE.value)


def _level_from_results(results: Mapping[int, Any]) -> Any:
    """Ibis twin of `_level_of`: the level from the result columns of all five levels."""
    first = ACR_PEDI_LEVELS[0]
    level = results[first].cases(
        (AcrPediResult.RESPONDER.value, first),
        (AcrPediResult.NONRESPONDER.value, 0),
        else_=ibis.null("int64"),
    )
    for higher in ACR_PEDI_LEVELS[1:]:
        level = ibis.ifelse(results[higher] == AcrPediResult.RESPONDER.value, higher, level)
    return level.cast("int64")


def _sjia_expr(result: Any, fever_absent: Any) -> Any:
    """Ibis twin of `_sjia`; `fever_absent` is a boolean column, NULL meaning unknown."""
    responder, nonresponder = AcrPediResult.RESPONDER.value, AcrPediResult.NONRESPONDER.value
    unknown = AcrPediResult.NOT_EVALUABLE.value
    by_result = result.cases(
        (responder, ibis.ifelse(fever_absent.fill_null(False), responder, unknown)),
        (nonresponder, nonresponder),
        else_=unknown,
    )
    return ibis.ifelse((~fever_absent).fill_null(False), nonresponder, by_result)


def acr_pedi_columns(
    table: Any,
    baseline: Mapping[str, Any],
    followup: Mapping[str, Any],
    *,
    fever_absent: Any = None,
    zero_baseline_worsening: ZeroBaselineWorsening = DEFAULT_CONFIG.zero_baseline_worsening,
    acr_missing_mode: MissingMode = DEFAULT_CONFIG.acr_missing_mode,
) -> Any:
    """Ibis twin of `acr_pedi_level` and `acr_pedi_sjia_level`: `table` with the results added.

    `baseline` and `followup` map the template column names (phys_global, phys_global_scale,
    parent_global, parent_global_scale, chaq, active_joints, lom_joints, esr) to numeric
    columns of `table` (scale columns are strings; a missing scale key means "0-10").
    Added columns: `acr_pedi_30` ... `acr_pedi_100` ('RESPONDER', 'NONRESPONDER' or
    'NOT_EVALUABLE') and `acr_pedi_level` (int64 0/30/50/70/90/100, NULL if not evaluable);
    given a boolean `fever_absent` column (NULL = unknown) also the systemic-JIA variant
    `acr_pedi_sjia_30` ... `acr_pedi_sjia_100` and `acr_pedi_sjia_level` (R-ACRPEDI-4).

    Thresholds are decided on int64 units (R-NUM-1), so the result is exact on DuckDB,
    PostgreSQL and Spark. The rule is built in successive selects (units, then counts, then
    results, then levels) because Ibis inlines every reference to a computed column: written
    as one nested expression, the five levels' counts repeat each unit conversion and the
    SQL grows to hundreds of kilobytes; staged, each value is computed once.

    SPEC §11.1 A01 (exact 30 % on four variables) and A02 (only one improves):

    >>> names = ("phys_global", "parent_global", "chaq", "active_joints", "lom_joints", "esr")
    >>> a01 = ((5, 6, 1.5, 10, 8, 40), (3.5, 4.2, 1.05, 7, 8, 40))
    >>> a02 = ((6, 6, 1.5, 10, 8, 40), (4.2, 4.3, 1.2, 8, 8, 40))
    >>> t = ibis.memtable(
    ...     [{"id": id_} | dict(zip(names, b)) | {f"f_{n}": v for n, v in zip(names, f)}
    ...      for id_, (b, f) in (("A01", a01), ("A02", a02))]
    ... )
    >>> baseline, followup = {n: t[n] for n in names}, {n: t[f"f_{n}"] for n in names}
    >>> scored = acr_pedi_columns(t, baseline, followup)
    >>> scored.select("id", "acr_pedi_30", "acr_pedi_level").to_pyarrow().to_pylist()
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'id': 'A01', 'acr_pedi_30': 'RESPONDER', 'acr_pedi_level': 30},
     {'id': 'A02', 'acr_pedi_30': 'NONRESPONDER', 'acr_pedi_level': 0}]
    """
    units: dict[str, Any] = {}
    for i, (b, f) in enumerate(_unit_pairs(baseline, followup)):
        units |= {f"_acr_b{i}": b, f"_acr_f{i}": f}
    extra = {} if fever_absent is None else {"_acr_fever_absent": fever_absent}
    staged = table.mutate(**units, **extra)
    pairs = [(staged[f"_acr_b{i}"], staged[f"_acr_f{i}"]) for i in range(len(CORE_SET_VARIABLES))]
    counts = {
        "_acr_worsened": _count([_worsened_expr(b, f, zero_baseline_worsening) for b, f in pairs]),
        "_acr_missing": _count([b.isnull() | f.isnull() for b, f in pairs]),
    } | {
        f"_acr_improved{level}": _count(
            [(b > 0) & improved_by_at_least(b, f, level) for b, f in pairs]
        )
        for level in ACR_PEDI_LEVELS
    }
    staged = staged.mutate(**counts)
    staged = staged.mutate(
        **{
            f"acr_pedi_{level}": _result_from_counts(
                staged[f"_acr_improved{level}"],
                staged._acr_worsened,
                staged._acr_missing,
                acr_missing_mode,
            )
            for level in ACR_PEDI_LEVELS
        }
    )
    if fever_absent is not None:
        staged = staged.mutate(
            **{
                f"acr_pedi_sjia_{level}": _sjia_expr(
                    staged[f"acr_pedi_{level}"], staged._acr_fever_absent
                )
                for level in ACR_PEDI_LEVELS
            }
        )
    levels = {
        "acr_pedi_level": _level_from_results(
            {lv: staged[f"acr_pedi_{lv}"] for lv in ACR_PEDI_LEVELS}
        )
    }
    if fever_absent is not None:
        levels["acr_pedi_sjia_level"] = _level_from_results(
            {lv: staged[f"acr_pedi_sjia_{lv}"] for lv in ACR_PEDI_LEVELS}
        )
    staged = staged.mutate(**levels)
    return staged.drop(*[c for c in staged.columns if c.startswith("_acr_")])
