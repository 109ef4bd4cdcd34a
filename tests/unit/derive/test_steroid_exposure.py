"""SPEC §12b.6 (stop date inclusive, routes) and §12b.10 (change over the time on treatment)."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.examples import examples

from jiareg.derive.steroid_exposure import (
    SteroidPeriod,
    peq_on,
    steroid_active_on_expr,
    steroid_on_treatment,
    steroid_on_treatment_table,
)
from jiareg.errors import DerivationError
from jiareg.services.duckdb_rules import run_rule

D0 = date(2024, 1, 1)
CON = ibis.duckdb.connect()
"""One DuckDB for the module (a connection per hypothesis example cost a quarter of its time)."""


def _d(days: int) -> date:
    return D0 + timedelta(days=days)


def test_stop_date_is_the_last_day_at_the_dose() -> None:
    """Issue #15: a visit on the stop date still sees the dose (it is not "discontinued")."""
    p = SteroidPeriod("prednisolone", "10", _d(0), _d(30))
    assert peq_on([p], _d(30)) == 10
    assert peq_on([p], _d(31)) == 0
    assert peq_on([p], _d(-1)) == 0
    t = ibis.memtable({"s": [_d(0)], "e": [_d(30)], "v": [_d(30)], "w": [_d(31)]})
    out = CON.to_pyarrow(
        t.select(
            on=steroid_active_on_expr(t.s, t.e, t.v), after=steroid_active_on_expr(t.s, t.e, t.w)
        )
    )
    assert out.to_pylist() == [{"on": True, "after": False}]


def test_pulses_and_joint_injections_do_not_count() -> None:
    periods = [
        SteroidPeriod("prednisolone", 10, _d(0), None, "oral"),
        SteroidPeriod("methylprednisolone", 500, _d(0), _d(2), "iv_pulse"),
        SteroidPeriod("triamcinolone", 40, _d(0), _d(0), "intra_articular"),
        SteroidPeriod("methylprednisolone", 4, _d(0), None, "other"),
        SteroidPeriod("prednisone", 5, _d(0), None),  # no route: oral
    ]
    assert peq_on(periods, _d(1)) == 10 + 5 + 5


POSTER = [  # the founding poster's pattern: reduced, lowest in between, then back up a bit
    SteroidPeriod("prednisone", 20, _d(0), _d(59)),
    SteroidPeriod("prednisone", 5, _d(60), _d(120)),
    SteroidPeriod("prednisone", 15, _d(121)),
]


def test_change_over_time_on_treatment() -> None:
    """SPEC §12b.10: baseline vs the last dose on the index drug, lowest reported beside."""
    r = steroid_on_treatment(POSTER, start=_d(10), end=_d(180), basis="mg_day")
    assert (r.baseline_peq_mg_day, r.last_peq_mg_day) == (Fraction(20), Fraction(15))
    assert (r.lowest_peq_mg_day, r.lowest_on) == (Fraction(5), _d(60))
    assert r.change is not None and r.change.category == "REDUCED_LT50"
    assert r.change.pct_reduction == 25
    # the course's last day is its stop date, inclusive: 5 mg on day 120
    r = steroid_on_treatment(POSTER, start=_d(10), end=_d(120), basis="mg_day")
    assert r.change is not None and r.change.category == "REDUCED_GE50"


def test_change_on_the_weight_basis_and_errors() -> None:
    r = steroid_on_treatment(
        POSTER, start=_d(0), end=_d(200), baseline_weight_kg=20, last_weight_kg=30
    )
    assert r.change is not None and r.change.category == "REDUCED_GE50"  # 1 → 0.5 mg/kg/day
    with pytest.raises(DerivationError, match="needs the weight"):
        steroid_on_treatment(POSTER, start=_d(0), end=_d(200))
    with pytest.raises(DerivationError, match="ends"):
        steroid_on_treatment(POSTER, start=_d(5), end=_d(4))
    r = steroid_on_treatment([], start=_d(0), end=_d(5))
    assert r.change is not None and r.change.category == "NOT_ON_STEROIDS"


def _tables(
    periods: list[tuple[int, SteroidPeriod]], windows: list[tuple[int, int, int]]
) -> tuple[Any, Any]:
    steroids, win = _arrow_tables(periods, windows)
    return ibis.memtable(steroids), ibis.memtable(win)


