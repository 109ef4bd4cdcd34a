"""Endpoint kind `systemic_features`: patients with fever or rash at each timepoint (SPEC
R-SJIA-2, the systemic features the founding poster counts)."""

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

__all__ = ["SystemicFeaturesDetails", "SystemicFeaturesEndpoint"]


class SystemicFeaturesEndpoint(EndpointSpec):
    """Patients with fever or rash recorded at each timepoint (R-SJIA-2)."""

    kind: Literal["systemic_features"]
    at: tuple[Name, ...]


class SystemicFeaturesDetails(EndpointDetails):
    """`endpoints.<id>`: the features counted (the counts are the headline: timepoint →
    patients)."""

    kind: Literal["systemic_features"]
    features: list[str]
    """The systemic features counted: a patient counts with any of them recorded present."""


def summarise(
    endpoint: SystemicFeaturesEndpoint, ctx: SummaryContext
) -> tuple[dict[str, int], SystemicFeaturesDetails]:
    """Timepoint → patients with fever or rash recorded at the visit chosen there."""
    counts = {}
    for name in endpoint.at:
        rows = at_timepoint(ctx.frames["visits"], name)
        counts[name] = sum(
            1
            for fever, rash in zip(rows["fever"], rows["rash"], strict=True)
            if flag(fever) or flag(rash)
        )
    return counts, SystemicFeaturesDetails(kind="systemic_features", features=["fever", "rash"])


KIND = register(
    EndpointKind(
        name="systemic_features",
        spec=SystemicFeaturesEndpoint,
        details=SystemicFeaturesDetails,
        headline=dict[str, int],
        summarise=summarise,
    )
)
