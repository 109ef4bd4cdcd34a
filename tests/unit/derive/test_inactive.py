"""Inactive disease (SPEC R-CID): criteria, boundaries, scalar == DuckDB. Remission over a
series of visits is in test_remission.py."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibis.expr.types import Table
from tests.support.examples import examples

from jiareg.derive.coreset import Global
from jiareg.derive.inactive import (
    CidCriteria,
    cid_criteria,
    inactive_disease,
    inactive_disease_expr,
    inactive_disease_visits_expr,
)
from jiareg.errors import DerivationError
from jiareg.services.duckdb_rules import run_rule

INACTIVE: dict[str, Any] = {
    "active_joints": 0,
    "fever": False,
    "rash": False,
    "serositis": False,
    "hepatomegaly": False,
    "splenomegaly": False,
    "lymphadenopathy": False,
    "uveitis_active": False,
    "esr": Fraction(10),
    "crp": Fraction(2),
    "phys_global": Global(Fraction(0)),
    "morning_stiffness_min": Fraction(0),
}


def _cid(criteria: str = "acr2011", **changes: Any) -> bool | None:
    return inactive_disease(**{**INACTIVE, **changes}, criteria=criteria)


@pytest.mark.parametrize("criteria", ["wallace2004", "acr2011"])
def test_all_criteria_met(criteria: str) -> None:
    assert _cid(criteria) is True


@pytest.mark.parametrize("criteria", ["wallace2004", "acr2011"])
@pytest.mark.parametrize(
    "change",
    [
        {"active_joints": 1},
        {"fever": True},
        {"rash": True},
        {"serositis": True},
        {"splenomegaly": True},
        {"splenomegaly": None, "hepatosplenomegaly": True},  # old combined flag, read as both
        {"lymphadenopathy": True},
        {"uveitis_active": True},
        {"phys_global": Global(Fraction("0.5"))},
        {"phys_global": Global(Fraction(1), "0-3")},
        {"esr": Fraction("20.1")},
        {"crp": Fraction("10.1")},
    ],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
def test_each_failing_criterion(criteria: str, change: dict[str, Any]) -> None:
    if criteria == "acr2011" and ("esr" in change or "crp" in change):
        assert _cid(criteria, **change, marker_elevation_attributed_to_jia=True) is False
        assert _cid(criteria, **change, marker_elevation_attributed_to_jia=False) is True
        assert _cid(criteria, **change) is None
    else:
        assert _cid(criteria, **change) is False


def test_boundaries_are_inclusive() -> None:
    assert _cid(esr=Fraction(20), crp=Fraction(10), morning_stiffness_min=Fraction(15)) is True
    assert _cid(morning_stiffness_min=Fraction("15.5")) is False
    assert _cid("wallace2004", morning_stiffness_min=Fraction(90)) is True
    assert _cid(phys_global=Global(Fraction(0), "0-3")) is True
    assert _cid(phys_global=Global(Fraction(0), "0-100")) is True


@pytest.mark.parametrize("criteria", ["wallace2004", "acr2011"])
def test_isolated_hepatomegaly_does_not_fail_inactive_disease(criteria: str) -> None:
    """SPEC §12b.3: Wallace 2004 and ACR 2011 name splenomegaly, not hepatomegaly."""
    assert _cid(criteria, hepatomegaly=True) is True
    assert _cid(criteria, hepatomegaly=None) is True
    assert _cid(criteria, splenomegaly=None) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"esr": Fraction(25), "esr_uln": Fraction(25)}, True),  # the visit's lab limit
        ({"esr": Fraction("25.1"), "esr_uln": Fraction(25)}, False),
        ({"esr": Fraction(15), "esr_uln": Fraction(12)}, False),  # below the default, above ULN
        ({"esr": Fraction(20), "esr_uln": None}, True),  # no ULN: configured default 20
        ({"crp": Fraction(5), "crp_uln": Fraction(5)}, True),
        ({"crp": Fraction(5), "crp_uln": Fraction("4.9")}, False),
        ({"crp": Fraction(10), "crp_uln": None}, True),
    ],
)
def test_per_visit_upper_limits(changes: dict[str, Any], expected: bool) -> None:
    """Issue #15 item 5: ESR/CRP normal = at most that visit's ULN, else the default."""
    assert _cid("wallace2004", **changes) is expected
    t = ibis.memtable(pa.Table.from_pylist([_row({**INACTIVE, **changes})], schema=_schema()))
    got = t.select(c=inactive_disease_visits_expr(t, criteria="wallace2004")).execute().c.iloc[0]
    assert bool(got) is expected


