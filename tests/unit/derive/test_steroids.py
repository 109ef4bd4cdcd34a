"""R-STEROID: SPEC §11.5 vectors (S01-S08, R01-R09) and boundaries, scalar and columnar."""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibis.expr.types import Table
from tests.support.backends import Backend
from tests.support.examples import examples

from jiareg.derive.config import ClinicalConfig
from jiareg.derive.exact import to_fraction
from jiareg.derive.steroids import (
    DOSE_REDUCTION_CATEGORIES,
    SteroidChange,
    SteroidDose,
    classify_steroid_record,
    counts_toward_peq,
    peq_mg_day,
    peq_mg_kg_day,
    peq_route_expr,
    prednisone_factor,
    steroid_change,
    steroid_change_expr,
)
from jiareg.errors import DerivationError
from jiareg.services.duckdb_rules import run_rule

VECTORS = Path(__file__).parents[2] / "vectors"


def _read(name: str) -> list[dict[str, str]]:
    with (VECTORS / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


PEQ = _read("steroids_peq.csv")
CHANGE = _read("steroid_change.csv")
WITH_WEIGHTS = [r for r in CHANGE if r["b_weight_kg"]]
DECIMAL_ROWS = [r for r in CHANGE if "/" not in r["baseline"] + r["followup"]]


@pytest.mark.parametrize("row", PEQ, ids=[r["id"] for r in PEQ])
def test_peq_vectors(row: dict[str, str]) -> None:
    config = ClinicalConfig(
        steroid_factors={row["drug"]: row["factor_override"]} if row["factor_override"] else {}
    )
    per_day = peq_mg_day(
        row["drug"], row["dose_mg"], doses_per_day=row["doses_per_day"], config=config
    )
    assert per_day == Fraction(row["peq_mg_day"])
    assert peq_mg_kg_day(per_day, row["weight_kg"]) == Fraction(row["peq_mg_kg_day"])


def test_alternate_day_by_interval_equals_half_dose_per_day() -> None:
    """S07 written as an every-other-day interval instead of 0.5 doses per day."""
    assert peq_mg_day("prednisone", 20, interval_days=2) == peq_mg_day(
        "prednisone", 20, doses_per_day="0.5"
    )


def _change_args(row: dict[str, str]) -> tuple[Any, Any]:
    if row["b_weight_kg"]:
        return (
            SteroidDose(Fraction(row["b_peq_mg_day"]), Fraction(row["b_weight_kg"])),
            SteroidDose(Fraction(row["f_peq_mg_day"]), Fraction(row["f_weight_kg"])),
        )
    return row["baseline"], row["followup"]


def _basis(row: dict[str, str]) -> Literal["mg_kg_day", "mg_day"]:
    return "mg_day" if row["basis"] == "mg_day" else "mg_kg_day"


@pytest.mark.parametrize("row", CHANGE, ids=[r["id"] for r in CHANGE])
def test_steroid_change_vectors(row: dict[str, str]) -> None:
    b, f = _change_args(row)
    change = steroid_change(b, f, basis=_basis(row))
    assert change == SteroidChange(row["category"], to_fraction(row["pct_reduction"]))  # type: ignore[arg-type]
    # The basis values in the row give the same answer as the doses with weights.
    assert steroid_change(row["baseline"], row["followup"]) == change


def _changes(doses: Table, *, weights: bool) -> Table:
    """`steroid_change_expr` over a table of doses (b, f) and, with `weights`, kg (bw, fw)."""
    expr = (
        steroid_change_expr(doses.b, doses.f, baseline_weight=doses.bw, followup_weight=doses.fw)
        if weights
        else steroid_change_expr(doses.b, doses.f)
    )
    return doses.mutate(category=expr).order_by("i")


def _columnar(columns: dict[str, list[float | None]], weights: bool) -> list[str | None]:
    """`_changes` on DuckDB, its SQL compiled once per set of columns (`run_rule`)."""
    doses = pa.table({k: pa.array(v, pa.float64()) for k, v in columns.items()})
    doses = doses.append_column("i", pa.array(range(doses.num_rows), pa.int64()))
    out = run_rule(_changes, (("weights", weights),), doses=doses)
    categories: list[str | None] = out.column("category").to_pylist()
    return categories


# A grid for the server engines: doses around exactly-half, zero and equal, with weights.
ENGINE_GRID: list[tuple[float, float, float, float]] = [
    (b, f, bw, fw)
    for b in (0.0, 0.3, 0.6, 1.0, 10.0, 12.0)
    for f in (0.0, 0.15, 0.3, 0.5, 0.6, 5.0, 5.01, 9.0, 12.0)
    for bw, fw in ((20.0, 20.0), (20.0, 30.0), (30.0, 20.0), (20.0, 25.0))
]


def _engine_table() -> pa.Table:
    names = ("b", "f", "bw", "fw")
    columns = {n: pa.array([r[k] for r in ENGINE_GRID], pa.float64()) for k, n in enumerate(names)}
    return pa.table({"i": pa.array(range(len(ENGINE_GRID)), pa.int64()), **columns})


def _check_engine(con: Any, table: Any) -> None:
    """Both columnar forms on `table` in one query, against the scalar rule."""
    out = con.to_pyarrow(
        table.mutate(
            plain=steroid_change_expr(table.b, table.f),
            per_kg=steroid_change_expr(
                table.b, table.f, baseline_weight=table.bw, followup_weight=table.fw
            ),
        ).order_by("i")
    ).to_pylist()
    for (b, f, bw, fw), got in zip(ENGINE_GRID, out, strict=True):
        plain = steroid_change(b, f)
        per_kg = steroid_change(
            SteroidDose(Fraction(b), Fraction(bw)), SteroidDose(Fraction(f), Fraction(fw))
        )
        assert plain is not None and per_kg is not None
        assert (got["plain"], got["per_kg"]) == (plain.category, per_kg.category), (b, f, bw, fw)


def test_columnar_on_every_engine(backend: Backend) -> None:
    _check_engine(backend.con, backend.load(_engine_table()))


@pytest.mark.parametrize("row", DECIMAL_ROWS, ids=[r["id"] for r in DECIMAL_ROWS])
def test_steroid_change_vectors_columnar(row: dict[str, str]) -> None:
    got = _columnar({"b": [float(row["baseline"])], "f": [float(row["followup"])]}, False)
    assert got == [row["category"]]


@pytest.mark.parametrize("row", WITH_WEIGHTS, ids=[r["id"] for r in WITH_WEIGHTS])
def test_steroid_change_vectors_columnar_with_weights(row: dict[str, str]) -> None:
    columns: dict[str, list[float | None]] = {
        "b": [float(row["b_peq_mg_day"])],
        "f": [float(row["f_peq_mg_day"])],
    }
    if row["basis"] == "mg_kg_day":
        columns |= {"bw": [float(row["b_weight_kg"])], "fw": [float(row["f_weight_kg"])]}
    assert _columnar(columns, row["basis"] == "mg_kg_day") == [row["category"]]


def test_missing_dose_gives_none_on_both_paths() -> None:
    assert steroid_change(None, "0.5") is None
    assert steroid_change("0.5", "") is None
    assert _columnar({"b": [None, 0.5], "f": [0.5, None]}, False) == [None, None]


@pytest.mark.parametrize("row", CHANGE, ids=[r["id"] for r in CHANGE])
def test_reduction_endpoint_is_any_lower_dose(row: dict[str, str]) -> None:
    """The "dose reduction" endpoint = a baseline user whose dose went down by any amount."""
    b, f = Fraction(row["baseline"]), Fraction(row["followup"])
    change = steroid_change(b, f)
    assert change is not None
    assert (change.category in DOSE_REDUCTION_CATEGORIES) is (b > 0 and f < b)


def test_mg_kg_day_basis_needs_the_weight() -> None:
    with pytest.raises(DerivationError, match="needs the weight"):
        steroid_change(SteroidDose(Fraction(10)), SteroidDose(Fraction(5), Fraction(20)))
    # On the mg_day basis, or with a zero dose, the weight is not needed.
    change = steroid_change(SteroidDose(Fraction(10)), SteroidDose(Fraction(0)), basis="mg_day")
    assert change == SteroidChange("DISCONTINUED", Fraction(100))


def test_config_basis_option_reaches_steroid_change() -> None:
    assert ClinicalConfig().steroid_basis == "mg_kg_day"
    b, f = SteroidDose(Fraction(10), Fraction(20)), SteroidDose(Fraction(10), Fraction(25))
    assert steroid_change(b, f, basis=ClinicalConfig(steroid_basis="mg_day").steroid_basis) == (
        SteroidChange("NO_CHANGE", Fraction(0))
    )


@pytest.mark.parametrize(
    ("drug", "route", "dose", "weight", "kind"),
    [
        ("methylprednisolone", "iv", "250", None, "IV_PULSE"),
        ("methylprednisolone", "iv", "249.9", None, "MAINTENANCE"),
        ("methylprednisolone", "iv", "200", "20", "IV_PULSE"),  # exactly 10 mg/kg
        ("methylprednisolone", "iv", "199.9", "20", "MAINTENANCE"),
        ("methylprednisolone", "oral", "300", None, "MAINTENANCE"),
        ("triamcinolone", "intra_articular", "40", None, "INTRA_ARTICULAR"),
        ("triamcinolone", "IA", "40", None, "INTRA_ARTICULAR"),
        ("prednisolone", "PO", "10", "20", "MAINTENANCE"),
    ],
)
def test_classify_steroid_record(
    drug: str, route: str, dose: str, weight: str | None, kind: str
) -> None:
    assert classify_steroid_record(drug, route=route, dose_mg=dose, weight_kg=weight) == kind


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: prednisone_factor("cortisone"), "unknown corticosteroid 'cortisone'"),
        (lambda: peq_mg_day("prednisone", "-5"), "dose_mg must be a number ≥ 0"),
        (
            lambda: peq_mg_day("prednisone", 5, doses_per_day=0),
            "doses_per_day must be a positive number, got 0",
        ),
        (lambda: peq_mg_kg_day(10, 0), "weight_kg must be a positive"),
        (lambda: classify_steroid_record("prednisone", route="topical", dose_mg=1), "route"),
        (lambda: steroid_change("-1", "0"), "must be ≥ 0"),
    ],
)
def test_bad_inputs(call: Any, message: str) -> None:
    with pytest.raises(DerivationError, match=message):
        call()


