"""R-TNF-FAIL: course records, template stop reasons, refractoriness and the poster's counts."""

from __future__ import annotations

from datetime import date

import pytest

from jiareg.derive.config import ClinicalConfig
from jiareg.derive.tnf_failure import (
    ANTI_TNF_AGENTS,
    STOP_REASON_CODES,
    AntiTnfCourse,
    courses_per_agent,
    courses_per_reason,
    is_anti_tnf,
    is_anti_tnf_refractory,
    patients_failed_anti_tnf,
    patients_per_agent,
    primary_failure_too_early,
    reason_from_stop_reason,
)
from jiareg.errors import DerivationError

D0, D1 = date(2019, 1, 1), date(2019, 9, 1)


def course(agent: str, reason: str | None, stop: date | None = D1) -> AntiTnfCourse:
    return AntiTnfCourse(agent, D0, stop, reason)  # type: ignore[arg-type]


def test_anti_tnf_agents() -> None:
    assert {"etanercept", "adalimumab", "infliximab", "golimumab", "certolizumab"} == set(
        ANTI_TNF_AGENTS
    )
    assert is_anti_tnf(" Infliximab ") and not is_anti_tnf("tocilizumab")


@pytest.mark.parametrize(
    ("stop_reason", "code"),
    [
        ("primary_failure", "PRIMARY_FAILURE"),
        ("secondary_failure", "SECONDARY_FAILURE"),
        ("intolerance", "INTOLERANCE"),
        ("adverse_event", "INTOLERANCE"),
        ("remission", "OTHER"),
        ("other", "OTHER"),
        ("", "OTHER"),
        (None, "OTHER"),
        ("Primary_Failure", "PRIMARY_FAILURE"),
    ],
)
def test_template_stop_reasons_map_to_codes(stop_reason: str | None, code: str) -> None:
    assert reason_from_stop_reason(stop_reason) == code


def test_every_template_value_is_mapped() -> None:
    template = {"primary_failure", "secondary_failure", "intolerance", "adverse_event"}
    assert template | {"remission", "other"} == set(STOP_REASON_CODES)


def test_unknown_stop_reason_lists_the_accepted_values() -> None:
    with pytest.raises(DerivationError, match="unknown stop_reason 'cost'; expected one of"):
        reason_from_stop_reason("cost")


def test_course_from_treatment_row() -> None:
    stopped = AntiTnfCourse.from_treatment(
        drug="Adalimumab", start_date=D0, stop_date=D1, stop_reason="secondary_failure"
    )
    assert stopped == AntiTnfCourse("adalimumab", D0, D1, "SECONDARY_FAILURE")
    ongoing = AntiTnfCourse.from_treatment(
        drug="etanercept", start_date=D0, stop_date=None, stop_reason=None
    )
    assert ongoing.reason is None and ongoing.stop is None


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: AntiTnfCourse("tocilizumab", D0), "'tocilizumab' is not an anti-TNF agent"),
        (
            lambda: AntiTnfCourse("etanercept", D1, D0, "OTHER"),
            r"stops \(2019-01-01\) before it starts \(2019-09-01\)",
        ),
        (lambda: AntiTnfCourse("etanercept", D0, None, "OTHER"), "no stop date"),
    ],
)
def test_invalid_courses(build: object, message: str) -> None:
    with pytest.raises(DerivationError, match=message):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("reasons", "default", "with_intolerance"),
    [
        ([], False, False),
        (["PRIMARY_FAILURE"], True, True),
        (["SECONDARY_FAILURE"], True, True),
        (["INTOLERANCE"], False, True),
        (["OTHER", "INTOLERANCE"], False, True),
        (["OTHER"], False, False),
        ([None], False, False),
        (["OTHER", "SECONDARY_FAILURE"], True, True),
    ],
)
def test_refractory(reasons: list[str | None], default: bool, with_intolerance: bool) -> None:
    courses = [course("etanercept", r, None if r is None else D1) for r in reasons]
    assert is_anti_tnf_refractory(courses) is default
    option = ClinicalConfig(refractory_includes_intolerance=True)
    assert (
        is_anti_tnf_refractory(
            courses, refractory_includes_intolerance=option.refractory_includes_intolerance
        )
        is with_intolerance
    )


def test_poster_counts_patients_once_and_courses_per_agent_and_reason() -> None:
    """Per-agent course counts may sum to more than the number of patients (SPEC R-TNF-FAIL)."""
    by_patient = {
        "P1": [course("etanercept", "PRIMARY_FAILURE"), course("adalimumab", "SECONDARY_FAILURE")],
        "P2": [course("etanercept", "INTOLERANCE"), course("etanercept", "SECONDARY_FAILURE")],
        "P3": [course("infliximab", "INTOLERANCE")],
        "P4": [course("adalimumab", None, stop=None)],
    }
    every = [c for cs in by_patient.values() for c in cs]
    assert patients_failed_anti_tnf(by_patient) == 2
    assert patients_failed_anti_tnf(by_patient, refractory_includes_intolerance=True) == 3
    assert courses_per_agent(every) == {"etanercept": 3, "adalimumab": 2, "infliximab": 1}
    assert courses_per_reason(every) == {
        "PRIMARY_FAILURE": 1,
        "SECONDARY_FAILURE": 2,
        "INTOLERANCE": 2,
    }
    assert patients_per_agent(by_patient) == {"etanercept": 2, "adalimumab": 2, "infliximab": 1}


@pytest.mark.parametrize(
    ("stop", "reason", "weeks", "expected"),
    [
        (date(2019, 3, 25), "PRIMARY_FAILURE", 12, True),  # 83 days < 84
        (date(2019, 3, 26), "PRIMARY_FAILURE", 12, False),  # exactly 12 weeks
        (date(2019, 3, 26), "PRIMARY_FAILURE", 16, True),
        (date(2019, 3, 1), "SECONDARY_FAILURE", 12, None),
    ],
)
def test_primary_failure_min_weeks(
    stop: date, reason: str, weeks: int, expected: bool | None
) -> None:
    c = AntiTnfCourse("etanercept", D0, stop, reason)  # type: ignore[arg-type]
    assert primary_failure_too_early(c, primary_failure_min_weeks=weeks) is expected


def test_vocabulary_comes_from_jiareg_vocab() -> None:
    """Every template stop reason has a code; the anti-TNF list is the vocabulary's."""
    from jiareg import vocab
    from jiareg.derive.tnf_failure import ANTI_TNF_AGENTS, STOP_REASON_CODES

    assert set(STOP_REASON_CODES) == set(vocab.STOP_REASONS)
    assert set(vocab.ANTI_TNF) == ANTI_TNF_AGENTS
