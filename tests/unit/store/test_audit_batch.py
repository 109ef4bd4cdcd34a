"""An import's batch audit entries: one MAC per batch, yet every row is replayed and shown."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from tests.support.registry_rows import first_visit

from jiareg.errors import StoreError
from jiareg.services.imports import import_path
from jiareg.store.audit import patient_history, verify_chain
from jiareg.store.audit_replay import verify_registry
from jiareg.store.engine import get_engine, init_db
from jiareg.store.queries import Registry, audit_entries
from jiareg.synth import write_registry

KEY = "k" * 40


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    out = tmp_path / "synth"
    write_registry(out, patients=30, visits=6, seed=3)  # 184 visits: a batch; 30 patients: not
    return out


@pytest.fixture()
def registry(tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("JIAREG_AUDIT_KEY", KEY)
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    init_db(url)
    import_path(source, url)
    return url


def _one(url: str, sql: str) -> object:
    with get_engine(url).begin() as conn:
        result = conn.exec_driver_sql(sql)
        return result.scalar() if result.returns_rows else None


def test_an_import_writes_few_entries_and_replays_every_row(registry: str) -> None:
    visits = _one(registry, "SELECT count(*) FROM visits")
    where = "table_name = 'visits' AND patient_id IS NULL"
    batches = _one(registry, f"SELECT count(*) FROM audit_log WHERE {where}")
    assert visits == 184 and batches == 1
    assert _one(registry, "SELECT count(*) FROM audit_log WHERE table_name = 'patients'") == 30
    checked = verify_registry(registry)
    assert checked.rows == 326 and checked.entries == 326 - 184 + 1  # visits: one entry


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("UPDATE visits SET esr = 99 WHERE {where}", "visits row {key} differs .* in column esr:"),
        (
            "UPDATE visits SET phys_global = NULL WHERE {where}",
            "visits row {key} differs .* in column phys_global:",
        ),
        ("UPDATE visits SET visit_date = '1999-01-01' WHERE {where}", "no entry records it"),
        ("DELETE FROM visits WHERE {where}", "visits row {key} is missing"),
    ],
    ids=["esr", "global-to-null", "key", "deleted"],
)
def test_a_direct_edit_of_a_batch_imported_row_is_named(
    registry: str, change: str, message: str
) -> None:
    pid, date = first_visit(registry)
    _one(registry, change.format(where=f"patient_id = '{pid}' AND visit_date = '{date}'"))
    verify_chain(registry)  # the trail is intact, the data is not
    key = f'{{"patient_id":"{pid}","visit_date":"{date}"}}'
    with pytest.raises(StoreError, match=message.format(key=key).replace("{", r"\{")):
        verify_registry(registry)


def test_an_edited_batch_entry_breaks_the_chain(registry: str) -> None:
    seq = _one(registry, "SELECT seq FROM audit_log WHERE table_name = 'visits'")
    edit = "UPDATE audit_log SET after = replace(after, 'null', '0') WHERE seq = "
    _one(registry, f"{edit}{seq}")
    with pytest.raises(StoreError, match=f"broken at entry {seq}: its content"):
        verify_chain(registry)


@pytest.mark.slow
def test_a_reimport_that_changes_many_rows_records_each_before_and_after(
    registry: str, source: Path
) -> None:
    with (source / "visits.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    changed = sum(row["crp"] != "123.4" for row in rows)
    for row in rows:
        row["crp"] = "123.4"
    with (source / "visits.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    since = _one(registry, "SELECT max(seq) FROM audit_log")
    summary = import_path(source, registry, reason="globals corrected")
    assert sum(t.updated for t in summary.tables) == changed >= 100
    verify_registry(registry)
    pid = rows[0]["patient_id"]
    history = patient_history(registry, pid)
    updates = [r for r in history if r.action == "update"]
    assert len(updates) == sum(r["patient_id"] == pid for r in rows)  # none had crp 123.4
    assert all(r.patient_id == pid and r.reason == "globals corrected" for r in updates)
    assert all('"crp":123.4' in (r.after or "") for r in updates)
    assert all('"crp":123.4' not in (r.before or "") for r in updates)
    assert updates[0].row_key == f'{{"patient_id":"{pid}","visit_date":"{rows[0]["visit_date"]}"}}'
    inserts = [r for r in history if r.table_name == "visits" and r.action == "insert"]
    assert len(inserts) == len(updates)  # the first import's batch shows this patient's rows
    assert [r.seq for r in history] == sorted(r.seq for r in history)
    # the web's caches see every patient of the batch as changed
    web = Registry(create_engine(registry))
    assert web.changed_patients(int(str(since))) == {r["patient_id"] for r in rows}
    assert web.patient_version(pid) == _one(registry, "SELECT max(seq) FROM audit_log")


def test_the_web_audit_list_shows_batch_rows_one_by_one(registry: str) -> None:
    engine = create_engine(registry)
    assert len(audit_entries(engine, patient_id=None, limit=5)) == 5
    newest = audit_entries(engine, patient_id=None, limit=1000)
    assert len(newest) == 326 and all(isinstance(e["after"], dict) for e in newest)
    visits = [e for e in newest if e["table"] == "visits"]
    assert len(visits) == 184 and len({e["seq"] for e in visits}) == 1
    assert all(e["after"]["patient_id"] == e["patient_id"] for e in visits)
    pid, date = first_visit(registry)
    mine = audit_entries(engine, patient_id=pid, limit=1000)
    assert [e["seq"] for e in mine] == sorted((e["seq"] for e in mine), reverse=True)
    assert {"patient_id": pid, "visit_date": date} in [
        json.loads(e["row_key"]) for e in mine if e["table"] == "visits"
    ]
    assert len(mine) == len(patient_history(registry, pid))


def test_every_batched_tables_key_starts_with_the_patient() -> None:
    """`audit_batch.patient_needles` finds a patient's format-2 rows by the key's first value."""
    from jiareg.formats.template.dictionary import TABLES

    assert [spec.key[0] for spec in TABLES] == ["patient_id"] * len(TABLES)
