"""`Results`: the typed content of results.json (pydantic); the file is its JSON dump.

`jiareg.study.summarise` builds it and `jiareg.report` reads it. Fixed keys are fields (the
cohort, the run's provenance, `endpoints`: endpoint id → that kind's details model); each
endpoint's headline sits at the top level under the endpoint's id (INTERFACE.md keeps
`acr_pedi_30`, `steroids`, `core_set`, ... there), typed by its kind (`headline(id)`).

Each number is stored once (issue #14 item 6): `endpoints.<id>` points to its headline
(`headline: "/<id>"`) and holds what the headline does not (the definition, further numbers,
the denominators), never a copy of it. The denominators restate the population on purpose —
`cohort` is `n`, and an `n` of a headline is its `evaluable` — and reading checks that they
agree (`_consistent`). A missing or renamed key is an error when read (`details`,
`headline`), never an empty render.

`results_json_schema()` is published as docs/reference/results.schema.json; every key is
explained in docs/reference/results.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeVar, Union

from pydantic import ConfigDict, Field, TypeAdapter, model_validator
from pydantic.fields import FieldInfo

from jiareg.derive.config import ClinicalConfig
from jiareg.study.comparison_json import ArmSummary, ComparisonResult
from jiareg.study.endpoints import EndpointDetails, kinds, on_register
from jiareg.study.endpoints.common import RangeIqr, SparseResultModel
from jiareg.vocab import Scale

__all__ = ["AttritionStep", "Results", "results_json_schema"]

T = TypeVar("T")


class AttritionStep(SparseResultModel):
    """One eligibility step of the CONSORT-style flow, in protocol order; `arm` (written only
    with `arms:`) names the arm of an arm's own step."""

    step: str
    """What the step asks, in words."""
    rule: str
    """The step's rule (`ilar_category`, `prior_failure`, `exposure`, `baseline_visit`, ...)."""
    n_remaining: int
    """Patients left after the step (after the last step: `n`)."""
    n_excluded: int
    """Patients the step excluded."""
    arm: str | None = None
    """The arm whose own step this is (only with `arms:`)."""


class Results(SparseResultModel):
    """results.json. Extra top-level keys are the endpoints' headlines, by endpoint id."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, Any]  # typed per kind by `_typed_headlines`

    title: str
    """The protocol's title."""
    n: int
    """Patients in the cohort (after every eligibility step)."""
    categories: dict[str, int]
    """ILAR category code → patients."""
    sex: dict[str, int]
    """`F` / `M` → patients."""
    age_years: RangeIqr
    """Age at the index date (first administration of the exposure drug), years of 365.25
    days."""
    disease_duration_years: RangeIqr
    """Onset to the index date, years of 365.25 days."""
    exposure_months: RangeIqr
    """Index date to the last administration, months of 365.25/12 days."""
    prior_anti_tnf: dict[str, int]
    """Anti-TNF agent → patients with a course of it started before the index date."""
    globals_scale: Scale
    """The scale the physician and parent globals are reported on."""
    index_drug: str
    """The exposure drug."""
    config: ClinicalConfig
    """Every clinical option in force."""
    attrition: list[AttritionStep]
    """The eligibility steps in protocol order."""
    timepoints: dict[str, int]
    """Timepoint name → patients with a visit chosen there."""
    endpoints: dict[str, EndpointDetails]  # each the model of its kind: `_details_union`
    """Endpoint id → what its headline (top-level key `<id>`) does not give, with its `kind`
    and denominators."""
    software_version: str
    """jiareg's version."""
    protocol_sha256: str
    """SHA-256 of the protocol file."""
    data_sha256: str
    """SHA-256 of the rows the study used (the same on every engine)."""
    engine: str
    """The engine that ran the plan (`duckdb`, `postgres`, `spark`)."""
    synthetic: bool = False
    """True for made-up patients (the demo, `jiareg synth`); absent otherwise."""
    run_date: str | None = None
    """The run's date (ISO 8601) when recorded; absent otherwise."""
    arms: dict[str, ArmSummary] | None = None
    """Arm name → its drug, size and flow (only with `arms:`)."""
    comparison: ComparisonResult | None = None
    """The comparative analysis (only with `comparison:`)."""

    @model_validator(mode="before")
    @classmethod
    def _typed_headlines(cls, data: Any) -> Any:
        """Validate each headline with its endpoint kind's headline type."""
        if not isinstance(data, dict):
            return data
        details = data.get("endpoints")
        if not isinstance(details, dict):
            return data
        out = dict(data)
        for key, value in data.items():
            if key in cls.model_fields or key not in details:
                continue
            entry = details[key]
            kind = entry.get("kind") if isinstance(entry, dict) else getattr(entry, "kind", None)
            registered = kinds()
            if isinstance(kind, str) and kind in registered:
                out[key] = TypeAdapter(registered[kind].headline).validate_python(value)
        return out

    @model_validator(mode="after")
    def _consistent(self) -> Results:
        """Every headline has its endpoint and every endpoint its headline, pointed at; the
        numbers restated for the reader (the cohort, a headline's `n`) agree."""
        for key in self.__pydantic_extra__:
            if key not in self.endpoints:
                raise ValueError(f"{key!r} is neither a results key nor an endpoint id")
        for key, details in self.endpoints.items():
            if key not in self.__pydantic_extra__:
                raise ValueError(f"endpoint {key!r} has no headline (top-level key {key!r})")
            if details.headline != f"/{key}":
                raise ValueError(
                    f"endpoints.{key}.headline is {details.headline!r}, expected '/{key}'"
                )
            for where, counted in details.denominators.items():
                if counted.cohort != self.n:
                    raise ValueError(
                        f"endpoints.{key}.denominators.{where}.cohort is {counted.cohort}, "
                        f"but n is {self.n}"
                    )
            n = getattr(self.__pydantic_extra__[key], "n", None)
            if isinstance(n, int) and len(details.denominators) == 1:
                (counted,) = details.denominators.values()
                if counted.evaluable != n:
                    raise ValueError(
                        f"{key}.n is {n}, but its denominators count {counted.evaluable} "
                        "evaluable patients"
                    )
        left = _left_after_attrition(self.attrition)
        if left is not None and left != self.n:
            raise ValueError(f"the last eligibility step leaves {left}, but n is {self.n}")
        return self

    def details(self, endpoint_id: str, model: type[T]) -> T:
        """`endpoints.<endpoint_id>` as its kind's model; KeyError/TypeError when it is not."""
        value = self.endpoints[endpoint_id]
        if not isinstance(value, model):
            raise TypeError(f"endpoints.{endpoint_id} is {type(value).__name__}, not {model}")
        return value

    def headline(self, endpoint_id: str) -> object:
        """The headline (top-level value) of endpoint `endpoint_id`; KeyError when absent."""
        return self.__pydantic_extra__[endpoint_id]

    def to_json(self) -> dict[str, Any]:
        """The JSON-native content of results.json."""
        return self.model_dump(mode="json")


