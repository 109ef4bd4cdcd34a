"""The report of `bench_web`: the summary line, the RESULTS.md section, the results.json rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from bench._web_client import KINDS

RESULTS: Final = Path(__file__).parent / "RESULTS.md"
BEGIN, END = "<!-- bench_web:begin -->", "<!-- bench_web:end -->"


NOTES: Final = (
    "What the server is. Each uvicorn worker (uvloop, httptools) is its own Python process; "
    "the session, with its user's current role, site and status, is read from the registry "
    "on every request (one primary-key read), so any worker serves any client; a session's "
    "last-seen time is written at most once a minute, by a background writer with the record "
    "views. Reads of patient records are kept per worker until that patient changes (the "
    "warm-up fills them). A save (a visit, validated like an import, audited in the "
    "HMAC-chained trail) is one transaction; the registry's writer lock (SQLite's, or a "
    "PostgreSQL advisory lock) serialises saves across workers.",
)


def _loads(loads: list[float]) -> str:
    return " / ".join(f"{x:.2f}" for x in loads)


def _met(value: float, limit: float) -> str:
    return f"**{'met' if value < limit else 'not met'}** ({value} ms)"


def summary(r: dict[str, Any]) -> str:
    """One line: p95 over all requests and for saves, errors, lost writes."""
    return (
        f"{r['db']}: p95 all {r['p95_ms']} ms, saves {r['per_kind']['save']['p95_ms']} ms; "
        f"{r['requests_per_s']} requests/s; errors {r['errors']}; lost writes "
        f"{r['lost_writes']}; CPU: server {r['server_cpu_ms_per_request']} ms/request, "
        f"{r['server_cpu_share']} core, client {r['client_cpu_share']} core; load "
        f"{_loads(r['load_avg_start'])} -> {_loads(r['load_avg_end'])}"
    )


def _section(r: dict[str, Any]) -> list[str]:
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL 15"}[r["db"]]
    causes = ", ".join(f"{n} × {c}" for c, n in r["error_causes"].items())
    lines = [
        f"### {name}",
        "",
        f"Load average 1/5/15 min {_loads(r['load_avg_start'])} at the start, "
        f"{_loads(r['load_avg_end'])} at the end (the benchmark included). CPU: the server "
        f"(all workers) {r['server_cpu_share']} of a core, {r['server_cpu_ms_per_request']} ms "
        f"per request; the load client {r['client_cpu_share']} of a core.",
        "",
        f"- {r['requests']:,} requests in {r['seconds']} s, **{r['requests_per_s']} "
        f"requests/s**, {r['errors']} errors (warm-up: {r['warmup_requests']:,} requests, "
        f"{r['warmup_errors']} errors)" + (f"; causes: {causes}" if causes else ""),
        f"- all requests: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms",
        f"- writes (warm-up and run): {r['saves_acknowledged']} saves acknowledged (201); "
        f"visits before {r['visits_before']:,}, after {r['visits_after']:,}"
        + (f" ({r['saves_unanswered']} saves unanswered)" if r["saves_unanswered"] else "")
        + f": **{r['lost_writes']} lost writes**",
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
        f"Targets: p95 < 200 ms over all requests {_met(r['p95_ms'], 200)}; p95 < 300 ms for "
        f"saves {_met(r['per_kind']['save']['p95_ms'], 300)}; 0 errors "
        f"**{'met' if r['errors'] == 0 else 'not met'}**; 0 lost writes "
        f"**{'met' if r['lost_writes'] == 0 and r['no_write_lost'] else 'not met'}**.",
        "",
    ]
    return lines


def markdown(results: list[dict[str, Any]], notes: str = "") -> str:
    r = results[0]
    lines = [
        BEGIN,
        "## Web app under load (bench/bench_web.py)",
        "",
        f"Loopback, `jiareg serve --workers {r['workers']} --threads {r['threads']}` (uvicorn; "
        "sessions, log-in throttle and user checks in the registry, access log on), "
        f"{r['patients']:,} patients "
        f"({r['visits_before']:,} visits), {r['clients']} concurrent logged-in clients, each "
        f"with one kept-alive connection, for {r['seconds']} s after a "
        f"{r['warmup_seconds']:g} s warm-up, on the shared 2-core machine (the load client "
        f"runs on the same cores). {r['writers']} clients enter visits back to back; the "
        "others browse: patient list 40 %, patient record (the timeline's data) 45 %, "
        "timeline SVG 15 %. Run: `python -m bench.bench_web` (both databases).",
        "",
    ]
    for result in results:
        lines += _section(result)
    if notes:
        lines += [notes, ""]
    lines += [*NOTES, END]
    return "\n".join(lines) + "\n"


def write_results(results: list[dict[str, Any]], notes: str = "") -> None:
    """Replace this benchmark's section of bench/RESULTS.md (other sections are kept)."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    section = markdown(results, notes)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one run for bench/results.json."""
    shared = {
        "seconds": r["seconds"],
        "baseline": None,
        "ratio": None,
        "clients": r["clients"],
        "patients": r["patients"],
        "workers": r["workers"],
        "threads": r["threads"],
        "load_avg_start": r["load_avg_start"],
        "load_avg_end": r["load_avg_end"],
    }
    tag = f"{r['db']}, {r['clients']} clients, {r['patients']:,} patients"
    out = [
        {
            "name": f"web: all requests ({tag})",
            "rows": r["requests"],
            "rows_per_s": r["requests_per_s"],
            **{k: r[k] for k in ("errors", "error_causes", "p50_ms", "p95_ms", "p99_ms")},
            **{k: r[k] for k in ("saves_acknowledged", "visits_before", "visits_after")},
            **{k: r[k] for k in ("lost_writes", "no_write_lost", "client_cpu_share")},
            **shared,
        }
    ]
    for kind in KINDS:
        k = r["per_kind"][kind]
        out.append(
            {
                "name": f"web: {kind} ({tag})",
                "rows": k["requests"],
                "rows_per_s": round(k["requests"] / r["seconds"], 1),
                **{m: k[m] for m in ("errors", "p50_ms", "p95_ms", "p99_ms")},
                **shared,
            }
        )
    return out
