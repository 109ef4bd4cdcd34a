"""One test body, three engines: DuckDB, PostgreSQL and Spark give identical answers.

The registry is synthetic (`jiareg.synth`): missing values, zero baselines, exact boundary
pairs (6 -> 4.2, 10 -> 13, 60 -> 42 on 0-100) and mixed global scales. Each engine reads it
the way production does: DuckDB from Arrow, PostgreSQL from the database (bulk-loaded with
COPY) and Spark from a Parquet snapshot.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from tests.support.backends import Backend
from tests.support.derivation import derivation_plan, follow_up_pairs, scalar_rows

from jiareg.store.tables import arrow_schema
from jiareg.study.backends import load_postgres, open_registry, write_snapshot
from jiareg.study.run import run_study
from jiareg.synth import iter_registry

PROTOCOL = Path(__file__).parents[2] / "protocols" / "tocilizumab-after-anti-tnf.yaml"
VOLATILE_KEYS = {"engine", "elapsed_seconds", "timing", "run_started", "run_seconds"}
"""results.json keys that may differ between engines (engine name, timing)."""

pytestmark = pytest.mark.xdist_group("engine_parity")
"""The DuckDB and PostgreSQL tests on one xdist worker: `registry`, `scalar_reference` and
`duckdb_results` (about 3 s of CPU) built once there; the Spark tests go with the Spark tests."""

# Hand-made pairs on top of the synthetic visits: (baseline, follow-up, expected level).
_EDGE_COLUMNS = ("phys_global", "phys_global_scale", "parent_global", "parent_global_scale",
                 "chaq", "active_joints", "lom_joints", "esr")  # fmt: skip
_B = (6, "0-10", 6, "0-10", 1, 10, 10, 10)
EDGES: dict[str, tuple[tuple[Any, ...], tuple[Any, ...], int | None]] = {
    # 5 variables exactly -30 %, ESR exactly +30 % (not worsening): ACR Pedi 30, not 50.
    "E-exact-30": (_B, (4.2, "0-10", 4.2, "0-10", 0.7, 7, 7, 13), 30),
    # The same on the 0-100 scale.
    "E-0-100": (
        (60, "0-100", 60, "0-100", 1, 10, 10, 10),
        (42, "0-100", 42, "0-100", 0.7, 7, 7, 13),
        30,
    ),
    # Zero baselines that rise are worsening (config.zero_baseline_worsening = any_increase).
    "E-zero-base": ((5, "0-10", 5, "0-10", 0, 4, 0, 0), (2, "0-10", 2, "0-10", 0.25, 2, 1, 5), 0),
    # Physician global 0-10 vs 0-3 is not comparable (missing); 5 others improve 50 %.
    "E-mixed-scale": ((6, "0-10", 6, "0-10", 2, 8, 8, 40), (1, "0-3", 3, "0-10", 1, 4, 4, 20), 50),
    # Everything missing at follow-up: not evaluable.
    "E-all-missing": (_B, (None, "0-10", None, "0-10", None, None, None, None), None),
}


def _edge_visits() -> pa.Table:
    rows = []
    for pid, (base, follow, _) in EDGES.items():
        for day, values in ((dt.date(2020, 1, 1), base), (dt.date(2020, 2, 1), follow)):
            rows.append(
                {
                    "patient_id": pid,
                    "visit_date": day,
                    **dict(zip(_EDGE_COLUMNS, values, strict=True)),
                }
            )
    frame = pd.DataFrame(rows)
    schema = arrow_schema("visits")
    columns = {
        f.name: pa.array(frame[f.name] if f.name in frame else [None] * len(frame), f.type)
        for f in schema
    }
    return pa.table(columns, schema=schema)


@pytest.fixture(scope="module")
def registry() -> dict[str, pa.Table]:
    """1,500 synthetic patients x ~12 visits, plus the hand-made edge pairs in `visits`."""
    chunks = list(iter_registry(1500, 12, seed=2026))
    tables = {name: pa.concat_tables([c[name] for c in chunks]) for name in chunks[0]}
    tables["visits"] = pa.concat_tables([tables["visits"], _edge_visits()])
    edge_patients = pa.table(
        {
            "patient_id": list(EDGES),
            "site": ["site_01"] * len(EDGES),
            "sex": ["F"] * len(EDGES),
            "birth_date": [dt.date(2010, 1, 1)] * len(EDGES),
            "ilar_category": ["oligo_persistent"] * len(EDGES),
            "onset_date": [dt.date(2019, 1, 1)] * len(EDGES),
        },
        schema=arrow_schema("patients"),
    )
    tables["patients"] = pa.concat_tables([tables["patients"], edge_patients])
    return tables


@pytest.fixture(scope="module")
def sources(
    registry: dict[str, pa.Table], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Where each engine reads the registry (filled lazily, once per module)."""
    return {"registry": registry, "tmp": tmp_path_factory.mktemp("parity")}


