"""The server keeps a SQLite registry in write-ahead-log mode (readers and the writer do not
wait for each other), and every acknowledged save is in the file once the server is gone."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD

from jiareg.store.engine import get_engine


def _mode(path: str) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def test_server_uses_wal_and_saves_survive_it(
    db_url: str, app_factory: Callable[..., TestClient]
) -> None:
    path = db_url.removeprefix("sqlite:///")
    assert _mode(path) == "delete"
    with app_factory() as client:
        assert _mode(path) == "wal"
        client.post("/api/login", json={"username": "clin_a", "password": PASSWORD})
        client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
        visit = {"visit": {"visit_date": "2021-01-05", "active_joints": "0"}}
        assert client.post("/api/patients/A-001/visits", json=visit).status_code == 201
    get_engine(db_url).dispose()  # the last connection closes: the log is written back
    with sqlite3.connect(path) as conn:
        saved = conn.execute(
            "SELECT count(*) FROM visits WHERE patient_id = 'A-001' AND visit_date = '2021-01-05'"
        ).fetchone()[0]
    assert saved == 1
