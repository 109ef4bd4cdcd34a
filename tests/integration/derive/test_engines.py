"""JADAS, CHAQ and inactive disease: the columnar forms give the SPEC answers on PostgreSQL
and Spark too (DuckDB runs in the unit tests). Same checks as the unit tests, other engines."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import ibis
import pyarrow as pa
import pytest
from tests.unit.derive.test_chaq import check_chaq_columnar
from tests.unit.derive.test_jadas import check_jadas_columnar, check_state_reason_columnar

from jiareg.derive.coreset import Global
from jiareg.derive.inactive import inactive_disease, inactive_disease_visits_expr
from jiareg.derive.joints import JointExam, active_joint_count, active_joint_counts_table


@dataclass(frozen=True)
class Engine:
    """Run an expression (`execute`) and put an Arrow table on the engine (`table`)."""

    execute: Callable[[Any], Any]
    table: Callable[[pa.Table], Any]


@pytest.fixture(
    params=[
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.slow]),
    ]
)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A real PostgreSQL database or the local SparkSession.

    On Spark, tables go through `createDataFrame(arrow)` and a temp view: ibis 12's pyspark
    memtable turns an int64 column holding nulls into all-NULL (checked: [1, None] came back
    as [NaN, NaN]).
    """
    if request.param == "postgres":
        from sqlalchemy.engine import make_url

        url = make_url(request.getfixturevalue("pg_url"))
        con = ibis.postgres.connect(
            host=url.host, port=url.port, user=url.username, database=url.database
        )
        yield Engine(con.execute, ibis.memtable)
        con.disconnect()
    else:
        session = request.getfixturevalue("spark")
        con = ibis.pyspark.connect(session)

        def table(data: pa.Table) -> Any:
            name = f"h2_{uuid.uuid4().hex[:10]}"
            session.createDataFrame(data).createOrReplaceTempView(name)
            return con.table(name)

        yield Engine(con.execute, table)  # no disconnect: it would stop the shared session


def test_jadas_vectors(engine: Engine) -> None:
    check_jadas_columnar(engine.execute, engine.table)


def test_jadas_state_reasons(engine: Engine) -> None:
    """R-JADAS-2 states and the reasons for none (systemic features first) on this engine."""
    check_state_reason_columnar(engine.execute, engine.table)


@pytest.mark.parametrize("scoring", ["original", "without_aids_help"])
def test_chaq_vectors(engine: Engine, scoring: str) -> None:
    check_chaq_columnar(engine.execute, scoring, engine.table)


def test_inactive_disease_boundaries(engine: Engine) -> None:
    base: dict[str, Any] = {
        "active_joints": 0,
        "fever": False,
        "rash": False,
        "serositis": False,
        "hepatosplenomegaly": False,
        "lymphadenopathy": False,
        "uveitis_active": False,
        "esr": 20.0,
        "crp": 10.0,
        "phys_global": 0.0,
        "phys_global_scale": "0-10",
        "morning_stiffness_min": 15.0,
        "marker_elevation_attributed_to_jia": None,
    }
    changes: list[dict[str, Any]] = [
        {},
        {"esr": 20.1},
        {"crp": 10.1},
        {"esr": None},
        {"esr": None, "crp": None},
        {"esr": 40.0, "marker_elevation_attributed_to_jia": False},
        {"esr": 40.0, "marker_elevation_attributed_to_jia": True},
        {"morning_stiffness_min": 15.1},
        {"fever": None},
        {"fever": None, "active_joints": 1},
        {"phys_global": 0.1},
        {"uveitis_active": True},
    ]
    rows = [{**base, **c, "n": i} for i, c in enumerate(changes)]
    t = engine.table(
        pa.Table.from_pylist(
            rows,
            schema=pa.schema(
                [
                    ("active_joints", pa.int64()),
                    *(
                        (n, pa.bool_())
                        for n in (
                            "fever",
                            "rash",
                            "serositis",
                            "hepatosplenomegaly",
                            "lymphadenopathy",
                            "uveitis_active",
                        )
                    ),
                    ("esr", pa.float64()),
                    ("crp", pa.float64()),
                    ("phys_global", pa.float64()),
                    ("phys_global_scale", pa.string()),
                    ("morning_stiffness_min", pa.float64()),
                    ("marker_elevation_attributed_to_jia", pa.bool_()),
                    ("n", pa.int64()),
                ]
            ),
        )
    )
    for criteria in ("wallace2004", "acr2011"):
        out = engine.execute(
            t.select(t.n, cid=inactive_disease_visits_expr(t, criteria=criteria)).order_by("n")
        )
        for row, got in zip(rows, out.cid, strict=True):
            args = {k: v for k, v in row.items() if k not in ("phys_global_scale", "n")}
            for k in ("esr", "crp", "morning_stiffness_min"):
                args[k] = None if row[k] is None else Fraction(str(row[k]))
            args["phys_global"] = Global(Fraction(str(row["phys_global"])))
            expected = inactive_disease(**args, criteria=criteria)
            assert (None if got is None or got != got else bool(got)) == expected, (criteria, row)


def test_active_joint_counts(engine: Engine) -> None:
    exams = [
        JointExam("knee", "left", swollen=True),
        JointExam("mtp1", "right", swollen=False, limited_motion=True, tender=True),
        JointExam("cervical_spine", "", swollen=False, limited_motion=False),
        JointExam("dip2", "left", swollen=None, limited_motion=True, painful_motion=None),
    ]
    schema = pa.schema(
        [
            ("patient_id", pa.string()),
            ("visit_date", pa.string()),
            ("joint", pa.string()),
            ("side", pa.string()),
            *((n, pa.bool_()) for n in ("swollen", "tender", "painful_motion", "limited_motion")),
        ]
    )
    rows = [
        {
            "patient_id": "p",
            "visit_date": "d",
            "joint": e.joint,
            "side": e.side,
            "swollen": e.swollen,
            "tender": e.tender,
            "painful_motion": e.painful_motion,
            "limited_motion": e.limited_motion,
        }
        for e in exams
    ]
    t = engine.table(pa.Table.from_pylist(rows, schema=schema))
    row = engine.execute(active_joint_counts_table(t)).iloc[0]
    assert [active_joint_count(exams, size) for size in (None, 27, 71)] == [None, 1, None]
    assert row.active_joints_27 == 1
    for column in ("active_joints_any", "active_joints_71"):
        assert row[column] is None or row[column] != row[column], column
