"""Synthetic registries for the benchmarks, generated once and cached as Parquet snapshots."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from jiareg.study.backends import MANIFEST_NAME
from jiareg.synth import write_registry

SEED = 1


def cached_registry(patients: int, visits: int) -> Path:
    """A snapshot folder of `patients` x `visits` (seed 1), generated on first use.

    Kept under $JIAREG_BENCH_DATA (default: the system temp folder) so a second benchmark, or
    a second run, does not pay for generating 1M patients again.
    """
    root = Path(os.environ.get("JIAREG_BENCH_DATA", Path(tempfile.gettempdir()) / "jiareg-bench"))
    folder = root / f"synth-{patients}x{visits}-seed{SEED}"
    if not (folder / MANIFEST_NAME).is_file():
        write_registry(folder, patients=patients, visits=visits, seed=SEED, parquet=True)
    return folder


def row(
    name: str,
    rows: int,
    seconds: float,
    peak_rss_mb: float,
    baseline: str = "-",
    baseline_seconds: float | None = None,
    **extra: object,
) -> dict[str, object]:
    """One result row in the bench runner's convention (ratio = seconds / baseline's)."""
    return {
        "name": name,
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds) if seconds else None,
        "ratio": None if baseline_seconds is None else round(seconds / baseline_seconds, 2),
        "baseline": baseline,
        "peak_rss_mb": round(peak_rss_mb),
        **extra,
    }
