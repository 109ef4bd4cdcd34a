"""Derivations at scale: ACR Pedi level against the first visit, and JADAS-10, per visit.

Every contender does the same work and its clock covers reading the Parquet snapshot's visits:
take each patient's first visit as the baseline (two visits on that date are an error), and
for every later visit give `acr_pedi_level` (exact, on integer units) and `jadas10` (ESR).

- `derivation_plan`: the Ibis expressions of `jiareg.derive` (`core_set_units`,
  `first_visit_pairs`, `acr_pedi_unit_columns`, `jadas_globals_expr`), run on DuckDB;
- `polars_derive`: the same rules written by hand in polars (lazy, all cores);
- `duckdb_sql_derive`: the same rules written by hand as one DuckDB SQL query;
- `scalar_rows`: pandas row-wise `apply` of the scalar Fraction rules (on a sample,
  extrapolated) — what a naive script does, and the exact reference for the others.

Outputs are compared row by row (`same_rows`). Run: `python -m bench derive` (20M rows) or
`python -m bench.bench_derive --patients 100000` for another size.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench._data import cached_registry, row
from bench._tree_rss import PeakRss
from jiareg.derive.acr_pedi import (
    ACR_PEDI_LEVELS,
    acr_pedi_level,
    acr_pedi_unit_columns,
    core_set_units,
    first_visit_pairs,
)
from jiareg.derive.coreset import CORE_SET_VARIABLES, CoreSet, Global
from jiareg.derive.exact import UNITS, to_fraction
from jiareg.derive.jadas import (
    ESR_CEILING_MM_H,
    ESR_FLOOR_MM_H,
    jadas_from_globals,
    jadas_globals_expr,
)
from jiareg.study.backends import open_registry

GLOBALS = ("phys_global", "parent_global")
COLUMNS = (*CORE_SET_VARIABLES, "phys_global_scale", "parent_global_scale")
OUTPUT = ("patient_id", "visit_date", "acr_pedi_level", "jadas10")
SIZES = {True: (20_000, 20), False: (1_000_000, 20)}  # quick: 400k rows; full: 20M rows
PANDAS_SAMPLE = {True: 2_000, False: 20_000}
ESR_LOW, ESR_HIGH = float(ESR_FLOOR_MM_H), float(ESR_CEILING_MM_H)


def derivation_plan(visits: Any) -> Any:
    """Ibis: each follow-up visit with its ACR Pedi level against the patient's first visit
    and its JADAS-10 (ESR); columns `patient_id, visit_date, acr_pedi_level, jadas10`.
    """
    units = core_set_units({c: visits[c] for c in COLUMNS})
    jadas10 = jadas_globals_expr(
        visits.phys_global,
        visits.phys_global_scale,
        visits.parent_global,
        visits.parent_global_scale,
        visits.active_joints,
        marker=visits.esr,
    )
    per_visit = visits.select(
        "patient_id", "visit_date", jadas10=jadas10, **{f"u_{k}": v for k, v in units.items()}
    )
    pairs = first_visit_pairs(per_visit, [f"u_{k}" for k in units])
    scored = acr_pedi_unit_columns(
        pairs, {k: pairs[f"b_u_{k}"] for k in units}, {k: pairs[f"u_{k}"] for k in units}
    )
    return scored.select("patient_id", "visit_date", "acr_pedi_level", "jadas10")


def _core_set(row: pd.Series, prefix: str) -> CoreSet:
    def value(name: str) -> Any:
        v = row[prefix + name]
        return None if pd.isna(v) else v

    def global_(name: str) -> Global | None:
        v = value(name)
        return None if v is None else Global(to_fraction(v), value(f"{name}_scale") or "0-10")  # type: ignore[arg-type]

    counts = {
        n: None if value(n) is None else int(value(n)) for n in ("active_joints", "lom_joints")
    }
    return CoreSet(
        global_("phys_global"),
        global_("parent_global"),
        to_fraction(value("chaq")),
        counts["active_joints"],
        counts["lom_joints"],
        to_fraction(value("esr")),
    )


def _scalar_row(row: pd.Series) -> tuple[int | None, float | None]:
    follow = _core_set(row, "")
    level = acr_pedi_level(_core_set(row, "b_"), follow)
    jadas = jadas_from_globals(
        follow.phys_global, follow.parent_global, follow.active_joints, marker=follow.esr
    )
    return level, None if jadas.score is None else float(jadas.score)


def follow_up_pairs(visits: pd.DataFrame) -> pd.DataFrame:
    """pandas: each follow-up visit with its patient's first-visit values as `b_<column>`."""
    visits = visits.sort_values(["patient_id", "visit_date"], kind="stable")
    first = visits.groupby("patient_id", sort=False).head(1)
    base = first[["patient_id", *COLUMNS]].rename(columns={c: f"b_{c}" for c in COLUMNS})
    pairs = visits.merge(base, on="patient_id")
    return pairs[pairs.groupby("patient_id").cumcount() > 0].reset_index(drop=True)


