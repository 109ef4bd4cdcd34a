"""A visit's disease activity: the JADAS family and its states, composed in one place.

The composition (SPEC R-JADAS-1, R-JADAS-2): each JADAS version from the globals, the
active-joint count and the inflammation marker (cJADAS10 without one); the cut-off course
from the ILAR category (`jiareg.derive.jadas.jadas_course`); an sJIA patient's active or
unassessed systemic features bar the state (`sjia_features_active`); the state and, where
there is none, why not. `visit_activity` composes it for one visit (the web's scores),
`visit_activity_exprs` is its Ibis twin for columns (`jiareg calc jadas`). The formulas and
cut-offs themselves are `jiareg.derive.jadas`'s.

Source: Consolaro A et al. Arthritis Rheum 2009;61(5):658-666 (JADAS) and the cut-off papers
named in `jiareg.derive.jadas`; SPEC R-JADAS-1, R-JADAS-2, R-SJIA-2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from jiareg.derive.config import DEFAULT_CONFIG
from jiareg.derive.coreset import CoreSet
from jiareg.derive.jadas import (
    JadasJoints,
    JadasScore,
    MarkerKind,
    jadas_from_globals,
    jadas_globals_expr,
)
from jiareg.derive.jadas_states import (
    ActivityStateResult,
    Course,
    CutoffSet,
    JadasVersion,
    activity_state_expr,
    activity_state_reason_expr,
    activity_state_result,
    jadas_course,
    jadas_course_expr,
    sjia_features_active,
    sjia_features_active_expr,
)
from jiareg.errors import DerivationError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "JADAS_JOINTS",
    "STATE_VERSIONS",
    "VisitActivity",
    "VisitActivityExprs",
    "visit_activity",
    "visit_activity_exprs",
]

JADAS_JOINTS: Final[dict[JadasVersion, JadasJoints]] = {
    "jadas10": 10,
    "jadas27": 27,
    "jadas71": 71,
    "cjadas10": 10,
}
"""Each JADAS version and the joint count it caps active joints at (cJADAS10: no marker)."""
STATE_VERSIONS: Final[tuple[JadasVersion, ...]] = ("jadas10", "cjadas10")
"""The versions a disease-activity state is given for (the cut-off sets have these)."""


def _marker_kind(version: JadasVersion, marker_kind: MarkerKind) -> MarkerKind:
    return "none" if version == "cjadas10" else marker_kind


@dataclass(frozen=True, slots=True)
class VisitActivity:
    """JADAS scores and states of one visit.

    `course` is the cut-off course (None when unknown), `systemic_features_present` the
    value that bars the states (True/None for sJIA with active/unassessed features).
    """

    course: Course | None
    systemic_features_present: bool | None
    scores: dict[JadasVersion, JadasScore]
    states: dict[JadasVersion, ActivityStateResult]


def visit_activity(
    core: CoreSet,
    category: str | None,
    systemic_active: bool | None,
    *,
    versions: tuple[JadasVersion, ...] = STATE_VERSIONS,
    marker_kind: MarkerKind = "esr",
    cutoff_set: CutoffSet = DEFAULT_CONFIG.jadas_cutoff_set,
) -> VisitActivity:
    """JADAS `versions` of one visit's core set (ESR as the marker) with their states.

    `category` is an ILAR code (None or an unknown code: no course, so no state);
    `systemic_active` whether any systemic feature is active
    (`jiareg.derive.systemic.systemic_active`). Source: SPEC R-JADAS-1, R-JADAS-2.

    >>> from fractions import Fraction
    >>> from jiareg.derive.coreset import Global
    >>> core = CoreSet(Global(Fraction(2)), Global(Fraction(1)), active_joints=1, esr=Fraction(20))
    >>> a = visit_activity(core, "poly_rf_neg", None)
    >>> a.scores["jadas10"].score, a.states["jadas10"].state, a.states["cjadas10"].state
    (Fraction(4, 1), 'MDA', 'MDA')
    """
    try:
        course = jadas_course(category) if category else None
    except DerivationError:
        course = None
    features = sjia_features_active(category, systemic_active)
    scores: dict[JadasVersion, JadasScore] = {}
    states: dict[JadasVersion, ActivityStateResult] = {}
    for version in versions:
        scores[version] = jadas_from_globals(
            core.phys_global,
            core.parent_global,
            core.active_joints,
            joints=JADAS_JOINTS[version],
            marker=core.esr,
            marker_kind=_marker_kind(version, marker_kind),
        )
        if version in STATE_VERSIONS:
            states[version] = activity_state_result(
                scores[version].score,
                course=course,
                version=version,
                cutoff_set=cutoff_set,
                systemic_features_present=features,
            )
    return VisitActivity(course, features, scores, states)


@dataclass(frozen=True, slots=True)
class VisitActivityExprs:
    """Ibis twin of `VisitActivity`: a float column per version, and for `STATE_VERSIONS` the
    state ("ID"/"LDA"/"MDA"/"HDA" or NULL) and why there is none (NULL where a state is)."""

    scores: dict[JadasVersion, ir.FloatingValue]
    states: dict[JadasVersion, ir.StringValue]
    reasons: dict[JadasVersion, ir.StringValue]


def visit_activity_exprs(
    phys_global: ir.NumericValue,
    phys_global_scale: ir.StringValue | str,
    parent_global: ir.NumericValue,
    parent_global_scale: ir.StringValue | str,
    active_joints: ir.NumericValue,
    marker: ir.NumericValue,
    category: ir.StringValue,
    systemic_features: ir.BooleanValue,
    *,
    marker_kind: MarkerKind = "esr",
    cutoff_set: CutoffSet = DEFAULT_CONFIG.jadas_cutoff_set,
) -> VisitActivityExprs:
    """Ibis twin of `visit_activity` for every version, on columns.

    `category` is a string column of ILAR codes, `systemic_features` a boolean column (NULL
    = not assessed); a scale is a column or a scale code. Source: SPEC R-JADAS-1, R-JADAS-2.
    """
    features = sjia_features_active_expr(category, systemic_features)
    course = jadas_course_expr(category)
    scores: dict[JadasVersion, ir.FloatingValue] = {
        version: jadas_globals_expr(
            phys_global,
            phys_global_scale,
            parent_global,
            parent_global_scale,
            active_joints,
            joints=joints,
            marker=marker,
            marker_kind=_marker_kind(version, marker_kind),
        )
        for version, joints in JADAS_JOINTS.items()
    }
    states: dict[JadasVersion, ir.StringValue] = {}
    reasons: dict[JadasVersion, ir.StringValue] = {}
    for version in STATE_VERSIONS:
        score = scores[version]
        states[version] = activity_state_expr(
            score,
            course,
            version=version,
            cutoff_set=cutoff_set,
            systemic_features_present=features,
        )
        reasons[version] = activity_state_reason_expr(
            score,
            course,
            version=version,
            cutoff_set=cutoff_set,
            systemic_features_present=features,
        )
    return VisitActivityExprs(scores, states, reasons)
