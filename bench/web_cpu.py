"""CPU per request of the web app in-process, by request kind (no HTTP server, no client).

`bench_web` measures latency under load, which on a shared machine says more about the other
processes than about the app. This calls the ASGI app directly (its sync routes still run in
anyio's worker threads, as under uvicorn) on bench_web's registry (`bench_web.build`), one
request at a time, and takes `time.process_time` (all threads) around each: the app's own
CPU per request, without uvicorn's HTTP parsing and access log. On PostgreSQL the CPU of the
database's server processes (its backends, read with psutil) is given beside it: it runs on
the same cores.

Kinds: `noop` (GET /api/me: session, CSRF, middleware), `list`, `record`, `svg` (as the load
test; every record and timeline kept after a warm-up), `save` (a new visit), and
`list-mixed` / `record-mixed` (a save before every 25th read, so the kept list is brought up
to date as under load). Each kind is timed three times; the best is the least disturbed.

Run: `python -m bench.web_cpu [--db sqlite|postgresql] [--requests 300]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from random import Random
from typing import Any

import psutil
import uvloop

from bench._web_client import visit
from bench.bench_web import PASSWORD, _pg_database, build
from jiareg.web.app import create_app

Message = dict[str, Any]


class Caller:
    """Requests to one app as one logged-in browser (cookie and CSRF token)."""

    def __init__(self, app: Any) -> None:
        self.app, self.cookie, self.csrf, self.saves = app, "", "", 0

    async def call(self, method: str, path: str, body: object = None) -> Message:
        data = b"" if body is None else json.dumps(body).encode()
        headers = [(b"host", b"127.0.0.1:8000")]
        if self.cookie:
            headers.append((b"cookie", f"jiareg_session={self.cookie}".encode()))
        if method != "GET" and self.csrf:
            headers.append((b"x-csrf-token", self.csrf.encode()))
        if body is not None:
            headers += [(b"content-type", b"application/json")]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False
        out: Message = {"status": 0, "body": b"", "headers": []}

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                out["status"], out["headers"] = message["status"], message["headers"]
            else:
                out["body"] += message.get("body", b"")

        await self.app(scope, receive, send)
        return out

    async def log_in(self) -> None:
        answer = await self.call("POST", "/api/login", {"username": "bench", "password": PASSWORD})
        assert answer["status"] == 200, answer
        for name, value in answer["headers"]:
            if name == b"set-cookie" and value.startswith(b"jiareg_session="):
                self.cookie = value.split(b";")[0].split(b"=", 1)[1].decode()
        self.csrf = json.loads(answer["body"])["csrf_token"]

    async def do(self, kind: str, pid: str) -> None:
        if kind == "save":
            self.saves += 1
            body = {"visit": visit(0, self.saves)}
            answer = await self.call("POST", f"/api/patients/{pid}/visits", body)
        else:
            path = {
                "noop": "/api/me",
                "list": "/api/patients",
                "record": f"/api/patients/{pid}",
                "svg": f"/patients/{pid}/timeline.svg",
            }[kind]
            answer = await self.call("GET", path)
        assert answer["status"] in (200, 201), (kind, answer["status"], answer["body"][:300])


class ServerCpu:
    """CPU seconds spent by a PostgreSQL database's backends (0 for SQLite), by psutil."""

    def __init__(self, url: str) -> None:
        self.name = None if url.startswith("sqlite") else f" {url.rsplit('/', 1)[1]} "

    def __call__(self) -> dict[int, float]:
        if self.name is None:
            return {}
        out = {}
        for p in psutil.process_iter(["cmdline"]):
            try:
                if self.name in " ".join(p.info["cmdline"] or ()) + " ":
                    out[p.pid] = sum(p.cpu_times()[:2])
            except psutil.Error:
                continue
        return out

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        return sum(v - before.get(pid, 0.0) for pid, v in after.items())


async def _measure(url: str, ids: list[str], n: int, runs: Path) -> dict[str, list[float]]:
    app = create_app(url, runs_dir=runs)
    rng = Random(1)
    caller = Caller(app)
    server_cpu = ServerCpu(url)

    async def timed(kind: str, k: int, mixed: bool = False) -> float:
        spent, server0 = 0.0, server_cpu()
        for i in range(k):
            if mixed and i % 25 == 0:
                await caller.do("save", rng.choice(ids))
            pid = rng.choice(ids)
            t0 = time.process_time()
            await caller.do(kind, pid)
            spent += time.process_time() - t0
        if server_cpu.name is not None:  # the backends' CPU of every request, saves too
            results.setdefault(f"{kind}{'-mixed' if mixed else ''} (db)", []).append(
                ServerCpu.spent(server0, server_cpu()) / k * 1000
            )
        return spent / k * 1000

    results: dict[str, list[float]] = {}
    async with app.router.lifespan_context(app):
        await caller.log_in()
        for pid in ids:  # warm: every record and timeline kept, as after bench_web's warm-up
            await caller.do("record", pid)
            await caller.do("svg", pid)
        for _ in range(20):
            await caller.do("list", ids[0])
            await caller.do("save", rng.choice(ids))
        for _ in range(3):
            for kind in ("noop", "list", "record", "svg", "save"):
                ms = await timed(kind, n if kind != "save" else n // 5)
                results.setdefault(kind, []).append(ms)
            for kind in ("list", "record"):
                results.setdefault(f"{kind}-mixed", []).append(await timed(kind, n, mixed=True))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jiareg-web-cpu-") as tmp:
        url, ids = build(Path(tmp), 1000, args.db)
        try:
            results = uvloop.run(_measure(url, ids, args.requests, Path(tmp) / "runs"))
        finally:
            if args.db != "sqlite":
                _pg_database(drop=url)
    print(f"{args.db}: ms of CPU per request (3 runs; best)")
    for kind, values in results.items():
        shown = " ".join(f"{v:6.2f}" for v in values)
        print(f"  {kind:13s} {shown}   best {min(values):6.2f}")


if __name__ == "__main__":
    main()