def scalar_rows(pairs: pd.DataFrame) -> pd.DataFrame:
    """pandas row-wise `apply` of the scalar rules (exact Fractions): the reference."""
    out = pairs.apply(_scalar_row, axis=1, result_type="expand")
    out.columns = ["acr_pedi_level", "jadas10"]
    return pd.concat([pairs[["patient_id", "visit_date"]], out], axis=1)


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


# --- comparing and timing ----------------------------------------------------------------


def _sorted(table: pa.Table) -> pa.Table:
    table = table.select(list(OUTPUT))
    table = table.set_column(0, "patient_id", table["patient_id"].cast(pa.string()))
    table = table.set_column(2, "acr_pedi_level", table["acr_pedi_level"].cast(pa.int64()))
    table = table.set_column(3, "jadas10", table["jadas10"].cast(pa.float64()))
    return table.sort_by([("patient_id", "ascending"), ("visit_date", "ascending")])


def same_rows(a: pa.Table, b: pa.Table) -> bool:
    """Row by row: the same visits, the same levels, JADAS-10 equal to 1e-9 (display float)."""
    a, b = _sorted(a), _sorted(b)
    if a.num_rows != b.num_rows:
        return False
    for name in ("patient_id", "visit_date", "acr_pedi_level"):
        if not a[name].combine_chunks().equals(b[name].combine_chunks()):
            return False
    ja, jb = (pc.round(t["jadas10"], 9) for t in (a, b))
    return bool(ja.combine_chunks().equals(jb.combine_chunks()))


def _timed(work: Any) -> tuple[pa.Table, float, float]:
    with PeakRss() as rss:
        start = time.perf_counter()
        out = work()
        seconds = time.perf_counter() - start
    return out, seconds, rss.peak_mb


def measure(patients: int, visits_per: int, sample: int) -> list[dict[str, Any]]:
    """Time every contender on a synthetic registry of `patients` x `visits_per` visits."""
    snapshot = cached_registry(patients, visits_per)
    parquet = snapshot / "visits.parquet"
    n = pq.ParquetFile(parquet).metadata.num_rows
    registry = open_registry(snapshot_dir=snapshot)
    runs = {
        "jiareg (Ibis → DuckDB)": lambda: derivation_plan(registry.table("visits")).to_pyarrow(),
        "polars, hand-written": lambda: polars_derive(parquet),
        "DuckDB SQL, hand-written": lambda: duckdb_sql_derive(parquet),
    }
    timed = {name: _timed(work) for name, work in runs.items()}
    reference = timed["jiareg (Ibis → DuckDB)"][0]
    fastest = min(s for name, (_, s, _) in timed.items() if "hand-written" in name)
    rows = [
        row(
            f"derive {name}",
            n,
            seconds,
            rss,
            "fastest hand-written",
            fastest,
            same_rows=same_rows(out, reference),
        )
        for name, (out, seconds, rss) in timed.items()
    ]
    pairs = follow_up_pairs(pd.read_parquet(parquet).head(sample))
    with PeakRss() as rss_pd:
        start = time.perf_counter()
        exact = scalar_rows(pairs)
        pandas_s = (time.perf_counter() - start) * n / max(len(pairs), 1)
    wanted = pa.Table.from_pandas(exact[list(OUTPUT)], preserve_index=False)
    keys = set(zip(exact.patient_id, exact.visit_date, strict=True))
    mask = [
        (p, d) in keys
        for p, d in zip(
            reference["patient_id"].to_pylist(), reference["visit_date"].to_pylist(), strict=True
        )
    ]
    sample_ok = same_rows(reference.filter(pa.array(mask)), wanted)
    rows.append(
        row(
            "derive pandas row-wise (extrapolated)",
            n,
            pandas_s,
            rss_pd.peak_mb,
            "fastest hand-written",
            fastest,
            same_rows=sample_ok,
        )
    )
    return rows


def run(quick: bool) -> list[dict[str, Any]]:
    """Time the contenders on a synthetic registry (20M visit rows unless quick)."""
    patients, visits_per = SIZES[quick]
    return measure(patients, visits_per, PANDAS_SAMPLE[quick])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=20)
    parser.add_argument("--sample", type=int, default=2_000)
    args = parser.parse_args()
    for r in measure(args.patients, args.visits, args.sample):
        print(r)


if __name__ == "__main__":
    main()
