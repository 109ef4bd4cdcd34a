"""Running `jiareg` as a user would: commands (`jiareg`, in this process through Typer's
runner: the same app, arguments, environment, stdin, exit code and output), and what must be a
real process because it is stopped or killed: an import held on a terminal while it writes,
`jiareg serve`, SIGKILL (the fault and backup tests).

A command in a subprocess paid ~1-3 s of interpreter and import start-up each; the fault and
backup tests ran ~80 of them. `jiareg_process` runs one for real where the process itself is
what a test checks."""

from __future__ import annotations

import csv
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PASSWORD = "seven quiet otters sing at dawn"
AUDIT_KEY = "fault-and-backup-tests-audit-key-0123456789abcdef"
KILL_TIMEOUT_S = 120.0


def cli_env(tmp: Path) -> dict[str, str]:
    """The environment of every `jiareg` subprocess: this test's audit key, config home and
    temporary folder (what a killed process leaves there, an import's staging folder, stays
    in the test's own folder)."""
    (tmp / "tmp").mkdir(exist_ok=True)
    return {
        **os.environ,
        "JIAREG_AUDIT_KEY": AUDIT_KEY,
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "TMPDIR": str(tmp / "tmp"),
        "PYTHONWARNINGS": "ignore",
        "TERM": "xterm",
    }


def jiareg(
    env: dict[str, str], *args: str, stdin: str | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `jiareg ARGS` to the end in this process, with `env` as its environment and
    `stdin` as its standard input; with `ok`, fail the test on a non-zero exit."""
    from typer.testing import CliRunner

    from jiareg.cli import app

    # Variables of the test process that `env` lacks are unset for the command's duration.
    unset: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    with _engines_closed_after():  # as when a process exits: no connection outlives it
        result = CliRunner().invoke(app, list(args), input=stdin, env={**unset, **env})
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    run = subprocess.CompletedProcess(["jiareg", *args], result.exit_code, result.stdout, stderr)
    if ok:
        assert run.returncode == 0, f"jiareg {' '.join(args)}: {run.stderr}"
    return run


@contextmanager
def _engines_closed_after() -> Iterator[None]:
    """Close the pooled connections of every engine that connected inside the block."""
    from sqlalchemy import Connection, Engine, event

    used: set[Engine] = set()

    def note(conn: Connection) -> None:
        used.add(conn.engine)

    event.listen(Engine, "engine_connect", note)
    try:
        yield
    finally:
        event.remove(Engine, "engine_connect", note)
        for engine in used:
            engine.dispose()


def jiareg_process(
    env: dict[str, str], *args: str, stdin: str | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `jiareg ARGS` to the end as a real `python -m jiareg` process."""
    run = subprocess.run(
        [sys.executable, "-m", "jiareg", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    if ok:
        assert run.returncode == 0, f"jiareg {' '.join(args)}: {run.stderr}"
    return run


def exported(env: dict[str, str], url: str, folder: Path) -> dict[str, bytes]:
    """Every table of the registry as `jiareg export` writes it (file name -> bytes)."""
    jiareg(env, "export", str(folder), "--db", url)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'registry.db'}"


SYNTHETIC_PATIENTS = 1000
"""Patients of the large synthetic registry: enough that its import is still writing well
after it says "loading patients" (the kill and the backup land inside its transaction; its
visits alone take ~0.3 s to write), few enough that the tests' imports, exports and audit
verifications stay cheap. It was 3,000: the size proved nothing more and cost ~3x the time."""
SYNTHETIC_KEPT = 50
"""Patients of the small registry (the first of the large one)."""


def synthetic_registries(base: Path) -> tuple[Path, Path]:
    """`write_synthetic`'s two registries under `base` (the session's temporary folder),
    written once per test process for the fault and the backup tests, which only read them."""
    root = base / "synthetic"
    done = root / "written"
    if not done.exists():
        root.mkdir(exist_ok=True)
        write_synthetic(root)
        done.touch()
    return root / "small", root / "large"


def write_synthetic(root: Path) -> tuple[Path, Path]:
    """(a 50-patient registry, a 1,000-patient one holding the same patients), as template
    folders under `root`.

    The large one is `jiareg synth --patients 1000`; the small one its first 50 patients
    (the same sites: an import never moves a patient) with every recorded ESR changed, so
    that importing the large one into the small one adds 950 patients and updates visits.
    """
    small, large = root / "small", root / "large"
    jiareg(cli_env(root), "synth", "--patients", str(SYNTHETIC_PATIENTS), "--out", str(large))
    small.mkdir()
    kept = {f"P{n:06d}" for n in range(1, SYNTHETIC_KEPT + 1)}
    for file in sorted(large.glob("*.csv")):
        with file.open(encoding="utf-8", newline="") as f:
            rows = [row for row in csv.DictReader(f) if row["patient_id"] in kept]
        if file.name == "visits.csv":
            rows = [{**r, "esr": "1" if r["esr"] != "1" else "2"} if r["esr"] else r for r in rows]
        with (small / file.name).open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return small, large


def start_import(env: dict[str, str], folder: Path, url: str) -> subprocess.Popen[bytes]:
    """Start `jiareg import` on a pseudo-terminal; return once it reports loading a table.

    The import draws its progress bar only on a terminal; "loading <table>" is said inside
    the import's transaction, after validation, as each table is written.
    """
    parent, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jiareg", "import", str(folder), "--db", url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=child,
        env=env,
    )
    os.close(child)
    seen = b""
    deadline = time.monotonic() + KILL_TIMEOUT_S
    try:
        while b"loading " not in seen:
            assert time.monotonic() < deadline, f"no progress from the import: {seen[-500:]!r}"
            assert proc.poll() is None, f"the import ended before writing: {seen[-500:]!r}"
            if select.select([parent], [], [], 0.05)[0]:
                try:
                    seen += os.read(parent, 4096)
                except OSError:  # the terminal closed: the process is ending
                    time.sleep(0.05)
    except BaseException:
        os.close(parent)
        raise
    threading.Thread(target=_drain, args=(parent,), daemon=True).start()
    return proc


def _drain(terminal: int) -> None:
    """Read a pseudo-terminal until its process is gone (a closed one fails its writes)."""
    try:
        while os.read(terminal, 4096):
            pass
    except OSError:  # EIO: no process holds the other end any more
        pass
    finally:
        os.close(terminal)


def sigkill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL `proc` (still running, or the test is void) and reap it."""
    assert proc.poll() is None, "the process ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
