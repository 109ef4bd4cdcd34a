"""Derivations at scale: ACR Pedi level against the first visit, and JADAS-10, per visit.

Three implementations of the same output (`acr_pedi_level`, `jadas10` for every follow-up
visit), timed in this process:

- `derivation_plan` (tests/support/derivation.py): the Ibis expressions of `jiareg.derive`
  (what studies run), on DuckDB over a Parquet snapshot;
- `numpy_derive`: the same rules hand-vectorised in NumPy on exact int64 units (the limit);
- `scalar_rows` (the same module): pandas row-wise `apply` of the scalar Fraction rules (on a
  sample, extrapolated) — what a naive script does.

The engine parity suite (tests/integration/test_engine_parity.py) runs `derivation_plan` on
DuckDB, PostgreSQL and Spark and checks it against `scalar_rows`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tests.support.derivation import COLUMNS, derivation_plan, follow_up_pairs, scalar_rows

from bench._data import cached_registry, row
from bench._tree_rss import PeakRss
from jiareg.derive.acr_pedi import ACR_PEDI_LEVELS
from jiareg.derive.coreset import CORE_SET_VARIABLES
from jiareg.derive.exact import UNITS
from jiareg.derive.jadas import ESR_CEILING_MM_H, ESR_FLOOR_MM_H
from jiareg.study.backends import open_registry

GLOBALS = ("phys_global", "parent_global")
SIZES = {True: (20_000, 20), False: (1_000_000, 20)}  # quick: 400k rows; full: 20M rows
PANDAS_SAMPLE = {True: 2_000, False: 20_000}


def _units(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    missing = np.isnan(values)
    return np.rint(np.where(missing, 0, values) * UNITS).astype(np.int64), missing


def numpy_derive(cols: dict[str, np.ndarray], patient_codes: np.ndarray) -> dict[str, np.ndarray]:
    """The same rules hand-vectorised in NumPy (rows sorted by patient and date; NaN = missing).

    Globals are compared on their common scale (0-100 → 0-10; 0-3 only with 0-3), then every
    threshold is decided on int64 units as in `jiareg.derive.exact`.
    """
    starts = np.flatnonzero(np.r_[True, patient_codes[1:] != patient_codes[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, len(patient_codes)]))
    follow = np.arange(len(patient_codes)) != first
    pairs = []
    for name in CORE_SET_VARIABLES:
        f = cols[name]
        if name in GLOBALS:
            scale = cols[f"{name}_scale"]
            likert = scale == 2
            f = np.where(scale == 1, f / 10, f)
            b = f[first]
            bad = likert != likert[first]
            f, b = np.where(bad, np.nan, f), np.where(bad, np.nan, b)
        else:
            b = f[first]
        (bu, bm), (fu, fm) = _units(b), _units(f)
        pairs.append((bu, fu, bm | fm))
    missing = sum(m.astype(np.int64) for _, _, m in pairs)
    worse = sum(
        (~m & (((b > 0) & ((f - b) * 100 > 30 * b)) | ((b == 0) & (f > 0)))).astype(np.int64)
        for b, f, m in pairs
    )
    level = np.full(len(first), -1, dtype=np.int64)  # -1 = not evaluable
    for x in ACR_PEDI_LEVELS:
        improved = sum(
            (~m & (b > 0) & ((b - f) * 100 >= x * b)).astype(np.int64) for b, f, m in pairs
        )
        responder = (improved >= 3) & (worse + missing <= 1)
        if x == ACR_PEDI_LEVELS[0]:
            level[~((improved + missing >= 3) & (worse <= 1))] = 0
        level[responder] = x
    pga = np.where(cols["phys_global_scale"] == 1, cols["phys_global"] / 10, cols["phys_global"])
    par = np.where(
        cols["parent_global_scale"] == 1, cols["parent_global"] / 10, cols["parent_global"]
    )
    pga[cols["phys_global_scale"] == 2] = np.nan
    par[cols["parent_global_scale"] == 2] = np.nan
    low, high = float(ESR_FLOOR_MM_H), float(ESR_CEILING_MM_H)
    esr_points = (np.clip(cols["esr"], low, high) - low) * 10 / (high - low)
    jadas = pga + par + np.minimum(cols["active_joints"], 10) + esr_points
    return {"acr_pedi_level": level[follow], "jadas10": jadas[follow]}


_SCALE_CODES = {"0-10": 0, "0-100": 1, "0-3": 2}


def _numpy_inputs(visits: pa.Table) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """NumPy columns of `visits`, which must be sorted by patient and date (a snapshot is)."""
    cols = {
        n: visits[n].to_numpy(zero_copy_only=False).astype(np.float64) for n in CORE_SET_VARIABLES
    }
    for g in GLOBALS:
        scale = visits[f"{g}_scale"].dictionary_encode().combine_chunks()
        codes = np.array([_SCALE_CODES[s] for s in scale.dictionary.to_pylist()])
        cols[f"{g}_scale"] = codes[scale.indices.to_numpy()]
    patients = visits["patient_id"].dictionary_encode().combine_chunks().indices.to_numpy()
    return cols, patients


def run(quick: bool) -> list[dict[str, Any]]:
    """Time the three implementations on a synthetic registry (20M visit rows unless quick)."""
    patients, visits_per = SIZES[quick]
    snapshot = cached_registry(patients, visits_per)
    visits = pq.read_table(
        snapshot / "visits.parquet", columns=["patient_id", "visit_date", *COLUMNS]
    )
    n = visits.num_rows
    sample = follow_up_pairs(visits.slice(0, PANDAS_SAMPLE[quick]).to_pandas())

    with PeakRss() as rss_np:
        start = time.perf_counter()
        cols, codes = _numpy_inputs(visits)
        n_out = len(numpy_derive(cols, codes)["acr_pedi_level"])
        numpy_s = time.perf_counter() - start
    del cols, codes, visits

    plan = derivation_plan(open_registry(snapshot_dir=snapshot).table("visits"))
    with PeakRss() as rss_db:
        start = time.perf_counter()
        assert plan.to_pyarrow().num_rows == n_out
        duck_s = time.perf_counter() - start

    with PeakRss() as rss_pd:
        start = time.perf_counter()
        scalar_rows(sample)
        pandas_s = (time.perf_counter() - start) * n / max(len(sample), 1)
    return [
        row("derive numpy (hand-vectorised, the limit)", n, numpy_s, rss_np.peak_mb),
        row("derive ibis-duckdb", n, duck_s, rss_db.peak_mb, "numpy", numpy_s),
        row("derive pandas row-wise (extrapolated)", n, pandas_s, rss_pd.peak_mb, "numpy", numpy_s),
    ]