def _row(visit: dict[str, Any]) -> dict[str, Any]:
    row = {k: v.value if isinstance(v, Global) else v for k, v in visit.items()}
    return {k: float(v) if isinstance(v, Fraction) else v for k, v in row.items()}


def _schema(*drop: str) -> pa.Schema:
    return pa.schema([f for f in _SCHEMA if f.name not in drop])


@pytest.mark.parametrize(
    ("combined", "spleno", "expected"),
    [(True, None, False), (False, None, True), (None, None, None), (True, False, True)],
)
def test_columnar_reads_old_combined_column(
    combined: bool | None, spleno: bool | None, expected: bool | None
) -> None:
    """A registry with only `hepatosplenomegaly` still works; with both, splenomegaly wins."""
    row = _row({**INACTIVE, "hepatosplenomegaly": combined, "splenomegaly": spleno})
    both = ibis.memtable(pa.Table.from_pylist([row], schema=_schema()))
    old = ibis.memtable(pa.Table.from_pylist([row], schema=_schema("splenomegaly", "hepatomegaly")))
    for t, want in ((both, expected), (old, None if combined is None else not combined)):
        got = t.select(c=inactive_disease_visits_expr(t)).execute().c.iloc[0]
        assert (None if got is None or got != got else bool(got)) is want


@pytest.mark.postgres
def test_upper_limits_and_old_column_on_postgresql(pg_url: str) -> None:
    """The ULN and combined-flag fallbacks are plain SQL: the same answers on PostgreSQL."""
    visits = [
        {**INACTIVE, "esr": Fraction(25), "esr_uln": Fraction(25)},
        {**INACTIVE, "esr": Fraction(15), "esr_uln": Fraction(12)},
        {**INACTIVE, "crp": Fraction(10), "crp_uln": None},
        {**INACTIVE, "splenomegaly": None, "hepatosplenomegaly": True},
        {**INACTIVE, "hepatomegaly": True},
    ]
    expected = [True, False, True, False, True]
    con = ibis.connect(pg_url.replace("postgresql+psycopg://", "postgres://", 1))
    try:
        rows = [{**_row(v), "i": i} for i, v in enumerate(visits)]
        schema = _schema().append(pa.field("i", pa.int64()))
        t = con.create_table("cid_uln", pa.Table.from_pylist(rows, schema=schema), overwrite=True)
        got = con.to_pyarrow(
            t.select("i", c=inactive_disease_visits_expr(t, criteria="wallace2004")).order_by("i")
        )
    finally:
        con.disconnect()
    assert got.column("c").to_pylist() == expected


def test_columnar_needs_a_spleen_column() -> None:
    t = ibis.memtable(
        pa.Table.from_pylist([_row(INACTIVE)], schema=_schema("splenomegaly", "hepatosplenomegaly"))
    )
    with pytest.raises(DerivationError, match="splenomegaly or hepatosplenomegaly"):
        inactive_disease_visits_expr(t)


def test_marker_options() -> None:
    assert _cid(esr=Fraction(25), crp=None, esr_normal_max_mm_h=Fraction(25)) is True
    assert _cid(crp=Fraction(5), esr=None, crp_normal_max_mg_l=Fraction(4)) is None
    assert _cid("wallace2004", crp=Fraction(5), esr=None, crp_normal_max_mg_l=Fraction(4)) is False


def test_unknowns_are_none_unless_a_criterion_fails() -> None:
    assert _cid(fever=None) is None
    assert _cid(esr=None, crp=None) is None
    assert _cid(esr=None) is True  # CRP tested and normal
    assert _cid(phys_global=None) is None
    assert _cid(morning_stiffness_min=None) is None
    assert _cid("wallace2004", morning_stiffness_min=None) is True
    assert _cid(fever=None, active_joints=2) is False
    detail = cid_criteria(**{**INACTIVE, "uveitis_active": None})
    assert detail["no_active_uveitis"] is None and detail["no_active_joints"] is True


_UNKNOWABLE = (
    "active_joints",
    "fever",
    "rash",
    "serositis",
    "splenomegaly",
    "lymphadenopathy",
    "uveitis_active",
    "phys_global",
    "morning_stiffness_min",
)


