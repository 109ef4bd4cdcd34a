"""Endpoint kind `chaq_over`: patients whose CHAQ is above a threshold at each timepoint.

The comparison is strict and exact (`Fraction`), so a CHAQ of 0.5 is not above 0.5 (the
founding poster's "CHAQ > 0.5").
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import field_validator

from jiareg.derive.exact import to_fraction
from jiareg.study.endpoints.base import (
    EndpointDetails,
    EndpointKind,
    EndpointSpec,
    Name,
    SummaryContext,
    register,
)
from jiareg.study.endpoints.common import at_timepoint

__all__ = ["ChaqOverDetails", "ChaqOverEndpoint"]


class ChaqOverEndpoint(EndpointSpec):
    """Patients whose CHAQ is above `threshold` at each timepoint (strict, exact)."""

    kind: Literal["chaq_over"]
    threshold: str = "0.5"
    at: tuple[Name, ...]

    @field_validator("threshold", mode="before")
    @classmethod
    def _decimal(cls, value: object) -> str:
        text = str(value)
        try:
            float(text)
        except ValueError:
            raise ValueError(f"threshold must be a decimal number, got {text!r}") from None
        return text


class ChaqOverDetails(EndpointDetails):
    """`endpoints.<id>`: the threshold (the counts are the headline: timepoint → patients)."""

    kind: Literal["chaq_over"]
    threshold: str
    """CHAQ threshold as written in the protocol (a decimal); a patient counts when strictly
    above it."""


def summarise(
    endpoint: ChaqOverEndpoint, ctx: SummaryContext
) -> tuple[dict[str, int], ChaqOverDetails]:
    """Timepoint → patients with CHAQ above the threshold."""
    limit = Fraction(endpoint.threshold)
    counts = {}
    for name in endpoint.at:
        values = [to_fraction(v) for v in at_timepoint(ctx.frames["visits"], name)["chaq"]]
        counts[name] = sum(1 for v in values if v is not None and v > limit)
    return counts, ChaqOverDetails(kind="chaq_over", threshold=endpoint.threshold)


KIND = register(
    EndpointKind(
        name="chaq_over",
        spec=ChaqOverEndpoint,
        details=ChaqOverDetails,
        headline=dict[str, int],
        summarise=summarise,
    )
)
