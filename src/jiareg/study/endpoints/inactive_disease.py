"""Endpoint kind `inactive_disease`: clinical inactive disease at each timepoint.

The per-visit flag is `jiareg.derive.inactive` (SPEC R-CID, criteria `config.cid_criteria`,
default ACR 2011), added to every timepoint visit by `jiareg.study.visits.with_inactive_disease`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from jiareg.study.endpoints.base import (
    Denominators,
    EndpointDetails,
    EndpointKind,
    EndpointSpec,
    Name,
    SummaryContext,
    register,
)
from jiareg.study.endpoints.common import NO_VISIT, ResultModel, at_timepoint, flag
from jiareg.study.endpoints.index_course import arms_of
from jiareg.study.endpoints.missing import Missing, impute, stop_days, timepoint_start

if TYPE_CHECKING:
    import pandas as pd

    from jiareg.study.protocol import Protocol

__all__ = [
    "InactiveDiseaseDetails",
    "InactiveDiseaseEndpoint",
    "InactiveStates",
    "inactive_by_timepoint",
]


class InactiveDiseaseEndpoint(EndpointSpec):
    """Clinical inactive disease (R-CID, `config.cid_criteria`) at each timepoint; `missing`:
    `observed` (default), `nri` or `locf` (`jiareg.study.endpoints.missing`)."""

    kind: Literal["inactive_disease"]
    at: tuple[Name, ...]
    missing: Missing = "observed"


class InactiveStates(ResultModel):
    """Patients in each state at one timepoint (unknown: a criterion was not recorded)."""

    inactive: int
    not_inactive: int
    unknown: int


class InactiveDiseaseDetails(EndpointDetails):
    """`endpoints.<id>`: the criteria set. The patients in inactive disease are the headline
    (timepoint → patients); the others are in the denominators: `evaluable - inactive` were
    not inactive, `criterion_not_recorded` could not be classified."""

    kind: Literal["inactive_disease"]
    criteria: str
    """The criteria of clinical inactive disease (`config.cid_criteria`): `acr2011` (Wallace
    et al. 2011, six criteria) or `wallace2004` (five)."""
    missing: Missing = Field("observed", exclude_if=lambda value: value == "observed")
    """The missing-data rule (`nri`, `locf`); absent for `observed`. The patients imputed, by
    timepoint and reason, are `denominators.<timepoint>.imputed`."""
    by_arm: dict[str, dict[str, InactiveStates]] = Field(
        default_factory=dict, exclude_if=lambda value: not value
    )
    """With two or more arms: arm → timepoint → patients in each state."""


def _observed(
    frames: Mapping[str, pd.DataFrame], name: str
) -> tuple[dict[str, bool | None], dict[str, int]]:
    rows = at_timepoint(frames["visits"], name)
    states = {
        str(p): flag(v) for p, v in zip(rows["patient_id"], rows["inactive_disease"], strict=True)
    }
    return states, dict(zip(rows["patient_id"], rows["day"].astype(int), strict=True))


def inactive_by_timepoint(
    endpoint: InactiveDiseaseEndpoint, frames: Mapping[str, pd.DataFrame], protocol: Protocol
) -> dict[str, tuple[dict[str, bool | None], dict[str, str]]]:
    """Timepoint → (each patient's state: True inactive, False not, None unknown; absent: no
    visit) and the reason of each imputed state, under the endpoint's `missing` rule."""
    patient_ids = [str(p) for p in frames["patients"]["patient_id"]]
    names = [t.name for t in protocol.timepoints]
    stops = stop_days(frames) if endpoint.missing != "observed" else {}
    baseline = _observed(frames, protocol.baseline)[0]
    out = {}
    for name in endpoint.at:
        observed, visit_day = _observed(frames, name)
        before = [n for n in names[: names.index(name)] if n != protocol.baseline]
        earlier = [_observed(frames, n)[0] for n in reversed(before)]
        out[name] = impute(
            endpoint.missing,
            patient_ids,
            observed,
            visit_day,
            earlier,
            baseline if name != protocol.baseline else {},
            stops,
            timepoint_start(protocol, name, frames),
        )
    return out


def _states(values: Mapping[str, bool | None]) -> InactiveStates:
    flags = list(values.values())
    return InactiveStates(
        inactive=flags.count(True), not_inactive=flags.count(False), unknown=flags.count(None)
    )


def _denominators(cohort: int, states: InactiveStates, imputed: Mapping[str, str]) -> Denominators:
    """Evaluable: inactive or not; the others had no visit or a criterion not recorded."""
    evaluable = states.inactive + states.not_inactive
    reasons = {
        NO_VISIT: cohort - evaluable - states.unknown,
        "criterion_not_recorded": states.unknown,
    }
    return Denominators(
        cohort=cohort,
        evaluable=evaluable,
        not_evaluable={reason: n for reason, n in sorted(reasons.items()) if n},
        imputed=dict(sorted(Counter(imputed.values()).items())),
    )


def summarise(
    endpoint: InactiveDiseaseEndpoint, ctx: SummaryContext
) -> tuple[dict[str, int], InactiveDiseaseDetails]:
    """Timepoint → patients in inactive disease; the others are in the denominators (with
    `missing: observed` counted by `jiareg.study.denominators`, else here with the imputed)."""
    per_timepoint = inactive_by_timepoint(endpoint, ctx.frames, ctx.protocol)
    states = {name: _states(values) for name, (values, _) in per_timepoint.items()}
    arms = arms_of(ctx.frames["patients"])
    by_arm: dict[str, dict[str, InactiveStates]] = {}
    if len(set(arms.values())) > 1:
        for arm in sorted(set(arms.values())):
            by_arm[arm] = {
                name: _states({p: v for p, v in values.items() if arms.get(p) == arm})
                for name, (values, _) in per_timepoint.items()
            }
    cohort = len(ctx.frames["patients"])
    denominators = (
        {
            name: _denominators(cohort, states[name], reasons)
            for name, (_, reasons) in per_timepoint.items()
        }
        if endpoint.missing != "observed"
        else {}
    )
    headline = {name: counts.inactive for name, counts in states.items()}
    return headline, InactiveDiseaseDetails(
        kind="inactive_disease",
        denominators=denominators,
        criteria=ctx.protocol.config.cid_criteria,
        missing=endpoint.missing,
        by_arm=by_arm,
    )


KIND = register(
    EndpointKind(
        name="inactive_disease",
        spec=InactiveDiseaseEndpoint,
        details=InactiveDiseaseDetails,
        headline=dict[str, int],
        summarise=summarise,
    )
)
