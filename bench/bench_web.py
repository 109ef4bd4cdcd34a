"""Web app under load on loopback: 50 concurrent clients against a real `jiareg serve`.

A synthetic 1,000-patient × 20-visit registry (SQLite) is imported; `jiareg serve --workers N`
runs in a subprocess (default 2 workers sharing sessions through the registry); 50 clients, each
logged in with its own session, loop for a bounded time over the patient list (`GET
/api/patients`, every patient: 1,000 rows, each with its latest cJADAS10 state), the timeline
data (`GET /api/patients/{id}`), the timeline plot (`GET /patients/{id}/timeline.svg`,
matplotlib) and a visit save (`POST /api/patients/{id}/visits`, validated and audited through
the store). Five of the clients enter visits back to back, the others browse. Each save has a
unique date, so afterwards the visits table must hold exactly the initial rows plus every save
the server acknowledged with 201: that count proves no write was lost.

Run: `python -m bench web` (the runner: rows into bench/results.json, this section of
bench/RESULTS.md) or `python -m bench.bench_web [--seconds 60] [--clients 50] [--workers 2]
[--quick]`. The load average of the machine is recorded at the start and the end: the figures
depend on what else runs on the two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from jiareg.services.imports import import_path
from jiareg.store.engine import get_engine, init_db
from jiareg.store.models import Visit
from jiareg.store.users import add_user
from jiareg.synth import write_registry

PASSWORD = "bench password"
READ_MIX = (("list", 0.4), ("record", 0.45), ("svg", 0.15))
KINDS = ("list", "record", "svg", "save")
RESULTS = Path(__file__).parent / "RESULTS.md"
BEGIN, END = "<!-- bench_web:begin -->", "<!-- bench_web:end -->"


@dataclass
class Stats:
    """Latencies (seconds) and errors per request kind."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    saved: int = 0
    unanswered_saves: int = 0
    causes: Counter[str] = field(default_factory=Counter)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(folder: Path, patients: int) -> tuple[str, list[str]]:
    """A registry of `patients` × 20 visits with one admin; returns its URL and patient ids."""
    csvs = folder / "csv"
    write_registry(csvs, patients=patients, visits=20, seed=7)
    url = f"sqlite:///{folder / 'registry.db'}"
    init_db(url)
    import_path(csvs, url)
    add_user(url, "bench", PASSWORD, role="admin")
    with (csvs / "patients.csv").open(encoding="utf-8", newline="") as f:
        ids = [row["patient_id"] for row in csv.DictReader(f)]
    return url, ids


def count_visits(url: str) -> int:
    with get_engine(url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Visit)).scalar_one())


async def logged_in(base: str) -> httpx.AsyncClient:
    """A client with its own session (logged in before the clock starts)."""
    client = httpx.AsyncClient(base_url=base, timeout=60)
    login = await client.post(
        "/api/login", json={"username": "bench", "password": PASSWORD}, timeout=300
    )
    login.raise_for_status()
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    return client