def _source(engine: str, sources: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """Keyword arguments telling open_registry / run_study where this engine's data is."""
    if engine == "duckdb":
        return {"tables": sources["registry"]}
    if engine == "postgres":
        if "db_url" not in sources:
            url = request.getfixturevalue("module_pg_url")
            load_postgres(url, sources["registry"])
            sources["db_url"] = url
        return {"db_url": sources["db_url"]}
    request.getfixturevalue("spark")  # the run's one SparkSession
    if "snapshot" not in sources:
        sources["snapshot"] = sources["tmp"] / "snapshot"
        write_snapshot(sources["registry"], sources["snapshot"])
    return {"snapshot_dir": sources["snapshot"]}


@pytest.fixture()
def engine(
    backend: Backend, request: pytest.FixtureRequest, sources: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The `backend` engine's name and where it reads the registry."""
    return backend.name, _source(backend.name, sources, request)


@pytest.fixture(scope="module")
def scalar_reference(registry: dict[str, pa.Table]) -> pd.DataFrame:
    """The exact scalar rules row by row: on 300 synthetic patients and the edge pairs."""
    visits = registry["visits"].to_pandas()
    keep = set(visits["patient_id"].drop_duplicates().iloc[:300]) | set(EDGES)
    return _sorted(scalar_rows(follow_up_pairs(visits[visits["patient_id"].isin(keep)])))


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.sort_values(["patient_id", "visit_date"]).reset_index(drop=True)
    frame["acr_pedi_level"] = frame["acr_pedi_level"].astype("Int64")
    frame["jadas10"] = frame["jadas10"].astype("float64")
    frame["visit_date"] = pd.to_datetime(frame["visit_date"]).dt.date
    return frame


@pytest.mark.slow
def test_derivations_equal_the_scalar_rules(
    engine: tuple[str, dict[str, Any]], scalar_reference: pd.DataFrame
) -> None:
    name, source = engine
    con = open_registry(
        source.get("db_url"),
        engine=name,
        tables=source.get("tables"),
        snapshot_dir=source.get("snapshot_dir"),
    )  # type: ignore[arg-type]
    visits = con.table("visits")
    plan = derivation_plan(
        visits.filter(visits.patient_id.isin(list(scalar_reference["patient_id"].unique())))
    )
    got = _sorted(plan.to_pyarrow().to_pandas())
    if name == "postgres":  # Spark's connection is the run's one session: left open
        con.disconnect()
    assert len(got) == len(scalar_reference) > 3000
    assert got["acr_pedi_level"].equals(scalar_reference["acr_pedi_level"])
    pd.testing.assert_series_equal(got["jadas10"], scalar_reference["jadas10"], rtol=0, atol=1e-9)
    edges = got.set_index("patient_id").loc[list(EDGES), "acr_pedi_level"]
    for pid, (_, _, expected) in EDGES.items():
        assert (None if pd.isna(edges[pid]) else int(edges[pid])) == expected, pid


def _stable(results: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in results.items() if k not in VOLATILE_KEYS}


@pytest.fixture(scope="module")
def duckdb_results(registry: dict[str, pa.Table]) -> dict[str, Any]:
    return run_study(PROTOCOL, tables=registry).results.to_json()


@pytest.mark.slow
def test_study_results_are_identical(
    engine: tuple[str, dict[str, Any]], duckdb_results: dict[str, Any]
) -> None:
    name, source = engine
    results = run_study(PROTOCOL, engine=name, **source).results.to_json()  # type: ignore[arg-type]
    assert results["engine"] == name
    assert duckdb_results["n"] > 30
    assert _stable(results) == _stable(duckdb_results)


def test_the_registry_holds_the_edge_cases(registry: dict[str, pa.Table]) -> None:
    """The synthetic part alone meets exact boundaries at tocilizumab baselines."""
    visits = registry["visits"].to_pandas()
    synthetic = visits[~visits["patient_id"].isin(list(EDGES))]
    nxt = synthetic.groupby("patient_id").shift(-1)
    assert ((synthetic["phys_global"] == 6) & (nxt["phys_global"] == 4.2)).any()
    assert ((synthetic["esr"] == 10) & (nxt["esr"] == 13)).any()
    assert (synthetic["chaq"] == 0).any() and synthetic["esr"].isna().any()
    assert not math.isnan(synthetic["phys_global"].mean())
