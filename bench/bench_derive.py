"""Derivations at scale: ACR Pedi level against the first visit, and JADAS-10, per visit.

Every contender does the same work and its clock covers reading the Parquet snapshot's visits:
take each patient's first visit as the baseline (two visits on that date are an error), and
for every later visit give `acr_pedi_level` (exact, on integer units) and `jadas10` (ESR).

- `derivation_plan`: the Ibis expressions of `jiareg.derive` (`core_set_units`,
  `first_visit_pairs`, `acr_pedi_unit_columns`, `jadas_globals_expr`), run on DuckDB;
- `polars_derive` and `duckdb_sql_derive` (bench/_derive_by_hand.py): the same rules written
  by hand in polars (lazy, all cores) and as one DuckDB SQL query;
- `scalar_rows`: pandas row-wise `apply` of the scalar Fraction rules (on a sample,
  extrapolated) — what a naive script does, and the exact reference for the others.

Outputs are compared row by row (`same_rows`). Run: `python -m bench derive` (20M rows) or
`python -m bench.bench_derive --patients 100000` for another size.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tests.support.derivation import derivation_plan, follow_up_pairs, scalar_rows

from bench._data import cached_registry, row
from bench._derive_by_hand import duckdb_sql_derive, polars_derive
from bench._tree_rss import PeakRss
from jiareg.study.backends import open_registry

OUTPUT = ("patient_id", "visit_date", "acr_pedi_level", "jadas10")
SIZES = {True: (20_000, 20), False: (1_000_000, 20)}  # quick: 400k rows; full: 20M rows
PANDAS_SAMPLE = {True: 2_000, False: 20_000}


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