def _arrow_tables(
    periods: list[tuple[int, SteroidPeriod]], windows: list[tuple[int, int, int]]
) -> tuple[pa.Table, pa.Table]:
    steroids = pa.table(
        {
            "patient_id": pa.array([f"P{pid}" for pid, _ in periods], pa.string()),
            "drug": pa.array([p.drug for _, p in periods], pa.string()),
            "daily_dose_mg": pa.array(
                [float(str(p.daily_dose_mg)) for _, p in periods], pa.float64()
            ),
            "start_date": pa.array([p.start_date for _, p in periods], pa.date32()),
            "stop_date": pa.array([p.stop_date for _, p in periods], pa.date32()),
            "route": pa.array([p.route for _, p in periods], pa.string()),
        }
    )
    win = pa.table(
        {
            "patient_id": pa.array([f"P{pid}" for pid, _, _ in windows], pa.string()),
            "start_date": pa.array([_d(s) for _, s, _ in windows], pa.date32()),
            "end_date": pa.array([_d(e) for _, _, e in windows], pa.date32()),
            "baseline_weight_kg": pa.array([20.0] * len(windows)),
            "last_weight_kg": pa.array([25.0] * len(windows)),
        }
    )
    return steroids, win


_period = st.builds(
    lambda pid, drug, dose, start, length, route: (
        pid,
        SteroidPeriod(
            drug,
            dose,
            _d(start),
            None if length is None else _d(start + length),
            route,
        ),
    ),
    st.integers(0, 2),
    st.sampled_from(["prednisone", "methylprednisolone", "dexamethasone", "hydrocortisone"]),
    st.sampled_from(["0", "1.5", "4", "5", "10", "20", "60"]),
    st.integers(0, 60),
    st.one_of(st.none(), st.integers(0, 40)),
    st.sampled_from([None, "oral", "other", "iv_pulse", "intra_articular"]),
)


@settings(max_examples=examples(30), deadline=None)
@given(
    periods=st.lists(_period, max_size=8),
    windows=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 50), st.integers(0, 60)).map(
            lambda w: (w[0], w[1], w[1] + w[2])
        ),
        min_size=1,
        max_size=3,
        unique_by=lambda w: (w[0], w[1]),
    ),
    basis=st.sampled_from(["mg_day", "mg_kg_day"]),
)
@pytest.mark.slow
def test_scalar_equals_columnar(
    periods: list[tuple[int, SteroidPeriod]], windows: list[tuple[int, int, int]], basis: str
) -> None:
    steroids, win = _arrow_tables(periods, windows)
    out = run_rule(steroid_on_treatment_table, (("basis", basis),), steroids=steroids, windows=win)
    got = {(r["patient_id"], r["start_date"]): r for r in out.to_pylist()}
    assert len(got) == len(windows)
    for pid, start, end in windows:
        mine = [p for q, p in periods if q == pid]
        r = steroid_on_treatment(
            mine,
            start=_d(start),
            end=_d(end),
            baseline_weight_kg=20,
            last_weight_kg=25,
            basis=basis,  # type: ignore[arg-type]
        )
        row = got[(f"P{pid}", _d(start))]
        assert row["baseline_peq_mg_day"] == pytest.approx(float(r.baseline_peq_mg_day))
        assert row["last_peq_mg_day"] == pytest.approx(float(r.last_peq_mg_day))
        assert row["lowest_peq_mg_day"] == pytest.approx(float(r.lowest_peq_mg_day))
        assert r.change is not None and row["change_category"] == r.change.category


@pytest.mark.postgres
def test_columnar_on_postgresql(pg_url: str) -> None:
    steroids, win = _tables([(0, p) for p in POSTER], [(0, 10, 180), (0, 10, 120)])
    con = ibis.connect(pg_url.replace("postgresql+psycopg://", "postgres://", 1))
    try:
        s = con.create_table("steroid_periods", steroids.to_pyarrow(), overwrite=True)
        w = con.create_table("steroid_windows", win.to_pyarrow(), overwrite=True)
        out = con.to_pyarrow(steroid_on_treatment_table(s, w, basis="mg_day").order_by("end_date"))
    finally:
        con.disconnect()
    assert out.column("change_category").to_pylist() == ["REDUCED_GE50", "REDUCED_LT50"]
    assert out.column("lowest_peq_mg_day").to_pylist() == [5.0, 5.0]
    assert Fraction(str(out.column("baseline_peq_mg_day")[0])) == 20
