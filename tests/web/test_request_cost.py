"""What a request costs the registry (issue 12, the web load target): one read for the
session and its user, no write on the request path for a session's last-seen time, the
request threads per worker (`--threads`), read-only autocommit reads on PostgreSQL, and the
SQLite writers' turns."""

from __future__ import annotations

import fcntl
from collections.abc import Callable

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from tests.web.conftest import PASSWORD, Clock

from jiareg.store.engine import get_engine, read_engine
from jiareg.store.queries import pseudonym
from jiareg.store.user_admin import set_disabled
from jiareg.web.app import READ_THREADS, create_app
from jiareg.web.storeops import writer_turn

Factory = Callable[..., TestClient]


def _statements(engine: object) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, stmt, *_: seen.append(stmt))
    return seen


def _driver_statements(db_url: str) -> list[str]:
    """What the read engine's connections run, as SQLite sees it (its trace): the session
    read goes to the driver directly (`jiareg.store.engine.driver_row`)."""
    engine = read_engine(db_url)
    engine.dispose()  # the connections made from here on are traced
    seen: list[str] = []
    event.listen(engine, "connect", lambda dbapi, _rec: dbapi.set_trace_callback(seen.append))
    return seen


def _last_seen(db_url: str) -> float:
    with get_engine(db_url).connect() as conn:
        return float(conn.execute(text("SELECT max(last_seen) FROM web_sessions")).scalar_one())


def test_a_request_reads_its_session_and_user_once_and_writes_nothing(
    app_factory: Factory, db_url: str
) -> None:
    with app_factory() as c:
        c.post("/api/login", json={"username": "clin_a", "password": PASSWORD})
        reads = _driver_statements(db_url)
        writes = _statements(get_engine(db_url))
        assert c.get("/api/me").status_code == 200
        assert c.get("/patients/A-001/timeline.svg").status_code == 200  # a page: the same
        sessions = [s for s in reads if "web_sessions" in s]
        assert len(sessions) == 2 and "JOIN users" in sessions[0] and "audit_log" in sessions[0]
        users = [s for s in reads if "FROM users" in s or "JOIN users" in s]
        assert users == sessions  # the user is read with the session, never apart
        assert not [s for s in writes if "web_sessions" in s]


def test_last_seen_is_written_in_the_background_and_counted_at_once(
    app_factory: Factory, db_url: str, clock: Clock
) -> None:
    with app_factory(session_idle_seconds=300) as c:
        c.post("/api/login", json={"username": "clin_a", "password": PASSWORD})
        first = _last_seen(db_url)
        clock.advance(200)
        writes = _statements(get_engine(db_url))
        assert c.get("/api/me").status_code == 200  # touches the session ...
        assert not [s for s in writes if "web_sessions" in s]  # ... without writing it now
        clock.advance(200)  # 400 s after log-in, 200 s after the touch: still alive here
        assert c.get("/api/me").status_code == 200
        c.app.state.web.views.flush()  # type: ignore[attr-defined]  # what the background thread does every half second
        assert _last_seen(db_url) >= first + 200


def test_a_disabled_user_is_refused_even_with_a_touch_pending(
    app_factory: Factory, db_url: str, clock: Clock
) -> None:
    with app_factory() as c:
        c.post("/api/login", json={"username": "clin_a", "password": PASSWORD})
        clock.advance(120)
        assert c.get("/api/me").status_code == 200
        set_disabled(db_url, "clin_a", True)
        assert c.get("/api/me").status_code == 401
        assert c.get("/patients", follow_redirects=False).status_code == 303


def test_a_kept_list_or_record_costs_one_statement_after_the_session_read(
    app_factory: Factory, db_url: str
) -> None:
    """The session read also reads the registry's version (what the kept list is checked
    against); a record's patient row comes with the patient's version (what its kept
    detail, JSON and timeline are checked against)."""
    with app_factory() as c:
        c.post("/api/login", json={"username": "clin_a", "password": PASSWORD})
        for path in ("/api/patients", "/api/patients/A-001", "/patients/A-001/timeline.svg"):
            assert c.get(path).status_code == 200  # kept from here on
        reads = _driver_statements(db_url)
        assert c.get("/api/patients").status_code == 200
        assert len(reads) == 1 and "web_sessions" in reads[0] and "audit_log" in reads[0]
        for path in ("/api/patients/A-001", "/patients/A-001/timeline.svg"):
            reads.clear()
            assert c.get(path).status_code == 200
            assert len(reads) == 2 and "FROM patients" in reads[1] and "audit_log" in reads[1]


