"""A form's records (a visit, its joints, its CHAQ items) saved in one transaction, read by key.

Both tests run on SQLite and on the real PostgreSQL (the `registry_url` fixture).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from tests.integration.store.sample import GOOD, write_folder

from jiareg.errors import ImportErrors
from jiareg.services.imports import import_path
from jiareg.services.records import save_records
from jiareg.store.audit import verify_chain
from jiareg.store.engine import get_engine, read_engine
from jiareg.store.tables import TABLE_NAMES, read_tables
from jiareg.store.users import UserInfo

NURSE = UserInfo("cleo", "clinician", "BA")
VISIT = ("visits", {"patient_id": "P1", "visit_date": "2020-03-10", "active_joints": 2, "esr": 8})
JOINTS = [
    ("joint_exams", {"patient_id": "P1", "visit_date": "2020-03-10", "joint": j, "side": "left"})
    for j in ("knee", "ankle", "wrist")
]
CHAQ = [
    (
        "chaq_items",
        {"patient_id": "P1", "visit_date": "2020-03-10", "item": "dressing_1", "score": 1},
    ),
    (
        "chaq_items",
        {"patient_id": "P1", "visit_date": "2020-03-10", "item": "arising_1", "score": 0},
    ),
]
MANY_VISITS = 3000


def _counts(url: str) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        return {
            name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
            for name in (*TABLE_NAMES, "audit_log")
        }


@pytest.mark.slow
def test_visit_joints_and_chaq_land_in_one_transaction(registry_url: str, tmp_path: Path) -> None:
    import_path(write_folder(tmp_path / "in"), registry_url)
    before = _counts(registry_url)
    spoilt = ("chaq_items", {**CHAQ[-1][1], "score": 9})  # the last record is out of range
    with pytest.raises(ImportErrors, match=r"chaq_items form:2: column 'score' = '9'"):
        save_records(registry_url, [VISIT, *JOINTS, CHAQ[0], spoilt], user=NURSE, reason="visit")
    assert _counts(registry_url) == before  # not even the visit was written
    verify_chain(registry_url)

    summary = save_records(registry_url, [VISIT, *JOINTS, *CHAQ], user=NURSE, reason="visit")
    assert {c.table: c.inserted for c in summary.tables} == {
        "visits": 1,
        "joint_exams": 3,
        "chaq_items": 2,
    }
    after = _counts(registry_url)
    assert after["visits"] == before["visits"] + 1
    assert after["joint_exams"] == before["joint_exams"] + 3
    assert after["chaq_items"] == before["chaq_items"] + 2
    assert after["audit_log"] == before["audit_log"] + 6
    with get_engine(registry_url).connect() as conn:
        reasons = conn.execute(
            text("SELECT DISTINCT username, reason FROM audit_log WHERE seq > :s"),
            {"s": before["audit_log"]},
        ).all()
    assert [tuple(r) for r in reasons] == [("cleo", "visit")]
    assert verify_chain(registry_url) == after["audit_log"]

    # a second save of the visit changes one field: fields not given keep their value
    again = save_records(
        registry_url, [("visits", {**VISIT[1], "esr": 9})], user=NURSE, reason="lab"
    )
    assert (again.tables[0].updated, again.tables[0].inserted) == (1, 0)
    row = next(
        v
        for v in read_tables(registry_url)["visits"].to_pylist()
        if v["patient_id"] == "P1" and v["visit_date"] == dt.date(2020, 3, 10)
    )
    assert (row["esr"], row["active_joints"]) == (9.0, 2)
    verify_chain(registry_url)


def _many_visits(folder: Path) -> Path:
    """The sample registry plus MANY_VISITS more visits of P3 (one a day from 2012)."""
    day = dt.date(2012, 1, 1)
    extra = "".join(
        f"P3,{day + dt.timedelta(days=i)},40,150,2,0-10,5,0-10,0.5,1,0,10,,no,no,,,,,no,0,,\n"
        for i in range(MANY_VISITS)
    )
    return write_folder(folder, {**GOOD, "visits.csv": GOOD["visits.csv"] + extra})


@contextmanager
def _statements(url: str) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement (and its parameters) run through the registry's engine."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    engine = get_engine(url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _visits_rows_read(url: str) -> int:
    """PostgreSQL's count of visits rows read, by scans or through indexes, once every other
    connection to the registry has closed: a backend flushes its table statistics as it exits,
    before it leaves pg_stat_activity (PostgreSQL 15: a before- and an on-shmem-exit hook)."""
    get_engine(url).dispose()
    read_engine(url).dispose()  # the save's preparation reads through this one
    deadline = time.monotonic() + 60
    with get_engine(url).connect() as conn:
        while conn.execute(_OTHER_BACKENDS).scalar_one():
            assert time.monotonic() < deadline, "the registry's connections did not close"
            conn.rollback()  # a new transaction: a new statistics snapshot
            time.sleep(0.01)
        conn.rollback()
        return int(conn.execute(_VISITS_READ).scalar_one())


_OTHER_BACKENDS = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
)
_VISITS_READ = text(
    "SELECT seq_tup_read + idx_tup_fetch FROM pg_stat_user_tables WHERE relname = 'visits'"
)


@pytest.mark.slow
def test_a_save_reads_the_stored_rows_by_key_not_whole_tables(
    registry_url: str, tmp_path: Path
) -> None:
    import_path(_many_visits(tmp_path / "in"), registry_url)
    postgres = registry_url.startswith("postgresql")
    if postgres:
        with get_engine(registry_url).connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
        read_before = _visits_rows_read(registry_url)
    with _statements(registry_url) as seen:
        save_records(registry_url, [VISIT, *JOINTS, *CHAQ], user=NURSE, reason="visit")
    reads = [(sql, params) for sql, params in seen if sql.lstrip().upper().startswith("SELECT")]
    clinical = [
        (sql, params)
        for sql, params in reads
        if re.search(r"\bFROM\s+\"?(" + "|".join(TABLE_NAMES) + r")\b", sql)
    ]
    # every read of a registry table is filtered by its natural key, bound as parameters
    assert {re.search(r"\bFROM\s+\"?(\w+)", sql)[1] for sql, _ in clinical} == {  # type: ignore[index]
        "visits",
        "joint_exams",
        "chaq_items",
        "patients",
    }
    for sql, params in clinical:
        assert re.search(r"\bWHERE\s*\(?\s*\w+\.patient_id", sql), sql
        assert "P1" in str(params) and "P3" not in str(params), (sql, params)
    assert not any("COPY" in sql.upper() for sql, _ in seen)
    if postgres:  # the database itself read a few visits, not the table
        assert _visits_rows_read(registry_url) - read_before < MANY_VISITS
    verify_chain(registry_url)
