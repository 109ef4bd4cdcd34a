"""The audit chain detects direct edits and deletions; concurrent writers keep it valid."""

from __future__ import annotations

import multiprocessing
import re
from pathlib import Path

import pytest
from tests.integration.store.sample import write_folder
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import StoreError
from jiareg.services.imports import import_path
from jiareg.services.records import save_record
from jiareg.store.audit import patient_history, verify_chain
from jiareg.store.audit_batch import BATCH_MIN
from jiareg.store.audit_replay import verify_registry
from jiareg.store.engine import get_engine
from jiareg.store.tables import read_tables
from jiareg.store.users import UserInfo
from jiareg.synth import write_registry


def _tamper(url: str, sql: str) -> None:
    with get_engine(url).begin() as conn:
        conn.exec_driver_sql(sql)


@pytest.fixture()
def registry(registry_url: str, tmp_path: Path) -> str:
    import_path(write_folder(tmp_path / "in"), registry_url)
    assert verify_chain(registry_url) == 21
    return registry_url


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "UPDATE audit_log SET after = replace(after, '\"esr\":45', '\"esr\":4') WHERE seq = 6",
            "broken at entry 6: its content does not match its hash",
        ),
        (
            "UPDATE audit_log SET username = 'mallory' WHERE seq = 1",
            "broken at entry 1: its content",
        ),
        ("DELETE FROM audit_log WHERE seq = 10", "broken at entry 10: it is missing"),
        ("DELETE FROM audit_log WHERE seq = 21", "broken after entry 20"),
    ],
    ids=["edit-after", "edit-who", "delete-middle", "delete-last"],
)
@pytest.mark.slow
def test_verify_names_the_first_broken_entry(registry: str, sql: str, message: str) -> None:
    _tamper(registry, sql)
    with pytest.raises(StoreError, match=message):
        verify_chain(registry)
    result = CliRunner().invoke(app, ["audit", "verify", "--db", registry])
    assert result.exit_code == 1 and message.split(":")[0] in result.stderr


def test_cli_audit_log_prints_a_patients_history(registry: str) -> None:
    result = CliRunner().invoke(app, ["audit", "log", "P2", "--db", registry])
    assert result.exit_code == 0
    assert 'insert patients {"patient_id":"P2"} (import in)' in result.stdout
    assert result.stdout.count("after:") == len(patient_history(registry, "P2")) == 3


def _writer(url: str, field: str, values: list[int]) -> None:
    user = UserInfo("w-" + field, "admin", None)
    for v in values:
        save_record(
            url,
            "visits",
            {"patient_id": "P1", "visit_date": "2020-01-10", field: v},
            user=user,
            reason=f"set {field}",
        )


@pytest.mark.slow
def test_two_processes_updating_different_fields_lose_nothing(registry: str) -> None:
    # Each writer is a fresh process forked from one server process that imported this
    # module once (per test process): with "spawn", each imported jiareg anew (~1.2 s CPU).
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    n = 8
    procs = [
        ctx.Process(target=_writer, args=(registry, "esr", list(range(100, 100 + n)))),
        ctx.Process(target=_writer, args=(registry, "crp", list(range(1, 1 + n)))),
    ]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join(600)  # a loaded shared machine can take minutes just to import jiareg
            assert p.exitcode == 0
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
    visit = next(
        v
        for v in read_tables(registry)["visits"].to_pylist()
        if v["patient_id"] == "P1" and str(v["visit_date"]) == "2020-01-10"
    )
    assert (visit["esr"], visit["crp"]) == (100 + n - 1, n)  # both last writes survive
    assert verify_chain(registry) == 21 + 2 * n


def test_an_imports_batch_entries_are_replayed_on_either_database(
    registry_url: str, tmp_path: Path
) -> None:
    source = write_registry(tmp_path / "synth", patients=30, visits=6, seed=3)
    assert source["visits"] >= BATCH_MIN  # the visits are audited as one batch entry
    import_path(tmp_path / "synth", registry_url)
    verify_registry(registry_url)
    with get_engine(registry_url).connect() as conn:
        pid, date = conn.exec_driver_sql(
            "SELECT patient_id, visit_date FROM visits ORDER BY patient_id, visit_date LIMIT 1"
        ).one()
    key = f'{{"patient_id":"{pid}","visit_date":"{date}"}}'
    assert key in [
        r.row_key for r in patient_history(registry_url, pid) if r.table_name == "visits"
    ]
    where = f"patient_id = '{pid}' AND visit_date = '{date}'"
    _tamper(registry_url, f"UPDATE visits SET esr = 77 WHERE {where}")
    with pytest.raises(StoreError, match=re.escape(f"visits row {key} differs")):
        verify_registry(registry_url)
