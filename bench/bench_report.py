"""`jiareg study run` end to end with its report (issue #14 item 5): the founding protocol on a
synthetic registry of 100k and 1M patients × 20 visits (2,000 with `--quick`), DuckDB.

Each run is the command itself in a child process — start-up and imports, the analysis,
results.json, report.html and report.pdf — timed from outside, with the peak memory of the
process tree, the sizes of what it wrote, the CPU seconds it used (user + system, all
threads) and the 1-minute load average before and after: on a shared machine the wall time
moves with the load, the CPU seconds much less. Targets: 100k < 15 s, 1M < 60 s on 2 cores,
report.html < 2 MB at any size.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._data import cached_registry, row
from bench._tree_rss import PeakRss

PROTOCOL = Path(__file__).parents[1] / "protocols" / "tocilizumab-after-anti-tnf.yaml"
VISITS = 20
SIZES = {True: (2_000,), False: (100_000, 1_000_000)}
TARGET_SECONDS = {100_000: 15.0, 1_000_000: 60.0}
HTML_MAX_BYTES = 2_000_000


def _study_run(snapshot: Path, out: Path) -> tuple[float, float, float, int]:
    """Run `jiareg study run` on `snapshot` into `out`: (wall s, CPU s, peak MB, cohort)."""
    command = [sys.executable, "-m", "jiareg", "study", "run", str(PROTOCOL)]
    command += ["--snapshot", str(snapshot), "--identified", "--out", str(out)]
    before = os.times()
    with PeakRss() as rss:
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    after = os.times()
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip()[-300:])
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    found = re.search(r"([\d,]+) patients; wrote", done.stdout)
    if found is None:
        raise RuntimeError(f"no cohort size in: {done.stdout.strip()[-300:]}")
    cohort = int(found.group(1).replace(",", ""))
    return seconds, cpu, rss.peak_mb, cohort


def run(quick: bool) -> list[dict[str, Any]]:
    """One row per registry size."""
    rows = []
    for patients in SIZES[quick]:
        snapshot = cached_registry(patients, VISITS)
        with tempfile.TemporaryDirectory(prefix="jiareg-bench-report-") as folder:
            out = Path(folder)
            load_before = os.getloadavg()[0]
            seconds, cpu, peak, cohort = _study_run(snapshot, out)
            sizes = {name: (out / name).stat().st_size for name in ("report.html", "report.pdf")}
        rows.append(
            row(
                f"study run + report, {patients:,} patients",
                patients * VISITS,
                seconds,
                peak,
                cohort=cohort,
                cpu_s=round(cpu, 1),
                report_html_kb=round(sizes["report.html"] / 1000),
                report_pdf_kb=round(sizes["report.pdf"] / 1000),
                html_under_2mb=sizes["report.html"] < HTML_MAX_BYTES,
                target_s=TARGET_SECONDS.get(patients),
                load_1m=f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}",
            )
        )
    return rows
