"""`Results`: the typed content of results.json (pydantic); the file is its JSON dump.

`jiareg.study.summarise` builds it and `jiareg.report` reads it. Fixed keys are fields (the
cohort, the run's provenance, `endpoints`: endpoint id → that kind's details model); each
endpoint's headline number sits at the top level under the endpoint's id (INTERFACE.md keeps
`acr_pedi_30`, `steroids`, `core_set`, ... there), typed by its kind (`headline(id)`). A
missing or renamed key is an error when read (`details`, `headline`), never an empty render.

`results_json_schema()` is published as docs/reference/results.schema.json.
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
    rule: str
    n_remaining: int
    n_excluded: int
    arm: str | None = None


class Results(SparseResultModel):
    """results.json. Extra top-level keys are the endpoints' headlines, by endpoint id."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, Any]  # typed per kind by `_typed_headlines`

    title: str
    n: int
    categories: dict[str, int]
    sex: dict[str, int]
    age_years: RangeIqr
    disease_duration_years: RangeIqr
    exposure_months: RangeIqr
    prior_anti_tnf: dict[str, int]
    globals_scale: Scale
    index_drug: str
    config: ClinicalConfig
    attrition: list[AttritionStep]
    timepoints: dict[str, int]
    endpoints: dict[str, EndpointDetails]  # each the model of its kind: `_details_union`
    software_version: str
    protocol_sha256: str
    data_sha256: str
    engine: str
    synthetic: bool = False
    run_date: str | None = None
    arms: dict[str, ArmSummary] | None = None  # only with `arms:`
    comparison: ComparisonResult | None = None  # only with `comparison:`

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
    def _every_headline_has_details(self) -> Results:
        for key in self.__pydantic_extra__:
            if key not in self.endpoints:
                raise ValueError(f"{key!r} is neither a results key nor an endpoint id")
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
    value["description"] = "An endpoint's headline, under its id (see endpoints.<id>.kind)."
    schema["additionalProperties"] = value
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "jiareg study results.json"
    return schema


if (
    __name__ == "__main__"
):  # python -m jiareg.study.results_json > docs/reference/results.schema.json
    import json

    print(json.dumps(results_json_schema(), indent=2, ensure_ascii=False))
