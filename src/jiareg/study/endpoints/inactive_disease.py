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
from jiareg.study.endpoints.common import at_timepoint, flag

__all__ = ["InactiveDiseaseDetails", "InactiveDiseaseEndpoint"]


class InactiveDiseaseEndpoint(EndpointSpec):
    """Clinical inactive disease (R-CID, `config.cid_criteria`) at each timepoint."""

    kind: Literal["inactive_disease"]
    at: tuple[Name, ...]


class InactiveDiseaseDetails(EndpointDetails):
    """`endpoints.<id>`: the criteria set. The patients in inactive disease are the headline
    (timepoint → patients); the others are in the denominators: `evaluable - inactive` were
    not inactive, `criterion_not_recorded` could not be classified."""

    kind: Literal["inactive_disease"]
    criteria: str
    """The criteria of clinical inactive disease (`config.cid_criteria`): `acr2011` (Wallace
    et al. 2011, six criteria) or `wallace2004` (five)."""


def summarise(
    endpoint: InactiveDiseaseEndpoint, ctx: SummaryContext
) -> tuple[dict[str, int], InactiveDiseaseDetails]:
    """Timepoint → patients in inactive disease (the others: `jiareg.study.denominators`)."""
    headline = {
        name: sum(
            flag(v) is True for v in at_timepoint(ctx.frames["visits"], name)["inactive_disease"]
        )
        for name in endpoint.at
    }
    criteria = ctx.protocol.config.cid_criteria
    return headline, InactiveDiseaseDetails(kind="inactive_disease", criteria=criteria)


KIND = register(
    EndpointKind(
        name="inactive_disease",
        spec=InactiveDiseaseEndpoint,
        details=InactiveDiseaseDetails,
        headline=dict[str, int],
        summarise=summarise,
    )
)
