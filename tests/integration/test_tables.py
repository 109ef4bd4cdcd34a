"""`jiareg study run ... --tables DIR`: the analysis datasets of the demo registry (issue #14 §1).

The files are read back with the libraries a statistician would use (pyarrow, pandas,
pyreadstat) and their numbers compared with the run's own results.json.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.demo import FOUNDING_PROTOCOL

pytestmark = [pytest.mark.slow, pytest.mark.pdf]  # `study run` writes report.pdf

STAT_READERS: dict[str, Callable[[Path], tuple[pd.DataFrame, Any]]] = {
    ".sav": pyreadstat.read_sav,
    ".dta": pyreadstat.read_dta,
    ".xpt": pyreadstat.read_xport,
}


@pytest.fixture(scope="module")
def tables(
    demo: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """The founding protocol on the demo registry with --tables: (tables DIR, results.json)."""
    registry = demo[0] / "registry.db"
    out = tmp_path_factory.mktemp("run")
    args = ["study", "run", str(FOUNDING_PROTOCOL), "--db", f"sqlite:///{registry}"]
    outcome = CliRunner().invoke(app, [*args, "--out", str(out), "--tables", str(out / "tables")])
    assert outcome.exit_code == 0, outcome.output
    return out / "tables", json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_every_file_is_written(tables: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = tables
    for name in ("patients", "timepoints"):
        for suffix in (".parquet", ".csv", ".xpt", ".dta", ".sav"):
            assert (folder / f"{name}{suffix}").stat().st_size > 0, f"{name}{suffix}"
    dictionary = pd.read_csv(folder / "data_dictionary.csv")
    assert list(dictionary.columns) == ["dataset", "variable", "label", "type", "unit", "values"]
    assert dictionary["label"].notna().all()
    assert "| age_years | age at the index date, completed years |" in (
        folder / "data_dictionary.md"
    ).read_text(encoding="utf-8")


def test_one_row_per_cohort_patient_and_deidentified(
    tables: tuple[Path, dict[str, Any]],
) -> None:
    folder, results = tables
    patients = pd.read_parquet(folder / "patients.parquet")
    assert len(patients) == results["n"] == 9
    assert patients["pseudonym"].str.fullmatch(r"R[0-9a-f]{16}").all()  # the export's ids
    assert patients["pseudonym"].is_unique
    assert not {"patient_id", "birth_date", "index_date", "visit_date"} & set(patients.columns)
    assert str(patients["age_years"].dtype) == "Int64"
    assert patients["age_years"].median() == 10  # the poster's median age
    timepoints = pd.read_parquet(folder / "timepoints.parquet")
    assert set(timepoints["pseudonym"]) == set(patients["pseudonym"])
    assert not timepoints.duplicated(["pseudonym", "timepoint"]).any()
    assert sum(results["timepoints"].values()) == len(timepoints)


def test_endpoints_match_results_json(tables: tuple[Path, dict[str, Any]]) -> None:
    folder, results = tables
    patients = pd.read_csv(folder / "patients.csv")
    counts = patients["acr_pedi_30"].value_counts()
    counted = results["endpoints"]["acr_pedi_30"]["denominators"]["follow_up"]
    assert counts.get("responder", 0) == results["acr_pedi_30"]["responders"]
    assert (
        counts.get("nonresponder", 0) == counted["evaluable"] - results["acr_pedi_30"]["responders"]
    )
    assert counts.get("not_evaluable", 0) == sum(counted["not_evaluable"].values())
    before = patients["responders_before_infusion_3"] == "responder"
    assert before.sum() == results["responders_before_infusion_3"]
    for timepoint, inactive in results["inactive_disease"].items():
        assert patients[f"inactive_disease_{timepoint}"].sum() == inactive
    reduced = patients["steroids"].isin(["REDUCED_LT50", "REDUCED_GE50", "DISCONTINUED"])
    assert reduced.sum() == results["steroids"]["reduced"]
    timepoints = pd.read_parquet(folder / "timepoints.parquet")
    baseline = timepoints[timepoints["timepoint"] == "baseline"]
    assert (
        baseline["active_joints"].median()
        == results["core_set"]["baseline"]["active_joints"]["median"]
    )


@pytest.mark.parametrize("suffix", sorted(STAT_READERS))
def test_statistical_files_carry_the_labels(
    tables: tuple[Path, dict[str, Any]], suffix: str
) -> None:
    folder, results = tables
    dictionary = pd.read_csv(folder / "data_dictionary.csv", keep_default_na=False)
    for name in ("patients", "timepoints"):
        frame, meta = STAT_READERS[suffix](folder / f"{name}{suffix}")
        expected = dictionary[dictionary["dataset"] == name]
        assert list(frame.columns) == list(expected["variable"])
        assert meta.column_names_to_labels == dict(
            zip(expected["variable"], expected["label"], strict=True)
        )
        if name == "patients":
            assert len(frame) == results["n"]
            assert (frame["acr_pedi_30"] == "responder").sum() == results["acr_pedi_30"][
                "responders"
            ]


def test_responder_ids_are_the_datasets_pseudonyms(tables: tuple[Path, dict[str, Any]]) -> None:
    folder, results = tables
    patients = pd.read_parquet(folder / "patients.parquet")
    responders = patients.loc[patients["acr_pedi_30"] == "responder", "pseudonym"]
    assert results["endpoints"]["acr_pedi_30"]["responder_ids"] == sorted(responders)


def test_identified_warns_and_keeps_ids(demo: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    registry = f"sqlite:///{demo[0] / 'registry.db'}"
    base = ["study", "run", str(FOUNDING_PROTOCOL), "--db", registry, "--out", str(tmp_path)]
    outcome = CliRunner().invoke(app, [*base, "--tables", str(tmp_path / "t"), "--identified"])
    assert outcome.exit_code == 0, outcome.output
    assert "administrators only" in outcome.output
    patients = pd.read_parquet(tmp_path / "t" / "patients.parquet")
    assert {"patient_id", "birth_date", "index_date"} <= set(patients.columns)
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    responders = patients.loc[patients["acr_pedi_30"] == "responder", "patient_id"]
    assert results["endpoints"]["acr_pedi_30"]["responder_ids"] == sorted(responders)
    assert results["endpoints"]["acr_pedi_30"] == demo[1]["endpoints"]["acr_pedi_30"]


@pytest.fixture(scope="module")
def synthetic_results() -> dict[str, Any]:
    """The founding protocol on a seeded synthetic registry of 3000 patients (results.json)."""
    from jiareg.study.run import run_study
    from jiareg.synth.generate import generate_chunk

    tables = generate_chunk(0, 3000, 10, seed=11, id_width=6)
    names = ("patients", "visits", "treatments", "administrations", "steroids", "adverse_events")
    return run_study(FOUNDING_PROTOCOL, tables={n: tables[n] for n in names}).results.to_json()


def test_every_endpoint_carries_denominators_that_add_up(
    synthetic_results: dict[str, Any],
) -> None:
    r = synthetic_results
    for endpoint_id, details in r["endpoints"].items():
        assert details["denominators"], endpoint_id
        for place, d in details["denominators"].items():
            assert d["cohort"] == r["n"], (endpoint_id, place)
            assert d["evaluable"] + sum(d["not_evaluable"].values()) == d["cohort"]
    follow_up = r["endpoints"]["acr_pedi_30"]["denominators"]["follow_up"]
    assert follow_up["evaluable"] == r["acr_pedi_30"]["n"]
    assert sum(follow_up["not_evaluable"].values()) > 0
    steroids = r["endpoints"]["steroids"]["denominators"]["on_treatment"]
    not_users = steroids["not_evaluable"]["not_on_steroids_at_baseline"]
    assert r["n"] - not_users == r["steroids"]["baseline_users"]
    inactive = r["endpoints"]["inactive_disease"]
    for timepoint, count in r["inactive_disease"].items():
        assert count <= inactive["denominators"][timepoint]["evaluable"]
    assert (
        r["endpoints"]["time_to_acr_pedi_30"]["denominators"]["follow_up"]["evaluable"]
        == (r["time_to_acr_pedi_30"]["n"])
    )
