"""Anti-TNF failure derived from the core-set visits, beside the recorded stop reason (R-TNF-FAIL).

SPEC R-TNF-FAIL defines the reasons; a registry records one per stopped course
(`treatments.stop_reason`), and this module derives the two failures from the visits:
- primary failure: no ACR Pedi 30 (against the course's baseline) at any visit on the drug up
  to the assessment, and a visit in the assessment window — `config.primary_failure_min_weeks`
  (12) weeks after the start ± `config.primary_failure_window_days` (28, jiareg choice) — is
  an ACR Pedi 30 non-responder;
- secondary failure: ACR Pedi 30 reached at a visit on the drug, then lost while on it: a later
  visit on the drug is an ACR Pedi 30 non-responder against baseline, or flares against the
  best visit so far (≥ 3 of the 6 core variables worsened by more than 30 % and no more than 1
  improved by ≥ 30 %: the trial flare definition, unverified — from memory, SPEC §12.10).
"On the drug" = after the start date, up to and including the stop date (or ongoing).
`config.tnf_failure_source` chooses which source decides a failure: `recorded`, `derived`
or `either` (`failure_reason`). These are jiareg conventions for clinical review (SPEC §12.10);
ACR Pedi comes from `jiareg.derive.acr_pedi` (Giannini 1997, SPEC R-ACRPEDI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

from jiareg.derive.acr_pedi import acr_pedi_level, acr_pedi_response
from jiareg.derive.config import DEFAULT_CONFIG, ClinicalConfig
from jiareg.derive.coreset import CoreSet
from jiareg.derive.tnf_failure import FAILURE_REASONS, AntiTnfCourse, ReasonCode
from jiareg.errors import DerivationError

__all__ = [
    "FAILURE_SOURCES",
    "FLARE_MAX_IMPROVED",
    "FLARE_MIN_WORSENED",
    "CoreSetVisit",
    "DerivedFailure",
    "FailureSource",
    "derive_failure",
    "failure_reason",
    "flare",
]

FailureSource = Literal["recorded", "derived", "either"]
FAILURE_SOURCES: Final[tuple[FailureSource, ...]] = ("recorded", "derived", "either")
DerivedFailure = Literal["PRIMARY_FAILURE", "SECONDARY_FAILURE", "NO_FAILURE"]

FLARE_MIN_WORSENED: Final = 3
"""A flare: at least this many core variables worsened by more than 30 % ..."""
FLARE_MAX_IMPROVED: Final = 1
"""... with no more than this many improved by at least 30 %."""
_RESPONSE_LEVEL: Final = 30


@dataclass(frozen=True, slots=True)
class CoreSetVisit:
    """One dated visit's core set."""

    visit_date: date
    core: CoreSet


def flare(best: CoreSet, later: CoreSet, *, config: ClinicalConfig = DEFAULT_CONFIG) -> bool:
    """Flare from the best visit: ≥ 3 of 6 variables worsened > 30 %, ≤ 1 improved ≥ 30 %.

    Per-variable changes are `acr_pedi_response`'s (R-ACRPEDI-1: worsening is strictly more
    than 30 %). Missing variables count neither way.
    Source: SPEC R-TNF-FAIL (trial flare definition, unverified — from memory, §12.10).

    >>> from fractions import Fraction
    >>> best = CoreSet(active_joints=2, lom_joints=2, chaq=Fraction(1), esr=Fraction(10))
    >>> flare(best, CoreSet(active_joints=5, lom_joints=4, chaq=Fraction(2), esr=Fraction(10)))
    True
    """
    r = acr_pedi_response(
        best,
        later,
        _RESPONSE_LEVEL,
        zero_baseline_worsening=config.zero_baseline_worsening,
        acr_missing_mode=config.acr_missing_mode,
    )
    return r.n_worsened >= FLARE_MIN_WORSENED and r.n_improved <= FLARE_MAX_IMPROVED


