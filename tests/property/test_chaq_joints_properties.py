"""CHAQ DI and active-joint counts: the Ibis forms equal the exact scalar forms (DuckDB)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.examples import examples

from jiareg.derive.chaq import CHAQ_DOMAINS, CHAQ_ITEMS, chaq_di, chaq_di_table
from jiareg.derive.exact import UNITS
from jiareg.derive.joints import JointExam, active_joint_count, active_joint_counts_table, joint_set
from jiareg.services.duckdb_rules import run_rule

_score = st.sampled_from([None, 0, 1, 2, 3])
_visit = st.tuples(
    st.fixed_dictionaries({item: _score for item in CHAQ_ITEMS}),
    st.fixed_dictionaries({domain: st.booleans() for domain in CHAQ_DOMAINS}),
)


@settings(max_examples=examples(40), deadline=None)
@given(
    visits=st.lists(_visit, min_size=1, max_size=15),
    scoring=st.sampled_from(["original", "without_aids_help"]),
    min_domains=st.integers(1, 8),
)
def test_chaq_scalar_equals_columnar(visits: list[Any], scoring: str, min_domains: int) -> None:
    rows = [
        {
            "patient_id": str(i),
            "visit_date": "2024-01-01",
            "item": item,
            "score": score,
            "aid": aids[CHAQ_ITEMS[item]],
        }
        for i, (items, aids) in enumerate(visits)
        for item, score in items.items()
    ]
    options = (("min_domains", min_domains), ("scoring", scoring))
    out = run_rule(chaq_di_table, options, chaq_items=pa.Table.from_pylist(rows)).to_pandas()
    got = {r.patient_id: r for r in out.itertuples()}
    for i, (items, aids) in enumerate(visits):
        exact = chaq_di(items, aids, scoring=scoring, min_domains=min_domains)  # type: ignore[arg-type]
        row = got[str(i)]
        assert row.chaq_n_domains == exact.n_domains
        if exact.di is None:
            assert row.chaq_di_units is None or row.chaq_di_units != row.chaq_di_units
        else:
            assert row.chaq_di_units == exact.di * UNITS
            assert 0 <= exact.di <= 3
            assert Fraction(row.chaq_di).limit_denominator(8) == exact.di


_flag = st.sampled_from([True, False, None])
_joints = sorted(joint_set(71) | {("dip9", "left"), ("jaw", "")})
_exam = st.builds(
    JointExam,
    st.sampled_from([j for j, _ in _joints]),
    st.sampled_from(["left", "right", ""]),
    _flag,
    _flag,
    _flag,
    _flag,
)


@settings(max_examples=examples(40), deadline=None)
@given(
    visits=st.lists(
        st.lists(_exam, min_size=1, max_size=12, unique_by=lambda e: (e.joint, e.side)),
        min_size=1,
        max_size=10,
    )
)
def test_joint_counts_scalar_equals_columnar(visits: list[list[JointExam]]) -> None:
    rows = [
        {
            "patient_id": str(i),
            "visit_date": "2024-01-01",
            "joint": e.joint,
            "side": e.side,
            "swollen": e.swollen,
            "tender": e.tender,
            "painful_motion": e.painful_motion,
            "limited_motion": e.limited_motion,
        }
        for i, exams in enumerate(visits)
        for e in exams
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
    table = pa.Table.from_pylist(rows, schema=schema)
    got = run_rule(active_joint_counts_table, joint_exams=table).to_pandas().set_index("patient_id")
    for i, exams in enumerate(visits):
        for column, size in (
            ("active_joints_any", None),
            ("active_joints_27", 27),
            ("active_joints_71", 71),
        ):
            value = got.loc[str(i), column]
            value = None if value is None or value != value else int(value)
            assert value == active_joint_count(exams, size), (column, exams)  # type: ignore[arg-type]
