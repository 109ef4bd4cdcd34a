"""Scores of one visit, computed by the derive/ rules (never re-implemented in JavaScript).

`visit_scores` scores a stored visit (JADAS10, cJADAS10 and their states); `live_scores`
scores the visit being typed in the form, adding the CHAQ from its items, the joint counts from
the homunculus and the ACR Pedi level against the baseline of the current biologic course.
While a person types, a value outside its domain is reported in `problems` instead of failing
the whole answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from fractions import Fraction
from functools import lru_cache
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from jiareg.derive.acr_pedi import acr_pedi_level
from jiareg.derive.activity import visit_activity
from jiareg.derive.baseline import baseline_visit
from jiareg.derive.chaq import chaq_di, format_chaq_di
from jiareg.derive.config import DEFAULT_CONFIG
from jiareg.derive.coreset import CORE_SET_COLUMNS, CoreSet, Global
from jiareg.derive.exact import to_fraction
from jiareg.derive.jadas import GLOBAL_ON_LIKERT_SCALE
from jiareg.derive.joints import JointExam, active_joint_count
from jiareg.derive.systemic import SystemicFeatures, systemic_active
from jiareg.errors import DerivationError
from jiareg.jsonable import json_number
from jiareg.store.queries import Registry

__all__ = ["REASONS", "JointIn", "ScoreRequest", "live_scores", "visit_acr_pedi", "visit_scores"]

REASONS: Final = {
    GLOBAL_ON_LIKERT_SCALE: "globals on the 0–3 scale can't enter JADAS",
    "systemic_features_present": "not applicable (active systemic features)",
    "systemic_features_unknown": "not applicable (systemic features not assessed)",
    "missing_component": "a component is missing",
    "score_missing": "a component is missing",
    "unknown_course": "no cut-offs without the ILAR category",
    "no_cutoffs": "no cut-offs for this version",
}
"""Why a score or state is missing, in words (`<version>_why`). A global on the 0–3 Likert
scale cannot enter JADAS (SPEC R-CORESET-2.3, §12b.9): that reason comes before any other."""
_SYSTEMIC: Final = (
    "fever",
    "rash",
    "serositis",
    "hepatomegaly",
    "splenomegaly",
    "lymphadenopathy",
)
Number = str | float | int | None


class JointIn(BaseModel):
    """One examined joint (a `joint_exams` row without patient and date)."""

    model_config = ConfigDict(extra="forbid")
    joint: str = Field(max_length=64)
    side: str = Field("", max_length=8)
    swollen: bool | None = None
    tender: bool | None = None
    painful_motion: bool | None = None
    limited_motion: bool | None = None


class ScoreRequest(BaseModel):
    """The visit being typed: template column names of `visits`, plus joints and CHAQ items.

    `patient_id` (as shown to the user) gives the category and the baseline for ACR Pedi;
    without it, `category` (template ILAR code) is used and no ACR Pedi level is computed.
    """

    model_config = ConfigDict(extra="forbid")
    patient_id: str | None = Field(None, max_length=100)
    category: str | None = Field(None, max_length=32)
    visit_date: date | None = None
    phys_global: Number = None
    phys_global_scale: str | None = Field(None, max_length=8)
    parent_global: Number = None
    parent_global_scale: str | None = Field(None, max_length=8)
    active_joints: Number = None
    lom_joints: Number = None
    esr: Number = None
    chaq: Number = None
    fever: bool | None = None
    rash: bool | None = None
    serositis: bool | None = None
    hepatomegaly: bool | None = None
    splenomegaly: bool | None = None
    lymphadenopathy: bool | None = None
    joint_exams: list[JointIn] = Field(default_factory=list, max_length=71)
    chaq_items: dict[str, int | None] = Field(default_factory=dict, max_length=30)
    chaq_aids: dict[str, bool] = Field(default_factory=dict, max_length=8)


def _count(field: str, value: object, problems: list[dict[str, str]]) -> int | None:
    exact = _exact(field, value, problems)
    if exact is None:
        return None
    if exact.denominator != 1 or exact < 0:
        problems.append({"field": field, "message": f"{field} must be a whole number ≥ 0"})
        return None
    return int(exact)


def _exact(field: str, value: object, problems: list[dict[str, str]]) -> Fraction | None:
    try:
        return to_fraction(value)
    except DerivationError as exc:
        problems.append({"field": field, "message": str(exc)})
        return None


def _global(field: str, values: Mapping[str, Any], problems: list[dict[str, str]]) -> Global | None:
    try:
        return Global.parse(values.get(field), values.get(f"{field}_scale") or "0-10")
    except DerivationError as exc:
        problems.append({"field": field, "message": str(exc)})
        return None


def _core_set(values: Mapping[str, Any], problems: list[dict[str, str]]) -> CoreSet:
    chaq = _exact("chaq", values.get("chaq"), problems)
    esr = _exact("esr", values.get("esr"), problems)
    core: dict[str, Any] = {
        "phys_global": _global("phys_global", values, problems),
        "parent_global": _global("parent_global", values, problems),
        "chaq": chaq,
        "active_joints": _count("active_joints", values.get("active_joints"), problems),
        "lom_joints": _count("lom_joints", values.get("lom_joints"), problems),
        "esr": esr,
    }
    for name in list(core):
        try:
            CoreSet(**{name: core[name]})
        except DerivationError as exc:
            problems.append({"field": name, "message": str(exc)})
            core[name] = None
    return CoreSet(**core)


def _jadas_block(core: CoreSet, values: Mapping[str, Any], category: str | None) -> dict[str, Any]:
    features = SystemicFeatures.from_template(**{k: values.get(k) for k in _SYSTEMIC})
    activity = visit_activity(core, category, systemic_active(features))
    out: dict[str, Any] = {}
    for version, score in activity.scores.items():
        state = activity.states[version]
        why = state.reason
        if score.reason == GLOBAL_ON_LIKERT_SCALE:  # no score at all: that is the first reason
            why = GLOBAL_ON_LIKERT_SCALE
        out[version] = json_number(score.score, places=3)
        out[f"{version}_missing"] = list(score.missing)
        out[f"{version}_reason"] = score.reason
        out[f"{version}_state"] = state.state
        out[f"{version}_state_reason"] = why
        out[f"{version}_why"] = REASONS.get(why or score.reason or "", None)
    out["course"] = activity.course
    out["systemic_features_present"] = activity.systemic_features_present
    out["cutoff_set"] = DEFAULT_CONFIG.jadas_cutoff_set
    return out


_SCORED: Final = (*CORE_SET_COLUMNS, *_SYSTEMIC)


def visit_scores(visit: Mapping[str, Any], category: str | None) -> dict[str, Any]:
    """JADAS10 and cJADAS10 (score, missing components, state) of a stored visit.

    The rules are pure, so results are memoised on the values they read (patient lists
    score every patient's latest visit on each request).
    """
    return dict(_stored_scores(tuple(visit.get(k) for k in _SCORED), category))


@lru_cache(maxsize=65536)
def _stored_scores(values: tuple[Any, ...], category: str | None) -> dict[str, Any]:
    visit = dict(zip(_SCORED, values, strict=True))
    problems: list[dict[str, str]] = []
    out = _jadas_block(_core_set(visit, problems), visit, category)
    out["problems"] = problems
    return out


def _acr_block(record: Mapping[str, Any], core: CoreSet, on: date) -> dict[str, Any]:
    """ACR Pedi level on `on` against the baseline of the biologic course started last by then
    (baseline rule: `jiareg.derive.baseline`, SPEC R-ACRPEDI-3; level: SPEC R-ACRPEDI-2/3)."""
    courses = [t for t in record["treatments"] if t["start_date"] <= on]
    if not courses:
        return {"level": None, "reason": "no biologic course started by this date"}
    course = max(courses, key=lambda t: t["start_date"])
    doses = [
        a["date"]
        for a in record["administrations"]
        if a["drug"] == course["drug"] and a["date"] >= course["start_date"]
    ]
    first_dose = min(doses) if doses else course["start_date"]
    window = DEFAULT_CONFIG.baseline_window_days
    base = baseline_visit(record["visits"], first_dose, window_days=window)
    out: dict[str, Any] = {"drug": course["drug"], "first_dose": first_dose}
    if base is None:
        return {**out, "level": None, "reason": f"no baseline visit in the {window} days before"}
    out["baseline_date"] = base["visit_date"]
    if base["visit_date"] == on:
        return {**out, "level": None, "reason": "this is the baseline visit"}
    level = _level(_stored_core(_core_values(base)), core)
    reason = None if level is not None else "not evaluable: too many missing variables"
    return {**out, "level": level, "reason": reason}


def _core_values(visit: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(visit.get(k) for k in CORE_SET_COLUMNS)


@lru_cache(maxsize=65536)
def _stored_core(values: tuple[Any, ...]) -> CoreSet:
    """The core set of a stored visit's values (memoised like `_stored_scores`: a patient's
    record is re-scored after each save of theirs, and most of its visits are unchanged)."""
    return _core_set(dict(zip(CORE_SET_COLUMNS, values, strict=True)), [])


@lru_cache(maxsize=65536)
def _level(baseline: CoreSet, followup: CoreSet) -> int | None:
    """`acr_pedi_level` memoised (a pure rule of two frozen core sets)."""
    return acr_pedi_level(baseline, followup)


def visit_acr_pedi(record: Mapping[str, Any], visit: Mapping[str, Any]) -> dict[str, Any]:
    """ACR Pedi level of a stored visit of `record` (a `Registry.record`) against its baseline:
    the same rule as the live form's (`live_scores`)."""
    return _acr_block(record, _stored_core(_core_values(visit)), visit["visit_date"])


