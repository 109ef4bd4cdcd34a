"""R-DOSE: SPEC §11.4 vectors and jiareg boundary rows, scalar and columnar (DuckDB)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibis.expr.types import Table
from tests.support.dosing_vectors import (
    TCZ_CATEGORIES,
    TCZ_LABELLED,
    dosing_vectors,
    expected_flags,
    interval_days,
)
from tests.support.examples import examples

from jiareg.derive.config import ClinicalConfig
from jiareg.derive.dosing import (
    DOSE_DEVIATION,
    NOT_LABELLED,
    DoseCheck,
    check_administered_dose,
    dose_indication,
    label_dose,
    tocilizumab_check_exprs,
)
from jiareg.derive.exact import to_fraction
from jiareg.derive.systemic import ILAR_CATEGORIES
from jiareg.errors import DerivationError
from jiareg.services.duckdb_rules import run_rule

ROWS = dosing_vectors()
TCZ_ROWS = [r for r in ROWS if r["drug"] == "tocilizumab"]


def _config(row: dict[str, str]) -> ClinicalConfig:
    return ClinicalConfig(tcz_max_policy=row["tcz_max_policy"] or "flag")


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_label_dose_vectors(row: dict[str, str]) -> None:
    check = label_dose(
        row["drug"],
        weight_kg=row["weight_kg"],
        category=row["category"],
        route=row["route"],
        config=_config(row),
    )
    assert check.expected_mg == to_fraction(row["expected_mg"])
    assert check.interval_days == interval_days(row)
    assert check.flags == expected_flags(row)
    assert check.route == row["route"].lower()
    assert check.drug == row["drug"]


def _arrow(rows: list[dict[str, Any]]) -> pa.Table:
    """Administrations (weight, dose, category, route) as an Arrow table with an order key."""
    return pa.table(
        {
            "i": pa.array(range(len(rows)), pa.int64()),
            "weight_kg": pa.array([r["weight"] for r in rows], pa.float64()),
            "dose_mg": pa.array([r["dose"] for r in rows], pa.float64()),
            "category": pa.array([r["category"] for r in rows], pa.string()),
            "route": pa.array([r["route"] for r in rows], pa.string()),
        }
    )


def _checked(administrations: Table, config_json: str) -> Table:
    """tocilizumab_check_exprs over a table of `_arrow` rows, in row order (the configuration
    as JSON: `run_rule`'s options are hashable)."""
    config = ClinicalConfig.model_validate_json(config_json)
    t = administrations
    exprs = tocilizumab_check_exprs(
        t.weight_kg, t.dose_mg, category=t.category, route=t.route, config=config
    )
    return t.mutate(**exprs).order_by("i")


def _run(con: Any, table: Any, config: ClinicalConfig) -> list[dict[str, Any]]:
    """`_checked` on the engine `con`."""
    return con.to_pyarrow(_checked(table, config.model_dump_json())).to_pylist()  # type: ignore[no-any-return]


def _columnar(rows: list[dict[str, Any]], config: ClinicalConfig) -> list[dict[str, Any]]:
    """tocilizumab_check_exprs over `rows` on DuckDB, its SQL compiled once per configuration
    (`run_rule`)."""
    options = (("config_json", config.model_dump_json()),)
    checked: list[dict[str, Any]] = run_rule(
        _checked, options, administrations=_arrow(rows)
    ).to_pylist()
    return checked


def _assert_matches_scalar(
    rows: list[dict[str, Any]], got: list[dict[str, Any]], config: ClinicalConfig
) -> None:
    for row, col in zip(rows, got, strict=True):
        check = label_dose(
            "tocilizumab",
            weight_kg=row["weight"],
            category=row["category"],
            route=row["route"],
            config=config,
        )
        flags = check_administered_dose(row["dose"], check, tolerance_pct=config.dose_tolerance_pct)
        assert check.expected_mg is not None
        assert col["expected_mg"] == pytest.approx(float(check.expected_mg), abs=1e-9), row
        assert col["weight_band_boundary"] is ("WEIGHT_BAND_BOUNDARY" in flags), row
        assert col["above_max"] is ("ABOVE_MAX" in flags), row
        assert col["dose_deviation"] is (DOSE_DEVIATION in flags), row
        assert col["not_labelled"] is (NOT_LABELLED in flags), row


# A deterministic grid for the server engines: every band edge, the 800 mg edge and doses
# exactly at and just past the 10 % tolerance, for each indication and route.
GRID: list[dict[str, Any]] = [
    {"weight": w, "dose": d, "category": c, "route": r}
    for w in (29.499, 29.5, 29.9, 30.0, 30.499, 30.5, 100.0, 100.1, 110.0)
    for c in ("sJIA", "pJIA", "systemic", "poly_rf_neg", "era", None)
    for r in ("iv", "sc")
    for d in (162.0, 178.2, 178.201, 240.0, 264.0, 264.001, 358.8, 800.0, 880.0, 968.001)
]


@pytest.mark.postgres
def test_columnar_on_postgresql(pg_url: str) -> None:
    con = ibis.connect(pg_url.replace("postgresql+psycopg://", "postgres://", 1))
    try:
        table = con.create_table("tcz_dose_grid", _arrow(GRID), overwrite=True)
        for policy in ("flag", "cap"):
            config = ClinicalConfig(tcz_max_policy=policy)
            _assert_matches_scalar(GRID, _run(con, table, config), config)
    finally:
        con.disconnect()


@pytest.mark.spark
@pytest.mark.slow
def test_columnar_on_spark(spark: Any) -> None:
    spark.createDataFrame(_arrow(GRID)).createOrReplaceTempView("tcz_dose_grid")
    con = ibis.pyspark.connect(spark)
    # One Spark query (each costs seconds): the flag policy, plus the capped expected dose.
    table = con.table("tcz_dose_grid")
    capped = tocilizumab_check_exprs(
        table.weight_kg,
        table.dose_mg,
        category=table.category,
        route=table.route,
        config=ClinicalConfig(tcz_max_policy="cap"),
    )["expected_mg"]
    got = _run(con, table.mutate(capped_mg=capped), ClinicalConfig())
    _assert_matches_scalar(GRID, got, ClinicalConfig())
    cap = ClinicalConfig(tcz_max_policy="cap")
    for row, col in zip(GRID, got, strict=True):
        check = label_dose(
            "tocilizumab",
            weight_kg=row["weight"],
            category=row["category"],
            route=row["route"],
            config=cap,
        )
        assert col["capped_mg"] == pytest.approx(float(check.expected_mg or 0), abs=1e-9)


@pytest.mark.parametrize("row", TCZ_ROWS, ids=[r["id"] for r in TCZ_ROWS])
def test_tocilizumab_vectors_columnar(row: dict[str, str]) -> None:
    expected = Fraction(row["expected_mg"])
    [got] = _columnar(
        [
            {
                "weight": float(row["weight_kg"]),
                "dose": float(expected),
                "category": row["category"],
                "route": row["route"],
            }
        ],
        _config(row),
    )
    assert got["expected_mg"] == pytest.approx(float(expected), abs=1e-9)
    flags = expected_flags(row)
    assert got["weight_band_boundary"] is ("WEIGHT_BAND_BOUNDARY" in flags)
    assert got["above_max"] is ("ABOVE_MAX" in flags)
    assert got["dose_deviation"] is False
    assert got["not_labelled"] is ("NOT_LABELLED" in flags)


# sJIA IV 20 kg: expected 240 mg; tolerance 10 % = 24 mg either side, strict.
DEVIATIONS = [
    ("264", False),
    ("264.001", True),
    ("216", False),
    ("215.999", True),
    ("240", False),
    ("0", True),
]


@pytest.mark.parametrize(("recorded", "deviates"), DEVIATIONS, ids=[d[0] for d in DEVIATIONS])
def test_dose_deviation_boundary(recorded: str, deviates: bool) -> None:
    check = label_dose("tocilizumab", weight_kg=20, category="sJIA", route="iv")
    flags = check_administered_dose(recorded, check)
    assert (DOSE_DEVIATION in flags) is deviates
    [got] = _columnar(
        [{"weight": 20.0, "dose": float(recorded), "category": "sJIA", "route": "iv"}],
        ClinicalConfig(),
    )
    assert got["dose_deviation"] is deviates


def test_dose_deviation_tolerance_option() -> None:
    check = label_dose("etanercept", weight_kg=40, category="JIA")  # 32 mg
    assert check_administered_dose("35", check) == ()
    assert check_administered_dose("35", check, tolerance_pct=Fraction(5)) == (DOSE_DEVIATION,)


def test_not_labelled_and_missing_doses_are_not_checked() -> None:
    check = label_dose("infliximab", weight_kg=30, category="JIA")
    assert check.expected_mg is None and check.flags == (NOT_LABELLED,)
    assert check_administered_dose("180", check) == (NOT_LABELLED,)
    labelled = label_dose("adalimumab", weight_kg=30, category="pJIA", age_years=8)
    assert check_administered_dose(None, labelled) == ()


def test_dose_check_is_frozen() -> None:
    check = label_dose("adalimumab", weight_kg=20, category="pJIA")
    assert isinstance(check, DoseCheck)
    with pytest.raises(AttributeError):
        check.expected_mg = Fraction(1)  # type: ignore[misc]


@pytest.mark.parametrize("code", ILAR_CATEGORIES)
def test_every_ilar_code_maps_to_an_indication(code: str) -> None:
    expected = "sJIA" if code == "SYSTEMIC" else "pJIA"
    assert dose_indication(code) == expected
    assert dose_indication(code.lower()) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"drug": "rituximab", "category": "pJIA"}, "unknown drug 'rituximab'; expected one of"),
        ({"drug": "tocilizumab", "category": "JIA"}, "depends on the indication"),
        ({"drug": "tocilizumab", "category": "adult"}, "unknown category 'adult'"),
        ({"drug": "etanercept", "category": "JIA", "route": "iv"}, "route 'iv' is not labelled"),
        ({"drug": "tocilizumab", "category": "sJIA", "weight_kg": 0}, "positive number of kg"),
        ({"drug": "tocilizumab", "category": "sJIA", "weight_kg": None}, "positive number"),
    ],
)
def test_bad_inputs_say_what_is_accepted(kwargs: dict[str, Any], message: str) -> None:
    args = {"weight_kg": 20, **kwargs}
    drug = args.pop("drug")
    with pytest.raises(DerivationError, match=message):
        label_dose(drug, **args)


