"""The study protocol: a YAML file validated into frozen pydantic models.

A protocol declares who is eligible, the index date (first administration of the exposure
drug), the timepoints (day windows around the index date, or anchors by administration
number) and the endpoints. A misspelt key, a bad window or an unknown drug is a
`ProtocolError` naming the file, the key path and the YAML line:

    protocols/x.yaml: line 12: timepoints[1].window: to_day (10) is before from_day (14)

`protocol_json_schema()` is the JSON Schema published in docs/reference/protocol.schema.json.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from jiareg.derive.config import ClinicalConfig
from jiareg.derive.tnf_failure import ANTI_TNF_AGENTS, STOP_REASON_CODES
from jiareg.errors import ProtocolError

__all__ = [
    "ANTI_TNF",
    "CORE_SET",
    "DRUGS",
    "ILAR_CATEGORIES",
    "AcrPediEndpoint",
    "AdverseEventsEndpoint",
    "ChaqOverEndpoint",
    "CoreSetEndpoint",
    "Eligibility",
    "Endpoint",
    "Exposure",
    "InactiveDiseaseEndpoint",
    "PriorFailure",
    "Protocol",
    "SteroidChangeEndpoint",
    "SystemicFeaturesEndpoint",
    "TimeToResponseEndpoint",
    "Timepoint",
    "Window",
    "load_protocol",
    "protocol_json_schema",
]

ILAR_CATEGORIES = (
    "systemic",
    "oligo_persistent",
    "oligo_extended",
    "poly_rf_neg",
    "poly_rf_pos",
    "psoriatic",
    "era",
    "undifferentiated",
)
"""Template `ilar_category` codes (INTERFACE.md, SPEC R-SJIA-1)."""

ANTI_TNF: tuple[str, ...] = tuple(sorted(ANTI_TNF_AGENTS))
"""Drugs of the `anti_tnf` class (`jiareg.derive.tnf_failure.ANTI_TNF_AGENTS`)."""

DRUGS = (
    *ANTI_TNF,
    "abatacept",
    "anakinra",
    "baricitinib",
    "canakinumab",
    "rilonacept",
    "rituximab",
    "sarilumab",
    "secukinumab",
    "tocilizumab",
    "tofacitinib",
    "upadacitinib",
    "ustekinumab",
)
"""Biologic and targeted drugs (lower-case generic names) a protocol may name."""

DRUG_CLASSES: dict[str, tuple[str, ...]] = {"anti_tnf": ANTI_TNF}

CORE_SET = ("active_joints", "lom_joints", "phys_global", "parent_global", "chaq", "esr")
"""The six JIA core-set variables (SPEC R-CORESET-1), by their template column names."""

FailureReason = Literal["primary_failure", "secondary_failure", "intolerance", "other"]
Scale = Literal["0-10", "0-3", "0-100"]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_drug(drug: str) -> str:
    if drug not in DRUGS:
        raise ValueError(f"unknown drug {drug!r}; expected one of: {', '.join(sorted(DRUGS))}")
    return drug


class Exposure(_Model):
    """The drug under study; its first administration is the index date (day 0)."""

    drug: str
    route: Literal["iv", "sc", "oral"] | None = None

    _drug = field_validator("drug")(_known_drug)


class PriorFailure(_Model):
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
            _known_drug(drug)
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


class Eligibility(_Model):
    """Who enters the cohort; each rule is one step of the attrition flow, in this order."""

    ilar_categories: tuple[Literal[ILAR_CATEGORIES], ...] | None = None  # type: ignore[valid-type]
    prior_failure: PriorFailure | None = None
    exposure: Exposure
    require_baseline: bool = True


class Window(_Model):
    """Days relative to the index date, both ends included."""

    from_day: int
    to_day: int

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.to_day < self.from_day:
            raise ValueError(f"to_day ({self.to_day}) is before from_day ({self.from_day})")
        return self


class Timepoint(_Model):
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


class _EndpointBase(_Model):
    id: Name
    label: str | None = None


class CoreSetEndpoint(_EndpointBase):
    """Median, IQR and n of each core-set variable at each timepoint."""

    kind: Literal["core_set"]
    at: tuple[Name, ...]


class AcrPediEndpoint(_EndpointBase):
    """ACR Pedi response (R-ACRPEDI) at `level` versus the baseline timepoint.

    `at`: a timepoint name (the visit chosen there) or `follow_up` (responder at any visit
    after day 0 — "ever"). `before_administration: n` keeps only the follow-up visits after the
    day of administration n-1 up to and including the day of administration n (SPEC
    R-ACRPEDI-3: "before the 3rd infusion" = after infusion 2, before infusion 3).
    `variant: sjia` is the TENDER form (R-ACRPEDI-4). `output: count` writes the number of
    responders only.
    """

    kind: Literal["acr_pedi"]
    level: Literal[30, 50, 70, 90, 100] = 30
    variant: Literal["standard", "sjia"] = "standard"
    at: Name = "follow_up"
    before_administration: int | None = Field(None, ge=2)
    output: Literal["proportion", "count"] = "proportion"


class TimeToResponseEndpoint(_EndpointBase):
    """Days and administrations from the index date to the first visit meeting `level`."""

    kind: Literal["time_to_response"]
    level: Literal[30, 50, 70, 90, 100] = 30


class SystemicFeaturesEndpoint(_EndpointBase):
    """Patients with fever or rash recorded at each timepoint (R-SJIA-2)."""

    kind: Literal["systemic_features"]
    at: tuple[Name, ...]


class ChaqOverEndpoint(_EndpointBase):
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


class SteroidChangeEndpoint(_EndpointBase):
    """R-STEROID-3 dose-change category from the baseline timepoint to `at`."""

    kind: Literal["steroid_change"]
    at: Name


class AdverseEventsEndpoint(_EndpointBase):
    """Adverse events with onset from the index date (count, serious, per 100 patient-years)."""

    kind: Literal["adverse_events"]


class InactiveDiseaseEndpoint(_EndpointBase):
    """Clinical inactive disease (R-CID, `config.cid_criteria`) at each timepoint."""

    kind: Literal["inactive_disease"]
    at: tuple[Name, ...]


Endpoint = Annotated[
    CoreSetEndpoint
    | AcrPediEndpoint
    | TimeToResponseEndpoint
    | SystemicFeaturesEndpoint
    | ChaqOverEndpoint
    | SteroidChangeEndpoint
    | AdverseEventsEndpoint
    | InactiveDiseaseEndpoint,
    Field(discriminator="kind"),
]


class Protocol(_Model):
    """A whole study protocol file."""

    title: str = Field(min_length=1)
    description: str | None = None
    eligibility: Eligibility
    globals_scale: Scale = "0-10"
    baseline: Name = "baseline"
    timepoints: tuple[Timepoint, ...] = Field(min_length=1)
    endpoints: tuple[Endpoint, ...] = Field(min_length=1)
    config: ClinicalConfig = Field(default_factory=ClinicalConfig)

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
            refs = getattr(endpoint, "at", ())
            for ref in (refs,) if isinstance(refs, str) else refs:
                if ref not in names and not (ref == "follow_up" and endpoint.kind == "acr_pedi"):
                    raise _Located(
                        ("endpoints", index, "at"),
                        f"unknown timepoint {ref!r}; the protocol defines {names}",
                    )
        return self

    def timepoint(self, name: str) -> Timepoint:
        """The timepoint called `name`."""
        return next(t for t in self.timepoints if t.name == name)


class _Located(ValueError):
    """A cross-field error that knows its own location (so the YAML line can be found)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _lines(
    node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], int]
) -> Any:
    """Python value of a composed YAML node, recording each key path's 1-based line."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        value: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            value[key] = _lines(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1  # the key's line, not its value's
        return value
    if isinstance(node, yaml.SequenceNode):
        return [_lines(item, (*path, i), out) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _format_loc(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(loc: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def parse_protocol(text: str, path: Path | str = "<protocol>") -> Protocol:
    """Validate protocol YAML text; `path` names the file in errors.

    >>> parse_protocol("title: x\\neligibility: {exposure: {drug: tocilizumab}}\\n"
    ...                "timepoints: [{name: baseline, window: {from_day: -30, to_day: 0}}]\\n"
    ...                "endpoints: [{id: ae, kind: adverse_events}]\\n").eligibility.exposure.drug
    'tocilizumab'
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ProtocolError(path=path, loc="", message=f"{where}not valid YAML: {exc}") from None
    if node is None or not isinstance(node, yaml.MappingNode):
        raise ProtocolError(path=path, loc="", message="expected a mapping of protocol keys")
    lines: dict[tuple[str | int, ...], int] = {}
    data = _lines(node, (), lines)
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(p for p in error["loc"] if not _is_union_tag(p))
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "kind")
        message = error["msg"].removeprefix("Value error, ")
        located = error.get("ctx", {}).get("error")
        if isinstance(located, _Located):
            loc = located.loc
        line = _line_of(loc, lines)
        where = f"line {line}: " if line is not None else ""
        raise ProtocolError(path=path, loc=f"{where}{_format_loc(loc)}", message=message) from None


def _is_union_tag(part: str | int) -> bool:
    """pydantic puts the discriminator value (e.g. 'acr_pedi') into loc; it is not a key."""
    return isinstance(part, str) and part in _ENDPOINT_KINDS


_ENDPOINT_KINDS = frozenset(
    {
        "core_set",
        "acr_pedi",
        "time_to_response",
        "systemic_features",
        "chaq_over",
        "steroid_change",
        "adverse_events",
        "inactive_disease",
    }
)


def load_protocol(path: Path | str) -> Protocol:
    """Read and validate a protocol file; `ProtocolError` names the key and its line."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProtocolError(path=file, loc="", message=f"cannot read: {exc.strerror}") from None
    return parse_protocol(text, file)


def protocol_sha256(path: Path | str) -> str:
    """sha256 of the protocol file's bytes (provenance in results.json)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def protocol_json_schema() -> dict[str, Any]:
    """The JSON Schema of a protocol file, for editors (docs/reference/protocol.schema.json)."""
    schema = Protocol.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "jiareg study protocol"
    return schema
