"""The load client of `bench_web`: a small HTTP/1.1 keep-alive client on asyncio (uvloop).

The client shares the two cores with the server, so every millisecond of CPU it spends per
request is taken from the server. httpx costs about 1-3 ms of CPU per request (measured: 0.28
of a core at 94 requests/s); this client sends the same requests (method, path, Host,
Cookie, `X-CSRF-Token`, JSON body) over one kept-alive connection per client and parses the
answer (status, headers, Content-Length or chunked body) for a few tens of microseconds.
A connection the server has closed while idle is opened again before the next request is
sent; any failure once a request is on the wire is an error of that request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random
from typing import Any, Final

READ_MIX: Final = (("list", 0.4), ("record", 0.45), ("svg", 0.15))
KINDS: Final = ("list", "record", "svg", "save")
COOKIE: Final = "jiareg_session"


class HTTPError(Exception):
    """The request got no complete answer (connection lost, time-out, malformed answer)."""


@dataclass
class Answer:
    """A response: status, headers (lower-case names; the last of repeated ones) and body."""

    status: int
    headers: dict[str, str]
    body: bytes
    cookies: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One logged-in browser: one kept-alive connection, its cookie and CSRF token."""

    def __init__(self, host: str, port: int, timeout: float = 60) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.cookie = ""
        self.csrf = ""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is not None and self._writer is not None and not self._reader.at_eof():
            return self._reader, self._writer
        await self.close()
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def request(self, method: str, path: str, body: Any = None) -> Answer:
        """Send one request and read its answer (HTTPError when there is none)."""
        reader, writer = await self._connection()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if self.cookie:
            head.append(f"Cookie: {COOKIE}={self.cookie}")
        if self.csrf and method != "GET":
            head.append(f"X-CSRF-Token: {self.csrf}")
        data = b""
        if body is not None:
            data = json.dumps(body).encode()
            head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        try:
            return await asyncio.wait_for(self._answer(reader), self.timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            await self.close()
            raise HTTPError(type(exc).__name__) from exc

    async def _answer(self, reader: asyncio.StreamReader) -> Answer:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            headers[name] = value
            if name == "set-cookie":
                k, _, v = value.split(";", 1)[0].partition("=")
                cookies[k] = v
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            parts = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")
            body = b"".join(parts)
        else:
            body = b""
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Answer(status, headers, body, cookies)

    async def log_in(self, username: str, password: str) -> None:
        """POST /api/login; keeps the session cookie and the CSRF token."""
        answer = await self.request(
            "POST", "/api/login", {"username": username, "password": password}
        )
        if answer.status != 200:
            raise HTTPError(f"log-in answered {answer.status}: {answer.body[:200]!r}")
        self.cookie = answer.cookies[COOKIE]
        self.csrf = answer.json()["csrf_token"]


@dataclass
class Stats:
    """Latencies (seconds) and errors per request kind."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    saved: int = 0
    unanswered_saves: int = 0
    causes: Counter[str] = field(default_factory=Counter)


def visit(worker: int, n: int) -> dict[str, str]:
    """The n-th save of a writer: a unique future date, so every 201 is one new row."""
    day = date(2040, 1, 1) + timedelta(days=worker * 10_000 + n)
    return {
        "visit_date": day.isoformat(),
        "weight_kg": "30",
        "phys_global": "2",
        "parent_global": "1",
        "active_joints": "1",
        "esr": "18",
    }


async def client_loop(
    client: Client,
    ids: list[str],
    worker: int,
    until: float,
    stats: Stats,
    rng: Random,
    writer: bool,
    saves_done: list[int],
) -> None:
    """Requests back to back until `until` (monotonic); a writer only saves visits.
    `saves_done[worker]` numbers the writer's saves across the warm-up and the run."""
    kinds = [k for k, _ in READ_MIX]
    weights = [w for _, w in READ_MIX]
    while time.monotonic() < until:
        kind = "save" if writer else rng.choices(kinds, weights)[0]
        pid = rng.choice(ids)
        started = time.perf_counter()
        try:
            if kind == "list":
                r = await client.request("GET", "/api/patients")
            elif kind == "record":
                r = await client.request("GET", f"/api/patients/{pid}")
            elif kind == "svg":
                r = await client.request("GET", f"/patients/{pid}/timeline.svg")
            else:
                saves_done[worker] += 1
                body = {"visit": visit(worker, saves_done[worker])}
                r = await client.request("POST", f"/api/patients/{pid}/visits", body)
        except HTTPError as exc:  # a time-out counts as an error
            stats.latencies[kind].append(time.perf_counter() - started)
            stats.errors[kind] += 1
            stats.causes[f"{kind}: {exc}"] += 1
            stats.unanswered_saves += kind == "save"  # written or not: we never heard
            continue
        stats.latencies[kind].append(time.perf_counter() - started)
        if r.status != (201 if kind == "save" else 200):
            stats.errors[kind] += 1
            stats.causes[f"{kind}: HTTP {r.status}"] += 1
        elif kind == "save":
            stats.saved += 1


async def load(
    host: str,
    port: int,
    *,
    username: str,
    password: str,
    ids: list[str],
    clients: int,
    writers: int,
    warmup: float,
    seconds: float,
    probe: Callable[[], float] = lambda: 0.0,
) -> tuple[Stats, Stats, float, float]:
    """Log `clients` in (one by one: argon2), run the mix for `warmup` seconds (its own
    Stats), then for `seconds`: (warm-up stats, measured stats, measured wall seconds, the
    change of `probe()` over the measured time, e.g. the server's CPU seconds)."""
    sessions = [Client(host, port) for _ in range(clients)]
    for c in sessions:
        await c.log_in(username, password)
    saves_done = [0] * clients
    phases: list[tuple[Stats, float]] = []
    probed = 0.0
    for length in (warmup, seconds):
        probed = probe()  # the last value taken: at the start of the measured time
        stats = Stats()
        start = time.perf_counter()
        until = time.monotonic() + length
        await asyncio.gather(
            *(
                client_loop(
                    c, ids, i, until, stats, Random(1000 * len(phases) + i), i < writers, saves_done
                )
                for i, c in enumerate(sessions)
            )
        )
        phases.append((stats, time.perf_counter() - start))
    probed = probe() - probed
    for c in sessions:
        await c.close()
    return phases[0][0], phases[1][0], phases[1][1], probed
