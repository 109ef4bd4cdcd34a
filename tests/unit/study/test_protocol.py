"""Protocol validation: every error names the file, the key path and the YAML line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jiareg.errors import ProtocolError
from jiareg.study.protocol_file import load_protocol, parse_protocol, protocol_json_schema

ROOT = Path(__file__).resolve().parents[3]
PROTOCOLS = sorted((ROOT / "src" / "jiareg" / "protocols").glob("*.yaml"))

VALID = """\
title: t
eligibility:
  exposure: {drug: tocilizumab, route: iv}
timepoints:
  - name: baseline
    window: {from_day: -30, to_day: 0}
  - name: month_1
    window: {from_day: 14, to_day: 45}
    pick: nearest
    target_day: 30
endpoints:
  - {id: core_set, kind: core_set, at: [baseline, month_1]}
"""


@pytest.mark.parametrize("path", PROTOCOLS, ids=lambda p: p.name)
def test_shipped_protocols_are_valid(path: Path) -> None:
    protocol = load_protocol(path)
    assert protocol.study_arms()[0].exposure.drug == "tocilizumab"
    assert protocol.timepoint(protocol.baseline).window is not None


def test_founding_protocol_is_reachable_from_the_repo_root() -> None:
    assert (ROOT / "protocols" / "tocilizumab-after-anti-tnf.yaml").is_file()


def test_valid_text_parses() -> None:
    protocol = parse_protocol(VALID)
    assert [t.name for t in protocol.timepoints] == ["baseline", "month_1"]
    assert protocol.timepoint("month_1").target_day == 30


@pytest.mark.parametrize(
    ("old", "new", "loc", "line", "words"),
    [
        (
            "    window: {from_day: -30",
            "    windw: {from_day: -30",
            "timepoints[0].windw",
            6,
            "Extra inputs",
        ),
        (
            "{from_day: 14, to_day: 45}",
            "{from_day: 14, to_day: 10}",
            "timepoints[1].window",
            8,
            "to_day (10) is before from_day (14)",
        ),
        (
            "drug: tocilizumab",
            "drug: tocilizumabb",
            "eligibility.exposure.drug",
            3,
            "unknown drug 'tocilizumabb'",
        ),
        (
            "at: [baseline, month_1]",
            "at: [baseline, month_9]",
            "endpoints[0].at",
            12,
            "unknown timepoint 'month_9'",
        ),
        ("    target_day: 30", "    target_day: 50", "timepoints[1]", 7, "outside the window"),
        ("kind: core_set", "kind: core_sets", "endpoints[0].kind", 12, "core_set"),
        ("route: iv", "route: im", "eligibility.exposure.route", 3, "'iv'"),
    ],
    ids=[
        "misspelt-key",
        "bad-window",
        "unknown-drug",
        "unknown-timepoint",
        "target-outside",
        "unknown-kind",
        "bad-route",
    ],
)
def test_errors_name_key_and_line(old: str, new: str, loc: str, line: int, words: str) -> None:
    assert old in VALID
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(VALID.replace(old, new), "study.yaml")
    error = caught.value
    assert error.loc == f"line {line}: {loc}"
    assert words in error.message
    assert str(error).startswith(f"study.yaml: line {line}: {loc}: ")


def test_config_override_is_validated_by_clinical_config() -> None:
    text = VALID + "config: {acr_missing_mode: complete_case, steroid_basis: mg_day}\n"
    assert parse_protocol(text).config.acr_missing_mode == "complete_case"
    with pytest.raises(ProtocolError, match=r"line 14: config.steroid_basis"):
        parse_protocol(VALID + "config:\n  steroid_basis: per_week\n", "x.yaml")


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(ProtocolError, match=r"x.yaml: line 2: not valid YAML"):
        parse_protocol("title: t\n  - : [\n", "x.yaml")


def test_missing_file_is_a_protocol_error(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="cannot read"):
        load_protocol(tmp_path / "nope.yaml")


def test_duplicate_timepoint_and_unknown_baseline() -> None:
    twice = VALID.replace("name: month_1", "name: baseline")
    with pytest.raises(ProtocolError, match="repeated: \\['baseline'\\]"):
        parse_protocol(twice)
    with pytest.raises(ProtocolError, match="baseline 'start' is not one of the timepoints"):
        parse_protocol(VALID + "baseline: start\n")


def test_prior_failure_reasons_map_to_template_values() -> None:
    text = VALID.replace(
        "  exposure:",
        "  prior_failure: {drug_class: anti_tnf, stop_reasons: [intolerance]}\n  exposure:",
    )
    prior = parse_protocol(text).eligibility.prior_failure
    assert prior is not None
    assert prior.template_stop_reasons == ("intolerance", "adverse_event")
    assert "etanercept" in prior.drug_list


def test_published_json_schema_is_in_sync() -> None:
    published = json.loads((ROOT / "docs" / "reference" / "protocol.schema.json").read_text())
    assert published == protocol_json_schema(), (
        "run: jiareg study schema > docs/reference/protocol.schema.json"
    )
