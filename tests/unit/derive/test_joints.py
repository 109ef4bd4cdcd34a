"""Joint sets and active-joint counts (SPEC R-JADAS-3, R-CORESET-1): scalar and DuckDB."""

from __future__ import annotations

import itertools

import ibis
import pyarrow as pa
import pytest

from jiareg.derive.joints import (
    JointExam,
    active_joint_count,
    active_joint_counts_table,
    joint_is_active,
    joint_set,
)

FLAGS = [True, False, None]


def test_set_sizes_and_membership() -> None:
    assert len(joint_set(27)) == 27 and len(joint_set(71)) == 71
    assert joint_set(27) <= joint_set(71)
    assert ("cervical_spine", "") in joint_set(27)
    assert ("mcp4", "left") not in joint_set(27) and ("mcp4", "left") in joint_set(71)


def test_active_joint_truth_table_scalar_equals_columnar() -> None:
    combos = list(itertools.product(FLAGS, repeat=4))
    t = ibis.memtable(
        pa.table(
            {
                "patient_id": [str(i) for i in range(len(combos))],
                "visit_date": ["2024-01-01"] * len(combos),
                "joint": ["knee"] * len(combos),
                "side": ["left"] * len(combos),
                **{
                    name: pa.array([c[k] for c in combos], pa.bool_())
                    for k, name in enumerate(
                        ("swollen", "tender", "painful_motion", "limited_motion")
                    )
                },
            }
        )
    )
    out = active_joint_counts_table(t).execute().set_index("patient_id")
    for i, combo in enumerate(combos):
        expected = joint_is_active(*combo)
        got = out.loc[str(i), "active_joints_27"]
        assert (None if got is None or got != got else int(got)) == (
            None if expected is None else int(expected)
        ), combo
    assert joint_is_active(True, None, None, None) is True
    assert joint_is_active(False, False, True, True) is True
    assert joint_is_active(False, True, True, False) is False


@pytest.mark.parametrize(
    ("exams", "any_", "j27", "j71"),
    [
        (
            [JointExam("knee", "left", swollen=True), JointExam("mtp1", "right", swollen=True)],
            2,
            1,
            2,
        ),
        ([JointExam("wrist", "right", swollen=False, limited_motion=True, tender=True)], 1, 1, 1),
        ([JointExam("knee", "left", swollen=False, limited_motion=False)], 0, 0, 0),
        ([JointExam("knee", "left"), JointExam("dip2", "left", swollen=True)], None, None, None),
        ([JointExam("mtp2", "left"), JointExam("knee", "right", swollen=True)], None, 1, None),
        ([], 0, 0, 0),
    ],
)
def test_counts_scalar_equals_columnar(
    exams: list[JointExam], any_: int | None, j27: int | None, j71: int | None
) -> None:
    assert active_joint_count(exams) == any_
    assert active_joint_count(exams, 27) == j27
    assert active_joint_count(exams, 71) == j71
    if not exams:
        return
    t = ibis.memtable(
        pa.Table.from_pylist(
            [
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
            ],
            schema=pa.schema(
                [
                    ("patient_id", pa.string()),
                    ("visit_date", pa.string()),
                    ("joint", pa.string()),
                    ("side", pa.string()),
                    ("swollen", pa.bool_()),
                    ("tender", pa.bool_()),
                    ("painful_motion", pa.bool_()),
                    ("limited_motion", pa.bool_()),
                ]
            ),
        )
    )
    row = active_joint_counts_table(t).execute().iloc[0]
    for column, expected in (
        ("active_joints_any", any_),
        ("active_joints_27", j27),
        ("active_joints_71", j71),
    ):
        got = row[column]
        assert (None if got is None or got != got else int(got)) == expected, column
