"""The shipped comparative protocol (tocilizumab vs abatacept after anti-TNF failure) end to
end on a synthetic registry: arms, Table 1, propensity weighting and matching, balance,
effects and the report section; and a single-arm protocol's results without any of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from jiareg.demo import COHORT_DIR, FOUNDING_PROTOCOL
from jiareg.ingest import read_template
from jiareg.report.render import render_html
from jiareg.study.backends import load_postgres
from jiareg.study.datasets import analysis_datasets
from jiareg.study.deidentify import suppress_small_counts
from jiareg.study.result import StudyResult
from jiareg.study.run import run_study
from jiareg.synth.generate import generate_chunk

ROOT = Path(__file__).resolve().parents[2]
COMPARATIVE = ROOT / "protocols" / "tocilizumab-vs-abatacept-after-anti-tnf.yaml"
TABLES = ("patients", "visits", "treatments", "administrations", "steroids", "adverse_events")
ENDPOINTS = ("acr_pedi_30_month_3", "acr_pedi_30_month_6", "acr_pedi_30_month_12")

pytestmark = pytest.mark.xdist_group("comparative_study")
"""On one xdist worker: `compared` (the comparative protocol on 6,000 patients, about 2 s of
CPU) built once."""


@pytest.fixture(scope="module")
def synthetic() -> dict[str, pa.Table]:
    """6,000 synthetic patients (abatacept after an anti-TNF failure is the rarer switch: a few
    dozen patients)."""
    tables = generate_chunk(0, 6000, 20, seed=11, id_width=6)
    return {name: tables[name] for name in TABLES}


@pytest.fixture(scope="module")
def compared(synthetic: dict[str, pa.Table]) -> StudyResult:
    """The comparative protocol on the synthetic registry (DuckDB)."""
    return run_study(COMPARATIVE, tables=synthetic)


@pytest.mark.slow
def test_arms_and_their_flows(compared: StudyResult) -> None:
    r = compared.results.to_json()
    arms = r["arms"]
    assert list(arms) == ["tocilizumab", "abatacept"]
    assert arms["tocilizumab"]["n"] > arms["abatacept"]["n"] >= 20
    assert arms["tocilizumab"]["n"] + arms["abatacept"]["n"] == r["n"]
    for name, arm in arms.items():
        last = [s for s in r["attrition"] if s.get("arm") == name][-1]
        assert (last["rule"], last["n_remaining"]) == ("arm_assignment", arm["n"])
    assert set(compared.tables["patients"]["arm"]) == {"tocilizumab", "abatacept"}


@pytest.mark.slow
def test_comparison_keys_and_balance(compared: StudyResult) -> None:
    c = compared.results.to_json()["comparison"]
    assert (c["treated"], c["reference"]) == ("tocilizumab", "abatacept")
    assert c["methods"] == ["iptw", "matching"]
    assert c["threshold"] == 0.1
    n = compared.results.arms
    assert n is not None
    model = c["propensity"]
    assert model["n"] == n["tocilizumab"].n + n["abatacept"].n  # indicators: nobody left out
    assert model["converged"] and not model["separated"]
    assert model["terms"][0]["term"] == "(intercept)"
    terms = {row["term"] for row in c["balance"]}
    assert {"age_years", "baseline_chaq", "baseline_steroids", "sex=M"} <= terms
    assert "sex=F" not in terms  # the reference level has no term of its own
    assert {row["term"] for row in c["table1"]} >= {"sex=F", "sex=M", "age_years"}
    # weighting improves balance: the largest |SMD| after IPTW is below the one before
    assert c["max_abs_smd"]["iptw"] < c["max_abs_smd"]["unadjusted"]
    assert c["iptw"]["stabilized"] and c["iptw"]["estimand"] == "ATE"
    assert 0 < c["iptw"]["ess"]["abatacept"] <= n["abatacept"].n
    assert c["matching"]["pairs"] + c["matching"]["unmatched_treated"] == n["tocilizumab"].n


@pytest.mark.slow
def test_unadjusted_effects_match_the_datasets(compared: StudyResult) -> None:
    """The crude risks are the responders among the evaluable of each arm, as the patients
    analysis dataset lists them."""
    c = compared.results.to_json()["comparison"]
    data = analysis_datasets(compared, lambda pid: pid, identified=True).patients
    assert set(c["effects"]) == set(ENDPOINTS)
    for endpoint in ENDPOINTS:
        effect = c["effects"][endpoint]
        risks = {}
        for arm in ("tocilizumab", "abatacept"):
            outcome = data[data["arm"] == arm][endpoint]
            evaluable = outcome.isin(["responder", "nonresponder"])
            assert effect["evaluable"][arm] == int(evaluable.sum())
            assert effect["not_evaluable"][arm] == int((~evaluable).sum())
            risks[arm] = float((outcome == "responder").sum() / evaluable.sum())
        crude = effect["unadjusted"]
        assert crude["risk"]["tocilizumab"] == pytest.approx(risks["tocilizumab"], abs=1e-6)
        difference = risks["tocilizumab"] - risks["abatacept"]
        assert crude["risk_difference"]["estimate"] == pytest.approx(difference, abs=1e-6)
        low, high = crude["risk_difference"]["ci95"]
        assert low < crude["risk_difference"]["estimate"] < high
        assert effect["iptw"]["n"] == effect["evaluable"]
        assert effect["e_value"]["analysis"] == "iptw"
        assert effect["e_value"]["point"] >= 1


@pytest.mark.slow
def test_report_shows_the_comparison(compared: StudyResult) -> None:
    html = render_html(compared)
    for section in ('id="arm-flow"', 'id="table-1"', 'id="balance"', 'id="effects"'):
        assert section in html
    assert "Love plot" in html and "data:image/png;base64," in html
    assert "VanderWeele TJ, Ding P. Ann Intern Med 2017" in html
    assert "Multivariate Behav Res 2011;46:399-424" in html  # Austin 2011, PS and SMD 0.1
    assert len(html.encode()) < 2_000_000


def test_researchers_see_small_counts_suppressed(compared: StudyResult) -> None:
    """Counts of 1 to 4 patients in Table 1 show as "<5", their proportion withheld."""
    shown = suppress_small_counts(compared.results.to_json())["comparison"]
    raw = compared.results.to_json()["comparison"]
    small = [
        (i, arm)
        for i, row in enumerate(raw["table1"])
        for arm, cell in row["arms"].items()
        if cell["count"] is not None and 0 < cell["count"] < 5
    ]
    assert small  # e.g. few abatacept patients on corticosteroids at baseline
    for i, arm in small:
        cell = shown["table1"][i]["arms"][arm]
        assert (cell["count"], cell["mean"]) == ("<5", None)


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_assigns_the_same_arms(
    synthetic: dict[str, pa.Table], compared: StudyResult, fresh_pg_url: str
) -> None:
    load_postgres(fresh_pg_url, synthetic)
    on_postgres = run_study(COMPARATIVE, fresh_pg_url, engine="postgres").results.to_json()
    on_duckdb = compared.results.to_json()
    assert on_postgres["engine"] == "postgres"
    assert {k: v for k, v in on_postgres.items() if k != "engine"} == {
        k: v for k, v in on_duckdb.items() if k != "engine"
    }


@pytest.mark.slow
def test_a_single_arm_result_has_no_arm_keys() -> None:
    r: dict[str, Any] = run_study(
        FOUNDING_PROTOCOL, tables=read_template(COHORT_DIR)
    ).results.to_json()
    assert "arms" not in r and "comparison" not in r
    assert all("arm" not in step for step in r["attrition"])
    assert r["index_drug"] == "tocilizumab"
