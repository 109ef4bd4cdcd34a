"""Anti-TNF courses, why they stopped, and anti-TNF refractoriness (R-TNF-FAIL).

No single published standard exists for JIA; these definitions are a jiareg convention kept
for clinical review (SPEC §12.10). A course is one record `{agent, start, stop, reason}`; a
patient may have several courses and several failures.

Template mapping (`treatments.stop_reason` → reason code): primary_failure → PRIMARY_FAILURE,
secondary_failure → SECONDARY_FAILURE, intolerance and adverse_event → INTOLERANCE (the SPEC
defines intolerance as "stopped because of an adverse event"), remission and other → OTHER,
empty on a stopped course → OTHER (the SPEC puts "unknown" under OTHER).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from jiareg import vocab
from jiareg.derive.config import DEFAULT_CONFIG
from jiareg.errors import DerivationError

__all__ = [
    "ANTI_TNF_AGENTS",
    "FAILURE_REASONS",
    "STOP_REASON_CODES",
    "AntiTnfCourse",
    "courses_per_agent",
    "courses_per_reason",
    "is_anti_tnf",
    "is_anti_tnf_refractory",
    "patients_failed_anti_tnf",
    "patients_per_agent",
    "primary_failure_too_early",
    "reason_from_stop_reason",
]

ReasonCode = Literal["PRIMARY_FAILURE", "SECONDARY_FAILURE", "INTOLERANCE", "OTHER"]

ANTI_TNF_AGENTS: Final = frozenset(vocab.ANTI_TNF)
"""Anti-TNF agents, as lower-case generic names (the template's drug names, `jiareg.vocab`)."""

FAILURE_REASONS: Final[frozenset[ReasonCode]] = frozenset({"PRIMARY_FAILURE", "SECONDARY_FAILURE"})

STOP_REASON_CODES: Final[dict[str, ReasonCode]] = {
    "primary_failure": "PRIMARY_FAILURE",
    "secondary_failure": "SECONDARY_FAILURE",
    "intolerance": "INTOLERANCE",
    "adverse_event": "INTOLERANCE",
    "remission": "OTHER",
    "other": "OTHER",
}
"""Template `stop_reason` values → SPEC R-TNF-FAIL reason codes."""


def is_anti_tnf(drug: str) -> bool:
    """Whether `drug` (generic name, any case) is an anti-TNF agent.

    Source: SPEC R-TNF-FAIL, R-DOSE-TNF.

    >>> is_anti_tnf("Adalimumab"), is_anti_tnf("tocilizumab")
    (True, False)
    """
    return drug.strip().lower() in ANTI_TNF_AGENTS


def reason_from_stop_reason(stop_reason: str | None) -> ReasonCode:
    """The reason code of a stopped course from the template's `stop_reason`.

    adverse_event → INTOLERANCE; remission, other and empty → OTHER (see the module docs).
    Source: SPEC R-TNF-FAIL (reason codes; jiareg mapping).

    >>> reason_from_stop_reason("adverse_event"), reason_from_stop_reason(None)
    ('INTOLERANCE', 'OTHER')
    """
    if stop_reason is None or not stop_reason.strip():
        return "OTHER"
    try:
        return STOP_REASON_CODES[stop_reason.strip().lower()]
    except KeyError:
        raise DerivationError(
            f"unknown stop_reason {stop_reason!r}; expected one of {', '.join(STOP_REASON_CODES)}"
        ) from None


@dataclass(frozen=True, slots=True)
class AntiTnfCourse:
    """One anti-TNF course; `stop` and `reason` are None while it goes on."""

    agent: str
    start: date
    stop: date | None = None
    reason: ReasonCode | None = None

    def __post_init__(self) -> None:
        if self.agent not in ANTI_TNF_AGENTS:
            raise DerivationError(
                f"{self.agent!r} is not an anti-TNF agent; expected one of "
                + ", ".join(sorted(ANTI_TNF_AGENTS))
            )
        if self.stop is not None and self.stop < self.start:
            raise DerivationError(
                f"{self.agent} course stops ({self.stop}) before it starts ({self.start})"
            )
        if self.reason is not None and self.stop is None:
            raise DerivationError(f"{self.agent} course has a stop reason but no stop date")

    @classmethod
    def from_treatment(
        cls, *, drug: str, start_date: date, stop_date: date | None, stop_reason: str | None
    ) -> AntiTnfCourse:
        """A course from a `treatments` row (template names); the reason is mapped.

        >>> AntiTnfCourse.from_treatment(drug="Etanercept", start_date=date(2020, 1, 1),
        ...     stop_date=date(2020, 9, 1), stop_reason="adverse_event").reason
        'INTOLERANCE'
        """
        reason = None if stop_date is None else reason_from_stop_reason(stop_reason)
        return cls(drug.strip().lower(), start_date, stop_date, reason)


def is_anti_tnf_refractory(
    courses: Iterable[AntiTnfCourse],
    *,
    refractory_includes_intolerance: bool = DEFAULT_CONFIG.refractory_includes_intolerance,
) -> bool:
    """Anti-TNF-refractory: ≥ 1 course stopped for primary or secondary failure.

    With `config.refractory_includes_intolerance = True` (default False), INTOLERANCE counts
    too. A patient without anti-TNF courses is not refractory.
    Source: Russo & Katsicas, Pediatr Rheumatol 2011;9(Suppl 1):P186 (inclusion);
    SPEC R-TNF-FAIL (jiareg convention).

    >>> c = AntiTnfCourse("etanercept", date(2020, 1, 1), date(2020, 6, 1), "INTOLERANCE")
    >>> is_anti_tnf_refractory([c])
    False
    >>> is_anti_tnf_refractory([c], refractory_includes_intolerance=True)
    True
    """
    counted: set[ReasonCode] = set(FAILURE_REASONS)
    if refractory_includes_intolerance:
        counted.add("INTOLERANCE")
    return any(course.reason in counted for course in courses)


def patients_failed_anti_tnf(
    courses_by_patient: Mapping[str, Iterable[AntiTnfCourse]],
    *,
    refractory_includes_intolerance: bool = DEFAULT_CONFIG.refractory_includes_intolerance,
) -> int:
    """The number of patients who failed ≥ 1 anti-TNF (poster semantics; one count a patient).

    "Failed" is `is_anti_tnf_refractory`. Source: SPEC R-TNF-FAIL (counting).

    >>> c = AntiTnfCourse("adalimumab", date(2020, 1, 1), date(2020, 6, 1), "PRIMARY_FAILURE")
    >>> patients_failed_anti_tnf({"P1": [c, c], "P2": []})
    1
    """
    return sum(
        is_anti_tnf_refractory(
            courses, refractory_includes_intolerance=refractory_includes_intolerance
        )
        for courses in courses_by_patient.values()
    )


def courses_per_agent(courses: Iterable[AntiTnfCourse]) -> dict[str, int]:
    """The number of courses of each agent (a patient may count several times).

    Source: SPEC R-TNF-FAIL (counting).

    >>> courses_per_agent([AntiTnfCourse("etanercept", date(2020, 1, 1))])
    {'etanercept': 1}
    """
    return dict(Counter(course.agent for course in courses))


def courses_per_reason(courses: Iterable[AntiTnfCourse]) -> dict[ReasonCode, int]:
    """The number of stopped courses for each reason (ongoing courses have none).

    Source: SPEC R-TNF-FAIL (counting).

    >>> courses_per_reason([AntiTnfCourse("etanercept", date(2020, 1, 1), date(2021, 1, 1),
    ...                                   "SECONDARY_FAILURE")])
    {'SECONDARY_FAILURE': 1}
    """
    return dict(Counter(course.reason for course in courses if course.reason is not None))


def patients_per_agent(courses_by_patient: Mapping[str, Iterable[AntiTnfCourse]]) -> dict[str, int]:
    """The number of patients who received each agent (≥ 1 course); sums may exceed patients.

    Source: SPEC R-TNF-FAIL (counting: per-agent counts may sum to more than the patients).

    >>> c = AntiTnfCourse("etanercept", date(2020, 1, 1))
    >>> patients_per_agent({"P1": [c, c], "P2": [c]})
    {'etanercept': 2}
    """
    return dict(
        Counter(
            agent for courses in courses_by_patient.values() for agent in {c.agent for c in courses}
        )
    )


def primary_failure_too_early(
    course: AntiTnfCourse,
    *,
    primary_failure_min_weeks: int = DEFAULT_CONFIG.primary_failure_min_weeks,
) -> bool | None:
    """True when a PRIMARY_FAILURE course lasted less than the minimum trial of the drug.

    Primary failure needs ≥ `config.primary_failure_min_weeks = 12` weeks at a labelled dose;
    a shorter course recorded as primary failure is flagged for review (jiareg convention).
    None for courses that are not primary failures.
    Source: SPEC R-TNF-FAIL (PRIMARY_FAILURE).

    >>> c = AntiTnfCourse("etanercept", date(2020, 1, 1), date(2020, 3, 25), "PRIMARY_FAILURE")
    >>> primary_failure_too_early(c)
    False
    """
    if course.reason != "PRIMARY_FAILURE" or course.stop is None:
        return None
    return (course.stop - course.start).days < 7 * primary_failure_min_weeks
