"""results.json is the dump of the typed `Results`: its published JSON Schema is the generated
one, the demo's results validate against it and read back unchanged, a wrong key is an error."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs
import pytest
from pydantic import ValidationError
from tests.unit.study.registry import demo_tables

from jiareg.study.endpoints.acr_pedi import AcrPediDetails
from jiareg.study.endpoints.steroid_change import SteroidChangeDetails
from jiareg.study.results_json import Results, results_json_schema
from jiareg.study.run import run_study

ROOT = Path(__file__).resolve().parents[3]
FOUNDING = ROOT / "src" / "jiareg" / "protocols" / "tocilizumab-after-anti-tnf.yaml"
SCHEMA = ROOT / "docs" / "reference" / "results.schema.json"


@pytest.fixture(scope="module")
def demo_results() -> Results:
    return run_study(FOUNDING, tables=demo_tables()).results


def test_published_schema_is_the_generated_one() -> None:
    assert json.loads(SCHEMA.read_text()) == results_json_schema(), (
        "run: python -m jiareg.study.results_json > docs/reference/results.schema.json"
    )


def test_demo_results_validate_against_the_published_schema(demo_results: Results) -> None:
    content = json.loads(json.dumps(demo_results.to_json()))
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    assert list(validator.iter_errors(content)) == []
    assert content["acr_pedi_30"] == {
        "responders": 9,
        "n": 9,
        "ci95": [0.6637328831200571, 1.0],
    }
    broken = {**content, "sex": {"F": "seven"}}
    assert not validator.is_valid(broken)


def test_results_json_reads_back_to_the_same_model(demo_results: Results) -> None:
    text = json.dumps(demo_results.to_json())
    again = Results.model_validate_json(text)
    assert again == demo_results
    assert json.dumps(again.to_json()) == text
    steroids = again.headline("steroids")
    assert type(steroids).__name__ == "SteroidCounts"
    assert again.details("acr_pedi_30", AcrPediDetails).not_evaluable == 0


def test_a_renamed_or_mistyped_key_is_an_error(demo_results: Results) -> None:
    content = demo_results.to_json()
    content["steroid"] = content.pop("steroids")
    with pytest.raises(ValidationError, match="neither a results key nor an endpoint id"):
        Results.model_validate(content)
    with pytest.raises(KeyError):
        demo_results.headline("steroid")
    with pytest.raises(TypeError, match="not"):
        demo_results.details("acr_pedi_30", SteroidChangeDetails)