# --- hypothesis ----------------------------------------------------------------------------

weights = st.integers(min_value=1_000, max_value=150_000).map(lambda n: Fraction(n, 1000))
categories = st.sampled_from(
    ["sJIA", "pJIA", "systemic", "oligo_extended", "POLY_RF_NEG", "era", "psoriatic", None]
)
routes = st.sampled_from(["iv", "sc"])


@settings(max_examples=examples(40), deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            weights,
            st.integers(min_value=0, max_value=1_500_000).map(lambda n: Fraction(n, 1000)),
            categories,
            routes,
        ),
        min_size=1,
        max_size=40,
    ),
    policy=st.sampled_from(["flag", "cap"]),
    tolerance=st.sampled_from([Fraction(10), Fraction(5), Fraction(25, 2)]),
)
def test_scalar_equals_columnar(
    rows: list[tuple[Fraction, Fraction, str, str]],
    policy: str,
    tolerance: Fraction,
) -> None:
    config = ClinicalConfig(tcz_max_policy=policy, dose_tolerance_pct=tolerance)
    batch: list[dict[str, Any]] = [
        {"weight": w, "dose": d, "category": c, "route": r} for w, d, c, r in rows
    ]
    as_floats = [{**b, "weight": float(b["weight"]), "dose": float(b["dose"])} for b in batch]
    _assert_matches_scalar(batch, _columnar(as_floats, config), config)


