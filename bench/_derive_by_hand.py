"""Hand-written contenders of bench_derive: the same work in polars and in DuckDB SQL.

Each reads `visits.parquet` itself, takes each patient's first visit as the baseline (a tie on
that date is an error), and gives every later visit `acr_pedi_level` (exact, int64 units) and
`jadas10` (ESR), in the columns `patient_id, visit_date, acr_pedi_level, jadas10`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from jiareg.derive.acr_pedi import ACR_PEDI_LEVELS
from jiareg.derive.exact import UNITS
from jiareg.derive.jadas import ESR_CEILING_MM_H, ESR_FLOOR_MM_H
from jiareg.vocab import CORE_SET_VARIABLES

__all__ = ["duckdb_sql", "duckdb_sql_derive", "polars_derive"]

GLOBALS = ("phys_global", "parent_global")
COLUMNS = (*CORE_SET_VARIABLES, "phys_global_scale", "parent_global_scale")
ESR_LOW, ESR_HIGH = float(ESR_FLOOR_MM_H), float(ESR_CEILING_MM_H)


# --- polars, by hand ---------------------------------------------------------------------


def _pl_units(name: str) -> list[pl.Expr]:
    value = pl.col(name)
    if name not in GLOBALS:
        return [(value * UNITS).round().cast(pl.Int64).alias(f"u_{name}")]
    scale = pl.col(f"{name}_scale").fill_null("0-10")
    factor = pl.when(scale == "0-100").then(UNITS // 10).otherwise(UNITS)
    return [
        (value * factor).round().cast(pl.Int64).alias(f"u_{name}"),
        (scale == "0-3").alias(f"l_{name}"),
    ]


def _pl_code(name: str) -> pl.Expr:
    """-1 missing, -2 worsened, else the highest level improved by (0 if none)."""
    b, f = pl.col(f"b_u_{name}"), pl.col(f"u_{name}")
    missing = b.is_null() | f.is_null()
    if name in GLOBALS:
        missing = missing | (pl.col(f"b_l_{name}") != pl.col(f"l_{name}"))
    ladder: Any = pl.when(missing).then(-1).when((b >= 0) & (f * 100 > b * 130)).then(-2)
    ladder = ladder.when(b <= 0).then(0)
    for level in reversed(ACR_PEDI_LEVELS):
        ladder = ladder.when(f * 100 <= b * (100 - level)).then(level)
    code: pl.Expr = ladder.otherwise(0).alias(f"c_{name}")
    return code


def _pl_global_0_10(name: str) -> pl.Expr:
    scale = pl.col(f"{name}_scale").fill_null("0-10")
    value = pl.col(name).cast(pl.Float64)
    return pl.when(scale == "0-10").then(value).when(scale == "0-100").then(value / 10)


def polars_derive(visits_parquet: Path) -> pa.Table:
    """The same work by hand in polars: read, units, first visit (group-by + join), rule."""
    visits = (
        pl.scan_parquet(visits_parquet)
        .select("patient_id", "visit_date", *COLUMNS)
        .filter(pl.col("visit_date").is_not_null())
        .with_columns(*[e for n in CORE_SET_VARIABLES for e in _pl_units(n)])
    )
    kept = [f"u_{n}" for n in CORE_SET_VARIABLES] + [f"l_{g}" for g in GLOBALS]
    first = visits.group_by("patient_id").agg(
        pl.col("visit_date").min().alias("b_date"),
        *[pl.col(c).get(pl.col("visit_date").arg_min()).alias(f"b_{c}") for c in kept],
    )
    pairs = visits.join(first, on="patient_id")
    ties = pairs.filter(pl.col("visit_date") == pl.col("b_date")).group_by("patient_id").len()
    codes = [f"c_{n}" for n in CORE_SET_VARIABLES]

    def count(cond: Any) -> pl.Expr:
        return pl.sum_horizontal([cond(pl.col(c)).cast(pl.Int8) for c in codes])

    scored = pairs.filter(pl.col("visit_date") > pl.col("b_date")).with_columns(
        *[_pl_code(n) for n in CORE_SET_VARIABLES]
    )
    scored = scored.with_columns(
        n_miss=count(lambda c: c == -1),
        n_wor=count(lambda c: c == -2),
        **{f"n_imp{lv}": count(lambda c, lv=lv: c >= lv) for lv in ACR_PEDI_LEVELS},
    )
    ok = pl.col("n_wor") + pl.col("n_miss") <= 1
    level: Any = pl.when(ok & (pl.col("n_imp100") >= 3)).then(100)
    for lv in reversed(ACR_PEDI_LEVELS[:-1]):
        level = level.when(ok & (pl.col(f"n_imp{lv}") >= 3)).then(lv)
    best = (pl.col("n_wor") <= 1) & (pl.col("n_imp30") + pl.col("n_miss") >= 3)
    level = level.when(best).then(None).otherwise(0)
    joints = pl.col("active_joints").cast(pl.Int64).clip(0, 10).cast(pl.Float64)
    esr = pl.col("esr").cast(pl.Float64).clip(ESR_LOW, ESR_HIGH)
    jadas10 = (
        _pl_global_0_10("phys_global")
        + _pl_global_0_10("parent_global")
        + joints
        + (esr - ESR_LOW) * 10 / (ESR_HIGH - ESR_LOW)
    )
    out, tie_count = pl.collect_all(
        [
            scored.select(
                "patient_id",
                "visit_date",
                level.cast(pl.Int64).alias("acr_pedi_level"),
                jadas10.alias("jadas10"),
            ),
            ties.filter(pl.col("len") > 1).select(pl.len()),
        ]
    )
    if tie_count.item():
        raise ValueError("two visits on a patient's baseline date")
    return out.to_arrow()


# --- DuckDB SQL, by hand -----------------------------------------------------------------


def _sql_units(name: str) -> str:
    if name not in GLOBALS:
        return f"CAST(ROUND({name} * {UNITS}) AS BIGINT) AS u_{name}"
    scale = f"COALESCE({name}_scale, '0-10')"
    factor = f"CASE WHEN {scale} = '0-100' THEN {UNITS // 10} ELSE {UNITS} END"
    return f"CAST(ROUND({name} * {factor}) AS BIGINT) AS u_{name}, {scale} = '0-3' AS l_{name}"


def _sql_code(name: str) -> str:
    b, f = f"b_{name}", f"u_{name}"
    missing = f"{b} IS NULL OR {f} IS NULL"
    if name in GLOBALS:
        missing += f" OR bl_{name} <> l_{name}"
    steps = " ".join(
        f"WHEN {f} * 100 <= {b} * {100 - lv} THEN {lv}" for lv in reversed(ACR_PEDI_LEVELS)
    )
    return (
        f"CASE WHEN {missing} THEN -1 WHEN {b} >= 0 AND {f} * 100 > {b} * 130 THEN -2 "
        f"WHEN {b} <= 0 THEN 0 {steps} ELSE 0 END AS c_{name}"
    )


def _sql_global_0_10(name: str) -> str:
    scale = f"COALESCE({name}_scale, '0-10')"
    return (
        f"CASE WHEN {scale} = '0-10' THEN CAST({name} AS DOUBLE) "
        f"WHEN {scale} = '0-100' THEN {name} / 10 END"
    )


def duckdb_sql(visits_parquet: Path) -> str:
    """One DuckDB query for the same work: the first visit's values by ordered aggregates,
    one join to the later visits, a semi-join of the first dates that raises on a tie."""
    names = CORE_SET_VARIABLES
    codes = [f"c_{n}" for n in names]

    def count(cond: str) -> str:
        return " + ".join(f"CAST({c} {cond} AS INTEGER)" for c in codes)

    firsts = ", ".join(
        [f"first(u_{n} ORDER BY visit_date) AS b_{n}" for n in names]
        + [f"first(l_{g} ORDER BY visit_date) AS bl_{g}" for g in GLOBALS]
    )
    ok = "n_wor + n_miss <= 1"
    level = " ".join(f"WHEN {ok} AND n_imp{lv} >= 3 THEN {lv}" for lv in reversed(ACR_PEDI_LEVELS))
    return f"""
    WITH v AS (
      SELECT patient_id, visit_date, {", ".join(_sql_units(n) for n in names)},
        {_sql_global_0_10("phys_global")} + {_sql_global_0_10("parent_global")}
          + CAST(CASE WHEN active_joints > 10 THEN 10 WHEN active_joints < 0 THEN 0
                 ELSE active_joints END AS DOUBLE)
          + (CASE WHEN esr > {ESR_HIGH} THEN {ESR_HIGH} WHEN esr < {ESR_LOW} THEN {ESR_LOW}
             ELSE CAST(esr AS DOUBLE) END - {ESR_LOW}) * 10 / {ESR_HIGH - ESR_LOW} AS jadas10
      FROM read_parquet('{visits_parquet}') WHERE visit_date IS NOT NULL
    ), f AS (
      SELECT patient_id, min(visit_date) AS b_date, {firsts} FROM v GROUP BY patient_id
    ), ties AS (
      SELECT v.patient_id FROM v JOIN f ON v.patient_id = f.patient_id AND visit_date = b_date
      GROUP BY v.patient_id HAVING count(*) > 1
    ), c AS (
      SELECT patient_id, visit_date, jadas10, {", ".join(_sql_code(n) for n in names)}
      FROM v JOIN f USING (patient_id)
      WHERE visit_date > b_date AND (
        SELECT error('two visits on the baseline date of ' || min(patient_id)) IS NULL
        FROM ties HAVING count(*) > 0
      ) IS NULL
    ), n AS (
      SELECT *, {count("= -1")} AS n_miss, {count("= -2")} AS n_wor,
        {", ".join(f"{count(f'>= {lv}')} AS n_imp{lv}" for lv in ACR_PEDI_LEVELS)}
      FROM c
    )
    SELECT patient_id, visit_date,
      CAST(CASE {level} WHEN n_wor <= 1 AND n_imp30 + n_miss >= 3 THEN NULL ELSE 0 END
           AS BIGINT) AS acr_pedi_level,
      jadas10
    FROM n
    """


def duckdb_sql_derive(visits_parquet: Path) -> pa.Table:
    """Run `duckdb_sql` on a fresh in-memory DuckDB connection."""
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        return con.sql(duckdb_sql(visits_parquet)).to_arrow_table()