@pytest.mark.parametrize(
    ("unknown", "failing"),
    [
        (unknown, failing)
        for unknown in _UNKNOWABLE
        for failing in (None, "active_joints", "uveitis_active", "phys_global")
        if failing != unknown
    ],
)
def test_three_valued_and_scalar_and_columnar(unknown: str, failing: str | None) -> None:
    """R-CID-2 "any criterion unknown → None (not False)", read as Kleene AND: one unknown
    criterion with every other met → None; a known failure elsewhere → False."""
    fails = {"active_joints": 1, "uveitis_active": True, "phys_global": Global(Fraction(1))}
    visit = {**INACTIVE, unknown: None}
    if failing is not None:
        visit[failing] = fails[failing]
    expected = None if failing is None else False
    assert inactive_disease(**visit) is expected
    row = {k: v.value if isinstance(v, Global) else v for k, v in visit.items()}
    row = {k: float(v) if isinstance(v, Fraction) else v for k, v in row.items()}
    schema = pa.schema([f for f in _SCHEMA if f.name in row])
    t = ibis.memtable(pa.Table.from_pylist([row], schema=schema))
    got = t.select(c=inactive_disease_visits_expr(t)).execute().c.iloc[0]
    assert (None if got is None or got != got else bool(got)) is expected


def test_bad_inputs() -> None:
    with pytest.raises(DerivationError, match="active_joints -1 is negative"):
        _cid(active_joints=-1)
    with pytest.raises(DerivationError, match="cid_criteria 'acr2020'"):
        _cid("acr2020")


_flag = st.sampled_from([True, False, None])
_visit = st.fixed_dictionaries(
    {
        "active_joints": st.sampled_from([0, 1, None]),
        "fever": _flag,
        "rash": _flag,
        "serositis": _flag,
        "hepatomegaly": _flag,
        "splenomegaly": _flag,
        "hepatosplenomegaly": _flag,
        "lymphadenopathy": _flag,
        "uveitis_active": _flag,
        "esr": st.sampled_from([None, "0", "19.9", "20", "20.1", "55"]),
        "crp": st.sampled_from([None, "0", "9.9", "10", "10.1", "40"]),
        "phys_global": st.sampled_from([None, "0", "0.1", "0.5", "3"]),
        "phys_global_scale": st.sampled_from(["0-10", "0-3", "0-100"]),
        "morning_stiffness_min": st.sampled_from([None, "0", "15", "15.1", "30"]),
        "marker_elevation_attributed_to_jia": _flag,
        "esr_uln": st.sampled_from([None, "12", "19.9", "30"]),
        "crp_uln": st.sampled_from([None, "5", "9.9", "20"]),
    }
)
_SCHEMA = pa.schema(
    [
        ("active_joints", pa.int64()),
        *(
            (n, pa.bool_())
            for n in (
                "fever",
                "rash",
                "serositis",
                "hepatomegaly",
                "splenomegaly",
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
        ("esr_uln", pa.float64()),
        ("crp_uln", pa.float64()),
    ]
)
_NUMERIC = ("esr", "crp", "phys_global", "morning_stiffness_min", "esr_uln", "crp_uln")


def _inactive(visits: Table, criteria: CidCriteria) -> Table:
    """Each visit's inactive-disease verdict (`cid`), in the visits' order."""
    return visits.select(cid=inactive_disease_visits_expr(visits, criteria=criteria))


@settings(max_examples=examples(40), deadline=None)
@given(
    rows=st.lists(_visit, min_size=1, max_size=30),
    criteria=st.sampled_from(["wallace2004", "acr2011"]),
)
def test_scalar_equals_columnar(rows: list[dict[str, Any]], criteria: str) -> None:
    table = pa.Table.from_pylist(
        [
            {k: (float(v) if k in _NUMERIC and v is not None else v) for k, v in r.items()}
            for r in rows
        ],
        schema=_SCHEMA,
    )
    got = run_rule(_inactive, (("criteria", criteria),), visits=table).column("cid").to_pylist()
    for row, value in zip(rows, got, strict=True):
        args = {k: v for k, v in row.items() if k != "phys_global_scale"}
        for k in _NUMERIC:
            args[k] = None if row[k] is None else Fraction(row[k])
        args["phys_global"] = (
            None
            if row["phys_global"] is None
            else Global(Fraction(row["phys_global"]), row["phys_global_scale"])
        )
        expected = inactive_disease(**args, criteria=criteria)
        assert (None if value is None or value != value else bool(value)) == expected, row


def test_expr_without_optional_columns() -> None:
    t = ibis.memtable(
        pa.table(
            {
                k: [v]
                for k, v in {
                    **{k: v for k, v in INACTIVE.items() if k != "phys_global"},
                    "esr": 40.0,
                    "crp": 2.0,
                    "phys_global": 0.0,
                    "morning_stiffness_min": 0.0,
                }.items()
            }
        )
    )
    args = {k: t[k] for k in t.columns if k != "hepatomegaly"}
    acr = inactive_disease_expr(**{**args, "morning_stiffness_min": None})
    wallace = inactive_disease_expr(**args, criteria="wallace2004")
    out = t.select(acr=acr, wallace=wallace).execute().iloc[0]
    assert out.acr is None or out.acr != out.acr  # elevated ESR, attribution not recorded
    assert bool(out.wallace) is False
