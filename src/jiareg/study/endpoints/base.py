"""The endpoint-kind registry: one `EndpointKind` per kind, registered by its own module.

An endpoint kind bundles everything jiareg needs to know about it:

- `spec` — the pydantic model of its protocol entry (`kind: <name>` plus its options);
- `details` — the pydantic model of its `results.json` `endpoints.<id>` entry, and `headline` the
  type of its top-level `results.json` value;
- `summarise` — its numbers from the collected per-patient frames (Python, exact `jiareg.stats`);
- `plan` (optional) — extra per-patient Ibis tables it needs collected (`PlanInputs` → tables);
- `section` (optional) — a report section of its own (title and label/value rows).

`register` adds a kind and rebuilds the models whose unions list the kinds (the protocol's
`endpoints` and the results' `endpoints`), so a new kind is one new module calling `register`;
nothing else changes. The built-in kinds live next to this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from ibis.expr.types import Table

    from jiareg.study.protocol import Protocol

__all__ = [
    "Denominators",
    "EndpointDetails",
    "EndpointKind",
    "EndpointSpec",
    "Name",
    "PlanInputs",
    "ReportSection",
    "SpecModel",
    "SummaryContext",
    "endpoints_of",
    "kind_of",
    "kinds",
    "on_register",
    "register",
    "unregister",
]

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
"""A protocol name (timepoint, endpoint id): lower case, digits and underscores."""


class SpecModel(BaseModel):
    """Base of every protocol model: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EndpointSpec(SpecModel):
    """Base of every endpoint's protocol entry; each kind adds `kind: Literal[<name>]`."""

    id: Name
    label: str | None = None
    kind: str

    @property
    def timepoint_refs(self) -> tuple[str, ...]:
        """Timepoint names this endpoint reads (checked against the protocol's timepoints)."""
        at = getattr(self, "at", ())
        return (at,) if isinstance(at, str) else tuple(at)


class Denominators(BaseModel):
    """Who an endpoint counts at one place: the cohort, the patients evaluable there and the
    others by reason; `evaluable + sum(not_evaluable) == cohort` (checked when built or read;
    `jiareg.study.denominators`). `imputed`: of the evaluable, those whose value was imputed
    (`missing: nri | locf`), by reason; absent when none was."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    cohort: int = Field(ge=0)
    """Patients in the cohort (the top-level `n`)."""
    evaluable: int = Field(ge=0)
    """Patients the endpoint counts here: its denominator."""
    not_evaluable: dict[str, int]
    """The other patients by reason (reason → patients; a reason with none is left out)."""
    imputed: dict[str, int] = Field(default_factory=dict, exclude_if=lambda value: not value)
    """Of the evaluable, the patients whose value was imputed (`missing: nri | locf`), by
    reason; absent when none was."""

    @model_validator(mode="after")
    def _adds_up(self) -> Denominators:
        if any(n < 0 for n in self.not_evaluable.values()):
            raise ValueError(f"negative count of patients not evaluable: {self.not_evaluable}")
        if self.evaluable + sum(self.not_evaluable.values()) != self.cohort:
            raise ValueError(
                f"denominators do not add up: evaluable {self.evaluable} + not evaluable "
                f"{self.not_evaluable} != cohort {self.cohort}"
            )
        if any(n < 0 for n in self.imputed.values()) or sum(self.imputed.values()) > self.evaluable:
            raise ValueError(
                f"imputed {self.imputed} is not a part of the evaluable {self.evaluable}"
            )
        return self


class EndpointDetails(BaseModel):
    """Base of every `endpoints.<id>` entry of results.json; each kind adds its numbers.

    Each number is stored once (docs/reference/results.md): the endpoint's headline lives at
    the top level under its id, and `endpoints.<id>` holds the definition it was run with and
    the numbers the headline does not give, never a copy of the headline's.

    `headline`: the JSON Pointer of the headline (`/<id>`), set by `jiareg.study.summarise`.
    `denominators`: where the endpoint is measured (timepoint, `follow_up`, `on_treatment`) →
    its `Denominators`; a kind may fill them in its summary, else `jiareg.study.summarise`
    does for the built-in kinds (`jiareg.study.denominators`); left out when empty.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kind: str
    """The endpoint kind (the protocol entry's `kind`): which fields follow."""
    headline: str = ""
    """JSON Pointer (RFC 6901) to the endpoint's headline: `/<endpoint id>`."""
    denominators: dict[str, Denominators] = Field(
        default_factory=dict, exclude_if=lambda value: not value
    )
    """Where the endpoint is measured (a timepoint, `follow_up`, `on_treatment`) → who it
    counted there."""


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """The Ibis tables an endpoint's plan may build on (nothing executed yet).

    `visits`: the cohort's visit chosen at each timepoint (with `timepoint`, `day`, globals on
    the reported scale); `steroid_doses`: prednisone-equivalent dose at each of those visits;
    `responses`: ACR Pedi of every follow-up visit; `registry`: the registry's tables;
    `index`: each cohort patient's index_date (first administration of the exposure drug),
    last_date (its last administration), n_administrations and `arm` (the patient's arm: its
    name with `arms:`, else `all`; the exposure drug is the arm's drug).
    """

    protocol: Protocol
    registry: Mapping[str, Table]
    visits: Table
    steroid_doses: Table
    responses: Table
    index: Table