async def client_loop(
    client: httpx.AsyncClient,
    ids: list[str],
    worker: int,
    until: float,
    stats: Stats,
    rng: random.Random,
    writer: bool,
) -> None:
    kinds = [k for k, _ in READ_MIX]
    weights = [w for _, w in READ_MIX]
    n = 0
    while time.monotonic() < until:
        kind = "save" if writer else rng.choices(kinds, weights)[0]
        pid = rng.choice(ids)
        started = time.perf_counter()
        try:
            if kind == "list":
                r = await client.get("/api/patients")
            elif kind == "record":
                r = await client.get(f"/api/patients/{pid}")
            elif kind == "svg":
                r = await client.get(f"/patients/{pid}/timeline.svg")
            else:  # a unique future date per save: every 201 must become one new row
                n += 1
                day = date(2040, 1, 1) + timedelta(days=worker * 10_000 + n)
                visit = {
                    "visit_date": day.isoformat(),
                    "weight_kg": "30",
                    "phys_global": "2",
                    "parent_global": "1",
                    "active_joints": "1",
                    "esr": "18",
                }
                r = await client.post(f"/api/patients/{pid}/visits", json={"visit": visit})
        except httpx.HTTPError as exc:  # a time-out counts as an error
            stats.latencies[kind].append(time.perf_counter() - started)
            stats.errors[kind] += 1
            stats.causes[f"{kind}: {type(exc).__name__}"] += 1
            stats.unanswered_saves += kind == "save"  # written or not: we never heard
            continue
        stats.latencies[kind].append(time.perf_counter() - started)
        ok = r.status_code == (201 if kind == "save" else 200)
        if not ok:
            stats.errors[kind] += 1
            stats.causes[f"{kind}: HTTP {r.status_code}"] += 1
        elif kind == "save":
            stats.saved += 1


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def measure(
    seconds: float, clients: int, patients: int, writers: int, workers: int = 2
) -> dict[str, Any]:
    """One load run; the figures as a dict (see `markdown`)."""
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="jiareg-bench-web-") as tmp:
        t0 = time.perf_counter()
        url, ids = build(Path(tmp), patients)
        build_s = time.perf_counter() - t0
        before = count_visits(url)
        port = _free_port()
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
                str(Path(tmp) / "runs"),
                "--workers",
                str(workers),
            ],
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            stdout=subprocess.DEVNULL,  # the access log, on as in production
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{base}/login", timeout=2).close()
                    break
                except OSError:
                    time.sleep(0.2)
            stats = Stats()
            timing: dict[str, float] = {}

            async def main() -> None:
                sessions = [await logged_in(base) for _ in range(clients)]  # argon2: one by one
                timing["start"] = time.perf_counter()
                until = time.monotonic() + seconds
                await asyncio.gather(
                    *(
                        client_loop(c, ids, i, until, stats, random.Random(i), i < writers)
                        for i, c in enumerate(sessions)
                    )
                )
                timing["end"] = time.perf_counter()
                await asyncio.gather(*(c.aclose() for c in sessions))

            asyncio.run(main())
            elapsed = timing["end"] - timing["start"]
        finally:
            server.terminate()
            try:
                server.wait(timeout=120)  # queued writes finish first
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        after = count_visits(url)
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
    return {
        "patients": patients,
        "visits_before": before,
        "clients": clients,
        "writers": writers,
        "workers": workers,
        "seconds": round(elapsed, 1),
        "build_seconds": round(build_s, 1),
        "requests": len(every),
        "requests_per_s": round(len(every) / elapsed, 1),
        "errors": sum(stats.errors.values()),
        "error_causes": dict(stats.causes),
        "p50_ms": round(_pct(every, 0.50), 1),
        "p95_ms": round(_pct(every, 0.95), 1),
        "p99_ms": round(_pct(every, 0.99), 1),
        "saves_acknowledged": stats.saved,
        "visits_after": after,
        "saves_unanswered": stats.unanswered_saves,
        "no_write_lost": before + stats.saved
        <= after
        <= before + stats.saved + stats.unanswered_saves,
        "per_kind": per_kind,
        "load_avg_start": [round(x, 2) for x in load_start],
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
    }


NOTES: tuple[str, ...] = (
    "What the server is. Each uvicorn worker (uvloop, httptools) is its own Python process; "
    "sessions, the log-in throttle and the user's current role and site are read from the "
    "registry on every request (two primary-key reads), so any worker serves any client. "
    "Reads go through kept read-only connections to the registry in WAL mode; a save (a "
    "visit, validated like an import, audited) is one transaction that reads only the rows "
    "with its keys; the registry's write lock serialises saves across workers. The load "
    "client shares the two cores with the server (about a third of a core).",
)


def _loads(loads: list[float]) -> str:
    return " / ".join(f"{x:.2f}" for x in loads)