@settings(max_examples=examples(200), deadline=None)
@given(a=weights, b=weights, indication=st.sampled_from(["sJIA", "pJIA"]))
def test_tocilizumab_iv_is_piecewise_linear_with_one_jump_at_30(
    a: Fraction, b: Fraction, indication: str
) -> None:
    """expected/weight is one constant below 30 kg and another from 30 kg: one jump only."""

    def per_kg(w: Fraction) -> Fraction:
        mg = label_dose("tocilizumab", weight_kg=w, category=indication, route="iv").expected_mg
        assert mg is not None
        return mg / w

    same_side = (a < 30) == (b < 30)
    assert (per_kg(a) == per_kg(b)) is same_side
    assert per_kg(Fraction(30)) == 8
    assert per_kg(Fraction(29999, 1000)) == (12 if indication == "sJIA" else 10)


@settings(max_examples=examples(100), deadline=None)
@given(a=weights, b=weights)
def test_etanercept_never_exceeds_50_and_is_monotone(a: Fraction, b: Fraction) -> None:
    low, high = sorted((a, b))
    dose_low = label_dose("etanercept", weight_kg=low, category="JIA").expected_mg
    dose_high = label_dose("etanercept", weight_kg=high, category="JIA").expected_mg
    assert dose_low is not None and dose_high is not None
    assert dose_low <= dose_high <= 50


def test_columnar_null_route_is_iv_and_null_weight_gives_null() -> None:
    rows: list[dict[str, Any]] = [
        {"weight": 110.0, "dose": 880.0, "category": "sJIA", "route": None},
        {"weight": None, "dose": 240.0, "category": "sJIA", "route": "iv"},
    ]
    by_route, no_weight = _columnar(rows, ClinicalConfig())
    iv = label_dose("tocilizumab", weight_kg=110, category="sJIA")  # route defaults to iv
    assert by_route["expected_mg"] == float(iv.expected_mg or 0) == 880.0
    assert by_route["above_max"] is True
    assert no_weight["expected_mg"] is None
    assert no_weight["weight_band_boundary"] is None and no_weight["dose_deviation"] is None


def test_tocilizumab_columnar_unknown_category_is_not_labelled() -> None:
    """Issue #15: the columnar form treated an unknown (NULL) category as pJIA silently."""
    rows = [{"weight": 25.0, "dose": 250.0, "category": c, "route": "iv"} for c in TCZ_CATEGORIES]
    got = _columnar(rows, ClinicalConfig())
    for row, col in zip(rows, got, strict=True):
        assert col["not_labelled"] is (row["category"] not in TCZ_LABELLED), row
    _assert_matches_scalar(rows, got, ClinicalConfig())
