"""The study protocol: a YAML file validated into frozen pydantic models.

A protocol declares who is eligible, the index date (first administration of the exposure
drug; with `arms:`, of each patient's arm drug — `jiareg.study.arms`), the timepoints (day
windows around the index date, or anchors by administration number) and the endpoints.
Each endpoint's model comes from its kind's module (`jiareg.study.endpoints`);
`Protocol.endpoints` accepts every registered kind. Reading the YAML with errors that name
the file, key path and line is `jiareg.study.protocol_file`:

    protocols/x.yaml: line 12: timepoints[1].window: to_day (10) is before from_day (14)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo

from jiareg.derive.config import ClinicalConfig
from jiareg.derive.tnf_failure import STOP_REASON_CODES
from jiareg.study.arms import SINGLE_ARM, Arm, Comparison, Exposure, check_design, known_drug
from jiareg.study.endpoints import EndpointSpec, kinds, on_register
from jiareg.study.endpoints.base import Name, SpecModel
from jiareg.vocab import ANTI_TNF, IlarCategory, Scale

__all__ = [
    "Arm",
    "Comparison",
    "Eligibility",
    "Exposure",
    "LocatedError",
    "PriorFailure",
    "Protocol",
    "Timepoint",
    "Window",
]

FailureReason = Literal["primary_failure", "secondary_failure", "intolerance", "other"]
DRUG_CLASSES: dict[str, tuple[str, ...]] = {"anti_tnf": ANTI_TNF}


class PriorFailure(SpecModel):
    """Eligibility: at least one course of these drugs, started before the index date, stopped
    for one of these reasons (SPEC R-TNF-FAIL: refractory = primary or secondary failure).

    Reasons are the R-TNF-FAIL codes in lower case; `intolerance` covers the template's
    `intolerance` and `adverse_event` stop reasons, `other` covers `remission` and `other`.
    """

    drug_class: Literal["anti_tnf"] | None = None
    drugs: tuple[str, ...] = ()
    stop_reasons: tuple[FailureReason, ...] = ("primary_failure", "secondary_failure")

    @field_validator("drugs")
    @classmethod
    def _drugs_known(cls, drugs: tuple[str, ...]) -> tuple[str, ...]:
        for drug in drugs:
            known_drug(drug)
        return drugs

    @model_validator(mode="after")
    def _one_source(self) -> PriorFailure:
        if (self.drug_class is None) == (not self.drugs):
            raise ValueError("give exactly one of drug_class or drugs")
        if not self.stop_reasons:
            raise ValueError("stop_reasons must name at least one reason")
        return self

    @property
    def drug_list(self) -> tuple[str, ...]:
        """The drugs whose failure qualifies, class expanded."""
        return DRUG_CLASSES[self.drug_class] if self.drug_class else self.drugs

    @property
    def template_stop_reasons(self) -> tuple[str, ...]:
        """The template `stop_reason` values that map to the chosen reason codes."""
        codes = {reason.upper() for reason in self.stop_reasons}
        return tuple(value for value, code in STOP_REASON_CODES.items() if code in codes)


class Eligibility(SpecModel):
    """Who enters the cohort; each rule is one step of the attrition flow, in this order."""

    ilar_categories: tuple[IlarCategory, ...] | None = None
    prior_failure: PriorFailure | None = None
    exposure: Exposure | None = None  # exactly one of this or `Protocol.arms`
    require_baseline: bool = True


class Window(SpecModel):
    """Days relative to the index date, both ends included."""

    from_day: int
    to_day: int

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.to_day < self.from_day:
            raise ValueError(f"to_day ({self.to_day}) is before from_day ({self.from_day})")
        return self


class Timepoint(SpecModel):
    """A named timepoint: one visit per patient, chosen inside a window.

    Either `window` (days from the index date, inclusive) or an administration anchor:
    `before_administration: n` = visits after the day of administration n-1 up to and
    including the day of administration n (a visit on an infusion day is the pre-infusion
    assessment). `pick` chooses among the visits in range: `last`, `first`, or `nearest` to
    `target_day` (ties go to the earlier visit).
    """

    name: Name
    window: Window | None = None
    before_administration: int | None = Field(None, ge=2)
    pick: Literal["last", "first", "nearest"] = "last"
    target_day: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Timepoint:
        if (self.window is None) == (self.before_administration is None):
            raise ValueError("give exactly one of window or before_administration")
        if self.pick == "nearest":
            if self.target_day is None or self.window is None:
                raise ValueError("pick: nearest needs a window and a target_day")
            if not self.window.from_day <= self.target_day <= self.window.to_day:
                raise ValueError(
                    f"target_day {self.target_day} is outside the window "
                    f"[{self.window.from_day}, {self.window.to_day}]"
                )
        elif self.target_day is not None:
            raise ValueError("target_day is only used with pick: nearest")
        return self


class LocatedError(ValueError):
    """A cross-field error that knows its own location (so the YAML line can be found)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class Protocol(SpecModel):
    """A whole study protocol file."""

    title: str = Field(min_length=1)
    description: str | None = None
    eligibility: Eligibility
    globals_scale: Scale = "0-10"
    baseline: Name = "baseline"
    timepoints: tuple[Timepoint, ...] = Field(min_length=1)
    endpoints: tuple[EndpointSpec, ...] = Field(min_length=1)  # every kind: `_endpoint_union`
    config: ClinicalConfig = Field(default_factory=ClinicalConfig)
    arms: tuple[Arm, ...] | None = Field(None, min_length=2)
    comparison: Comparison | None = None

    @model_validator(mode="after")
    def _references(self) -> Protocol:
        names = [t.name for t in self.timepoints]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"timepoint names must be unique; repeated: {duplicates}")
        if self.baseline not in names:
            raise ValueError(f"baseline {self.baseline!r} is not one of the timepoints {names}")
        ids = [e.id for e in self.endpoints]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"endpoint ids must be unique; repeated: {repeated}")
        for index, endpoint in enumerate(self.endpoints):
            for ref in endpoint.timepoint_refs:
                if ref not in names:
                    raise LocatedError(
                        ("endpoints", index, "at"),
                        f"unknown timepoint {ref!r}; the protocol defines {names}",
                    )
        check_design(self)
        return self

    def study_arms(self) -> tuple[Arm, ...]:
        """The arms; a protocol without `arms:` has one, `all`, exposed to its exposure."""
        if self.arms is not None:
            return self.arms
        assert self.eligibility.exposure is not None  # `check_design`: one or the other
        return (Arm(name=SINGLE_ARM, exposure=self.eligibility.exposure),)

    @property
    def index_drug(self) -> str:
        """The drug whose first administration is day 0 (arms: each arm's, comma-separated)."""
        return ", ".join(dict.fromkeys(arm.exposure.drug for arm in self.study_arms()))

    def timepoint(self, name: str) -> Timepoint:
        """The timepoint called `name`."""
        return next(t for t in self.timepoints if t.name == name)


def _endpoint_union() -> Any:
    """`tuple[<spec of every registered kind>, ...]`, told apart by `kind`."""
    specs = tuple(kind.spec for kind in kinds().values())
    return tuple[Annotated[Union[specs], Field(discriminator="kind")], ...]  # type: ignore[valid-type]  # noqa: UP007


def _rebuild() -> None:
    """Let `Protocol.endpoints` accept every registered kind (run after each `register`)."""
    # pydantic fixes a field's type when the class is built; replacing the FieldInfo and
    # forcing a rebuild is the way to widen a discriminated union afterwards.
    field = FieldInfo.from_annotated_attribute(_endpoint_union(), Field(min_length=1))
    Protocol.__pydantic_fields__["endpoints"] = field
    Protocol.model_rebuild(force=True)


if not TYPE_CHECKING:
    on_register(_rebuild)