# --- hypothesis: scalar == columnar --------------------------------------------------------

doses = st.integers(min_value=0, max_value=100_000).map(lambda n: Fraction(n, 1000))
kgs = st.integers(min_value=2_000, max_value=150_000).map(lambda n: Fraction(n, 1000))


@settings(max_examples=examples(40), deadline=None)
@given(pairs=st.lists(st.tuples(doses, doses), min_size=1, max_size=50))
def test_scalar_equals_columnar(pairs: list[tuple[Fraction, Fraction]]) -> None:
    got = _columnar({"b": [float(b) for b, _ in pairs], "f": [float(f) for _, f in pairs]}, False)
    for (b, f), category in zip(pairs, got, strict=True):
        change = steroid_change(b, f)
        assert change is not None and change.category == category


@settings(max_examples=examples(40), deadline=None)
@given(rows=st.lists(st.tuples(doses, kgs, doses, kgs), min_size=1, max_size=50))
def test_scalar_equals_columnar_mg_kg_day(
    rows: list[tuple[Fraction, Fraction, Fraction, Fraction]],
) -> None:
    got = _columnar(
        {
            "b": [float(r[0]) for r in rows],
            "bw": [float(r[1]) for r in rows],
            "f": [float(r[2]) for r in rows],
            "fw": [float(r[3]) for r in rows],
        },
        True,
    )
    for (b, bw, f, fw), category in zip(rows, got, strict=True):
        change = steroid_change(SteroidDose(b, bw), SteroidDose(f, fw))
        assert change is not None and change.category == category


