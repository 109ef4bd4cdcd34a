"""A small real registry (SQLite; `pg_db_url` on PostgreSQL) and logged-in HTTP clients.

Sites A and B; patients A-001 (systemic, on tocilizumab after etanercept), A-002
(oligo persistent) and B-001 (poly RF-negative, on adalimumab); users of every role:

| user | role | site |
|---|---|---|
| admin | admin | — |
| dm_a | data_manager | A |
| clin_a | clinician | A |
| clin_b | clinician | B |
| res | researcher | — |
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from tests.support.postgres import create_database, drop_database, sqlalchemy_url

from jiareg.services.imports import import_path
from jiareg.store.engine import get_engine, init_db
from jiareg.store.users import add_user
from jiareg.web import deps
from jiareg.web.app import create_app
from jiareg.web.routes import api, work

DATA = Path(__file__).parent / "site_data"
PASSWORD = "correct horse battery"
USERS = {
    "admin": ("admin", None),
    "dm_a": ("data_manager", "A"),
    "clin_a": ("clinician", "A"),
    "clin_b": ("clinician", "B"),
    "res": ("researcher", None),
}


def build_registry(url: str) -> str:
    """Create the registry at `url`, import tests/web/site_data/ and add the users."""
    init_db(url)
    import_path(DATA, url)
    for name, (role, site) in USERS.items():
        add_user(url, name, PASSWORD, role=role, site=site)
    return url


@pytest.fixture(scope="session")
def registry_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One built SQLite registry file, copied for each test that needs a fresh one."""
    path = tmp_path_factory.mktemp("registry") / "template.db"
    build_registry(f"sqlite:///{path}")
    return path


@pytest.fixture()
def db_url(registry_template: Path, tmp_path: Path) -> str:
    """A fresh copy of the test registry (SQLite), private to the test."""
    path = tmp_path / "registry.db"
    shutil.copy(registry_template, path)
    return f"sqlite:///{path}"


Login = Callable[..., TestClient]


@pytest.fixture()
def app_factory(db_url: str) -> Callable[..., TestClient]:
    """A client of a new app over the test registry; keyword arguments go to create_app."""

    def make(**options: object) -> TestClient:
        return TestClient(create_app(db_url, **options))  # type: ignore[arg-type]

    return make


@pytest.fixture()
def client(app_factory: Callable[..., TestClient]) -> Iterator[TestClient]:
    """An anonymous client of the app over the test registry."""
    with app_factory() as c:
        yield c


@pytest.fixture()
def login(client: TestClient) -> Login:
    """Log `client` in as a user; the CSRF token is then sent on every request."""

    def do(username: str) -> TestClient:
        response = client.post("/api/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client

    return do


class Clock:
    """A monotonic clock that moves only when a test says so (`advance`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The web app's session and login-throttle clock, under the test's control (no sleeps)."""
    fake = Clock()
    for module in (deps, api):
        monkeypatch.setattr(module, "time", SimpleNamespace(monotonic=fake.monotonic))
    return fake


@pytest.fixture()
def study_finished(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it to wait until the study run started by the test has ended (no polling)."""
    done = threading.Event()
    run = work._run

    def run_then_signal(*args: object) -> None:
        try:
            run(*args)  # type: ignore[arg-type]
        finally:
            done.set()

    monkeypatch.setattr(work, "_run", run_then_signal)

    def wait() -> None:
        assert done.wait(timeout=100), "the study did not finish"

    return wait


@pytest.fixture(scope="session")
def pg_registry_template(pg_template: str) -> Iterator[str]:
    """The test registry built once on PostgreSQL (from the migrated template); its name."""
    url = create_database(template=pg_template)
    build_registry(sqlalchemy_url(url))
    get_engine(sqlalchemy_url(url)).dispose()  # a template must have no connections
    yield url.rsplit("/", 1)[1]
    drop_database(url)


@pytest.fixture()
def pg_db_url(pg_registry_template: str) -> Iterator[str]:
    """A fresh copy of the test registry on PostgreSQL, private to the test."""
    url = create_database(template=pg_registry_template)
    yield sqlalchemy_url(url)
    drop_database(url)
