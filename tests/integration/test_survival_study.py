"""A study with drug survival and responses at months 3, 6 and 12 under non-responder
imputation and LOCF, end to end on a synthetic registry: protocol → run → results.json →
report (issue #14 items 3-5)."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from PIL import Image

from jiareg.report.figures import PER_PATIENT_MAX
from jiareg.report.render import render_html
from jiareg.stats import cox_model, kaplan_meier_by_group
from jiareg.study.backends import load_postgres
from jiareg.study.dataset_files import write_datasets
from jiareg.study.datasets import analysis_datasets
from jiareg.study.endpoints import SummaryContext
from jiareg.study.endpoints.drug_survival import (
    DrugSurvivalDetails,
    DrugSurvivalEndpoint,
    survival_times,
)
from jiareg.study.endpoints.drug_survival import summarise as survival_summarise
from jiareg.study.result import StudyResult
from jiareg.study.run import run_study
from jiareg.synth.generate import generate_chunk

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("survival_study")]
"""On one xdist worker: `run` (3,000 patients, about 1 s of CPU) built once."""

TABLES = ("patients", "visits", "treatments", "administrations", "steroids", "adverse_events")
PROTOCOL = """\
title: Tocilizumab after anti-TNF failure - drug survival and response at months 3, 6, 12
eligibility:
  prior_failure: {drug_class: anti_tnf}
  exposure: {drug: tocilizumab}
timepoints:
  - {name: baseline, window: {from_day: -30, to_day: 0}, pick: last}
  - {name: month_3, window: {from_day: 63, to_day: 119}, pick: nearest, target_day: 91}
  - {name: month_6, window: {from_day: 150, to_day: 214}, pick: nearest, target_day: 182}
  - {name: month_12, window: {from_day: 300, to_day: 430}, pick: nearest, target_day: 365}
endpoints:
  - {id: core_set, kind: core_set, at: [baseline, month_3, month_6, month_12]}
  - {id: acr30_m3, kind: acr_pedi, level: 30, at: month_3, missing: nri}
  - {id: acr30_m6, kind: acr_pedi, level: 30, at: month_6, missing: nri}
  - {id: acr30_m12, kind: acr_pedi, level: 30, at: month_12, missing: nri}
  - {id: acr30_m12_locf, kind: acr_pedi, level: 30, at: month_12, missing: locf}
  - {id: acr30_m12_observed, kind: acr_pedi, level: 30, at: month_12}
  - {id: inactive, kind: inactive_disease, at: [month_3, month_6, month_12], missing: nri}
  - id: on_drug
    kind: drug_survival
    horizon_days: 730
    cox: true
    covariates: [age_years, sex, baseline_active_joints]
    strata: site
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> StudyResult:
    tables: dict[str, pa.Table] = generate_chunk(0, 3000, 10, seed=11, id_width=6)
    path = tmp_path_factory.mktemp("protocol") / "p.yaml"
    path.write_text(PROTOCOL)
    return run_study(path, tables={name: tables[name] for name in TABLES})


def test_results_of_nri_locf_and_drug_survival(run: StudyResult, tmp_path: Path) -> None:
    r: dict[str, Any] = run.results.to_json()
    cohort = r["n"]
    assert cohort > PER_PATIENT_MAX
    for endpoint in ("acr30_m3", "acr30_m6", "acr30_m12"):
        assert r[endpoint]["n"] == cohort  # everyone counted
        counted = r["endpoints"][endpoint]["denominators"][
            endpoint.split("_")[1].replace("m", "month_")
        ]
        assert counted["evaluable"] == cohort and counted["not_evaluable"] == {}
        assert sum(counted["imputed"].values()) > 0
    observed, nri, locf = (r[k] for k in ("acr30_m12_observed", "acr30_m12", "acr30_m12_locf"))
    # NRI only adds non-responders; LOCF keeps the observed and stops count as non-response
    assert nri["responders"] <= observed["responders"]
    assert nri["responders"] <= locf["responders"]
    imputed_nri, imputed_locf = (
        r["endpoints"][k]["denominators"]["month_12"]["imputed"]
        for k in ("acr30_m12", "acr30_m12_locf")
    )
    assert imputed_locf["stopped_before_timepoint"] == imputed_nri["stopped_before_timepoint"]
    survival = r["endpoints"]["on_drug"]
    counted = survival["denominators"]["follow_up"]
    assert counted["cohort"] == cohort
    arm = survival["arms"]["all"]
    assert arm["n"] == counted["evaluable"]
    assert arm["n_stopped"] == sum(survival["stop_reasons"]["all"].values()) > 0
    assert max(p["day"] for p in arm["curve"]) <= 730
    # the endpoint's curve is the stats module's on the same times
    endpoint = run.protocol.endpoints[-1]
    assert isinstance(endpoint, DrugSurvivalEndpoint)
    times = survival_times(endpoint, run.protocol, run.frames)[0]
    fit = kaplan_meier_by_group(
        [t.day for t in times], [t.stopped for t in times], [t.arm for t in times]
    )
    assert r["on_drug"]["all"] == fit.curves[0].median  # the headline
    assert arm["curve"][-1]["survival"] == pytest.approx(fit.curves[0].table[-1].survival)
    datasets = analysis_datasets(run, str, identified=True)
    patients = datasets.patients
    assert int(patients["on_drug_stopped"].eq(True).sum()) == arm["n_stopped"]
    assert int(patients["on_drug_day"].notna().sum()) == arm["n"]
    written = {p.name for p in write_datasets(datasets, tmp_path)}  # SAS, Stata, SPSS too
    assert {"patients.xpt", "patients.dta", "patients.sav"} <= written
    cox = survival["cox"]
    assert cox["stratified_by"] == "site"
    assert [t["term"] for t in cox["terms"]] == ["age_years", "sex=M", "baseline_active_joints"]
    assert cox["n"] + cox["excluded_missing_covariates"] == arm["n"]
    for term in cox["terms"]:
        low, high = term["ci95"]
        assert low < term["hazard_ratio"] < high
        assert 0 <= term["ph_p_value"] <= 1


