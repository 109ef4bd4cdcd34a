"""JADAS properties (SPEC R-JADAS): scalar == columnar on DuckDB, monotone, within range."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibis.expr.types import Table
from tests.support.examples import examples

from jiareg.derive.jadas import (
    JADAS_RANGES,
    JadasJoints,
    MarkerKind,
    jadas,
    jadas_expr,
)
from jiareg.derive.jadas_states import (
    CutoffSet,
    JadasVersion,
    activity_state,
    activity_state_expr,
)
from jiareg.services.duckdb_rules import run_rule

# Globals in 0.1 steps (covers 0.5 steps), joints 0-80, ESR/CRP with one decimal.
_global = st.integers(0, 100).map(lambda n: Fraction(n, 10))
_marker = st.integers(0, 2000).map(lambda n: Fraction(n, 10))
_row = st.tuples(_global, _global, st.integers(0, 80), _marker, st.sampled_from(["oligo", "poly"]))
_config = st.tuples(
    st.sampled_from([10, 27, 71]),
    st.sampled_from(["esr", "crp", "none"]),
    st.sampled_from(["consolaro", "trincianti2021", "backstrom2019"]),
)
VERSION: dict[tuple[int, bool], JadasVersion] = {
    (10, True): "jadas10",
    (27, True): "jadas27",
    (71, True): "jadas71",
    (10, False): "cjadas10",
}


def _scored(
    rows: Table,
    joints: JadasJoints,
    marker_kind: MarkerKind,
    version: JadasVersion | None,
    cutoff_set: CutoffSet,
) -> Table:
    """Each row's JADAS `score` and, for a version with cut-offs, its activity `state`."""
    score = jadas_expr(
        rows.pga, rows.parent, rows.ajc, joints=joints, marker=rows.marker, marker_kind=marker_kind
    )
    columns: dict[str, Any] = {"score": score}
    if version is not None:
        columns["state"] = activity_state_expr(
            score, rows.course, version=version, cutoff_set=cutoff_set
        )
    return rows.select(**columns)


@settings(max_examples=examples(60), deadline=None)
@given(rows=st.lists(_row, min_size=1, max_size=40), config=_config)
def test_scalar_equals_columnar(rows: list[tuple[Any, ...]], config: tuple[Any, ...]) -> None:
    joints, marker_kind, cutoff_set = config
    version = VERSION.get((joints, marker_kind != "none"))
    table = pa.table(
        {
            "pga": [float(r[0]) for r in rows],
            "parent": [float(r[1]) for r in rows],
            "ajc": pa.array([r[2] for r in rows], pa.int64()),
            "marker": [float(r[3]) for r in rows],
            "course": [r[4] for r in rows],
        }
    )
    options = (
        ("joints", joints),
        ("marker_kind", marker_kind),
        ("version", version),
        ("cutoff_set", cutoff_set),
    )
    out = run_rule(_scored, options, rows=table).to_pandas()
    for i, (pga, parent, ajc, marker, course) in enumerate(rows):
        exact = jadas(pga, parent, ajc, joints=joints, marker=marker, marker_kind=marker_kind).score
        assert exact is not None
        assert out.score.iloc[i] == pytest.approx(float(exact), abs=1e-9)
        if version is not None:
            expected = activity_state(exact, course=course, version=version, cutoff_set=cutoff_set)
            got = out.state.iloc[i]
            assert (got if isinstance(got, str) else None) == expected, (exact, course)


@settings(max_examples=examples(300), deadline=None)
@given(row=_row, config=_config, component=st.integers(0, 3), bump=st.integers(1, 50))
def test_monotone_and_within_range(
    row: tuple[Any, ...], config: tuple[Any, ...], component: int, bump: int
) -> None:
    joints, marker_kind, _ = config
    pga, parent, ajc, marker, _course = row
    base = jadas(pga, parent, ajc, joints=joints, marker=marker, marker_kind=marker_kind).score
    worse = [pga, parent, ajc, marker]
    step: Any = bump if component == 2 else Fraction(bump, 10)
    worse[component] += step
    if component < 2:
        worse[component] = min(worse[component], Fraction(10))
    higher = jadas(
        worse[0], worse[1], worse[2], joints=joints, marker=worse[3], marker_kind=marker_kind
    ).score
    assert base is not None and higher is not None
    assert higher >= base
    top = JADAS_RANGES[(joints, marker_kind != "none")]
    assert 0 <= base <= top and higher <= top
    maxed = jadas(
        Fraction(10),
        Fraction(10),
        200,
        joints=joints,
        marker=Fraction(500),
        marker_kind=marker_kind,
    )
    assert maxed.score == top