def live_scores(
    registry: Registry, patient: dict[str, Any] | None, body: ScoreRequest
) -> dict[str, Any]:
    """Scores of the visit being typed (see the module docstring)."""
    values = body.model_dump()
    problems: list[dict[str, str]] = []
    exams = [JointExam(**j.model_dump()) for j in body.joint_exams]
    from_exam: dict[str, int | None] = {}
    if exams:
        from_exam["active_joints"] = active_joint_count(exams)
        from_exam["lom_joints"] = sum(e.limited_motion is True for e in exams)
        values.update(from_exam)  # the homunculus is the source of the counts
    chaq_out: dict[str, Any] = {"di": None, "n_domains": None, "display": None}
    core = _core_set(values, problems)
    if body.chaq_items:
        try:
            result = chaq_di(body.chaq_items, body.chaq_aids)
        except DerivationError as exc:
            problems.append({"field": "chaq_items", "message": str(exc)})
        else:
            chaq_out = {
                "di": json_number(result.di, places=3),
                "n_domains": result.n_domains,
                "display": format_chaq_di(result.di),
            }
            if result.di is not None:
                core = replace(core, chaq=result.di)
    category = patient["ilar_category"] if patient else body.category
    out = _jadas_block(core, values, category)
    out.update(joint_counts_from_exam=from_exam, chaq=chaq_out, problems=problems)
    if patient is not None and body.visit_date is not None:
        record = registry.record(patient["patient_id"])
        out["acr_pedi"] = _acr_block(record, core, body.visit_date)
    else:
        out["acr_pedi"] = {"level": None, "reason": "needs a patient and a visit date"}
    return out
