"""Registries written before batch format 2 keep verifying, replaying and showing their trail.

`tests/data/audit_v1/registry.sql.gz` is a registry made by the release before format 2
(how: tests/data/audit_v1/README.md): an import of 119 visits (a format-1 insert batch) and
a re-import that changed every visit's CRP (a format-1 update batch, before and after). It is
a checked-in file, not written by a copy of the old writer kept in the tests, so it holds the
bytes that release really stored, and a reader that shared a copy's mistake would still fail.
On PostgreSQL the same rows and entries are copied into a fresh registry (same audit key).
A new import on top writes format 2; both formats then replay together.
"""

from __future__ import annotations

import csv
import gzip
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import text
from tests.support.registry_rows import first_visit

from jiareg.errors import StoreError
from jiareg.services.imports import import_path
from jiareg.store.audit import patient_history, verify_chain
from jiareg.store.audit_replay import verify_registry
from jiareg.store.bulk import bulk_insert
from jiareg.store.engine import get_engine, init_db
from jiareg.store.queries import Registry, audit_entries
from jiareg.store.tables import TABLE_NAMES, read_tables

FIXTURE = Path(__file__).parents[2] / "data" / "audit_v1" / "registry.sql.gz"
KEY = "k" * 40  # the key the fixture was written with (a test key, nothing else uses it)
_LOG = ("seq", "ts", "username", "action", "table_name", "row_key", "patient_id", "before")
_LOG_COLUMNS = (*_LOG, "after", "reason", "prev_hash", "hash")


def _restore(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        conn.executescript(gzip.decompress(FIXTURE.read_bytes()).decode())
    return f"sqlite:///{path}"


def _copy_to(source: str, target: str) -> None:
    """The fixture's rows and audit entries, as they are, into the registry at `target`."""
    init_db(target)
    tables = read_tables(source)
    with get_engine(source).connect() as conn:
        sites = conn.exec_driver_sql("SELECT site FROM sites").scalars().all()
        log = conn.exec_driver_sql(f"SELECT {', '.join(_LOG_COLUMNS)} FROM audit_log").all()
        head = conn.exec_driver_sql("SELECT value FROM settings WHERE name = 'audit_head'")
        head_value = head.scalar_one()
    columns = list(zip(*log, strict=True))
    entries = pa.table(
        {
            c: pa.array(v, pa.int64() if c == "seq" else pa.string())
            for c, v in zip(_LOG_COLUMNS, columns, strict=True)
        }
    )
    with get_engine(target).begin() as conn:
        bulk_insert(conn, "sites", pa.table({"site": pa.array(sites, pa.string())}))
        for name in TABLE_NAMES:
            bulk_insert(conn, name, tables[name])
        bulk_insert(conn, "audit_log", entries)
        conn.execute(
            text("INSERT INTO settings (name, value) VALUES ('audit_head', :v)"), {"v": head_value}
        )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def v1_registry(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("JIAREG_AUDIT_KEY", KEY)
    url = _restore(tmp_path / "v1.db")
    if request.param == "postgresql":
        pg: str = request.getfixturevalue("fresh_pg_url")
        _copy_to(url, pg)
        url = pg
    init_db(url)  # migrates it if the schema has moved on since
    yield url


def _batches(url: str) -> list[tuple[str, str, str]]:
    """(action, the row_key's and the after's first two characters) of each batch entry."""
    with get_engine(url).connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT action, row_key, after FROM audit_log WHERE patient_id IS NULL "
            "AND table_name = 'visits' ORDER BY seq"
        ).all()
    return [(a, k[:2], v[:2]) for a, k, v in rows]


def test_a_format_1_trail_verifies_and_shows_each_row(v1_registry: str) -> None:
    assert _batches(v1_registry) == [("insert", "[\n", "[\n"), ("update", "[\n", "[\n")]
    checked = verify_registry(v1_registry)
    assert (
        checked.entries == 52 and checked.rows == 8 + 17 + 119 + 13 + 4 + 8
    )  # sites, patients, visits, ...
    pid, date = first_visit(v1_registry)
    visits = [r for r in patient_history(v1_registry, pid) if r.table_name == "visits"]
    key = f'{{"patient_id":"{pid}","visit_date":"{date}"}}'
    assert [(r.action, r.row_key) for r in visits][:1] == [("insert", key)]
    inserts = [r for r in visits if r.action == "insert"]
    updates = [r for r in visits if r.action == "update"]
    assert len(inserts) == len(updates) > 0
    assert all('"crp":123.4' in (r.after or "") for r in updates)
    assert [r.before for r in updates] == [r.after for r in inserts]  # the same rows' JSON
    shown = audit_entries(get_engine(v1_registry), patient_id=None, limit=1000)
    assert sum(e["table"] == "visits" for e in shown) == 2 * 119
    assert all(isinstance(e["after"], dict) for e in shown)


def test_a_direct_edit_under_a_format_1_trail_is_named(v1_registry: str) -> None:
    pid, date = first_visit(v1_registry)
    with get_engine(v1_registry).begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE visits SET esr = 99 WHERE patient_id = '{pid}' AND visit_date = '{date}'"
        )
    verify_chain(v1_registry)
    key = f'{{"patient_id":"{pid}","visit_date":"{date}"}}'
    with pytest.raises(
        StoreError, match=f"visits row {key} differs .* in column esr:".replace("{", r"\{")
    ):
        verify_registry(v1_registry)


def test_a_new_import_on_a_format_1_trail_writes_format_2(v1_registry: str, tmp_path: Path) -> None:
    with get_engine(v1_registry).connect() as conn:
        since = int(conn.exec_driver_sql("SELECT max(seq) FROM audit_log").scalar_one())
    folder = tmp_path / "again"
    folder.mkdir()
    tables = read_tables(v1_registry)
    visits = tables["visits"].to_pylist()
    with (folder / "visits.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(visits[0]))
        writer.writeheader()
        writer.writerows({**v, "crp": 45.6} for v in visits)
    with (folder / "patients.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=tables["patients"].column_names)
        writer.writeheader()
        writer.writerows(tables["patients"].to_pylist())
    import_path(folder, v1_registry, reason="crp again")
    assert _batches(v1_registry)[2:] == [("update", "[[", "[[")]
    verify_registry(v1_registry)
    pid, _ = first_visit(v1_registry)
    updates = [
        r
        for r in patient_history(v1_registry, pid)
        if r.table_name == "visits" and r.action == "update"
    ]
    old, new = updates[: len(updates) // 2], updates[len(updates) // 2 :]
    assert [r.reason for r in new] == ["crp again"] * len(old)
    assert [r.before for r in new] == [r.after for r in old]  # format 2 reads as format 1 wrote
    assert all('"crp":45.6' in (r.after or "") for r in new)
    web = Registry(get_engine(v1_registry))
    assert web.changed_patients(since) == {v["patient_id"] for v in visits}
    assert web.changed_patients(0) >= {v["patient_id"] for v in visits}
