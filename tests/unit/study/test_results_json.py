"""results.json is the dump of the typed `Results`: its published JSON Schema is the generated
one, real results (the demo; every shipped protocol on a synthetic registry) validate against
it and read back unchanged, every key is explained in docs/reference/results.md, each number
is stored once, and a wrong, renamed or inconsistent key is an error."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pyarrow as pa
import pytest
from pydantic import ValidationError
from tests.unit.study.registry import demo_tables

from jiareg.study.endpoints.acr_pedi import AcrPediDetails
from jiareg.study.endpoints.steroid_change import SteroidChangeDetails
from jiareg.study.results_json import Results, results_json_schema
from jiareg.study.run import run_study
from jiareg.synth.generate import generate_chunk

ROOT = Path(__file__).resolve().parents[3]
FOUNDING = ROOT / "src" / "jiareg" / "protocols" / "tocilizumab-after-anti-tnf.yaml"
SHIPPED = sorted((ROOT / "protocols").glob("*.yaml"))
SCHEMA = ROOT / "docs" / "reference" / "results.schema.json"
REFERENCE = ROOT / "docs" / "reference" / "results.md"
TABLES = ("patients", "visits", "treatments", "administrations", "steroids", "adverse_events")

pytestmark = pytest.mark.xdist_group("results_json")
"""On one xdist worker: the module fixtures (every shipped protocol on 2,000 patients, the
founding one on the demo cohort: about 4 s of CPU) built once."""


@pytest.fixture(scope="module")
def demo_results() -> Results:
    return run_study(FOUNDING, tables=demo_tables()).results


@pytest.fixture(scope="module")
def synthetic_registry() -> dict[str, pa.Table]:
    """A seeded synthetic registry of 2,000 patients × 10 visits (`jiareg synth`'s generator)."""
    tables = generate_chunk(0, 2000, 10, seed=11, id_width=6)
    return {name: tables[name] for name in TABLES}


@pytest.fixture(scope="module")
def shipped_results(synthetic_registry: dict[str, pa.Table]) -> dict[str, dict[str, Any]]:
    """results.json of every shipped protocol on the synthetic registry, by protocol file."""
    runs = {path.name: run_study(path, tables=synthetic_registry) for path in SHIPPED}
    return {name: json.loads(json.dumps(run.results.to_json())) for name, run in runs.items()}


def _validator() -> Any:
    return jsonschema_rs.validator_for(json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_published_schema_is_the_generated_one() -> None:
    assert json.loads(SCHEMA.read_text(encoding="utf-8")) == results_json_schema(), (
        "run: python -m jiareg.study.results_json > docs/reference/results.schema.json"
    )


@pytest.mark.slow
def test_demo_results_validate_against_the_published_schema(demo_results: Results) -> None:
    content = json.loads(json.dumps(demo_results.to_json()))
    validator = _validator()
    assert list(validator.iter_errors(content)) == []
    assert content["acr_pedi_30"] == {
        "responders": 9,
        "n": 9,
        "ci95": [0.6637328831200571, 1.0],
    }
    broken = {**content, "sex": {"F": "seven"}}
    assert not validator.is_valid(broken)
    stale = copy.deepcopy(content)  # a details entry in the shape before issue #14
    stale["endpoints"]["acr_pedi_30"]["responders"] = 9
    assert not validator.is_valid(stale)


@pytest.mark.slow
def test_shipped_protocols_on_a_synthetic_registry_validate(
    shipped_results: dict[str, dict[str, Any]],
) -> None:
    validator = _validator()
    assert len(shipped_results) >= 2
    for name, content in shipped_results.items():
        errors = [str(e) for e in validator.iter_errors(content)]
        assert errors == [], name
        assert content["n"] > 40, name  # large enough that every endpoint has numbers
        assert Results.model_validate(content).to_json() == content


def _every_key(schema: dict[str, Any]) -> set[str]:
    """Every property name of the schema (the results' keys, the kinds' fields)."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    schema = copy.deepcopy(schema)
    schema["$defs"].pop("ClinicalConfig")  # the protocol's options: docs/reference/protocol.md
    walk(schema)
    return names


def test_the_reference_page_explains_every_key() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", "", text, flags=re.S)  # the example is not an explanation
    spans = re.findall(r"`([^`]+)`", prose, flags=re.S)  # `key`, `{a, b, c}`, `x.<id>.y`
    named = {word for span in spans for word in re.findall(r"[a-z_0-9]+", span)}
    missing = sorted(_every_key(results_json_schema()) - named)
    assert missing == [], f"docs/reference/results.md does not explain {missing}"


def _details_and_headlines(content: dict[str, Any]) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    for endpoint_id, details in content["endpoints"].items():
        yield endpoint_id, content[endpoint_id], details


@pytest.mark.slow
def test_each_number_once_and_every_endpoint_has_its_denominators(
    demo_results: Results, shipped_results: dict[str, dict[str, Any]]
) -> None:
    """No `endpoints.<id>` key repeats its headline or one of the headline's keys; every
    endpoint points at its headline and counts its cohort, evaluable and not evaluable."""
    runs = {"demo": demo_results.to_json(), **shipped_results}
    for run, content in runs.items():
        for endpoint_id, headline, details in _details_and_headlines(content):
            where = f"{run}: endpoints.{endpoint_id}"
            assert details["headline"] == f"/{endpoint_id}", where
            own = {k: v for k, v in details.items() if k not in ("kind", "headline")}
            if isinstance(headline, dict):
                assert not set(own) & set(headline), where
                assert headline not in own.values(), where
            assert details["denominators"], where
            for place, counted in details["denominators"].items():
                assert counted["cohort"] == content["n"], (where, place)
                assert (
                    counted["evaluable"] + sum(counted["not_evaluable"].values())
                    == (counted["cohort"])
                ), (where, place)
            if isinstance(headline, dict) and isinstance(headline.get("n"), int):
                (counted,) = details["denominators"].values()
                assert headline["n"] == counted["evaluable"], where


@pytest.mark.slow
def test_results_json_reads_back_to_the_same_model(demo_results: Results) -> None:
    text = json.dumps(demo_results.to_json())
    again = Results.model_validate_json(text)
    assert again == demo_results
    assert json.dumps(again.to_json()) == text
    steroids = again.headline("steroids")
    assert type(steroids).__name__ == "SteroidCounts"
    assert again.details("acr_pedi_30", AcrPediDetails).denominators["follow_up"].evaluable == 9


@pytest.mark.slow
def test_a_renamed_or_mistyped_key_is_an_error(demo_results: Results) -> None:
    content = demo_results.to_json()
    content["steroid"] = content.pop("steroids")
    with pytest.raises(ValidationError, match="neither a results key nor an endpoint id"):
        Results.model_validate(content)
    with pytest.raises(KeyError):
        demo_results.headline("steroid")
    with pytest.raises(TypeError, match="not"):
        demo_results.details("acr_pedi_30", SteroidChangeDetails)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.pop("adverse_events"), "'adverse_events' has no headline"),
        (
            lambda c: c["endpoints"]["steroids"].update(headline="/stereoids"),
            "endpoints.steroids.headline is '/stereoids'",
        ),
        (
            lambda c: c["endpoints"]["core_set"]["denominators"]["baseline"].update(
                cohort=10, evaluable=10
            ),
            "cohort is 10, but n is 9",
        ),
        (
            lambda c: c["endpoints"]["chaq_over_0_5"]["denominators"]["month_1"].update(
                evaluable=8
            ),
            "do not add up",
        ),
        (lambda c: c["acr_pedi_30"].update(n=8), "acr_pedi_30.n is 8, but its denominators"),
        (lambda c: c["attrition"][-1].update(n_remaining=8), "leaves 8, but n is 9"),
    ],
)
def test_restated_numbers_must_agree(demo_results: Results, change: Any, message: str) -> None:
    """The denominators restate the cohort and a headline's n; reading checks they agree."""
    content = copy.deepcopy(demo_results.to_json())
    change(content)
    with pytest.raises(ValidationError, match=re.escape(message)):
        Results.model_validate(content)
