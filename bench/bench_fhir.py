"""FHIR import: 1,000 demo-like patients (about 6 visits each, courses, infusions, steroids).

The bundle is written by jiareg's own FHIR writer (`jiareg.formats.fhir.write`) from a
synthetic registry, then timed, in this process, on SQLite:

- `jiareg import bundle.json` (`import_path`): parse, map every resource, convert and check
  units, validate every cell and cross-table rule, upsert, audit, one transaction;
- the baseline: plain `json.loads` of the same file plus the same typed rows written raw
  (`executemany`) into an empty registry, without mapping, validation, diff or audit.

`rows` counts the bundle's resources; each figure is the best of two runs on fresh databases.
The issue's target is 1,000 patients in <= 3 s (31 s before this reader).
"""

from __future__ import annotations

import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_import import raw_load
from jiareg.formats.fhir.write import write_fhir
from jiareg.ingest import read_template
from jiareg.services.imports import import_path
from jiareg.store.engine import init_db
from jiareg.synth import write_registry

SIZES = {True: 200, False: 1_000}
VISITS = 6  # the demo cohort's visits per patient


def _row(name: str, rows: int, seconds: float, base_s: float | None) -> dict[str, Any]:
    return {
        "name": name,
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "ratio": None if base_s is None else round(seconds / base_s, 2),
        "baseline": "-" if base_s is None else "json.loads + raw executemany (sqlite)",
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def run(quick: bool) -> list[dict[str, Any]]:
    """Import a 1,000-patient FHIR bundle into SQLite; resources per second."""
    patients = SIZES[quick]
    with tempfile.TemporaryDirectory(prefix="jiareg-bench-fhir-") as tmp_name:
        tmp = Path(tmp_name)
        write_registry(tmp / "registry", patients=patients, visits=VISITS, seed=1)
        typed = read_template(tmp / "registry")
        bundle = write_fhir(typed, tmp / "bundle.json")
        raw_s = import_s = float("inf")
        for n in range(2):  # best of two, each on a fresh database (the first pays warm-up)
            raw_url, url = f"sqlite:///{tmp / f'raw{n}.db'}", f"sqlite:///{tmp / f'fhir{n}.db'}"
            init_db(raw_url)
            init_db(url)
            start = time.perf_counter()
            resources = len(json.loads(bundle.read_text(encoding="utf-8"))["entry"])
            raw_load(raw_url, typed, staged=False)
            raw_s = min(raw_s, time.perf_counter() - start)
            start = time.perf_counter()
            summary = import_path(bundle, url, format="fhir")
            import_s = min(import_s, time.perf_counter() - start)
            assert summary.changed == sum(t.num_rows for t in typed.values())
    return [
        _row(f"raw json.loads + executemany, {patients} patients", resources, raw_s, None),
        _row(f"jiareg import FHIR bundle, {patients} patients", resources, import_s, raw_s),
    ]


if __name__ == "__main__":
    import sys

    for result in run(quick="--quick" in sys.argv):
        print(result)
