"""Study runs started from the web, kept on disk so that they survive a server restart.

Each run is a folder `<runs dir>/<run id>/` holding `run.json` (protocol, start time, steps so
far, outcome) beside the study's own outputs (`results.json`, `report.html`, `report.pdf`).
Run ids are the UTC start time plus random hex, so they sort oldest first and cannot be
guessed. A run that was still going when its server stopped is reported as failed
("interrupted") when the next server loads it.

The runs folder (`jiareg serve --runs-dir`) defaults to `default_runs_dir`: beside a SQLite
registry file, else the per-user data folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Final

from sqlalchemy.engine import make_url

from jiareg.store.engine import normalise_url

__all__ = ["INTERRUPTED", "StudyJob", "StudyRuns", "default_runs_dir"]

INTERRUPTED: Final = "interrupted: the server stopped before this run finished; run it again"
_RUN_FILE: Final = "run.json"
_RUN_ID: Final = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{6}$")


def default_runs_dir(db_url: str) -> Path:
    """Where a server over `db_url` keeps its study runs when not told.

    SQLite file `DIR/NAME.db` -> `DIR/NAME-study-runs/`; otherwise (PostgreSQL, in-memory)
    `$XDG_DATA_HOME/jiareg/study-runs/<database>` (default `~/.local/share/...`).

    >>> default_runs_dir("sqlite:////srv/reg/jiareg.db")
    PosixPath('/srv/reg/jiareg-study-runs')
    """
    url = make_url(normalise_url(db_url))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        db = Path(str(url.database))
        return db.with_name(f"{db.stem}-study-runs")
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "jiareg" / "study-runs" / (url.database or "memory")


@dataclass
class StudyJob:
    """One study run: its steps so far and how it ended; saved in `out_dir/run.json`."""

    protocol: str
    out_dir: Path
    started: str
    steps: list[str] = field(default_factory=list)
    done: bool = False
    error: str | None = None

    def step(self, message: str) -> None:
        """Record a progress message (the study's progress callback)."""
        self.steps.append(message)
        self.save()

    def finish(self, error: str | None = None) -> None:
        """Record the end of the run: a report, or the error that stopped it."""
        self.error, self.done = error, True
        self.save()

    def save(self) -> None:
        """Write run.json atomically (a reader never sees half a file)."""
        state = {k: v for k, v in asdict(self).items() if k != "out_dir"}
        tmp = self.out_dir / f".{_RUN_FILE}.tmp"
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        tmp.replace(self.out_dir / _RUN_FILE)

    @classmethod
    def load(cls, out_dir: Path) -> StudyJob:
        """The run saved in `out_dir`; one left unfinished by a stopped server is failed."""
        state = json.loads((out_dir / _RUN_FILE).read_text(encoding="utf-8"))
        job = cls(out_dir=out_dir, **state)
        if not job.done:
            job.finish(INTERRUPTED)
        return job


class StudyRuns:
    """The study runs of one server, in memory and in `folder` (created at the first run)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._jobs: dict[str, StudyJob] = {}
        if folder.is_dir():
            for run in sorted(folder.iterdir()):
                if _RUN_ID.match(run.name) and (run / _RUN_FILE).is_file():
                    self._jobs[run.name] = StudyJob.load(run)

    def start(self, protocol: str) -> tuple[str, StudyJob]:
        """A new run of `protocol` (its folder made and run.json written)."""
        now = dt.datetime.now(dt.UTC)
        run_id = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        out_dir = self.folder / run_id
        out_dir.mkdir(parents=True)
        job = StudyJob(protocol, out_dir, started=now.isoformat(timespec="seconds"))
        job.save()
        with self._lock:
            self._jobs[run_id] = job
        return run_id, job

    def get(self, run_id: str) -> StudyJob | None:
        """The run called `run_id`, or None."""
        with self._lock:
            return self._jobs.get(run_id)

    def newest_first(self) -> list[tuple[str, StudyJob]]:
        """Every run, newest first."""
        with self._lock:
            return sorted(self._jobs.items(), reverse=True)