def test_the_report_shows_response_over_time_and_drug_survival(run: StudyResult) -> None:
    html = render_html(run)
    assert len(html.encode("utf-8")) < 2_000_000
    assert 'id="response-over-time"' in html
    assert "Drug survival of the index biologic" in html
    assert 'id="courses"' not in html  # no swimmer plot for a registry-sized cohort
    assert "Aalen OO, Johansen S" in html and "Grambsch PM, Therneau TM" in html
    assert "Non-responder imputation" in html and "Last observation carried forward" in html
    assert "Hazard ratio, sex M vs F" in html and "baseline active joints, per joint" in html
    assert "ACR Pedi 30 at month 12, non-responder imputation" in html
    assert "ACR Pedi 30 at month 12, LOCF" in html
    assert "Clinical inactive disease at month 3, non-responder imputation" in html
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 3  # core set over time, response over time, drug survival
    for encoded in images:
        image = Image.open(io.BytesIO(base64.b64decode(encoded)))
        assert max(image.size) < 1600


def test_the_small_cohort_keeps_the_swimmer_plot(tmp_path: Path) -> None:
    tables: dict[str, pa.Table] = generate_chunk(0, 300, 10, seed=11, id_width=6)
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL)
    result = run_study(path, tables={name: tables[name] for name in TABLES})
    assert result.results.n <= PER_PATIENT_MAX
    html = render_html(result)
    assert 'id="courses"' in html and "Drug survival of the index biologic" in html


@pytest.mark.postgres
def test_postgres_gives_the_same_survival_and_imputation(
    run: StudyResult, fresh_pg_url: str, tmp_path: Path
) -> None:
    tables: dict[str, pa.Table] = generate_chunk(0, 3000, 10, seed=11, id_width=6)
    load_postgres(fresh_pg_url, {name: tables[name] for name in TABLES})
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL)
    on_postgres = run_study(path, fresh_pg_url, engine="postgres").results.to_json()
    on_duckdb = run.results.to_json()
    for key in ("on_drug", "acr30_m12", "acr30_m12_locf", "inactive"):
        assert on_postgres["endpoints"][key] == on_duckdb["endpoints"][key]


def test_the_cox_model_takes_the_arm_against_the_reference(run: StudyResult) -> None:
    """With an `arm` column (the arms work's contract), the arm is a Cox term against
    `reference_arm`, fitted on the same data as a direct `jiareg.stats.cox_model` call."""
    frames = dict(run.frames)
    patients = frames["patients"]
    frames["patients"] = patients.assign(
        arm=["abatacept" if sex == "M" else "tocilizumab" for sex in patients["sex"]]
    )
    endpoint = DrugSurvivalEndpoint(
        id="by_arm",
        kind="drug_survival",
        horizon_days=730,
        cox=True,
        covariates=("age_years",),
        reference_arm="tocilizumab",
    )
    frames["last_visit:by_arm"] = frames["last_visit:on_drug"]
    _, details = survival_summarise(
        endpoint, SummaryContext(run.protocol, frames, dict(run.tables))
    )
    assert isinstance(details, DrugSurvivalDetails)
    assert sorted(details.arms) == ["abatacept", "tocilizumab"]
    assert details.log_rank is not None and details.log_rank.df == 1
    cox = details.cox
    assert cox is not None and cox.terms is not None
    assert cox.reference_arm == "tocilizumab"
    assert [t.term for t in cox.terms] == ["arm=abatacept", "age_years"]
    times = survival_times(endpoint, run.protocol, frames)[0]
    ages = analysis_datasets(run, str, identified=True).patients.set_index("patient_id")
    kept = [t for t in times if ages.loc[t.patient_id, "age_years"] is not None]
    direct = cox_model(
        [t.day for t in kept],
        [t.stopped for t in kept],
        {
            "arm": [float(t.arm == "abatacept") for t in kept],
            "age": [float(ages.loc[t.patient_id, "age_years"]) for t in kept],
        },
    )
    assert cox.terms[0].hazard_ratio == pytest.approx(direct.terms[0].hazard_ratio)
    assert cox.terms[0].ph_p_value == pytest.approx(direct.ph_tests[0].p_value)