def _details_union() -> Any:
    details = tuple(kind.details for kind in kinds().values())
    return dict[str, Annotated[Union[details], Field(discriminator="kind")]]  # type: ignore[valid-type]  # noqa: UP007


def _rebuild() -> None:
    """Let `Results.endpoints` hold every registered kind's details (after each `register`)."""
    Results.__pydantic_fields__["endpoints"] = FieldInfo.from_annotation(_details_union())
    Results.model_rebuild(force=True)


if not TYPE_CHECKING:
    on_register(_rebuild)


def results_json_schema() -> dict[str, Any]:
    """JSON Schema of results.json (docs/reference/results.schema.json)."""
    headlines = tuple(kind.headline for kind in kinds().values())
    adapter: TypeAdapter[object] = TypeAdapter(Union[headlines])  # type: ignore[arg-type]  # noqa: UP007
    value = adapter.json_schema()
    schema = Results.model_json_schema()  # the validation schema: what a results.json holds
    schema.setdefault("$defs", {}).update(value.pop("$defs", {}))
    for definition in schema["$defs"].values():  # `Results` checks every endpoint has one
        if "headline" in definition.get("properties", {}):
            definition["properties"]["headline"]["pattern"] = "^/"
            definition["required"] = sorted({*definition.get("required", ()), "headline"})
    value["description"] = (
        "An endpoint's headline, under its id: the endpoint's main numbers, stored only here "
        "(endpoints.<id> has its kind, definition, further numbers and denominators)."
    )
    schema["additionalProperties"] = value
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "jiareg study results.json"
    return schema


if (
    __name__ == "__main__"
):  # python -m jiareg.study.results_json > docs/reference/results.schema.json
    import json

    print(json.dumps(results_json_schema(), indent=2, ensure_ascii=False))


def _left_after_attrition(steps: list[AttritionStep]) -> int | None:
    """Patients the flow leaves: its last step's, or with arms the sum of each arm's last."""
    if not steps:
        return None
    last_of_arm = {step.arm: step.n_remaining for step in steps if step.arm is not None}
    return sum(last_of_arm.values()) if last_of_arm else steps[-1].n_remaining
