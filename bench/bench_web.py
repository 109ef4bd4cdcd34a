"""Web app under load on loopback: 50 concurrent clients against a real `jiareg serve`.

A synthetic 1,000-patient × 20-visit registry is imported into SQLite and into PostgreSQL (a
fresh database on `$JIAREG_BENCH_PG`, default postgresql://postgres@127.0.0.1:5432/postgres,
dropped afterwards); `jiareg serve --workers N --threads T` runs in a subprocess (default 2
workers of 4 threads, sharing sessions through the registry); 50 clients, each logged in with
its own session and one kept-alive connection (`bench._web_client`), loop over the patient list
(`GET /api/patients`, every patient: 1,000 rows, each with its latest cJADAS10 state), the
timeline data (`GET /api/patients/{id}`), the timeline plot (`GET /patients/{id}/timeline.svg`)
and a visit save (`POST /api/patients/{id}/visits`, validated and audited through the store).
Five of the clients enter visits back to back, the others browse. The mix first runs for a
warm-up (default 30 s, not counted: each worker fills its caches of patient records, as a
server that has run for a while has them), then for the measured time. Each save has a unique
date, so afterwards the visits table must hold exactly the initial rows plus every save the
server acknowledged with 201: `lost writes` counts the acknowledged saves missing.

Run (one command, both databases, prints the figures): `python -m bench.bench_web` [--db
sqlite|postgresql|both] [--seconds 60] [--warmup 30] [--clients 50] [--workers 2]
[--threads 4] [--quick];
`python -m bench web` does the same through the runner (rows into bench/results.json). A full
run rewrites this benchmark's section of bench/RESULTS.md. The load average of the machine
is recorded at the start and the end, and the load client's own CPU (it runs on the same
cores as the server).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Final

import psutil
import uvloop
from sqlalchemy import func, select

from bench._web_client import Stats, load
from bench._web_report import rows, summary, write_results
from jiareg.services.imports import import_path
from jiareg.store.engine import get_engine, init_db
from jiareg.store.models import Visit
from jiareg.store.users import add_user
from jiareg.synth import write_registry

PASSWORD: Final = "bench password"
THREADS: Final = int(os.environ.get("BENCH_THREADS", "4"))
"""`jiareg serve --threads` of the runs: 4 per worker measured best with 2 workers on 2 cores
(bench/RESULTS.md, session 8); `--threads` or $BENCH_THREADS for another count."""
PG_ADMIN: Final = os.environ.get("JIAREG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_database(drop: str | None = None) -> str:
    """A new PostgreSQL database's URL; or drop the database of URL `drop`."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        if drop is not None:
            conn.execute(f'DROP DATABASE IF EXISTS "{drop.rsplit("/", 1)[1]}" WITH (FORCE)')
            return drop
        name = f"jiareg_bench_web_{os.getpid()}"
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"


def build(folder: Path, patients: int, db: str = "sqlite") -> tuple[str, list[str]]:
    """A registry of `patients` × 20 visits with one admin; returns its URL and patient ids."""
    csvs = folder / "csv"
    write_registry(csvs, patients=patients, visits=20, seed=7)
    url = f"sqlite:///{folder / 'registry.db'}" if db == "sqlite" else _pg_database()
    init_db(url)
    import_path(csvs, url)
    add_user(url, "bench", PASSWORD, role="admin")
    with (csvs / "patients.csv").open(encoding="utf-8", newline="") as f:
        ids = [row["patient_id"] for row in csv.DictReader(f)]
    return url, ids


def count_visits(url: str) -> int:
    with get_engine(url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Visit)).scalar_one())


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def _serve(url: str, port: int, runs: Path, workers: int, threads: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jiareg",
            "serve",
            "--db",
            url,
            "--port",
            str(port),
            "--runs-dir",
            str(runs),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        stdout=subprocess.DEVNULL,  # the access log, on as in production
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).close()
            break
        except OSError:
            time.sleep(0.2)
    return server


def measure(
    seconds: float,
    clients: int,
    patients: int,
    writers: int,
    workers: int = 2,
    db: str = "sqlite",
    warmup: float = 30,
    threads: int = THREADS,
) -> dict[str, Any]:
    """One load run on `db` (sqlite or postgresql) with `jiareg serve --workers workers
    --threads threads`; the figures as a dict (see `markdown`)."""
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="jiareg-bench-web-") as tmp:
        t0 = time.perf_counter()
        url, ids = build(Path(tmp), patients, db)
        build_s = time.perf_counter() - t0
        before = count_visits(url)
        port = _free_port()
        server = _serve(url, port, Path(tmp) / "runs", workers, threads)
        try:
            cpu0 = time.process_time()
            tree = psutil.Process(server.pid)

            def server_cpu() -> float:
                procs = [tree, *tree.children(recursive=True)]
                return sum(sum(p.cpu_times()[:2]) for p in procs if p.is_running())

            warm, stats, elapsed, server_s = uvloop.run(
                load(
                    "127.0.0.1",
                    port,
                    username="bench",
                    password=PASSWORD,
                    ids=ids,
                    clients=clients,
                    writers=writers,
                    warmup=warmup,
                    seconds=seconds,
                    probe=server_cpu,
                )
            )
            client_cpu = time.process_time() - cpu0
        finally:
            server.terminate()
            try:
                server.wait(timeout=120)  # queued writes finish first
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        after = count_visits(url)
        if db != "sqlite":
            get_engine(url).dispose()
            _pg_database(drop=url)
    return _figures(locals())


