"""Inactive disease and active joint counts: the columnar forms give the scalar rules' answers
on every engine (DuckDB, PostgreSQL, Spark). JADAS and CHAQ run on every engine in their unit
tests, through the same `backend` fixture."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pyarrow as pa
from tests.support.backends import Backend

from jiareg.derive.coreset import Global
from jiareg.derive.inactive import inactive_disease, inactive_disease_visits_expr
from jiareg.derive.joints import JointExam, active_joint_count, active_joint_counts_table


def test_inactive_disease_boundaries(backend: Backend) -> None:
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
    t = backend.load(
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
        out = backend.execute(
            t.select(t.n, cid=inactive_disease_visits_expr(t, criteria=criteria)).order_by("n")
        )
        for row, got in zip(rows, out.cid, strict=True):
            args = {k: v for k, v in row.items() if k not in ("phys_global_scale", "n")}
            for k in ("esr", "crp", "morning_stiffness_min"):
                args[k] = None if row[k] is None else Fraction(str(row[k]))
            args["phys_global"] = Global(Fraction(str(row["phys_global"])))
            expected = inactive_disease(**args, criteria=criteria)
            assert (None if got is None or got != got else bool(got)) == expected, (criteria, row)


def test_active_joint_counts(backend: Backend) -> None:
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
    t = backend.load(pa.Table.from_pylist(rows, schema=schema))
    row = backend.execute(active_joint_counts_table(t)).iloc[0]
    assert [active_joint_count(exams, size) for size in (None, 27, 71)] == [None, 1, None]
    assert row.active_joints_27 == 1
    for column in ("active_joints_any", "active_joints_71"):
        assert row[column] is None or row[column] != row[column], column