@dataclass(slots=True)
class SummaryContext:
    """What an endpoint's summary reads: the protocol, the collected frames and the tables.

    `frames` are the collected per-patient frames (`patients`, `visits`, `responses`,
    `steroid_doses`, `courses`, `administrations`, `adverse_events`, and each plan table as
    `<name>:<endpoint id>`). `tables` are `StudyResult.tables`; a summary may fill its own
    columns or rows in them (they are ordered and hashed after every endpoint ran).
    """

    protocol: Protocol
    frames: Mapping[str, pd.DataFrame]
    tables: dict[str, pd.DataFrame]

    def planned(self, name: str, endpoint: EndpointSpec) -> pd.DataFrame:
        """The collected plan table `name` of `endpoint`."""
        return self.frames[f"{name}:{endpoint.id}"]


@dataclass(frozen=True, slots=True)
class ReportSection:
    """A report section an endpoint kind renders itself: a title and label/value rows."""

    title: str
    rows: tuple[tuple[str, str], ...]


S = TypeVar("S", bound=EndpointSpec)
D = TypeVar("D", bound=EndpointDetails)


@dataclass(frozen=True)
class EndpointKind(Generic[S, D]):
    """One endpoint kind (see the module docstring for each part)."""

    name: str
    spec: type[S]
    details: type[D]
    headline: Any  # a type form (int, dict[str, int], a model); pydantic validates with it
    summarise: Callable[[S, SummaryContext], tuple[object, D]]
    plan: Callable[[S, PlanInputs], Mapping[str, Table]] | None = None
    section: Callable[[S, D], ReportSection | None] | None = None


_KINDS: dict[str, EndpointKind[Any, Any]] = {}
_LISTENERS: list[Callable[[], None]] = []


def register(kind: EndpointKind[S, D]) -> EndpointKind[S, D]:
    """Add `kind` (replacing one of the same name) and rebuild the models that list the kinds."""
    _KINDS[kind.name] = kind
    for listener in _LISTENERS:
        listener()
    return kind


def on_register(listener: Callable[[], None]) -> None:
    """Call `listener` now and after every `register` (models rebuilding their unions)."""
    _LISTENERS.append(listener)
    listener()


def kinds() -> Mapping[str, EndpointKind[Any, Any]]:
    """The registered kinds by name, in registration order."""
    return dict(_KINDS)


def kind_of(endpoint: EndpointSpec) -> EndpointKind[Any, Any]:
    """The registered kind of a validated endpoint."""
    return _KINDS[endpoint.kind]


def endpoints_of(protocol: Protocol, spec: type[S]) -> list[S]:
    """The protocol's endpoints of one kind (by its spec model), in protocol order."""
    return [e for e in protocol.endpoints if isinstance(e, spec)]


def unregister(name: str) -> None:
    """Remove the kind `name` (a plug-in or a test's kind going away) and rebuild the models."""
    del _KINDS[name]
    for listener in _LISTENERS:
        listener()
