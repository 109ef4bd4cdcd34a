"""JADAS: Juvenile Arthritis Disease Activity Score and its activity states (SPEC R-JADAS 1-2).

`JADAS-n = pga_0_10 + parent_global_0_10 + min(active joints, n) + marker points`, for
n = 10, 27, 71; clinical JADAS (cJADAS) drops the marker. Scalar rules are exact (Fraction);
`jadas_expr` and `activity_state_expr` are their Ibis twins. States are decided on exact
integers: a score is a multiple of 1/210000 for every input with at most 3 decimals, so
`units_expr(score * 10)` is exact and a float sum such as 3.8000000000000003 never crosses a
cut-off.

Sources: Consolaro A, Ruperto N, Bazso A, et al. Development and validation of a composite
disease activity score for juvenile idiopathic arthritis. Arthritis Rheum 2009;61(5):658-666.
Cut-offs: Consolaro 2012 (Arthritis Rheum 64:2366) and 2014 (Ann Rheum Dis 73:1380); Trincianti
2021 (Arthritis Rheumatol 73:1966); Backström 2019 (RMD Open 5:e000888). cJADAS: McErlane 2013.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final, Literal

import ibis

from jiareg.derive.config import DEFAULT_CONFIG
from jiareg.derive.coreset import Global, global_0_10, global_0_10_expr, likert_rescaled
from jiareg.derive.exact import UNITS, units_expr
from jiareg.derive.systemic import ilar_category as ilar_code
from jiareg.errors import DerivationError

__all__ = [
    "CUTOFFS",
    "ESR_CEILING_MM_H",
    "ESR_FLOOR_MM_H",
    "GLOBAL_ON_LIKERT_SCALE",
    "JADAS_RANGES",
    "MISSING_COMPONENT",
    "NO_CUTOFFS",
    "SCORE_MISSING",
    "SYSTEMIC_FEATURES_PRESENT",
    "SYSTEMIC_FEATURES_UNKNOWN",
    "UNKNOWN_COURSE",
    "ActivityState",
    "ActivityStateResult",
    "Course",
    "CutoffSet",
    "JadasJoints",
    "JadasScore",
    "JadasVersion",
    "MarkerKind",
    "activity_state",
    "activity_state_expr",
    "activity_state_reason_expr",
    "activity_state_result",
    "crp_points",
    "esr_points",
    "jadas",
    "jadas_course",
    "jadas_course_expr",
    "jadas_expr",
    "jadas_from_globals",
    "jadas_globals_expr",
    "sjia_features_active",
    "sjia_features_active_expr",
]

JadasJoints = Literal[10, 27, 71]
MarkerKind = Literal["esr", "crp", "none"]
JadasVersion = Literal["jadas10", "jadas27", "jadas71", "cjadas10"]
CutoffSet = Literal["consolaro", "trincianti2021", "backstrom2019"]
Course = Literal["oligo", "poly"]
ActivityState = Literal["ID", "LDA", "MDA", "HDA"]

ESR_FLOOR_MM_H: Final = Fraction(20)
ESR_CEILING_MM_H: Final = Fraction(120)
_POINTS_SPAN: Final = 10  # marker points run 0..10

GLOBAL_ON_LIKERT_SCALE: Final = "global_on_likert_scale"
MISSING_COMPONENT: Final = "missing_component"
SYSTEMIC_FEATURES_PRESENT: Final = "systemic_features_present"
SYSTEMIC_FEATURES_UNKNOWN: Final = "systemic_features_unknown"
SCORE_MISSING: Final = "score_missing"
UNKNOWN_COURSE: Final = "unknown_course"
NO_CUTOFFS: Final = "no_cutoffs"

JADAS_RANGES: Final[dict[tuple[JadasJoints, bool], int]] = {
    (10, True): 40,
    (27, True): 57,
    (71, True): 101,
    (10, False): 30,
    (27, False): 47,
    (71, False): 91,
}
"""Maximum score by (joint set, with marker): JADAS 0-40/57/101, cJADAS 0-30/47/91."""

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

_COURSE_BY_CATEGORY: Final[dict[str, Course]] = {
    "oligo_persistent": "oligo",
    "oligo_extended": "poly",
    "poly_rf_neg": "poly",
    "poly_rf_pos": "poly",
    "systemic": "poly",
}
_COURSE_FROM_HISTORY: Final = ("psoriatic", "era", "undifferentiated")
_OLIGO_MAX_JOINTS: Final = 4


@dataclass(frozen=True, slots=True)
class JadasScore:
    """A JADAS value with why it may be missing.

    `score` is exact (None when not computable); `missing` names the missing components
    ("pga", "parent_global", "active_joints", "esr"/"crp"); `reason` is None,
    "missing_component" or "global_on_likert_scale"; `likert_rescaled` is True when a 0-3
    global was mapped to 0-10 (`config.allow_likert_rescale`).
    """

    score: Fraction | None
    missing: tuple[str, ...] = ()
    reason: str | None = None
    likert_rescaled: bool = False


def esr_points(esr: Fraction) -> Fraction:
    """ESR (mm/h) as JADAS points 0-10: `(min(max(esr, 20), 120) - 20) / 10`.

    ESR 20 or less -> 0; 120 or more -> 10. Source: Consolaro 2009 (the medicalalgorithms.com
    JADAS-10 table "<20 / 20 to 120 / >120", verified). SPEC R-JADAS-1.

    >>> esr_points(Fraction(25)), esr_points(Fraction(140)), esr_points(Fraction(10))
    (Fraction(1, 2), Fraction(10, 1), Fraction(0, 1))
    """
    if esr < 0:
        raise DerivationError(f"esr {esr} mm/h is negative")
    clipped = min(max(esr, ESR_FLOOR_MM_H), ESR_CEILING_MM_H)
    return (clipped - ESR_FLOOR_MM_H) / _POINTS_SPAN


def crp_points(
    crp_mg_l: Fraction,
    *,
    floor_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_floor_mg_l,
    ceiling_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_ceiling_mg_l,
) -> Fraction:
    """CRP (mg/L) as JADAS points 0-10: `(min(max(crp, 10), 110) - 10) / 10` by default.

    Equivalently (CRP mg/dL - 1) clipped to 0..10. The bounds are options
    (`config.jadas_crp_floor_mg_l`, `config.jadas_crp_ceiling_mg_l`); points are rescaled to
    0..10 over the span between them. Unverified — from memory (SPEC §12.2). Source: Nordal EB
    et al. Ann Rheum Dis 2012;71(7):1122-1127. SPEC R-JADAS-1.

    >>> crp_points(Fraction(35)), crp_points(Fraction(10)), crp_points(Fraction(200))
    (Fraction(5, 2), Fraction(0, 1), Fraction(10, 1))
    """
    if crp_mg_l < 0:
        raise DerivationError(f"crp {crp_mg_l} mg/L is negative")
    clipped = min(max(crp_mg_l, floor_mg_l), ceiling_mg_l)
    return (clipped - floor_mg_l) * _POINTS_SPAN / (ceiling_mg_l - floor_mg_l)


def _check_global(name: str, value: Fraction | None) -> None:
    if value is not None and not 0 <= value <= _POINTS_SPAN:
        raise DerivationError(f"{name} {value} is outside 0-10 (JADAS needs the 0-10 scale)")


def jadas(
    pga_0_10: Fraction | None,
    parent_0_10: Fraction | None,
    active_joints: int | None,
    *,
    joints: JadasJoints = 10,
    marker: Fraction | None = None,
    marker_kind: MarkerKind = "esr",
    crp_floor_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_floor_mg_l,
    crp_ceiling_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_ceiling_mg_l,
) -> JadasScore:
    """JADAS-n (n = `joints`): both globals (0-10) + min(active joints, n) + marker points.

    `active_joints` is the active count on the matching set (any joint for JADAS-10), capped
    at n. `marker_kind` "esr" (mm/h, default) or "crp" (mg/L) adds `esr_points`/`crp_points`;
    "none" is the clinical cJADAS (the marker is ignored). Any missing component -> score None,
    reason "missing_component", the components named in `missing`; no imputation. Ranges
    0-40/57/101 (cJADAS 0-30/47/91). Source: Consolaro 2009; McErlane 2013. SPEC R-JADAS-1.

    >>> jadas(Fraction(2), Fraction(1), 3, marker=Fraction(10)).score
    Fraction(6, 1)
    >>> jadas(Fraction(7), None, 14, marker=None).missing
    ('parent_global', 'esr')
    """
    if joints not in (10, 27, 71):
        raise DerivationError(f"JADAS joint set {joints!r}; expected 10, 27 or 71")
    _check_global("pga", pga_0_10)
    _check_global("parent_global", parent_0_10)
    if active_joints is not None and (
        isinstance(active_joints, bool) or not isinstance(active_joints, int) or active_joints < 0
    ):
        raise DerivationError(f"active_joints {active_joints!r} is not a whole number ≥ 0")
    missing = [
        name
        for name, value in (
            ("pga", pga_0_10),
            ("parent_global", parent_0_10),
            ("active_joints", active_joints),
        )
        if value is None
    ]
    points: Fraction | None = Fraction(0)
    if marker_kind == "esr":
        points = None if marker is None else esr_points(marker)
    elif marker_kind == "crp":
        points = (
            None
            if marker is None
            else crp_points(marker, floor_mg_l=crp_floor_mg_l, ceiling_mg_l=crp_ceiling_mg_l)
        )
    elif marker_kind != "none":
        raise DerivationError(f"marker_kind {marker_kind!r}; expected 'esr', 'crp' or 'none'")
    if points is None:
        missing.append(marker_kind)
    if missing:
        return JadasScore(None, tuple(missing), MISSING_COMPONENT)
    assert pga_0_10 is not None and parent_0_10 is not None and active_joints is not None
    assert points is not None
    return JadasScore(pga_0_10 + parent_0_10 + min(active_joints, joints) + points)


def jadas_from_globals(
    pga: Global | None,
    parent_global: Global | None,
    active_joints: int | None,
    *,
    joints: JadasJoints = 10,
    marker: Fraction | None = None,
    marker_kind: MarkerKind = "esr",
    allow_likert_rescale: bool = DEFAULT_CONFIG.allow_likert_rescale,
    crp_floor_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_floor_mg_l,
    crp_ceiling_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_ceiling_mg_l,
) -> JadasScore:
    """`jadas` from globals stored with their scale: 0-100 is divided by 10; Likert 0-3 -> None.

    A global on the 0-3 Likert scale makes JADAS not computable (reason
    "global_on_likert_scale") unless `allow_likert_rescale` (`config.allow_likert_rescale`),
    which maps it to `v * 10/3` and sets `likert_rescaled=True`. Source: SPEC R-CORESET-2.3,
    R-JADAS-1.

    >>> jadas_from_globals(Global(Fraction(2), "0-3"), Global(Fraction(1)), 0,
    ...                    marker=Fraction(20)).reason
    'global_on_likert_scale'
    """
    converted = [
        None if g is None else global_0_10(g, allow_likert_rescale=allow_likert_rescale)
        for g in (pga, parent_global)
    ]
    if any(
        g is not None and c is None for g, c in zip((pga, parent_global), converted, strict=True)
    ):
        missing = tuple(n for n, g in (("pga", pga), ("parent_global", parent_global)) if g is None)
        return JadasScore(None, missing, GLOBAL_ON_LIKERT_SCALE)
    result = jadas(
        converted[0],
        converted[1],
        active_joints,
        joints=joints,
        marker=marker,
        marker_kind=marker_kind,
        crp_floor_mg_l=crp_floor_mg_l,
        crp_ceiling_mg_l=crp_ceiling_mg_l,
    )
    flag = likert_rescaled(pga, parent_global, allow_likert_rescale=allow_likert_rescale)
    return JadasScore(result.score, result.missing, result.reason, flag)


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
    if code in _COURSE_BY_CATEGORY:
        return _COURSE_BY_CATEGORY[code]
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


def _marker_points_expr(
    marker: Any, marker_kind: MarkerKind, crp_floor_mg_l: Fraction, crp_ceiling_mg_l: Fraction
) -> Any:
    if marker_kind == "none":
        return ibis.literal(0.0)
    if marker_kind == "esr":
        low, high = ESR_FLOOR_MM_H, ESR_CEILING_MM_H
    else:
        low, high = crp_floor_mg_l, crp_ceiling_mg_l
    m = marker.cast("float64")
    clipped = _clip_expr(m, float(low), float(high))
    return (clipped - float(low)) * _POINTS_SPAN / float(high - low)


def _clip_expr(value: Any, low: float | int, high: float | int) -> Any:
    """`value` clipped to [low, high]; NULL stays NULL (GREATEST/LEAST skip NULLs on DuckDB)."""
    clipped = ibis.greatest(ibis.least(value, high), low)
    return ibis.ifelse(value.isnull(), ibis.null(value.type()), clipped)


def jadas_expr(
    pga_0_10: Any,
    parent_0_10: Any,
    active_joints: Any,
    *,
    joints: JadasJoints = 10,
    marker: Any = None,
    marker_kind: MarkerKind = "esr",
    crp_floor_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_floor_mg_l,
    crp_ceiling_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_ceiling_mg_l,
) -> Any:
    """Ibis twin of `jadas`: a float64 score for display; NULL when any component is missing.

    Globals must already be on 0-10 (use `jiareg.derive.coreset.global_0_10_expr`, which gives
    NULL for a Likert global). Feed the result to `activity_state_expr` for states; it decides
    on exact integers, never on the float. Source: Consolaro 2009; SPEC R-JADAS-1, R-NUM-1.
    """
    joint_points = _clip_expr(active_joints.cast("int64"), 0, joints).cast("float64")
    total = pga_0_10.cast("float64") + parent_0_10.cast("float64") + joint_points
    if marker_kind == "none":
        return total
    return total + _marker_points_expr(marker, marker_kind, crp_floor_mg_l, crp_ceiling_mg_l)


def jadas_globals_expr(
    pga: Any,
    pga_scale: Any,
    parent_global: Any,
    parent_scale: Any,
    active_joints: Any,
    *,
    joints: JadasJoints = 10,
    marker: Any = None,
    marker_kind: MarkerKind = "esr",
    allow_likert_rescale: bool = DEFAULT_CONFIG.allow_likert_rescale,
    crp_floor_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_floor_mg_l,
    crp_ceiling_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_ceiling_mg_l,
) -> Any:
    """Ibis twin of `jadas_from_globals`: globals with their scale columns; Likert -> NULL.

    Source: SPEC R-CORESET-2.3, R-JADAS-1.
    """
    return jadas_expr(
        global_0_10_expr(pga, pga_scale, allow_likert_rescale=allow_likert_rescale),
        global_0_10_expr(parent_global, parent_scale, allow_likert_rescale=allow_likert_rescale),
        active_joints,
        joints=joints,
        marker=marker,
        marker_kind=marker_kind,
        crp_floor_mg_l=crp_floor_mg_l,
        crp_ceiling_mg_l=crp_ceiling_mg_l,
    )


def jadas_course_expr(ilar_category: Any, joints_ever_affected: Any = None) -> Any:
    """Ibis twin of `jadas_course`: "oligo"/"poly" or NULL (codes in any case).

    Source: SPEC R-JADAS-2, R-SJIA-1.
    """
    code = ilar_category.strip().lower()
    history: Any = ibis.null("string")
    if joints_ever_affected is not None:
        history = ibis.cases(
            (joints_ever_affected <= _OLIGO_MAX_JOINTS, ibis.literal("oligo")),
            (joints_ever_affected > _OLIGO_MAX_JOINTS, ibis.literal("poly")),
            else_=ibis.null("string"),
        )
    branches = [(code == k, ibis.literal(v)) for k, v in _COURSE_BY_CATEGORY.items()]
    branches.append((code.isin(_COURSE_FROM_HISTORY), history))
    return ibis.cases(*branches, else_=ibis.null("string")).cast("string")


def sjia_features_active_expr(ilar_category: Any, systemic_active: Any) -> Any:
    """Ibis twin of `sjia_features_active`: a boolean column (NULL = unknown).

    `ilar_category` a string column (codes in any case), `systemic_active` a boolean column
    (NULL = not assessed). Source: SPEC R-JADAS-2, R-SJIA-2.
    """
    code = ilar_category.strip().lower()
    other = code.notnull() & (code != "systemic")
    return ibis.ifelse(other, ibis.literal(False), systemic_active.cast("boolean"))


def activity_state_reason_expr(
    score: Any,
    course: Any,
    *,
    version: JadasVersion,
    cutoff_set: CutoffSet = DEFAULT_CONFIG.jadas_cutoff_set,
    systemic_features_present: Any = False,
) -> Any:
    """Ibis twin of `activity_state_result(...).reason`: a string column, NULL where a state is.

    `systemic_features_present` is a boolean column or literal (NULL = unknown, as None in the
    scalar rule). Source: SPEC R-JADAS-2.
    """
    features = (
        systemic_features_present
        if hasattr(systemic_features_present, "op")
        else ibis.literal(systemic_features_present, "boolean")
    )
    course_col = course if hasattr(course, "op") else ibis.literal(course, "string")
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
    score: Any,
    course: Any,
    *,
    version: JadasVersion,
    cutoff_set: CutoffSet = DEFAULT_CONFIG.jadas_cutoff_set,
    systemic_features_present: Any = False,
) -> Any:
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
    state: Any = ibis.null("string")
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