@settings(max_examples=examples(40), deadline=None)
@given(
    rows=st.lists(
        st.tuples(doses | st.just(Fraction(0)), kgs | st.none(), doses, kgs | st.none()),
        min_size=1,
        max_size=50,
    )
)
def test_missing_weights_agree_with_scalar(
    rows: list[tuple[Fraction, Fraction | None, Fraction, Fraction | None]],
) -> None:
    """A zero dose needs no weight; a positive one without it is NULL (the scalar raises)."""

    def opt(v: Fraction | None) -> float | None:
        return None if v is None else float(v)

    got = _columnar(
        {
            "b": [float(r[0]) for r in rows],
            "bw": [opt(r[1]) for r in rows],
            "f": [float(r[2]) for r in rows],
            "fw": [opt(r[3]) for r in rows],
        },
        True,
    )
    for (b, bw, f, fw), category in zip(rows, got, strict=True):
        try:
            change = steroid_change(SteroidDose(b, bw), SteroidDose(f, fw))
        except DerivationError:
            assert category is None
        else:
            assert change is not None and change.category == category


# --- routes (SPEC §12b.6, R-STEROID-2.2) ----------------------------------------------------


@pytest.mark.parametrize(
    ("drug", "route", "dose", "weight", "kind"),
    [
        ("prednisolone", None, "60", None, "MAINTENANCE"),  # no route: oral
        ("prednisolone", "other", "10", None, "MAINTENANCE"),
        ("methylprednisolone", "iv_pulse", "30", "20", "IV_PULSE"),  # recorded as a pulse
        ("triamcinolone", "intra_articular", "40", None, "INTRA_ARTICULAR"),
        # every corticosteroid, in methylprednisolone equivalents (250 mg or 10 mg/kg)
        ("dexamethasone", "iv", "46.875", None, "IV_PULSE"),
        ("dexamethasone", "iv", "46.874", None, "MAINTENANCE"),
        ("prednisolone", "iv", "312.5", None, "IV_PULSE"),
        ("prednisolone", "iv", "250", "20", "IV_PULSE"),  # 200 mg MP eq. = 10 mg/kg
        ("prednisolone", "iv", "249", "20", "MAINTENANCE"),
        ("hydrocortisone", "iv", "1000", None, "MAINTENANCE"),  # 200 mg MP eq.
        ("hydrocortisone", "iv", "1250", None, "IV_PULSE"),
    ],
)
def test_pulse_check_knows_every_corticosteroid(
    drug: str, route: str | None, dose: str, weight: str | None, kind: str
) -> None:
    assert classify_steroid_record(drug, route=route, dose_mg=dose, weight_kg=weight) == kind


def test_unknown_corticosteroid_is_refused_on_every_route() -> None:
    with pytest.raises(DerivationError, match="unknown corticosteroid 'cortisone'"):
        classify_steroid_record("cortisone", route="intra_articular", dose_mg=10)


@pytest.mark.parametrize(
    ("route", "counts"),
    [(None, True), ("oral", True), ("other", True), ("iv_pulse", False), ("IA", False)],
)
def test_only_oral_and_other_count_toward_peq(route: str | None, counts: bool) -> None:
    assert counts_toward_peq(route) is counts
    t = ibis.memtable(pa.table({"route": pa.array([route], pa.string())}))
    got = ibis.duckdb.connect().to_pyarrow(t.select(c=peq_route_expr(t.route)))
    assert got.column("c").to_pylist() == [counts]


def test_equivalence_table_covers_the_vocabulary() -> None:
    """Every corticosteroid of `jiareg.vocab.STEROIDS` has a factor, and only those."""
    from jiareg import vocab
    from jiareg.derive.config import DEFAULT_STEROID_FACTORS

    assert set(DEFAULT_STEROID_FACTORS) == set(vocab.STEROIDS)
    assert set(vocab.STEROID_ROUTES) == {"oral", "iv_pulse", "intra_articular", "other"}
