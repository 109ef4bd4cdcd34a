"""JADAS: Juvenile Arthritis Disease Activity Score (SPEC R-JADAS-1), exact scalar and Ibis.

`JADAS-n = pga_0_10 + parent_global_0_10 + min(active joints, n) + marker points`, for
n = 10, 27, 71; clinical JADAS (cJADAS) drops the marker. Scalar rules are exact (Fraction);
`jadas_expr` and `jadas_globals_expr` are their Ibis twins. The activity states and their
cut-offs are in `jiareg.derive.jadas_states` (re-exported here).

Sources: Consolaro A, Ruperto N, Bazso A, et al. Development and validation of a composite
disease activity score for juvenile idiopathic arthritis. Arthritis Rheum 2009;61(5):658-666.
cJADAS: McErlane F et al. Rheumatology (Oxford) 2013;52(11):1983-1990.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Final, Literal

import ibis

from jiareg.derive.config import DEFAULT_CONFIG
from jiareg.derive.coreset import Global, global_0_10, global_0_10_expr, likert_rescaled
from jiareg.errors import DerivationError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "ESR_CEILING_MM_H",
    "ESR_FLOOR_MM_H",
    "GLOBAL_ON_LIKERT_SCALE",
    "JADAS_RANGES",
    "MISSING_COMPONENT",
    "JadasJoints",
    "JadasScore",
    "MarkerKind",
    "crp_points",
    "esr_points",
    "jadas",
    "jadas_expr",
    "jadas_from_globals",
    "jadas_globals_expr",
]

JadasJoints = Literal[10, 27, 71]
MarkerKind = Literal["esr", "crp", "none"]

ESR_FLOOR_MM_H: Final = Fraction(20)
ESR_CEILING_MM_H: Final = Fraction(120)
_POINTS_SPAN: Final = 10  # marker points run 0..10

GLOBAL_ON_LIKERT_SCALE: Final = "global_on_likert_scale"
MISSING_COMPONENT: Final = "missing_component"
JADAS_RANGES: Final[dict[tuple[JadasJoints, bool], int]] = {
    (10, True): 40,
    (27, True): 57,
    (71, True): 101,
    (10, False): 30,
    (27, False): 47,
    (71, False): 91,
}
"""Maximum score by (joint set, with marker): JADAS 0-40/57/101, cJADAS 0-30/47/91."""


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


def _marker_points_expr(
    marker: ir.NumericValue,
    marker_kind: MarkerKind,
    crp_floor_mg_l: Fraction,
    crp_ceiling_mg_l: Fraction,
) -> ir.FloatingValue:
    if marker_kind == "none":
        return ibis.literal(0.0)
    if marker_kind == "esr":
        low, high = ESR_FLOOR_MM_H, ESR_CEILING_MM_H
    else:
        low, high = crp_floor_mg_l, crp_ceiling_mg_l
    m = marker.cast("float64")
    clipped = _clip_expr(m, float(low), float(high))
    return (clipped - float(low)) * _POINTS_SPAN / float(high - low)


def _clip_expr(value: ir.NumericValue, low: float | int, high: float | int) -> ir.NumericValue:
    """`value` clipped to [low, high]; NULL stays NULL (GREATEST/LEAST skip NULLs on DuckDB)."""
    clipped = ibis.greatest(ibis.least(value, high), low)
    return ibis.ifelse(value.isnull(), ibis.null(value.type()), clipped)


def jadas_expr(
    pga_0_10: ir.NumericValue,
    parent_0_10: ir.NumericValue,
    active_joints: ir.NumericValue,
    *,
    joints: JadasJoints = 10,
    marker: ir.NumericValue | None = None,
    marker_kind: MarkerKind = "esr",
    crp_floor_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_floor_mg_l,
    crp_ceiling_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_ceiling_mg_l,
) -> ir.FloatingValue:
    """Ibis twin of `jadas`: a float64 score for display; NULL when any component is missing.

    Globals must already be on 0-10 (use `jiareg.derive.coreset.global_0_10_expr`, which gives
    NULL for a Likert global). Feed the result to `activity_state_expr` for states; it decides
    on exact integers, never on the float. Source: Consolaro 2009; SPEC R-JADAS-1, R-NUM-1.
    """
    joint_points = _clip_expr(active_joints.cast("int64"), 0, joints).cast("float64")
    total = pga_0_10.cast("float64") + parent_0_10.cast("float64") + joint_points
    if marker_kind == "none":
        return total
    if marker is None:
        raise DerivationError(f"a {marker_kind.upper()} JADAS needs a marker column")
    return total + _marker_points_expr(marker, marker_kind, crp_floor_mg_l, crp_ceiling_mg_l)


def jadas_globals_expr(
    pga: ir.NumericValue,
    pga_scale: ir.StringValue | str,
    parent_global: ir.NumericValue,
    parent_scale: ir.StringValue | str,
    active_joints: ir.NumericValue,
    *,
    joints: JadasJoints = 10,
    marker: ir.NumericValue | None = None,
    marker_kind: MarkerKind = "esr",
    allow_likert_rescale: bool = DEFAULT_CONFIG.allow_likert_rescale,
    crp_floor_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_floor_mg_l,
    crp_ceiling_mg_l: Fraction = DEFAULT_CONFIG.jadas_crp_ceiling_mg_l,
) -> ir.FloatingValue:
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