def _figures(m: dict[str, Any]) -> dict[str, Any]:
    stats: Stats = m["stats"]
    warm: Stats = m["warm"]
    elapsed: float = m["elapsed"]
    every = [x for v in stats.latencies.values() for x in v]
    per_kind = {
        kind: {
            "requests": len(lat),
            "errors": stats.errors[kind],
            "p50_ms": round(_pct(lat, 0.50), 1),
            "p95_ms": round(_pct(lat, 0.95), 1),
            "p99_ms": round(_pct(lat, 0.99), 1),
        }
        for kind, lat in stats.latencies.items()
    }
    acknowledged = warm.saved + stats.saved
    unanswered = warm.unanswered_saves + stats.unanswered_saves
    before, after = m["before"], m["after"]
    warm_requests = sum(len(v) for v in warm.latencies.values())
    return {
        "db": m["db"],
        "patients": m["patients"],
        "visits_before": before,
        "clients": m["clients"],
        "writers": m["writers"],
        "workers": m["workers"],
        "threads": m["threads"],
        "warmup_seconds": m["warmup"],
        "warmup_requests": warm_requests,
        "warmup_errors": sum(warm.errors.values()),
        "seconds": round(elapsed, 1),
        "build_seconds": round(m["build_s"], 1),
        "requests": len(every),
        "requests_per_s": round(len(every) / elapsed, 1),
        "errors": sum(stats.errors.values()),
        "error_causes": dict(warm.causes + stats.causes),
        "p50_ms": round(_pct(every, 0.50), 1),
        "p95_ms": round(_pct(every, 0.95), 1),
        "p99_ms": round(_pct(every, 0.99), 1),
        "client_cpu_share": round(m["client_cpu"] / (elapsed + m["warmup"]), 2),
        "server_cpu_share": round(m["server_s"] / elapsed, 2),
        "server_cpu_ms_per_request": round(1000 * m["server_s"] / max(1, len(every)), 2),
        "saves_acknowledged": acknowledged,
        "visits_after": after,
        "saves_unanswered": unanswered,
        "lost_writes": max(0, before + acknowledged - after),
        "no_write_lost": before + acknowledged <= after <= before + acknowledged + unanswered,
        "per_kind": per_kind,
        "load_avg_start": [round(x, 2) for x in m["load_start"]],
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
    }


DATABASES: Final = {"sqlite": ("sqlite",), "postgresql": ("postgresql",)}
DATABASES["both"] = ("sqlite", "postgresql")


def run(quick: bool) -> list[dict[str, Any]]:
    """The `python -m bench web` entry: both databases; a full run (60 s after a 30 s
    warm-up, 50 clients, 1,000 patients) also rewrites this benchmark's section of
    bench/RESULTS.md; rows for bench/results.json."""
    results = [
        measure(10, 50, 100, 5, db=db, warmup=5) if quick else measure(60, 50, 1000, 5, db=db)
        for db in DATABASES["both"]
    ]
    for r in results:
        print(summary(r))
    if not quick:
        write_results(results)
    return [row for r in results for row in rows(r)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--db", choices=sorted(DATABASES), default="both")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=30, help="seconds before the clock")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=5, help="clients that only save visits")
    parser.add_argument("--workers", type=int, default=2, help="jiareg serve --workers")
    parser.add_argument(
        "--threads",
        type=int,
        default=THREADS,
        help="jiareg serve --threads (default: $BENCH_THREADS, else 4)",
    )
    parser.add_argument("--quick", action="store_true", help="10 s, 100 patients, no RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    results = []
    for db in DATABASES[args.db]:
        if args.quick:
            r = measure(10, args.clients, 100, args.writers, args.workers, db, 5, args.threads)
        else:
            r = measure(
                args.seconds,
                args.clients,
                args.patients,
                args.writers,
                args.workers,
                db,
                args.warmup,
                args.threads,
            )
        print(summary(r), flush=True)
        results.append(r)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    if not args.quick and not args.no_write:
        write_results(results)


if __name__ == "__main__":
    main()
