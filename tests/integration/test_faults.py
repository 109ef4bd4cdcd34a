"""Faults: SIGKILL an import and a stream of web saves midway, then prove the registry whole.

Issue #12, item 7. Everything goes through the `jiareg` command (INTERFACE.md); what is
killed is a real subprocess (SIGKILL: no handler, no clean-up, no commit), the commands
around it run in this process (`tests.support.cli_processes.jiareg`):

- an import of a 1,000-patient synthetic registry, killed once it is writing (its progress
  bar, shown on a pseudo-terminal, says "loading <table>", which it says inside the
  import's transaction): afterwards `jiareg export` gives byte for byte what it gave before
  the import (all-or-nothing, updates of stored visits included), `jiareg audit verify`
  passes and the same import then runs to the end;
- `jiareg serve` receiving visit saves from four clients, killed while saves are in flight:
  every save the server acknowledged (201) is in the registry afterwards, and
  `jiareg audit verify` passes.

Both on SQLite and on PostgreSQL. Loops are bounded and every wait has a time-out; the server
listens on loopback only.
"""

from __future__ import annotations

import csv
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from tests.support.cli_processes import (
    KILL_TIMEOUT_S,
    PASSWORD,
    SYNTHETIC_PATIENTS,
    cli_env,
    exported,
    jiareg,
    sigkill,
    sqlite_url,
    start_import,
    synthetic_registries,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a 1,000-patient import, killed


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`write_synthetic`'s two registries (written once per test process)."""
    return synthetic_registries(tmp_path_factory.getbasetemp())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty registry URL on each engine (PostgreSQL: `fresh_pg_url`)."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("fresh_pg_url"))


def test_an_import_killed_midway_leaves_the_registry_as_it_was(
    registry: str, synthetic: tuple[Path, Path], tmp_path: Path
) -> None:
    env = cli_env(tmp_path)
    small, large = synthetic
    jiareg(env, "init", "--db", registry)
    jiareg(env, "import", str(small), "--db", registry)
    before = exported(env, registry, tmp_path / "before")

    sigkill(start_import(env, large, registry))

    assert exported(env, registry, tmp_path / "after-kill") == before
    assert "intact" in jiareg(env, "audit", "verify", "--db", registry).stdout
    jiareg(env, "import", str(large), "--db", registry)  # nothing left locked or half-done
    patients = exported(env, registry, tmp_path / "after-import")["patients.csv"]
    assert patients.count(b"\n") == SYNTHETIC_PATIENTS + 1
    jiareg(env, "audit", "verify", "--db", registry)


# --- a stream of web saves ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(
    registry: str, synthetic: tuple[Path, Path], tmp_path: Path
) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    """`jiareg serve` on a free loopback port over the 50-patient registry, with one admin.

    Yields (base URL, registry URL, server process); the process is killed afterwards.
    """
    env = cli_env(tmp_path)
    jiareg(env, "init", "--db", registry)
    jiareg(env, "import", str(synthetic[0]), "--db", registry)
    jiareg(env, "user", "add", "saver", "--role", "admin", "--db", registry, stdin=PASSWORD + "\n")
    port = _free_port()
    args = ["serve", "--db", registry, "--host", "127.0.0.1", "--port", str(port)]
    args += ["--runs-dir", str(tmp_path / "runs")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "jiareg", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + KILL_TIMEOUT_S
        while True:
            assert proc.poll() is None, "jiareg serve exited"
            assert time.monotonic() < deadline, "jiareg serve did not answer"
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base, registry, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _logged_in(base: str) -> httpx.Client:
    """A client with its own session and CSRF token."""
    client = httpx.Client(base_url=base, timeout=30)
    login = client.post("/api/login", json={"username": "saver", "password": PASSWORD})
    assert login.status_code == 200, login.text
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    return client


def _saver(
    client: httpx.Client,
    patient: str,
    acked: list[tuple[str, str]],
    refused: list[str],
    stop: threading.Event,
) -> None:
    """Save visits back to back (a new date each) until `stop` or the server dies; an
    answer other than 201 goes to `refused` and ends the loop."""
    try:
        for n in range(1, 2000):
            if stop.is_set():
                return
            day = (date(2041, 1, 1) + timedelta(days=n)).isoformat()
            visit = {"visit_date": day, "weight_kg": "30", "phys_global": "2", "esr": "18"}
            try:
                r = client.post(f"/api/patients/{patient}/visits", json={"visit": visit})
            except httpx.TransportError:  # killed while this save was in flight
                return
            if r.status_code != 201:
                refused.append(f"{patient} {day}: {r.status_code} {r.text}")
                return
            acked.append((patient, day))
    finally:
        client.close()


def test_web_saves_acknowledged_before_a_kill_are_all_kept(
    server: tuple[str, str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    base, registry, proc = server
    acked: list[tuple[str, str]] = []
    refused: list[str] = []
    stop = threading.Event()
    clients = [_logged_in(base) for _ in range(4)]  # log-ins hash slowly: all before the saves
    savers = [
        threading.Thread(target=_saver, args=(c, f"P{i + 1:06d}", acked, refused, stop))
        for i, c in enumerate(clients)
    ]
    for t in savers:
        t.start()
    deadline = time.monotonic() + KILL_TIMEOUT_S
    while len(acked) < 60 and time.monotonic() < deadline and any(t.is_alive() for t in savers):
        time.sleep(0.02)
    try:
        assert len(acked) >= 60, f"the savers stopped before the kill: {refused}"
        sigkill(proc)  # four saves are in flight or about to be
    finally:
        stop.set()
        for t in savers:
            t.join(timeout=60)
    acknowledged = list(acked)
    assert refused == []

    env = cli_env(tmp_path)
    exported(env, registry, tmp_path / "after-kill")
    with (tmp_path / "after-kill" / "visits.csv").open(encoding="utf-8", newline="") as f:
        stored = {(row["patient_id"], row["visit_date"]) for row in csv.DictReader(f)}
    assert set(acknowledged) <= stored, set(acknowledged) - stored
    assert "intact" in jiareg(env, "audit", "verify", "--db", registry).stdout
