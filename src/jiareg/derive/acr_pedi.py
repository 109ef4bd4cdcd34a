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

from jiareg.derive.config import DEFAULT_CONFIG
from jiareg.derive.coreset import CoreSet, comparable_globals
from jiareg.derive.exact import (
    improved_by_at_least,
    worsened_by_more_than,
)
from jiareg.errors import DerivationError
from jiareg.vocab import CORE_SET_VARIABLES

__all__ = [
    "ACR_PEDI_LEVELS",
    "AcrPediResponse",
    "AcrPediResult",
    "AcrPediSjiaResponse",
    "VariableChange",
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
