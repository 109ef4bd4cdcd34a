"""The synthetic model speaks jiareg's vocabulary: every code it writes is a known one."""

from __future__ import annotations

from jiareg.synth import model as m
from jiareg.synth.courses import DRUGS
from jiareg.vocab import (
    ANTI_TNF,
    BIOLOGICS,
    ILAR_CATEGORIES,
    SCALES,
    STEROIDS,
    STOP_REASONS,
    TREATMENT_ROUTES,
)


def test_categories_scales_and_outcomes_are_vocab_codes() -> None:
    assert set(m.CATEGORY_MIX) == set(ILAR_CATEGORIES)
    assert set(m.SITE_SCALES) <= set(SCALES)
    # one outcome probability per stop reason, plus "still on the drug"
    assert len(m.COURSE_OUTCOME) == len(m.TOCILIZUMAB_OUTCOME) == len(STOP_REASONS) + 1
    assert len(m.COURSE_VISITS) == len(m.RESPONSE) == len(STOP_REASONS)


def test_drugs_and_routes_are_vocab_codes() -> None:
    assert set(DRUGS) <= set(BIOLOGICS)
    assert set(m.FIRST_DRUG) | set(m.FIRST_DRUG_SYSTEMIC) <= set(DRUGS)
    assert set(m.OTHER_CLASS) | set(m.OTHER_CLASS_SYSTEMIC) <= set(DRUGS)
    assert set(m.ROUTE.values()) <= set(TREATMENT_ROUTES)
    assert set(m.ANTI_TNF) == {d for d in DRUGS if d in ANTI_TNF}
    assert set(m.STEROID_DRUGS) <= set(STEROIDS)
