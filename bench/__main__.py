"""Benchmark runner: `python -m bench [NAME ...] [--quick]`.

Discovers every `bench/bench_<NAME>.py` that exposes `run(quick: bool) -> list[dict]`, runs
the selected ones (all by default), prints a rich table of their rows (name, rows, seconds,
rows/s, ratio to the baseline measured in the same run, peak RSS of the process tree) and
merges the rows into `bench/results.json` by name, with the machine they ran on.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).parent
RESULTS_JSON = HERE / "results.json"
COLUMNS = ("name", "rows", "seconds", "rows_per_s", "ratio", "baseline", "peak_rss_mb")


def discover() -> dict[str, Callable[[bool], list[dict[str, Any]]]]:
    """NAME -> run function of every bench/bench_NAME.py that has `run(quick)`."""
    found = {}
    for path in sorted(HERE.glob("bench_*.py")):
        module = importlib.import_module(f"bench.{path.stem}")
        run = getattr(module, "run", None)
        if callable(run):
            found[path.stem.removeprefix("bench_")] = run
    return found


def machine() -> dict[str, Any]:
    """CPU model, cores and memory of this machine (the figures depend on them)."""
    model = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "nproc": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg_1m": round(os.getloadavg()[0], 1),
        "python": platform.python_version(),
    }


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def merge(rows: list[dict[str, Any]], path: Path = RESULTS_JSON) -> None:
    """Replace or add `rows` (by name) in the results file, stamped with time and machine."""
    data: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    stored = data.setdefault("rows", {})
    stamp = {"measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **machine()}
    for row in rows:
        stored[row["name"]] = {**row, **stamp}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    benches = discover()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(benches)}")
    parser.add_argument("--quick", action="store_true", help="small inputs (a smoke run)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in benches]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(benches)}")
    console = Console()
    for name in args.names or list(benches):
        console.rule(f"bench {name}")
        rows = benches[name](args.quick)
        table = Table(*COLUMNS)
        for row in rows:
            table.add_row(*(_cell(row.get(c)) for c in COLUMNS))
        console.print(table)
        if not args.quick:
            merge(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
