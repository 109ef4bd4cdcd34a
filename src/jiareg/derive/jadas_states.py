"""JADAS disease-activity states and their cut-offs (SPEC R-JADAS-2), exact scalar and Ibis.

`activity_state` maps a JADAS score (`jiareg.derive.jadas`) to ID / LDA / MDA / HDA by the
cut-offs of a published set, for the patient's course (oligo / poly, from the ILAR category).
States are decided on exact integers: a score is a multiple of 1/210000 for every input with
at most 3 decimals, so `units_expr(score * 10)` is exact and a float sum such as
3.8000000000000003 never crosses a cut-off.

Sources: Consolaro A et al. Arthritis Rheum 2012;64(7):2366-2374 and Ann Rheum Dis
2014;73(7):1380-1383; Trincianti C et al. Arthritis Rheumatol 2021;73(11):1966-1975;
Backström M et al. RMD Open 2019;5(1):e000888.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Final, Literal

import ibis

from jiareg.derive.config import DEFAULT_CONFIG
from jiareg.derive.exact import UNITS, as_value, units_expr
from jiareg.derive.systemic import ilar_category as ilar_code
from jiareg.vocab import ILAR_CATEGORIES, IlarCategory

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "CUTOFFS",
    "NO_CUTOFFS",
    "SCORE_MISSING",
    "SYSTEMIC_FEATURES_PRESENT",
    "SYSTEMIC_FEATURES_UNKNOWN",
    "UNKNOWN_COURSE",
    "ActivityState",
    "ActivityStateResult",
    "Course",
    "CutoffSet",
    "JadasVersion",
    "activity_state",
    "activity_state_expr",
    "activity_state_reason_expr",
    "activity_state_result",
    "jadas_course",
    "jadas_course_expr",
    "sjia_features_active",
    "sjia_features_active_expr",
]

JadasVersion = Literal["jadas10", "jadas27", "jadas71", "cjadas10"]
CutoffSet = Literal["consolaro", "trincianti2021", "backstrom2019"]
Course = Literal["oligo", "poly"]
ActivityState = Literal["ID", "LDA", "MDA", "HDA"]
SYSTEMIC_FEATURES_PRESENT: Final = "systemic_features_present"
SYSTEMIC_FEATURES_UNKNOWN: Final = "systemic_features_unknown"
SCORE_MISSING: Final = "score_missing"
UNKNOWN_COURSE: Final = "unknown_course"
NO_CUTOFFS: Final = "no_cutoffs"
_F = Fraction
_Cuts = tuple[Fraction, Fraction, Fraction | None]
CUTOFFS: Final[dict[tuple[CutoffSet, JadasVersion, Course], _Cuts]] = {
    # Consolaro 2012 (ID 1, LDA 2 / 3.8) and 2014 (HDA 4.2 / 10.5; JADAS27 poly 8.5).
    ("consolaro", "jadas10", "oligo"): (_F(1), _F(2), _F("4.2")),
    ("consolaro", "jadas10", "poly"): (_F(1), _F("3.8"), _F("10.5")),
    ("consolaro", "jadas71", "oligo"): (_F(1), _F(2), _F("4.2")),
    ("consolaro", "jadas71", "poly"): (_F(1), _F("3.8"), _F("10.5")),
    ("consolaro", "jadas27", "oligo"): (_F(1), _F(2), _F("4.2")),
    ("consolaro", "jadas27", "poly"): (_F(1), _F("3.8"), _F("8.5")),
    # cJADAS10 c1, c2 verified (Shoop-Worrall 2017); c3 4 / 8.5 unverified — from memory.
    ("consolaro", "cjadas10", "oligo"): (_F(1), _F("1.5"), _F(4)),
    ("consolaro", "cjadas10", "poly"): (_F(1), _F("2.5"), _F("8.5")),
    # Trincianti 2021 (ACR 2021): ID, MiDA, MoDA, HDA mapped to ID, LDA, MDA, HDA.
    ("trincianti2021", "jadas10", "oligo"): (_F("1.4"), _F(4), _F(13)),
    ("trincianti2021", "jadas10", "poly"): (_F("2.7"), _F(6), _F(17)),
    ("trincianti2021", "cjadas10", "oligo"): (_F("1.1"), _F(4), _F(12)),
    ("trincianti2021", "cjadas10", "poly"): (_F("2.5"), _F(5), _F(16)),
    # Backström 2019: three states only (CID / LDA / MDA), no HDA cut-off.
    ("backstrom2019", "jadas10", "oligo"): (_F("0.5"), _F("3.8"), None),
    ("backstrom2019", "jadas10", "poly"): (_F("0.7"), _F("5.1"), None),
    ("backstrom2019", "cjadas10", "oligo"): (_F("0.5"), _F("3.8"), None),
    ("backstrom2019", "cjadas10", "poly"): (_F("0.7"), _F("5.0"), None),
}
"""c1 / c2 / c3 of SPEC R-JADAS-2 by (set, version, course); a missing key = no cut-offs."""

_COURSE_BY_CATEGORY: Final[dict[IlarCategory, Course]] = {
    "oligo_persistent": "oligo",
    "oligo_extended": "poly",
    "poly_rf_neg": "poly",
    "poly_rf_pos": "poly",
    "systemic": "poly",
}
_COURSE_FROM_HISTORY: Final = tuple(c for c in ILAR_CATEGORIES if c not in _COURSE_BY_CATEGORY)
"""psoriatic, era, undifferentiated: the course comes from the joint history."""
_OLIGO_MAX_JOINTS: Final = 4


def jadas_course(
    ilar_category: str | None, *, joints_ever_affected: int | None = None
) -> Course | None:
    """The JADAS cut-off course ("oligo"/"poly") of an ILAR category; None when unknown.

    The category is a SPEC R-SJIA-1 code in any case (`SYSTEMIC` or the template's `systemic`).

    oligo_persistent -> oligo; oligo_extended, poly_rf_neg, poly_rf_pos -> poly; systemic ->
    poly (Consolaro 2012 placed systemic arthritis without systemic features with the
    polyarticular group; unverified — from memory; `activity_state` still refuses active
    systemic features). psoriatic, era, undifferentiated (SPEC silent; jiareg choice): the
    SPEC's course definition is applied to the joint history, oligo when at most 4 joints were
    ever affected, poly otherwise, None when `joints_ever_affected` is unknown.
    Source: SPEC R-JADAS-2.

    >>> jadas_course("oligo_extended"), jadas_course("era", joints_ever_affected=3)
    ('poly', 'oligo')
    """
    if ilar_category is None:
        return None
    code = ilar_code(ilar_category).lower()
    for category, course in _COURSE_BY_CATEGORY.items():
        if code == category:
            return course
    if joints_ever_affected is None:
        return None
    return "oligo" if joints_ever_affected <= _OLIGO_MAX_JOINTS else "poly"


@dataclass(frozen=True, slots=True)
class ActivityStateResult:
    """A disease-activity state with why it may be missing.

    `state` is "ID"/"LDA"/"MDA"/"HDA" or None; `reason` is None when a state is given, else
    one of (first that applies): "systemic_features_present" (SPEC R-JADAS-2),
    "systemic_features_unknown" (sJIA whose systemic features were not assessed; jiareg
    choice), "score_missing" (the score's own `JadasScore.reason` says why),
    "unknown_course", "no_cutoffs" (the cut-off set has none for this JADAS version).
    """

    state: ActivityState | None
    reason: str | None = None


def sjia_features_active(ilar_category: str | None, systemic_active: bool | None) -> bool | None:
    """Whether active systemic features of sJIA bar the JADAS states (SPEC R-JADAS-2).

    Only systemic JIA is concerned: any other known ILAR category -> False whatever the
    features (they are recorded "attributable to sJIA"). Systemic or unknown category ->
    `systemic_active` (see `jiareg.derive.systemic.systemic_active`): True, False, or None
    when no feature is True and one was not assessed. Feed the result to `activity_state`'s
    `systemic_features_present`. Source: SPEC R-JADAS-2, R-SJIA-2.

    >>> sjia_features_active("systemic", None), sjia_features_active("poly_rf_neg", True)
    (None, False)
    """
    if ilar_category is not None and ilar_code(ilar_category) != "SYSTEMIC":
        return False
    return systemic_active


def activity_state_result(
    score: Fraction | None,
    *,
    course: Course | None,
    version: JadasVersion,
    cutoff_set: CutoffSet = DEFAULT_CONFIG.jadas_cutoff_set,
    systemic_features_present: bool | None = False,
) -> ActivityStateResult:
    """Disease-activity state of a JADAS score (ID <= c1 < LDA <= c2 < MDA <= c3 < HDA) and why not.

    Cut-offs come from `CUTOFFS` (SPEC R-JADAS-2 table); every boundary is inclusive on the
    lower state (`<=`, jiareg reading). Backström 2019 has no c3: scores above c2 are MDA.
    The cut-offs MUST NOT be applied to sJIA with active systemic features:
    `systemic_features_present=True` -> no state, reason "systemic_features_present" (SPEC);
    None (sJIA, features not assessed) -> no state, reason "systemic_features_unknown" (jiareg
    choice: an unassessed feature may be active). Use `sjia_features_active` to build it from
    the ILAR category and `systemic_active`. Otherwise no state when the score is missing
    ("score_missing"), the course is unknown ("unknown_course") or the set has no cut-offs for
    the version, e.g. trincianti2021 JADAS27 ("no_cutoffs"); `ActivityStateResult` documents
    the reasons. Source: Consolaro 2012/2014, Trincianti 2021, Backström 2019. SPEC R-JADAS-2.

    >>> activity_state_result(Fraction("3.8"), course="poly", version="jadas10")
    ActivityStateResult(state='LDA', reason=None)
    >>> activity_state_result(Fraction("3.8"), course="poly", version="jadas10",
    ...                       systemic_features_present=True).reason
    'systemic_features_present'
    """
    if systemic_features_present is True:
        return ActivityStateResult(None, SYSTEMIC_FEATURES_PRESENT)
    if systemic_features_present is None:
        return ActivityStateResult(None, SYSTEMIC_FEATURES_UNKNOWN)
    if score is None:
        return ActivityStateResult(None, SCORE_MISSING)
    if course is None:
        return ActivityStateResult(None, UNKNOWN_COURSE)
    cuts = CUTOFFS.get((cutoff_set, version, course))
    if cuts is None:
        return ActivityStateResult(None, NO_CUTOFFS)
    c1, c2, c3 = cuts
    if score <= c1:
        return ActivityStateResult("ID")
    if score <= c2:
        return ActivityStateResult("LDA")
    if c3 is None or score <= c3:
        return ActivityStateResult("MDA")
    return ActivityStateResult("HDA")


def activity_state(
    score: Fraction | None,
    *,
    course: Course | None,
    version: JadasVersion,
    cutoff_set: CutoffSet = DEFAULT_CONFIG.jadas_cutoff_set,
    systemic_features_present: bool | None = False,
) -> ActivityState | None:
    """The state of `activity_state_result` alone (None when there is none; see its reason).

    Source: Consolaro 2012/2014, Trincianti 2021, Backström 2019. SPEC R-JADAS-2.

    >>> activity_state(Fraction("3.8"), course="poly", version="jadas10")
    'LDA'
    >>> activity_state(Fraction("3.9"), course="poly", version="jadas10")
    'MDA'
    """
    return activity_state_result(
        score,
        course=course,
        version=version,
        cutoff_set=cutoff_set,
        systemic_features_present=systemic_features_present,
    ).state


def jadas_course_expr(
    ilar_category: ir.StringValue, joints_ever_affected: ir.IntegerValue | None = None
) -> ir.StringValue:
    """Ibis twin of `jadas_course`: "oligo"/"poly" or NULL (codes in any case).

    Source: SPEC R-JADAS-2, R-SJIA-1.
    """
    code = ilar_category.strip().lower()
    history: ir.Value = ibis.null("string")
    if joints_ever_affected is not None:
        history = ibis.cases(
            (joints_ever_affected <= _OLIGO_MAX_JOINTS, ibis.literal("oligo")),
            (joints_ever_affected > _OLIGO_MAX_JOINTS, ibis.literal("poly")),
            else_=ibis.null("string"),
        )
    branches = [(code == k, ibis.literal(v)) for k, v in _COURSE_BY_CATEGORY.items()]
    branches.append((code.isin(_COURSE_FROM_HISTORY), history))
    return ibis.cases(*branches, else_=ibis.null("string")).cast("string")


def sjia_features_active_expr(
    ilar_category: ir.StringValue, systemic_active: ir.Value
) -> ir.BooleanValue:
    """Ibis twin of `sjia_features_active`: a boolean column (NULL = unknown).

    `ilar_category` a string column (codes in any case), `systemic_active` a boolean column
    (NULL = not assessed). Source: SPEC R-JADAS-2, R-SJIA-2.
    """
    code = ilar_category.strip().lower()
    other = code.notnull() & (code != "systemic")
    return ibis.ifelse(other, ibis.literal(False), systemic_active.cast("boolean"))


def activity_state_reason_expr(
    score: ir.NumericValue,
    course: ir.StringValue | str | None,
    *,
    version: JadasVersion,
    cutoff_set: CutoffSet = DEFAULT_CONFIG.jadas_cutoff_set,
    systemic_features_present: ir.BooleanValue | bool | None = False,
) -> ir.StringValue:
    """Ibis twin of `activity_state_result(...).reason`: a string column, NULL where a state is.

    `systemic_features_present` is a boolean column or literal (NULL = unknown, as None in the
    scalar rule). Source: SPEC R-JADAS-2.
    """
    features = as_value(systemic_features_present, "boolean")
    course_col = as_value(course, "string")
    known = [c for c in ("oligo", "poly") if (cutoff_set, version, c) in CUTOFFS]
    return ibis.cases(
        (features.isnull(), ibis.literal(SYSTEMIC_FEATURES_UNKNOWN)),
        (features, ibis.literal(SYSTEMIC_FEATURES_PRESENT)),
        (score.isnull(), ibis.literal(SCORE_MISSING)),
        (course_col.isnull(), ibis.literal(UNKNOWN_COURSE)),
        (~course_col.isin(known) if known else ibis.literal(True), ibis.literal(NO_CUTOFFS)),
        else_=ibis.null("string"),
    ).cast("string")


def activity_state_expr(
    score: ir.NumericValue,
    course: ir.StringValue | str | None,
    *,
    version: JadasVersion,
    cutoff_set: CutoffSet = DEFAULT_CONFIG.jadas_cutoff_set,
    systemic_features_present: ir.BooleanValue | bool | None = False,
) -> ir.StringValue:
    """Ibis twin of `activity_state`: "ID"/"LDA"/"MDA"/"HDA" or NULL.

    `score` is a float JADAS column (e.g. `jadas_expr`); it is turned into exact integers with
    `units_expr(score * 10)` (every score from inputs with at most 3 decimals is a multiple of
    1/210000) and compared with the cut-offs' exact integers. `course` is a string column or
    literal; `systemic_features_present` a boolean column or literal, True or NULL -> NULL
    state (build it with `sjia_features_active_expr`). The state is NULL exactly where
    `activity_state_reason_expr` is not.
    Source: Consolaro 2012/2014, Trincianti 2021, Backström 2019; SPEC R-JADAS-2, R-NUM-1.
    """
    exact = units_expr(score * 10)
    state: ir.Value = ibis.null("string")
    for course_name in ("oligo", "poly"):
        cuts = CUTOFFS.get((cutoff_set, version, course_name))
        if cuts is None:
            continue
        branches = [
            (exact <= _units10(cut), ibis.literal(name))
            for cut, name in zip(cuts, ("ID", "LDA", "MDA"), strict=True)
            if cut is not None
        ]
        top = "HDA" if cuts[2] is not None else "MDA"
        by_score = ibis.cases(*branches, else_=ibis.literal(top))
        state = ibis.ifelse(course == course_name, by_score, state)
    reason = activity_state_reason_expr(
        score,
        course,
        version=version,
        cutoff_set=cutoff_set,
        systemic_features_present=systemic_features_present,
    )
    return ibis.ifelse(reason.isnull(), state, ibis.null("string")).cast("string")


def _units10(cut: Fraction) -> int:
    scaled = cut * 10 * UNITS
    assert scaled.denominator == 1
    return scaled.numerator
