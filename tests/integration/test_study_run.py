"""`jiareg study run` on any registry: a second protocol without code changes, the CLI, an
empty cohort, and the same results on DuckDB, PostgreSQL and Spark."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.demo import COHORT_DIR
from jiareg.services.imports import import_path
from jiareg.study.backends import load_postgres, write_snapshot
from jiareg.study.deidentify import whole_year_ages
from jiareg.study.result import StudyResult
from jiareg.study.run import _materialise, run_study
from jiareg.synth.generate import generate_chunk

ROOT = Path(__file__).resolve().parents[2]
FOUNDING = ROOT / "protocols" / "tocilizumab-after-anti-tnf.yaml"
SECOND = ROOT / "protocols" / "tocilizumab-polyarticular-months-3-6.yaml"
TABLES = ("patients", "visits", "treatments", "administrations", "steroids", "adverse_events")


@pytest.fixture(scope="module")
def synthetic() -> dict[str, pa.Table]:
    """A seeded synthetic registry of 3000 patients (H8's generator), template tables only."""
    tables = generate_chunk(0, 3000, 10, seed=11, id_width=6)
    return {name: tables[name] for name in TABLES}


@pytest.fixture(scope="module")
def founding_on_duckdb(synthetic: dict[str, pa.Table]) -> StudyResult:
    """The founding protocol on `synthetic` with DuckDB, run once (read only)."""
    return run_study(FOUNDING, tables=synthetic)


@pytest.fixture(scope="module")
def second_on_duckdb(synthetic: dict[str, pa.Table]) -> StudyResult:
    """The second protocol on `synthetic` with DuckDB, run once (read only)."""
    return run_study(SECOND, tables=synthetic)


ON_ONE_WORKER = pytest.mark.xdist_group("study_run")
"""The tests of the two runs above on one xdist worker, so that each is run once there (about
1 s of CPU each); the Spark test's own run goes with the Spark tests."""


def _comparable(results: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in results.items() if k != "engine"}


@pytest.mark.slow
@ON_ONE_WORKER
def test_second_protocol_runs_on_a_synthetic_registry(second_on_duckdb: StudyResult) -> None:
    r = second_on_duckdb.results.to_json()
    flow = r["attrition"]
    assert [s["rule"] for s in flow] == ["registry", "ilar_category", "exposure", "baseline_visit"]
    assert flow[0]["n_remaining"] == 3000
    assert r["n"] == flow[-1]["n_remaining"] > 10
    assert set(r["categories"]) <= {"poly_rf_neg", "poly_rf_pos", "oligo_extended"}
    for endpoint in ("acr_pedi_30_month_3", "acr_pedi_50_month_6", "acr_pedi_70_month_6"):
        (counted,) = r["endpoints"][endpoint]["denominators"].values()
        assert r[endpoint]["responders"] <= r[endpoint]["n"] == counted["evaluable"]
        assert counted["evaluable"] + sum(counted["not_evaluable"].values()) == r["n"]
    # nested levels (R-ACRPEDI-3): a responder at 50 is one at 30
    assert r["acr_pedi_50_month_6"]["responders"] <= r["acr_pedi_30_month_6"]["responders"]
    assert set(r["core_set"]) == {"baseline", "month_3", "month_6"}
    # globals are summarised on 0-10 only: a Likert site's values are missing, never mixed in
    assert r["core_set"]["baseline"]["phys_global"]["max"] <= 10
    assert r["time_to_acr_pedi_50"]["n"] <= r["n"]


@pytest.mark.slow
@ON_ONE_WORKER
def test_founding_protocol_on_a_synthetic_registry(founding_on_duckdb: StudyResult) -> None:
    r = founding_on_duckdb.results.to_json()
    assert r["n"] > 0
    assert r["responders_before_infusion_3"] <= r["acr_pedi_30"]["responders"]
    assert set(r["prior_anti_tnf"]) <= {"etanercept", "adalimumab", "infliximab"}


@pytest.mark.pdf  # `jiareg study run` writes report.pdf
def test_cli_study_run_on_sqlite_and_empty_cohort(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    import_path(COHORT_DIR, db)
    out = tmp_path / "out"
    runner = CliRunner()
    ok = runner.invoke(app, ["study", "run", str(SECOND), "--db", db, "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    results = json.loads((out / "results.json").read_text())
    assert results["n"] == 2  # the two polyarticular demo patients
    assert (out / "report.pdf").is_file()

    empty = tmp_path / "psoriatic.yaml"
    empty.write_text(
        SECOND.read_text().replace("[poly_rf_neg, poly_rf_pos, oligo_extended]", "[psoriatic]")
    )
    failed = runner.invoke(
        app, ["study", "run", str(empty), "--db", db, "--out", str(tmp_path / "x")]
    )
    assert failed.exit_code == 1
    assert (
        "is empty: 9 patient(s) remained before the step 'ILAR category psoriatic'" in failed.output
    )
    assert not (tmp_path / "x" / "results.json").exists()


def test_cli_rejects_a_bad_protocol_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(FOUNDING.read_text().replace("drug: tocilizumab", "drug: tocilizumabb"))
    outcome = CliRunner().invoke(app, ["study", "run", str(bad), "--out", str(tmp_path / "o")])
    assert outcome.exit_code == 1
    assert "eligibility.exposure.drug: unknown drug 'tocilizumabb'" in outcome.output
    assert "line 16" in outcome.output


@pytest.mark.postgres
@pytest.mark.slow  # both protocols on 3,000 patients; make test runs it, as its Spark twin
@ON_ONE_WORKER
def test_postgres_gives_the_same_results(
    synthetic: dict[str, pa.Table],
    founding_on_duckdb: StudyResult,
    second_on_duckdb: StudyResult,
    fresh_pg_url: str,
) -> None:
    load_postgres(fresh_pg_url, synthetic)
    for protocol, on_duckdb in ((FOUNDING, founding_on_duckdb), (SECOND, second_on_duckdb)):
        on_postgres = run_study(protocol, fresh_pg_url, engine="postgres").results.to_json()
        assert on_postgres["engine"] == "postgres"
        assert _comparable(on_postgres) == _comparable(on_duckdb.results.to_json())


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.pdf  # `jiareg study run` writes report.pdf
def test_cli_study_run_on_spark_reads_the_snapshot(
    synthetic: dict[str, pa.Table], second_on_duckdb: StudyResult, tmp_path: Path, spark: Any
) -> None:
    """`jiareg study run --snapshot --engine spark`, as production runs a data cut on Spark,
    gives DuckDB's results. The CLI's results.json has whole-year ages; the exact ages on Spark
    are compared by tests/integration/test_engine_parity.py (the founding protocol)."""
    cut = tmp_path / "cut"
    write_snapshot(synthetic, cut)  # what `jiareg snapshot` writes
    on_spark = _cli_results(tmp_path, SECOND, "--snapshot", str(cut), "--engine", "spark")
    assert on_spark["engine"] == "spark"
    expected = whole_year_ages(second_on_duckdb.results).to_json()
    assert _comparable(on_spark) == _comparable(expected)


@pytest.mark.spark
def test_spark_keeps_a_runs_tables_with_their_lineage_cut(
    spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a local master a table the run keeps (`_materialise`) is a local checkpoint: later
    plans scan its rows instead of carrying the plan that made them; its view goes with the
    run."""
    import ibis

    spark.range(6).createOrReplaceTempView("numbers")
    con = ibis.pyspark.connect(spark)
    with ExitStack() as run:
        kept = _materialise(con, con.table("numbers").filter(lambda t: t.id % 2 == 0), run)
        spark.table(kept.get_name()).explain(extended=True)
        plan = capsys.readouterr().out
        assert "ExistingRDD" in plan and "Filter" not in plan and "Range" not in plan, plan
        assert sorted(kept.to_pyarrow()["id"].to_pylist()) == [0, 2, 4]
    assert not spark.catalog.tableExists(kept.get_name())


@pytest.fixture(scope="module")
def demo_cut(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The demo registry in SQLite and its snapshot (`jiareg snapshot`)."""
    folder = tmp_path_factory.mktemp("demo-cut")
    db = f"sqlite:///{folder / 'registry.db'}"
    import_path(COHORT_DIR, db)
    cut = folder / "cut"
    done = CliRunner().invoke(app, ["snapshot", "--db", db, "--out", str(cut)])
    assert done.exit_code == 0, done.output
    return db, cut


def _cli_results(tmp_path: Path, protocol: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "-".join(a.strip("-") for a in args if a.startswith("--"))
    done = CliRunner().invoke(
        app, ["study", "run", str(protocol), *args, "--identified", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    results: dict[str, Any] = json.loads((out / "results.json").read_text())
    return results


@pytest.mark.pdf  # `jiareg study run` writes report.pdf
def test_cli_study_run_on_a_snapshot_equals_the_registry(
    demo_cut: tuple[str, Path], tmp_path: Path
) -> None:
    db, cut = demo_cut
    on_db = _cli_results(tmp_path, FOUNDING, "--db", db)
    on_cut = _cli_results(tmp_path, FOUNDING, "--snapshot", str(cut))
    assert on_db["n"] == 9
    assert on_cut == on_db


def test_cli_study_run_refuses_conflicting_sources(
    demo_cut: tuple[str, Path], tmp_path: Path
) -> None:
    db, cut = demo_cut
    runner = CliRunner()
    both = runner.invoke(
        app,
        ["study", "run", str(FOUNDING), "--db", db, "--snapshot", str(cut), "--out", str(tmp_path)],
    )
    assert both.exit_code == 2
    assert "give --db or --snapshot, not both" in both.output
    master = runner.invoke(
        app,
        [
            "study",
            "run",
            str(FOUNDING),
            "--snapshot",
            str(cut),
            "--spark-master",
            "local[1]",
            "--out",
            str(tmp_path),
        ],
    )
    assert master.exit_code == 2
    assert "only --engine spark uses a Spark master" in master.output
    assert not (tmp_path / "results.json").exists()
