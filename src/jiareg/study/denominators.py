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

import pandas as pd

from jiareg.study.endpoints import EndpointSpec, SummaryContext
from jiareg.study.endpoints.adverse_events import AdverseEventsEndpoint
from jiareg.study.endpoints.base import Denominators
from jiareg.study.endpoints.chaq_over import ChaqOverEndpoint
from jiareg.study.endpoints.common import NO_FOLLOW_UP, NO_VISIT, at_timepoint, flag
from jiareg.study.endpoints.core_set import CoreSetEndpoint
from jiareg.study.endpoints.inactive_disease import InactiveDiseaseEndpoint
from jiareg.study.endpoints.systemic_features import SystemicFeaturesEndpoint
from jiareg.study.endpoints.time_to_response import TimeToResponseEndpoint
from jiareg.vocab import CORE_SET_VARIABLES

__all__ = ["denominators_of"]


def _denominators(cohort: int, evaluable: int, reasons: dict[str, int]) -> Denominators:
    """`Denominators` (which checks that they add up) without the reasons counting none."""
    kept = {reason: n for reason, n in sorted(reasons.items()) if n}
    return Denominators(cohort=cohort, evaluable=evaluable, not_evaluable=kept)


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


def _time_to_response(
    endpoint: TimeToResponseEndpoint, ctx: SummaryContext
) -> dict[str, Denominators]:
    cohort = len(ctx.frames["patients"])
    rows = ctx.tables["time_to_response"]
    evaluable = int((rows["level"] == endpoint.level).sum())
    return {"follow_up": _denominators(cohort, evaluable, {NO_FOLLOW_UP: cohort - evaluable})}


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


def denominators_of(endpoint: EndpointSpec, ctx: SummaryContext) -> dict[str, Denominators]:
    """The denominators of one summarised endpoint; empty for a kind this module does not
    know (a kind may fill its own in its summary, as `acr_pedi` and `steroid_change` do)."""
    if isinstance(endpoint, TimeToResponseEndpoint):
        return _time_to_response(endpoint, ctx)
    if isinstance(endpoint, ChaqOverEndpoint):
        return _per_timepoint(ctx, endpoint.at, _chaq_known, "chaq_missing")
    if isinstance(endpoint, SystemicFeaturesEndpoint):
        return _per_timepoint(ctx, endpoint.at, _systemic_known, "fever_or_rash_not_recorded")
    if isinstance(endpoint, InactiveDiseaseEndpoint):  # with `missing: nri | locf`: its own
        return _per_timepoint(ctx, endpoint.at, _inactive_known, "criterion_not_recorded")
    if isinstance(endpoint, CoreSetEndpoint):
        return _per_timepoint(ctx, endpoint.at, _any_core_set, "core_set_not_recorded")
    if isinstance(endpoint, AdverseEventsEndpoint):  # counted over the whole cohort
        cohort = len(ctx.frames["patients"])
        return {"follow_up": _denominators(cohort, cohort, {})}
    return {}  # a kind registered elsewhere: its denominators are not known here
