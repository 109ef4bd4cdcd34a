"""`jiareg.store.access`: the filters of `jiareg audit log`, and the closed list of actions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from jiareg.store.access import Filters, access_events, record_access, trail_entries
from jiareg.store.engine import get_engine, init_db


def test_no_filter_is_no_where_clause() -> None:
    assert Filters().where() == ("", {})


def test_until_includes_its_whole_day() -> None:
    where, params = Filters(username="ana", until=dt.date(2026, 12, 6)).where()
    assert where == "WHERE username = :username AND ts < :until"
    assert params == {"username": "ana", "until": "2026-12-07"}


def test_events_filter_by_patient_action_and_day(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    init_db(url)
    writer = get_engine(url)
    record_access(
        writer, username="ana", action="view_patient", address="10.0.0.1", patient_id="P1"
    )
    record_access(writer, username="ana", action="login", address="10.0.0.1")
    record_access(writer, username="bo", action="view_patient", address="10.0.0.2", patient_id="P2")
    today = dt.datetime.now(dt.UTC).date()
    found = access_events(url, Filters(action="view_patient", since=today, until=today))
    assert [(e.username, e.patient_id, e.address) for e in found] == [
        ("ana", "P1", "10.0.0.1"),
        ("bo", "P2", "10.0.0.2"),
    ]
    assert [e.action for e in access_events(url, Filters(patient_id="P2"))] == ["view_patient"]
    assert access_events(url, Filters(since=today + dt.timedelta(days=1))) == []
    assert trail_entries(url, Filters(username="ana")) == []  # reads are not in the trail


def test_an_unknown_action_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    init_db(url)
    with pytest.raises(ValueError, match="unknown access action"):
        record_access(get_engine(url), username="ana", action="peek", address="x")


def test_trail_filters_find_a_patients_rows_inside_import_batches(tmp_path: Path) -> None:
    """An import of 100+ rows is audited as batch entries (`audit_batch`): `audit log` by
    patient, user or action still lists that patient's rows, one record per row."""
    from jiareg.services.imports import import_path
    from jiareg.store.tables import read_tables
    from jiareg.synth.write import write_registry

    url = f"sqlite:///{tmp_path / 'r.db'}"
    write_registry(tmp_path / "synth", patients=30, visits=10, seed=1)
    import_path(tmp_path / "synth", url)
    pid = "P000007"
    mine = trail_entries(url, Filters(patient_id=pid))
    tables = {r.table_name for r in mine}
    assert {"patients", "visits"} <= tables
    assert all(r.patient_id == pid for r in mine)
    stored = read_tables(url)["visits"].column("patient_id").to_pylist()
    visits = [r for r in mine if r.table_name == "visits"]
    assert len(visits) == stored.count(pid) and all(r.action == "insert" for r in visits)
    everyone = trail_entries(url, Filters(action="insert"))
    assert len([r for r in everyone if r.table_name == "visits"]) == len(stored) > 100
    today = dt.datetime.now(dt.UTC).date()
    assert trail_entries(url, Filters(patient_id=pid, since=today + dt.timedelta(days=1))) == []


def test_buffered_views_are_written_by_the_thread_and_on_close(tmp_path: Path) -> None:
    """Record views go through `AccessBuffer` so a page view never queues behind saves for
    the registry's writer: written within the interval, and whatever is left on close."""
    from jiareg.store.access import AccessBuffer

    url = f"sqlite:///{tmp_path / 'r.db'}"
    init_db(url)
    views = AccessBuffer(get_engine(url), interval=3600)  # the thread never wakes in the test
    views.add(username="ana", action="view_patient", address="10.0.0.1", patient_id="P1")
    assert access_events(url, Filters(action="view_patient")) == []
    views.flush()
    assert [e.patient_id for e in access_events(url, Filters(action="view_patient"))] == ["P1"]
    views.add(username="bo", action="view_patient", address="10.0.0.2", patient_id="P2")
    views.close()
    assert [e.username for e in access_events(url, Filters(action="view_patient"))] == [
        "ana",
        "bo",
    ]
    other = AccessBuffer(get_engine(url), interval=3600)
    with pytest.raises(ValueError, match="unknown access action"):
        other.add(username="x", action="peek", address="")
    other.close()
