"""`bulk.upserting`: an upsert's rows are written while its audit is rendered in a worker
thread, and nothing is lost or half-written whichever side fails."""

from __future__ import annotations

import datetime as dt
import threading

import pyarrow as pa
import pytest
from sqlalchemy import Connection

from jiareg.store.bulk import _COPY_CHUNK, bulk_insert, upserting
from jiareg.store.engine import get_engine
from jiareg.store.tables import arrow_schema


def _visits(patient: str, n: int) -> pa.Table:
    schema = arrow_schema("visits")
    first = dt.date(2020, 1, 1)
    columns = {
        name: pa.nulls(n, field.type) for name, field in zip(schema.names, schema, strict=True)
    }
    columns["patient_id"] = pa.array([patient] * n, pa.string())
    columns["visit_date"] = pa.array([first + dt.timedelta(days=i) for i in range(n)], pa.date32())
    columns["esr"] = pa.array([i / 4 for i in range(n)], pa.float64())
    return pa.table(columns, schema=schema)


KEY = ("patient_id", "visit_date")


def _patient(conn: Connection, patient: str) -> None:
    bulk_insert(conn, "sites", pa.table({"site": ["north"]}))
    schema = arrow_schema("patients")
    row = {"patient_id": patient, "site": "north", "sex": "F", "birth_date": dt.date(2010, 1, 1)}
    bulk_insert(conn, "patients", pa.Table.from_pylist([row], schema=schema))


def _count(url: str) -> int:
    with get_engine(url).connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM visits").scalar_one())


def test_the_rows_are_written_while_the_work_runs_in_another_thread(registry_url: str) -> None:
    rows = _visits("P1", 300)
    caller = threading.get_ident()

    def render() -> tuple[int, bool]:
        return sum(len(t) for t in rows.column("patient_id").to_pylist()), (
            threading.get_ident() != caller
        )

    with get_engine(registry_url).begin() as conn:
        _patient(conn, "P1")
        rendered, elsewhere = upserting(conn, "visits", rows, rows.slice(0, 0), KEY, render)
        stored = conn.exec_driver_sql("SELECT count(*), sum(esr) FROM visits").one()
    assert (rendered, elsewhere) == (600, True)
    assert tuple(stored) == (300, sum(i / 4 for i in range(300)))
    assert _count(registry_url) == 300


def test_a_few_rows_need_no_thread(registry_url: str) -> None:
    caller = threading.get_ident()
    with get_engine(registry_url).begin() as conn:
        _patient(conn, "P1")
        rows = _visits("P1", 3)
        here = upserting(conn, "visits", rows, rows.slice(0, 0), KEY, threading.get_ident)
    assert here == caller and _count(registry_url) == 3


def test_the_changed_rows_are_updated_after_the_new_ones_are_in(registry_url: str) -> None:
    first, more = _visits("P1", 300), _visits("P1", 450).slice(300)
    changed = first.slice(0, 200).set_column(
        first.schema.get_field_index("esr"), "esr", pa.array([99.0] * 200, pa.float64())
    )
    with get_engine(registry_url).begin() as conn:
        _patient(conn, "P1")
        bulk_insert(conn, "visits", first)
        assert upserting(conn, "visits", more, changed, KEY, lambda: "done") == "done"
        stored = conn.exec_driver_sql("SELECT count(*), sum(esr) FROM visits").one()
    expected = 200 * 99.0 + sum(i / 4 for i in range(200, 450))
    assert tuple(stored) == (450, expected)


def test_a_failed_write_wins_waits_for_the_work_and_keeps_nothing(registry_url: str) -> None:
    ran = threading.Event()

    def render() -> None:
        ran.set()
        raise ValueError("render failed too")

    with (
        pytest.raises(Exception, match=r"(?i)foreign key"),
        get_engine(registry_url).begin() as conn,
    ):
        upserting(conn, "visits", _visits("NOBODY", 300), _visits("NOBODY", 0), KEY, render)
    assert ran.is_set()
    assert _count(registry_url) == 0


def test_a_failed_render_is_raised_after_the_write_and_keeps_nothing(registry_url: str) -> None:
    def render() -> None:
        raise ValueError("render failed")

    with pytest.raises(ValueError, match="render failed"), get_engine(registry_url).begin() as conn:
        _patient(conn, "P1")
        upserting(conn, "visits", _visits("P1", 300), _visits("P1", 0), KEY, render)
    assert _count(registry_url) == 0
    with get_engine(registry_url).begin() as conn:  # the connection is clean again
        _patient(conn, "P1")
        bulk_insert(conn, "visits", _visits("P1", 300))
    assert _count(registry_url) == 300


def test_a_copy_of_many_chunks_stores_every_row_once(registry_url: str) -> None:
    """PostgreSQL sends a COPY `_COPY_CHUNK` rows at a time; SQLite stages the same rows."""
    rows = _visits("P1", 2 * _COPY_CHUNK + 7)
    with get_engine(registry_url).begin() as conn:
        _patient(conn, "P1")
        upserting(conn, "visits", rows, rows.slice(0, 0), KEY, lambda: None)
    with get_engine(registry_url).connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT count(*), count(DISTINCT visit_date), sum(esr), max(esr) FROM visits"
        ).one()
    n = rows.num_rows
    assert tuple(stored) == (n, n, sum(i / 4 for i in range(n)), (n - 1) / 4)
