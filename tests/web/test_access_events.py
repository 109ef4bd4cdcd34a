"""Issue #12 finding 6: record views leave a trace (who, when, from where), and
`jiareg audit log` filters the trail and the access events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.web.conftest import PASSWORD
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.store.engine import get_engine

Factory = Callable[..., TestClient]
FWD = {"X-Forwarded-For": "203.0.113.7"}


def _views(db_url: str) -> list[tuple[object, ...]]:
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT username, action, patient_id, address, ts FROM access_events "
                "WHERE action = 'view_patient' ORDER BY id"
            )
        ).all()
    return [tuple(r) for r in rows]


def test_a_record_view_leaves_an_access_event_with_user_and_address(
    app_factory: Factory, db_url: str
) -> None:
    with app_factory(trust_proxy="testclient") as c:
        r = c.post("/api/login", json={"username": "clin_a", "password": PASSWORD}, headers=FWD)
        assert r.status_code == 200
        assert c.get("/api/patients/A-001", headers=FWD).status_code == 200
        assert c.get("/patients/A-002", headers=FWD).status_code == 200
        assert c.get("/api/patients/B-001", headers=FWD).status_code == 404  # not theirs
    views = _views(db_url)
    assert [v[:4] for v in views] == [
        ("clin_a", "view_patient", "A-001", "203.0.113.7"),
        ("clin_a", "view_patient", "A-002", "203.0.113.7"),
    ]
    assert str(views[0][4]).startswith(dt.datetime.now(dt.UTC).date().isoformat())


def test_audit_log_filters_by_user_date_and_shows_reads(app_factory: Factory, db_url: str) -> None:
    with app_factory() as c:
        for name in ("clin_a", "dm_a"):
            r = c.post("/api/login", json={"username": name, "password": PASSWORD})
            assert r.status_code == 200
            assert c.get("/api/patients/A-001").status_code == 200
    today = dt.datetime.now(dt.UTC).date()
    runner = CliRunner()
    run = runner.invoke(
        app,
        ["audit", "log", "--db", db_url, "--reads", "--user", "clin_a", "--since", str(today)],
    )
    assert run.exit_code == 0, run.output
    assert "view_patient" in run.output and "A-001" in run.output
    assert "dm_a" not in run.output
    later = today + dt.timedelta(days=1)
    run = runner.invoke(
        app, ["audit", "log", "--db", db_url, "--reads", "--user", "clin_a", "--since", str(later)]
    )
    assert run.exit_code == 0, run.output
    assert "view_patient" not in run.output
    # the chained trail, filtered by patient and action: the import's inserts of A-001
    run = runner.invoke(app, ["audit", "log", "A-001", "--db", db_url, "--action", "insert"])
    assert run.exit_code == 0, run.output
    assert "A-001" in run.output and "B-001" not in run.output


def test_an_export_is_an_access_event(db_url: str, tmp_path: Path) -> None:
    run = CliRunner().invoke(app, ["export", str(tmp_path / "out"), "--db", db_url])
    assert run.exit_code == 0, run.output
    with get_engine(db_url).connect() as conn:
        row = conn.execute(
            text("SELECT username, action, address, detail FROM access_events")
        ).one()
    assert row[0].startswith("os:") and row[1:3] == ("export", "cli")
    assert row[3].startswith("template to ")
