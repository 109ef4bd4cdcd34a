"""The denominators of each endpoint: who was counted, who could not be and why.

Every endpoint's `endpoints.<id>.denominators` in results.json maps each place it is measured
(a timepoint name, `follow_up` or `on_treatment`) to `Denominators`: the cohort, the patients
evaluable there and the others by reason, so that `evaluable + sum(not_evaluable) == cohort`
always holds and a reader sees why, e.g., ACR Pedi 30 counts fewer patients than the cohort
(docs/reference/results.md, "Denominators"). Computed from the same frames as the endpoints'
numbers, after them (`jiareg.study.summarise`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from jiareg.study.endpoints import EndpointSpec, SummaryContext
from jiareg.study.endpoints.acr_pedi import (
    AcrPediDetails,
    AcrPediEndpoint,
    before_administration_days,
)
from jiareg.study.endpoints.adverse_events import AdverseEventsEndpoint
from jiareg.study.endpoints.base import Denominators
from jiareg.study.endpoints.chaq_over import ChaqOverEndpoint
from jiareg.study.endpoints.common import at_timepoint, flag
from jiareg.study.endpoints.core_set import CoreSetEndpoint
from jiareg.study.endpoints.inactive_disease import InactiveDiseaseDetails, InactiveDiseaseEndpoint
from jiareg.study.endpoints.steroid_change import SteroidChangeDetails, SteroidChangeEndpoint
from jiareg.study.endpoints.systemic_features import SystemicFeaturesEndpoint
from jiareg.study.endpoints.time_to_response import TimeToResponseEndpoint
from jiareg.vocab import CORE_SET_VARIABLES

__all__ = ["denominators_of"]

NO_VISIT = "no_visit_at_timepoint"
NO_FOLLOW_UP = "no_follow_up_visit"


def _denominators(
    cohort: int, evaluable: int, reasons: dict[str, int], imputed: dict[str, int] | None = None
) -> Denominators:
    kept = {reason: n for reason, n in sorted(reasons.items()) if n}
    if evaluable + sum(kept.values()) != cohort:
        raise AssertionError(f"denominators do not add up: {evaluable} + {kept} != {cohort}")
    return Denominators(
        cohort=cohort, evaluable=evaluable, not_evaluable=kept, imputed=dict(imputed or {})
    )


def _per_timepoint(
    ctx: SummaryContext,
    names: tuple[str, ...],
    known: Callable[[pd.DataFrame], pd.Series],
    reason: str,
) -> dict[str, Denominators]:
    """At each timepoint: patients whose visit row is `known`; the others without a visit or
    with the value missing (`reason`)."""
    cohort = len(ctx.frames["patients"])
    out = {}
    for name in names:
        rows = at_timepoint(ctx.frames["visits"], name)
        evaluable = int(known(rows).sum())
        out[name] = _denominators(
            cohort, evaluable, {NO_VISIT: cohort - len(rows), reason: len(rows) - evaluable}
        )
    return out


def _acr_pedi(
    endpoint: AcrPediEndpoint, details: AcrPediDetails, ctx: SummaryContext
) -> dict[str, Denominators]:
    """Evaluable: responders and non-responders; the others split into those without a visit
    where the endpoint looks (never evaluable) and those whose visits could not be scored."""
    scored = ctx.frames["responses"]
    cohort = len(ctx.frames["patients"])
    if endpoint.missing != "observed":  # every patient imputed: none left out
        return {endpoint.at: _denominators(cohort, details.n, {}, details.imputed)}
    if endpoint.at != "follow_up":
        seen = set(at_timepoint(ctx.frames["visits"], endpoint.at)["patient_id"])
        absent = NO_VISIT
    elif endpoint.before_administration is not None:
        window = before_administration_days(
            ctx.frames["administrations"], endpoint.before_administration
        )
        seen = {
            pid
            for pid, day in zip(scored["patient_id"], scored["day"], strict=True)
            if pid in window and day in window[pid]
        }
        absent = f"no_visit_before_administration_{endpoint.before_administration}"
    else:
        seen, absent = set(scored["patient_id"]), NO_FOLLOW_UP
    without = cohort - len(seen & set(ctx.frames["patients"]["patient_id"]))
    incomplete = (
        "core_set_or_fever_missing" if endpoint.variant == "sjia" else "core_set_incomplete"
    )
    reasons = {absent: without, incomplete: details.not_evaluable - without}
    return {endpoint.at: _denominators(cohort, details.n, reasons)}


def _time_to_response(
    endpoint: TimeToResponseEndpoint, ctx: SummaryContext
) -> dict[str, Denominators]:
    cohort = len(ctx.frames["patients"])
    rows = ctx.tables["time_to_response"]
    evaluable = int((rows["level"] == endpoint.level).sum())
    return {"follow_up": _denominators(cohort, evaluable, {NO_FOLLOW_UP: cohort - evaluable})}


def _steroid_change(
    endpoint: SteroidChangeEndpoint, details: SteroidChangeDetails, ctx: SummaryContext
) -> dict[str, Denominators]:
    cohort = len(ctx.frames["patients"])
    categorised = sum(details.categories.values())
    users = categorised + details.no_visit_at_timepoint + details.undetermined
    reasons = {
        "not_on_steroids_at_baseline": cohort - users,
        NO_VISIT: details.no_visit_at_timepoint,
        "dose_undetermined": details.undetermined,
    }
    return {endpoint.at: _denominators(cohort, categorised, reasons)}


def _inactive_imputed(
    endpoint: InactiveDiseaseEndpoint, details: InactiveDiseaseDetails, ctx: SummaryContext
) -> dict[str, Denominators]:
    """With `missing: nri | locf`: the evaluable after imputation, the imputed by reason, and
    those still unknown (LOCF without any known state): no visit, or a visit not scored."""
    cohort = len(ctx.frames["patients"])
    out = {}
    for name in endpoint.at:
        state = details.states[name]
        evaluable = state.inactive + state.not_inactive
        reasons = {
            NO_VISIT: cohort - evaluable - state.unknown,
            "criterion_not_recorded": state.unknown,
        }
        out[name] = _denominators(cohort, evaluable, reasons, details.imputed.get(name, {}))
    return out


def _chaq_known(rows: pd.DataFrame) -> pd.Series:
    return rows["chaq"].notna()


def _systemic_known(rows: pd.DataFrame) -> pd.Series:
    """Fever or rash recorded present, or both recorded absent (as `systemic_features`)."""
    fever, rash = rows["fever"].map(flag), rows["rash"].map(flag)
    present = fever.eq(True) | rash.eq(True)
    return present | (fever.eq(False) & rash.eq(False))


def _inactive_known(rows: pd.DataFrame) -> pd.Series:
    return rows["inactive_disease"].map(flag).notna()


def _any_core_set(rows: pd.DataFrame) -> pd.Series:
    return rows[list(CORE_SET_VARIABLES)].notna().any(axis=1)


def denominators_of(
    endpoint: EndpointSpec, details: Any, ctx: SummaryContext
) -> dict[str, Denominators]:
    """The denominators of one summarised endpoint (its details give the steroid counts);
    for a kind this module does not know, those its summary filled in (else none)."""
    if isinstance(endpoint, AcrPediEndpoint):
        return _acr_pedi(endpoint, details, ctx)
    if isinstance(endpoint, TimeToResponseEndpoint):
        return _time_to_response(endpoint, ctx)
    if isinstance(endpoint, SteroidChangeEndpoint):
        return _steroid_change(endpoint, details, ctx)
    if isinstance(endpoint, ChaqOverEndpoint):
        return _per_timepoint(ctx, endpoint.at, _chaq_known, "chaq_missing")
    if isinstance(endpoint, SystemicFeaturesEndpoint):
        return _per_timepoint(ctx, endpoint.at, _systemic_known, "fever_or_rash_not_recorded")
    if isinstance(endpoint, InactiveDiseaseEndpoint):
        if endpoint.missing != "observed":
            return _inactive_imputed(endpoint, details, ctx)
        return _per_timepoint(ctx, endpoint.at, _inactive_known, "criterion_not_recorded")
    if isinstance(endpoint, CoreSetEndpoint):
        return _per_timepoint(ctx, endpoint.at, _any_core_set, "core_set_not_recorded")
    if isinstance(endpoint, AdverseEventsEndpoint):  # counted over the whole cohort
        cohort = len(ctx.frames["patients"])
        return {"follow_up": _denominators(cohort, cohort, {})}
    # any other kind (drug_survival, a plug-in) counts its own denominators, or none
    own = getattr(details, "denominators", {})
    return dict(own) if isinstance(own, dict) else {}
