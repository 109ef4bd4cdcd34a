"""The report's drug-survival and response-over-time figures with two arms (the `arm` column
the arms work adds to the cohort), from real endpoint summaries of a hand-built registry."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from tests.unit.study.registry import Registry
from tests.unit.study.test_drug_survival_endpoint import cases
from tests.unit.study.test_missing_data import PROTOCOL as MISSING_PROTOCOL
from tests.unit.study.test_missing_data import cases as missing_cases

from jiareg.report.figures import DPI
from jiareg.report.survival import ResponseSeries, survival_rows
from jiareg.report.survival_figures import drug_survival_figure, response_over_time
from jiareg.study.endpoints import SummaryContext
from jiareg.study.endpoints.acr_pedi import AcrPediDetails, AcrPediEndpoint
from jiareg.study.endpoints.acr_pedi import summarise as acr_summarise
from jiareg.study.endpoints.drug_survival import DrugSurvivalDetails, DrugSurvivalEndpoint
from jiareg.study.endpoints.drug_survival import summarise as survival_summarise
from jiareg.study.endpoints.inactive_disease import InactiveDiseaseDetails, InactiveDiseaseEndpoint
from jiareg.study.endpoints.inactive_disease import summarise as cid_summarise
from jiareg.study.run import run_study

SURVIVAL = """\
title: two arms
eligibility:
  exposure: {drug: tocilizumab}
timepoints:
  - {name: baseline, window: {from_day: -30, to_day: 0}, pick: last}
endpoints:
  - {id: on_drug, kind: drug_survival}
"""


def _png_ok(png: bytes) -> None:
    image = Image.open(io.BytesIO(png))
    assert round(image.info["dpi"][0]) == DPI
    assert 400 < max(image.size) < 1600


@pytest.mark.slow
def test_drug_survival_by_arm_draws_and_reads(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(SURVIVAL)
    result = run_study(path, tables=cases(Registry()).tables())
    frames = dict(result.frames)
    arm = {"STOP30": "a", "DAY0": "a", "NOFU": "a", "ONGOING": "b", "NOREASON": "b", "LATE": "b"}
    frames["patients"] = frames["patients"].assign(arm=frames["patients"]["patient_id"].map(arm))
    endpoint = result.protocol.endpoints[0]
    assert isinstance(endpoint, DrugSurvivalEndpoint)
    medians, details = survival_summarise(
        endpoint, SummaryContext(result.protocol, frames, dict(result.tables))
    )
    assert isinstance(details, DrugSurvivalDetails)
    _png_ok(drug_survival_figure(details))
    rows = dict(survival_rows(details, medians))
    assert rows["a: patients, stopped"] == "2, 2"
    assert rows["b: median time on drug (95 % CI)"].startswith("300 days")
    assert rows["a: stopped for"] == "primary inefficacy 1, adverse event 1"
    assert rows["Log-rank test"].startswith("χ² ")


@pytest.mark.slow
def test_response_counts_by_arm_and_the_figure(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(MISSING_PROTOCOL)
    result = run_study(path, tables=missing_cases(Registry()).tables())
    frames = dict(result.frames)
    arm = {"A": "x", "B": "x", "C": "x", "D": "y", "E": "y", "F": "y"}
    frames["patients"] = frames["patients"].assign(arm=frames["patients"]["patient_id"].map(arm))
    context = SummaryContext(result.protocol, frames, dict(result.tables))
    nri = next(e for e in result.protocol.endpoints if e.id == "acr_nri")
    cid = next(e for e in result.protocol.endpoints if e.id == "cid_locf")
    assert isinstance(nri, AcrPediEndpoint) and isinstance(cid, InactiveDiseaseEndpoint)
    acr = acr_summarise(nri, context)[1]
    assert isinstance(acr, AcrPediDetails)
    # x: A responds, B and C imputed non-responders; y: D stopped, E, F non-responders
    assert {a: (c.responders, c.n) for a, c in acr.by_arm.items()} == {"x": (1, 3), "y": (0, 3)}
    states = cid_summarise(cid, context)[1]
    assert isinstance(states, InactiveDiseaseDetails)
    # month 6 under LOCF: x = A inactive, B carried inactive, C carried not; y: none inactive
    assert states.by_arm["x"]["month_6"].inactive == 2
    assert states.by_arm["y"]["month_6"].inactive == 0
    series = [
        ResponseSeries(
            "Clinical inactive disease, last observation carried forward",
            {
                name: {
                    a: (s[name].inactive, s[name].inactive + s[name].not_inactive)
                    for a, s in states.by_arm.items()
                }
                for name in cid.at
            },
        )
    ]
    _png_ok(response_over_time(series, ("month_3", "month_6")))