def markdown(r: dict[str, Any]) -> str:
    lines = [
        BEGIN,
        "## Web app under load (bench/bench_web.py)",
        "",
        f"Loopback, `jiareg serve --workers {r['workers']}` (uvicorn; sessions, log-in throttle "
        f"and user checks in the registry, access log on) on SQLite, {r['patients']:,} patients"
        f" ({r['visits_before']:,} visits), {r['clients']} concurrent logged-in clients for "
        f"{r['seconds']} s, on the shared 2-core machine (load average 1/5/15 min "
        f"{_loads(r['load_avg_start'])} at the start, {_loads(r['load_avg_end'])} at the end, "
        "the benchmark included). "
        f"{r['writers']} clients enter visits back to back; the others browse: patient list "
        "40 %, patient record (the timeline's data) 45 %, timeline SVG 15 %.",
        "",
        f"- {r['requests']:,} requests, **{r['requests_per_s']} requests/s**, {r['errors']} errors"
        + (
            " (" + ", ".join(f"{n} × {c}" for c, n in r["error_causes"].items()) + ")"
            if r["error_causes"]
            else ""
        ),
        f"- all requests: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms",
        f"- writes: {r['saves_acknowledged']} saves acknowledged (201); visits before "
        f"{r['visits_before']:,}, after {r['visits_after']:,}"
        + (
            f" ({r['saves_unanswered']} saves timed out on the client)"
            if r["saves_unanswered"]
            else ""
        )
        + ": "
        + ("**no write lost**" if r["no_write_lost"] else "**WRITES LOST**"),
        "",
        "| request | n | errors | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for kind, k in r["per_kind"].items():
        lines.append(
            f"| {kind} | {k['requests']} | {k['errors']} | {k['p50_ms']} | {k['p95_ms']} "
            f"| {k['p99_ms']} |"
        )
    lines += [
        "",
        f"Targets p95 < 200 ms over all requests: **{'met' if r['p95_ms'] < 200 else 'not met'}**"
        f" (p95 {r['p95_ms']} ms); p95 < 300 ms for saves: "
        f"**{'met' if r['per_kind']['save']['p95_ms'] < 300 else 'not met'}** "
        f"(p95 {r['per_kind']['save']['p95_ms']} ms).",
        "",
        *NOTES,
    ]
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_results(r: dict[str, Any]) -> None:
    """Replace this benchmark's section of bench/RESULTS.md (other sections are kept)."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    section = markdown(r)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def run(quick: bool) -> list[dict[str, Any]]:
    """The `python -m bench web` entry: a full run (60 s, 50 clients, 1,000 patients) also
    rewrites this benchmark's section of bench/RESULTS.md; rows for bench/results.json."""
    r = measure(10, 50, 100, 5) if quick else measure(60, 50, 1000, 5)
    if not quick:
        write_results(r)
    shared = {
        "seconds": r["seconds"],
        "baseline": None,
        "ratio": None,
        "clients": r["clients"],
        "patients": r["patients"],
        "load_avg_start": r["load_avg_start"],
        "load_avg_end": r["load_avg_end"],
    }
    rows = [
        {
            "name": f"web: all requests ({r['clients']} clients, {r['patients']:,} patients)",
            "rows": r["requests"],
            "rows_per_s": r["requests_per_s"],
            "errors": r["errors"],
            "error_causes": r["error_causes"],
            "p50_ms": r["p50_ms"],
            "p95_ms": r["p95_ms"],
            "p99_ms": r["p99_ms"],
            "saves_acknowledged": r["saves_acknowledged"],
            "visits_before": r["visits_before"],
            "visits_after": r["visits_after"],
            "no_write_lost": r["no_write_lost"],
            **shared,
        }
    ]
    for kind, k in r["per_kind"].items():
        rows.append(
            {
                "name": f"web: {kind} ({r['clients']} clients, {r['patients']:,} patients)",
                "rows": k["requests"],
                "rows_per_s": round(k["requests"] / r["seconds"], 1),
                **{m: k[m] for m in ("errors", "p50_ms", "p95_ms", "p99_ms")},
                **shared,
            }
        )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=5, help="clients that only save visits")
    parser.add_argument("--workers", type=int, default=2, help="jiareg serve --workers")
    parser.add_argument("--quick", action="store_true", help="10 s, 100 patients, no RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        result = measure(10, args.clients, 100, args.writers, args.workers)
    else:
        result = measure(args.seconds, args.clients, args.patients, args.writers, args.workers)
        write_results(result)
    print(json.dumps(result, indent=2))
