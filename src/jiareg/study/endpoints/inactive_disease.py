"""Endpoint kind `inactive_disease`: clinical inactive disease at each timepoint.

The per-visit flag is `jiareg.derive.inactive` (SPEC R-CID, criteria `config.cid_criteria`,
default ACR 2011), added to every timepoint visit by `jiareg.study.visits.with_inactive_disease`.
"""

from __future__ import annotations

from typing import Literal

from jiareg.study.endpoints.base import (
    EndpointDetails,
    EndpointKind,
    EndpointSpec,
    Name,
    SummaryContext,
    register,
)
from jiareg.study.endpoints.common import ResultModel, at_timepoint, flag

__all__ = ["InactiveDiseaseDetails", "InactiveDiseaseEndpoint", "InactiveStates"]


class InactiveDiseaseEndpoint(EndpointSpec):
    """Clinical inactive disease (R-CID, `config.cid_criteria`) at each timepoint."""

    kind: Literal["inactive_disease"]
    at: tuple[Name, ...]


class InactiveStates(ResultModel):
    """Patients in each state at one timepoint (unknown: a criterion was not recorded)."""

    inactive: int
    not_inactive: int
    unknown: int


class InactiveDiseaseDetails(EndpointDetails):
    """`endpoints.<id>`: the criteria set and the states at each timepoint."""

    kind: Literal["inactive_disease"]
    criteria: str
    states: dict[str, InactiveStates]


def summarise(
    endpoint: InactiveDiseaseEndpoint, ctx: SummaryContext
) -> tuple[dict[str, int], InactiveDiseaseDetails]:
    """Timepoint → patients in inactive disease; the details count all three states."""
    states = {}
    for name in endpoint.at:
        flags = [flag(v) for v in at_timepoint(ctx.frames["visits"], name)["inactive_disease"]]
        states[name] = InactiveStates(
            inactive=flags.count(True), not_inactive=flags.count(False), unknown=flags.count(None)
        )
    headline = {name: counts.inactive for name, counts in states.items()}
    criteria = ctx.protocol.config.cid_criteria
    return headline, InactiveDiseaseDetails(
        kind="inactive_disease", criteria=criteria, states=states
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