def derive_failure(
    course: AntiTnfCourse,
    baseline: CoreSet,
    visits: Sequence[CoreSetVisit],
    *,
    config: ClinicalConfig = DEFAULT_CONFIG,
) -> DerivedFailure | None:
    """PRIMARY_FAILURE, SECONDARY_FAILURE or NO_FAILURE from the visits; None = undecided.

    `baseline` is the core set at the course's start (R-ACRPEDI-3); `visits` are the later
    visits (any order; those off the drug are ignored). Secondary failure is checked first
    (a response was reached). Primary failure needs an evaluable non-responder visit in the
    assessment window and no response up to the window's end; with no evaluable visit there
    and no response, the result is None (not decided from the data), as it is while the
    assessment window is not over. Otherwise NO_FAILURE. Source: SPEC R-TNF-FAIL (jiareg
    convention, module docs).

    >>> from fractions import Fraction
    >>> c = AntiTnfCourse("etanercept", date(2020, 1, 1), date(2020, 6, 1), "OTHER")
    >>> base = CoreSet(active_joints=10, lom_joints=8, chaq=Fraction(2), esr=Fraction(40))
    >>> same = CoreSetVisit(date(2020, 3, 25), base)
    >>> derive_failure(c, base, [same])
    'PRIMARY_FAILURE'
    """
    on_drug = sorted(
        (v for v in visits if _on_drug(course, v.visit_date)), key=lambda v: v.visit_date
    )
    if len({v.visit_date for v in on_drug}) != len(on_drug):
        raise DerivationError("derive_failure: two visits share a date; expected one per date")
    levels = [
        acr_pedi_level(
            baseline,
            v.core,
            zero_baseline_worsening=config.zero_baseline_worsening,
            acr_missing_mode=config.acr_missing_mode,
        )
        for v in on_drug
    ]
    first = next((i for i, lv in enumerate(levels) if lv is not None and lv >= 30), None)
    if first is not None:
        return _secondary(on_drug, levels, first, config)
    target = course.start + timedelta(weeks=config.primary_failure_min_weeks)
    window = timedelta(days=config.primary_failure_window_days)
    in_window = [
        lv for v, lv in zip(on_drug, levels, strict=True) if abs(v.visit_date - target) <= window
    ]
    return "PRIMARY_FAILURE" if 0 in in_window else None


def _secondary(
    on_drug: Sequence[CoreSetVisit],
    levels: Sequence[int | None],
    first: int,
    config: ClinicalConfig,
) -> DerivedFailure:
    best = first
    for i in range(first + 1, len(on_drug)):
        if levels[i] == 0 or flare(on_drug[best].core, on_drug[i].core, config=config):
            return "SECONDARY_FAILURE"
        level_i, level_best = levels[i], levels[best]
        if level_i is not None and level_best is not None and level_i > level_best:
            best = i
    return "NO_FAILURE"


def _on_drug(course: AntiTnfCourse, day: date) -> bool:
    return course.start < day and (course.stop is None or day <= course.stop)


def failure_reason(
    course: AntiTnfCourse,
    derived: DerivedFailure | None,
    *,
    source: FailureSource = DEFAULT_CONFIG.tnf_failure_source,
) -> ReasonCode | None:
    """The course's failure (PRIMARY_FAILURE / SECONDARY_FAILURE) by `source`, else None.

    `recorded`: the recorded stop reason; `derived`: `derive_failure`'s result; `either`: the
    recorded failure when there is one, else the derived one. Source: SPEC R-TNF-FAIL
    ("the recorded stop reason as the other source"; the choice is a protocol option).

    >>> c = AntiTnfCourse("adalimumab", date(2020, 1, 1), date(2020, 9, 1), "OTHER")
    >>> [failure_reason(c, "SECONDARY_FAILURE", source=s) for s in FAILURE_SOURCES]
    [None, 'SECONDARY_FAILURE', 'SECONDARY_FAILURE']
    """
    if source not in FAILURE_SOURCES:
        raise DerivationError(
            f"unknown failure source {source!r}; expected one of {', '.join(FAILURE_SOURCES)}"
        )
    recorded = course.reason if course.reason in FAILURE_REASONS else None
    from_visits: ReasonCode | None = (
        derived if derived in ("PRIMARY_FAILURE", "SECONDARY_FAILURE") else None
    )
    if source == "recorded":
        return recorded
    if source == "derived":
        return from_visits
    return recorded or from_visits