def test_a_researchers_pseudonym_is_found_without_reading_every_patient(
    app_factory: Factory, db_url: str
) -> None:
    with app_factory(pseudonym_key="k") as c:
        _log_in(c, "res")
        shown = [p["patient_id"] for p in c.get("/api/patients").json()]
        assert c.get(f"/api/patients/{shown[0]}").status_code == 200  # the map is made
        reads = _driver_statements(db_url)
        for public_id in shown:
            assert c.get(f"/api/patients/{public_id}").json()["patient"]["patient_id"] == public_id
        assert c.get("/api/patients/P-000000000000").status_code == 404  # unknown: no new map
        every = [s for s in reads if "FROM patients" in s and "WHERE" not in s]
        assert every == []
        _log_in(c, "dm_a")  # a patient added after the map was made is found too
        new = {"patient_id": "A-009", "site": "A", "sex": "F", "birth_date": "2015-02-03"}
        assert c.post("/api/patients", json=new).status_code == 201
        _log_in(c, "res")
        assert c.get(f"/api/patients/{pseudonym('A-009', b'k')}").status_code == 200


def _log_in(c: TestClient, username: str) -> None:
    answer = c.post("/api/login", json={"username": username, "password": PASSWORD})
    c.headers["X-CSRF-Token"] = answer.json()["csrf_token"]


@pytest.mark.parametrize("threads", [3, READ_THREADS])
def test_the_request_threads_of_a_worker_are_set(app_factory: Factory, threads: int) -> None:
    with app_factory(threads=threads) as c:
        assert c.portal is not None
        tokens = c.portal.call(
            lambda: anyio.to_thread.current_default_thread_limiter().total_tokens
        )
    assert tokens == threads


@pytest.mark.postgres
def test_postgres_reads_are_autocommit_and_refuse_writes(pg_db_url: str) -> None:
    with TestClient(create_app(pg_db_url)) as c:
        login = c.post("/api/login", json={"username": "clin_a", "password": PASSWORD})
        assert login.status_code == 200
        reads = _statements(read_engine(pg_db_url))
        assert c.get("/api/patients/A-001").status_code == 200
        assert reads and not any(s.strip().upper() in ("BEGIN", "ROLLBACK") for s in reads)
    with read_engine(pg_db_url).connect() as conn, pytest.raises(DBAPIError, match="read-only"):
        conn.execute(text("DELETE FROM web_sessions"))


def test_web_writers_on_sqlite_take_turns_in_the_kernel(db_url: str) -> None:
    """`writer_turn`: a second writer (another worker process) blocks on the flock, woken
    as soon as the first is done, rather than polling SQLite's lock."""
    path = make_url(db_url).database
    with (
        writer_turn(db_url),
        open(f"{path}.writer", "a+b") as other,
        pytest.raises(BlockingIOError),
    ):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(f"{path}.writer", "a+b") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
        fcntl.flock(other, fcntl.LOCK_UN)
    with writer_turn("sqlite://"):  # in memory: one process, no file
        pass


def test_a_json_write_waits_for_a_request_thread_once(
    app_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync route that answers with data (a save's patient record) takes one trip to the
    worker's threads (`jiareg.web.routing`): FastAPI's own check of the answer took a second
    trip, and under load each waits in line for a thread."""
    trips: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Callable[..., object], *args: object, **kwargs: object) -> object:
        trips.append(getattr(func, "__name__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    with app_factory() as c:
        _log_in(c, "clin_a")
        monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
        visit = {"visit_date": "2031-05-01", "active_joints": "2", "phys_global": "3"}
        saved = c.post("/api/patients/A-001/visits", json={"visit": visit})
        assert saved.status_code == 201, saved.text
        assert "2031-05-01" in [v["visit_date"] for v in saved.json()["visits"]]
        assert len(trips) == 1, trips
        trips.clear()
        assert c.get("/api/me").json()["username"] == "clin_a"  # a pydantic answer: the same
        assert len(trips) == 1, trips
