"""The web app over a real PostgreSQL registry: log-in, site filtering, a visit save that is
validated and audited, the timeline and the dashboard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD

from jiareg.web.app import create_app

pytestmark = pytest.mark.postgres


@pytest.fixture()
def pg_client(pg_db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(pg_db_url)) as client:
        yield client


def _login(client: TestClient, username: str) -> None:
    response = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]


@pytest.mark.slow
def test_postgres_registry_end_to_end(pg_client: TestClient) -> None:
    assert pg_client.get("/api/patients").status_code == 401
    _login(pg_client, "clin_a")
    assert [r["patient_id"] for r in pg_client.get("/api/patients").json()] == ["A-001", "A-002"]
    missing = pg_client.get("/api/patients/NOPE")
    other_site = pg_client.get("/api/patients/B-001")
    assert other_site.status_code == missing.status_code == 404
    assert other_site.content == missing.content
    visit = {
        "visit": {
            "visit_date": "2019-10-15",
            "phys_global": "2",
            "parent_global": "1",
            "active_joints": "0",
            "esr": "25",
        }
    }
    saved = pg_client.post("/api/patients/A-001/visits", json=visit)
    assert saved.status_code == 201, saved.text
    new = next(v for v in saved.json()["visits"] if v["visit_date"] == "2019-10-15")
    assert new["scores"]["jadas10"] == 3.5  # 2 + 1 + 0 + 0.5
    bad = pg_client.post("/api/patients/A-001/visits", json={"visit": {"visit_date": "2019-13-45"}})
    assert bad.status_code == 422
    assert pg_client.get("/patients/A-001/timeline.svg").status_code == 200
    assert pg_client.get("/dashboard").status_code == 200
    pg_client.post("/api/logout")
    _login(pg_client, "res")
    rows = pg_client.get("/api/patients").json()
    assert len(rows) == 3 and all("birth_date" not in r for r in rows)
    pg_client.post("/api/logout")
    _login(pg_client, "admin")
    trail = pg_client.get("/api/audit", params={"patient_id": "A-001"}).json()
    assert trail[0]["username"] == "clin_a" and trail[0]["table"] == "visits"


@pytest.mark.slow
def test_postgres_throttle_is_atomic_and_sessions_are_shared(pg_db_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from jiareg.store.audit_replay import verify_registry

    url = pg_db_url
    passwords = [f"wrong guess {i}" for i in range(40)]
    passwords[24] = PASSWORD

    def attempt(c: TestClient, password: str) -> int:
        body = {"username": "clin_a", "password": password}
        return int(c.post("/api/login", json=body).status_code)

    with (
        TestClient(create_app(url, max_login_failures=5)) as first,
        TestClient(create_app(url)) as second,
        ThreadPoolExecutor(max_workers=40) as pool,
    ):
        _login(second, "dm_a")  # a session made by one worker is valid in another
        statuses = list(pool.map(lambda p: attempt(first, p), passwords))
        assert sum(s != 429 for s in statuses) <= 5 and statuses[24] == 429, statuses
        first.cookies.set("jiareg_session", second.cookies["jiareg_session"])
        assert first.get("/api/me").json()["username"] == "dm_a"
    verify_registry(url)
