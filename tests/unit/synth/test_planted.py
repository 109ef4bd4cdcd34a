"""`jiareg synth --planted-effect`: the default registry is unchanged byte for byte; a compared
patient's record is exactly one of its two generated versions; the drug follows the measured
confounders; truth.json is written and agrees with itself."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import InputError
from jiareg.stats.propensity import propensity_scores
from jiareg.synth import model as m
from jiareg.synth import write_registry
from jiareg.synth.planted import COMPARED, PlantedChunk, PlantedEffect, generate_planted_chunk

runner = CliRunner()

# sha256 of `write_registry(patients=6000, visits=10, seed=2)` (CSV, two chunks) written by the
# generator before the planted option existed (commit ee147c9): without the option, the same
# seed must give the same bytes (bench's cached registries and the tests rely on it).
GOLDEN = {
    "administrations.csv": "46b19a486fe42038c85812f123cd5b3c5b49d71aae9608328405babb3e447945",
    "adverse_events.csv": "91d5199b25b4fe3a5996fea2bbd19611b42d75df3e0e5ab521fc0d602470b0db",
    "patients.csv": "9393436452391df86b43226eaf233ee26b3980971544072bd7d48ff0a7638600",
    "steroids.csv": "0a5af7cb71d58859371a5e12433ecf55ea59d2d2b012d0213b38fee38cc2bf7f",
    "treatments.csv": "3018f015f7a5d169abc521e0e998967b2130e329e9e822def377f2d7d5d7edcb",
    "visits.csv": "6dc99f6641a543c68ce0131dd8eade90f33a36005bdf09079df53eb6a48d3631",
}


def test_without_the_option_the_registry_is_byte_identical(tmp_path: Path) -> None:
    write_registry(tmp_path / "reg", patients=6000, visits=10, seed=2)
    digests = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / "reg").iterdir()
    }
    assert digests == GOLDEN


@pytest.fixture(scope="module")
def chunks() -> list[PlantedChunk]:
    """Three chunks (15,000 patients, ~1,000 compared) of one planted registry."""
    return [
        generate_planted_chunk(first, 5000, 14, 21, 6, PlantedEffect())
        for first in (0, 5000, 10000)
    ]


def _rows(table: pa.Table, patient_id: str) -> pa.Table:
    return table.filter(pc.equal(table["patient_id"], patient_id))


@pytest.mark.slow
def test_a_compared_patient_is_exactly_the_version_of_the_assigned_drug(
    chunks: list[PlantedChunk],
) -> None:
    chunk = chunks[0]
    patients = chunk.patients.to_pylist()
    assert len(patients) > 200
    for person in patients[:60]:
        pid, drug = person["patient_id"], person["assigned"]
        other = COMPARED[1 - COMPARED.index(drug)]
        for name, table in chunk.tables.items():
            assert _rows(table, pid).equals(_rows(chunk.worlds[drug][name], pid)), (pid, name)
        courses = _rows(chunk.tables["treatments"], pid).to_pylist()
        assert [c["drug"] for c in courses if c["drug"] in COMPARED] == [drug]
        # The other version differs in the drug only from the index date on.
        index = next(c["start_date"] for c in courses if c["drug"] == drug)
        mine = _rows(chunk.tables["visits"], pid)
        theirs = _rows(chunk.worlds[other]["visits"], pid)
        before = pc.less_equal(mine["visit_date"], pa.scalar(index))
        assert mine.filter(before).equals(theirs.filter(before))
        assert mine["visit_date"].equals(theirs["visit_date"])  # the same schedule


@pytest.mark.slow
def test_only_compared_patients_get_either_drug_after_an_anti_tnf_failure(
    chunks: list[PlantedChunk],
) -> None:
    for chunk in chunks:
        t = chunk.tables["treatments"].to_pandas()
        failed = t[
            t["drug"].isin(m.ANTI_TNF)
            & t["stop_reason"].isin(["primary_failure", "secondary_failure"])
        ]
        failed = failed[["patient_id", "stop_date"]].rename(columns={"stop_date": "failed_on"})
        after = t.merge(failed, on="patient_id")
        after = after[after["drug"].isin(COMPARED) & (after["start_date"] >= after["failed_on"])]
        compared = set(chunk.patients["patient_id"].to_pylist())
        assert set(after["patient_id"]) == compared
        assert after.groupby("patient_id").size().max() == 1
        # ... on the failure's stop day, with infusions from that day (the index date).
        assert (after["start_date"] == after["failed_on"]).all()
        adm = chunk.tables["administrations"].to_pandas()
        first = adm[adm["drug"].isin(COMPARED)].groupby("patient_id")["date"].min()
        assert (first[after["patient_id"]].to_numpy() == after["start_date"].to_numpy()).all()


def test_the_drug_follows_the_measured_confounders(chunks: list[PlantedChunk]) -> None:
    people = pa.concat_tables([c.patients for c in chunks]).to_pandas()
    tcz = people["assigned"] == "tocilizumab"
    share = people.groupby("systemic")["assigned"].apply(lambda a: (a == "tocilizumab").mean())
    assert share[True] > 0.8 and share[False] < 0.6  # confounding by indication
    assert people.loc[tcz, "active_joints"].mean() > people.loc[~tcz, "active_joints"].mean() + 1
    # A logistic model of the assignment on the three covariates finds the planted coefficients
    # (per joint and per year: the model's are per 5 joints and per 4 years), within 3 SE.
    fit = propensity_scores(
        {
            "systemic": people["systemic"].astype(float).tolist(),
            "active_joints": people["active_joints"].astype(float).tolist(),
            "age": people["age_years"].astype(float).tolist(),
        },
        tcz.tolist(),
    )
    coef = {c.name: c for c in fit.coefficients}
    p = m.PROPENSITY_TOCILIZUMAB
    planted = {
        "systemic": p["systemic"],
        "active_joints": p["active_joints"] / m.PLANTED_ACTIVE_JOINTS[1],
        "age": p["age"] / m.PLANTED_AGE_Y[1],
    }
    for name, value in planted.items():
        assert abs(coef[name].coef - value) < 3 * coef[name].se, name
    # The recorded propensity is the model's: mean assignment follows it.
    assert people["propensity"].mean() == pytest.approx(tcz.mean(), abs=0.04)


def test_response_and_stopping_depend_on_the_drug(chunks: list[PlantedChunk]) -> None:
    people = pa.concat_tables([c.patients for c in chunks]).to_pandas()
    on = {d: people[f"responder_{d}"] for d in COMPARED}
    # Same draws: the planted OR > 1 makes every abatacept responder a tocilizumab responder.
    assert not (on["abatacept"] & ~on["tocilizumab"]).any()
    assert on["tocilizumab"].mean() > on["abatacept"].mean() + 0.08
    stopped = {d: people[f"stop_day_{d}"].notna().mean() for d in COMPARED}
    assert stopped["tocilizumab"] < stopped["abatacept"] - 0.05
    reasons = people["stop_reason_abatacept"].dropna()
    assert set(reasons) <= {
        "primary_failure",
        "secondary_failure",
        "intolerance",
        "adverse_event",
        "remission",
        "other",
    }
    # Non-responders stop for primary failure, never for remission.
    nonresponder = ~on["abatacept"]
    assert "remission" not in set(people.loc[nonresponder, "stop_reason_abatacept"].dropna())


@pytest.mark.parametrize(("odds", "hazard"), [(0.0, 0.6), (2.0, -1.0), (math.nan, 0.6)])
def test_effects_must_be_positive(odds: float, hazard: float) -> None:
    with pytest.raises(InputError, match="must be a positive number"):
        PlantedEffect(odds, hazard)


@pytest.mark.slow
def test_cli_writes_truth_json_beside_the_tables(tmp_path: Path) -> None:
    out = tmp_path / "planted"
    args = ["synth", "--patients", "5000", "--visits", "12", "--seed", "4", "--out", str(out)]
    result = runner.invoke(app, [*args, "--parquet", "--planted-effect", "--true-or", "3"])
    assert result.exit_code == 0, result.output
    assert "truth.json" in result.output
    truth = json.loads((out / "truth.json").read_text())
    assert truth["planted"]["odds_ratio"] == 3.0 and truth["planted"]["hazard_ratio"] == 0.6
    comparison = truth["comparison"]
    assert comparison["n_tocilizumab"] + comparison["n_abatacept"] == comparison["n_patients"]
    assert comparison["n_outside_cohort"] == 0 and comparison["n_patients"] > 250
    assert "Y(tocilizumab)" in truth["definition"]
    for name in ("month_3", "month_6", "month_12"):
        acr = truth["estimands"]["acr_pedi_30"][name]
        ate, att, crude = acr["ate"], acr["att"], acr["crude"]
        assert ate["risk_difference"] == pytest.approx(
            ate["risk_tocilizumab"] - ate["risk_abatacept"]
        )
        odds = ate["odds_ratio"]
        p1, p0 = ate["risk_tocilizumab"], ate["risk_abatacept"]
        assert odds == pytest.approx(p1 / (1 - p1) / (p0 / (1 - p0)))
        assert odds > 1  # the planted effect favours tocilizumab
        # The treated arm's observed risk is their potential risk on tocilizumab (consistency).
        assert crude["risk_tocilizumab"] == att["risk_tocilizumab"]
    survival = truth["estimands"]["drug_survival"]
    assert survival["marginal_hazard_ratio"] < 1
    assert survival["survival_365_days"]["tocilizumab"] > survival["survival_365_days"]["abatacept"]
    assert truth["protocol"]["timepoints"]["month_3"] == {
        "from_day": 63,
        "to_day": 119,
        "pick": "nearest",
        "target_day": 91,
    }


def test_cli_refuses_effect_flags_without_the_option(tmp_path: Path) -> None:
    out = tmp_path / "reg"
    result = runner.invoke(app, ["synth", "--patients", "50", "--out", str(out), "--true-hr", "2"])
    assert result.exit_code == 1 and "need --planted-effect" in result.output
    assert not out.exists()


def test_too_small_a_registry_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "reg"
    with pytest.raises(InputError, match="at least 10 on each"):
        write_registry(out, patients=60, visits=10, seed=1, planted=PlantedEffect())
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_planted_registries_are_reproducible() -> None:
    a = generate_planted_chunk(0, 800, 12, 5, 6, PlantedEffect())
    b = generate_planted_chunk(0, 800, 12, 5, 6, PlantedEffect())
    assert all(a.tables[n].equals(b.tables[n]) for n in a.tables)
    assert a.patients.equals(b.patients)
    assert np.isfinite(a.patients["propensity"].to_numpy()).all()
