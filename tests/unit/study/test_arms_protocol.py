"""Protocol `arms:` and `comparison:`: parsing, and errors that name the key path and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from jiareg.errors import ProtocolError
from jiareg.study.protocol_file import load_protocol, parse_protocol

ROOT = Path(__file__).resolve().parents[3]
COMPARATIVE = ROOT / "protocols" / "tocilizumab-vs-abatacept-after-anti-tnf.yaml"

TWO_ARMS = """\
title: t
eligibility:
  ilar_categories: [poly_rf_neg]
arms:
  - name: tocilizumab
    exposure: {drug: tocilizumab, route: iv}
  - name: abatacept
    exposure: {drug: abatacept}
    sites: [A]
timepoints:
  - name: baseline
    window: {from_day: -30, to_day: 0}
  - name: month_3
    window: {from_day: 63, to_day: 119}
endpoints:
  - {id: acr_3, kind: acr_pedi, at: month_3}
  - {id: core_set, kind: core_set, at: [baseline, month_3]}
comparison:
  treated: tocilizumab
  reference: abatacept
  covariates: [age_years, sex, baseline_chaq]
  methods: [iptw, matching]
  trim: 0.05
  endpoints: [acr_3]
"""


def test_two_arms_and_a_comparison_parse() -> None:
    protocol = parse_protocol(TWO_ARMS)
    assert [arm.name for arm in protocol.study_arms()] == ["tocilizumab", "abatacept"]
    assert protocol.study_arms()[1].sites == ("A",)
    assert protocol.index_drug == "tocilizumab, abatacept"
    assert protocol.comparison is not None
    assert protocol.comparison.methods == ("iptw", "matching")
    assert protocol.comparison.caliper_sd == 0.2  # Austin 2011
    assert protocol.comparison.missing_covariates == "complete_case"


def test_a_single_arm_protocol_has_the_arm_all() -> None:
    protocol = load_protocol(ROOT / "protocols" / "tocilizumab-after-anti-tnf.yaml")
    (arm,) = protocol.study_arms()
    assert (arm.name, arm.exposure.drug, arm.exposure.route) == ("all", "tocilizumab", "iv")
    assert protocol.arms is None and protocol.comparison is None
    assert protocol.index_drug == "tocilizumab"


def test_the_shipped_comparative_protocol() -> None:
    protocol = load_protocol(COMPARATIVE)
    assert [a.exposure.drug for a in protocol.study_arms()] == ["tocilizumab", "abatacept"]
    assert [t.name for t in protocol.timepoints] == ["baseline", "month_3", "month_6", "month_12"]
    assert protocol.comparison is not None
    assert protocol.comparison.treated == "tocilizumab"
    assert "iptw" in protocol.comparison.methods
    assert protocol.comparison.endpoints == (
        "acr_pedi_30_month_3",
        "acr_pedi_30_month_6",
        "acr_pedi_30_month_12",
    )


@pytest.mark.parametrize(
    ("old", "new", "loc", "line", "words"),
    [
        (
            "  - name: abatacept\n",
            "  - name: tocilizumab\n",
            "arms[1].name",
            7,
            "arm 'tocilizumab' is repeated",
        ),
        ("  - name: abatacept\n", "  - name: all\n", "arms[1].name", 7, "'all' names no arm"),
        (
            "    exposure: {drug: abatacept}",
            "    exposure: {drug: abataceptt}",
            "arms[1].exposure.drug",
            8,
            "unknown drug 'abataceptt'",
        ),
        ("    sites: [A]", "    sites: []", "arms[1].sites", 9, "at least 1 item"),
        (
            "  treated: tocilizumab",
            "  treated: anakinra",
            "comparison.treated",
            19,
            "unknown arm 'anakinra'; the protocol defines ['tocilizumab', 'abatacept']",
        ),
        (
            "  reference: abatacept",
            "  reference: tocilizumab",
            "comparison",
            18,
            "treated and reference are the same arm 'tocilizumab'",
        ),
        (
            "  endpoints: [acr_3]",
            "  endpoints: [acr_6]",
            "comparison.endpoints[0]",
            24,
            "unknown endpoint 'acr_6'",
        ),
        (
            "  endpoints: [acr_3]",
            "  endpoints: [core_set]",
            "comparison.endpoints[0]",
            24,
            "endpoint 'core_set' is of kind core_set; a comparison takes binary endpoints",
        ),
        (
            "[age_years, sex, baseline_chaq]",
            "[age_years, sex, shoe_size]",
            "comparison.covariates[2]",
            21,
            "Input should be",
        ),
        (
            "[age_years, sex, baseline_chaq]",
            "[age_years, sex, age_years]",
            "comparison",
            18,
            "covariates repeated: ['age_years']",
        ),
        ("  methods: [iptw, matching]", "  methods: [ipw]", "comparison.methods[0]", 22, "'iptw'"),
        ("  trim: 0.05", "  trim: 0.5", "comparison.trim", 23, "less than 0.5"),
        (
            "  ilar_categories: [poly_rf_neg]\n",
            "  ilar_categories: [poly_rf_neg]\n  exposure: {drug: tocilizumab}\n",
            "eligibility.exposure",
            4,
            "give either eligibility.exposure (a single-arm study) or arms",
        ),
    ],
    ids=[
        "repeated-arm",
        "arm-named-all",
        "unknown-drug",
        "empty-sites",
        "unknown-treated-arm",
        "same-arms",
        "unknown-endpoint",
        "not-binary-endpoint",
        "unknown-covariate",
        "repeated-covariate",
        "unknown-method",
        "trim-too-large",
        "exposure-and-arms",
    ],
)
def test_errors_name_key_and_line(old: str, new: str, loc: str, line: int, words: str) -> None:
    assert old in TWO_ARMS
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(TWO_ARMS.replace(old, new, 1), "cmp.yaml")
    error = caught.value
    assert error.loc == f"line {line}: {loc}", error
    assert words in error.message, error.message


def test_a_single_arm_needs_its_exposure() -> None:
    text = "title: t\neligibility: {}\ntimepoints: [{name: baseline, window: {from_day: -30, "
    text += "to_day: 0}}]\nendpoints: [{id: ae, kind: adverse_events}]\n"
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, "x.yaml")
    assert caught.value.loc == "line 2: eligibility"
    assert "not both and not neither" in caught.value.message


def test_one_arm_is_not_a_comparison() -> None:
    one = TWO_ARMS.replace(
        "  - name: abatacept\n    exposure: {drug: abatacept}\n    sites: [A]\n", ""
    )
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(one, "x.yaml")
    assert caught.value.loc == "line 4: arms"
    assert "at least 2 items" in caught.value.message


def test_a_comparison_needs_arms() -> None:
    text = (
        "title: t\neligibility: {exposure: {drug: tocilizumab}}\ntimepoints: [{name: baseline, "
        "window: {from_day: -30, to_day: 0}}]\nendpoints: [{id: a, kind: acr_pedi}]\n"
        "comparison: {treated: a, reference: b, covariates: [sex], endpoints: [a]}\n"
    )
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, "x.yaml")
    assert caught.value.loc == "line 5: comparison"
    assert "a comparison needs arms" in caught.value.message


def test_one_list_of_covariates_serves_both_models() -> None:
    # the propensity model's and the Cox model's covariates are one list, each with its label
    from typing import get_args

    from jiareg.study.arms import Comparison
    from jiareg.study.endpoints.covariates import COVARIATES, Covariate
    from jiareg.study.endpoints.drug_survival import DrugSurvivalEndpoint

    assert set(get_args(Covariate)) == set(COVARIATES)
    for model in (Comparison, DrugSurvivalEndpoint):
        annotation = model.model_fields["covariates"].annotation
        assert get_args(annotation)[0] is Covariate
