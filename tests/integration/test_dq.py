"""The data-quality service on a real registry: open → answer → close with permissions at the
patient's stored site and one audit entry per step; the rules and the missing-visit report."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import text
from tests.web.conftest import build_registry
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import AccessDenied, StoreError
from jiareg.services import dq
from jiareg.services.dq_rules import check, missing_report, range_findings
from jiareg.services.records import delete_record, save_record
from jiareg.store.audit_replay import verify_registry
from jiareg.store.engine import get_engine
from jiareg.store.users import UserInfo
from jiareg.study.protocol_file import load_protocol

PROTOCOL = Path(__file__).parents[2] / "src/jiareg/protocols/tocilizumab-after-anti-tnf.yaml"
ADMIN = UserInfo("admin", "admin", None)
DM_A = UserInfo("dm_a", "data_manager", "A")
CLIN_A = UserInfo("clin_a", "clinician", "A")
CLIN_B = UserInfo("clin_b", "clinician", "B")
VISIT = {"patient_id": "A-001", "visit_date": "2019-07-27"}


@pytest.fixture()
def url(tmp_path: Path) -> str:
    return build_registry(f"sqlite:///{tmp_path / 'registry.db'}")


def _entries(url: str) -> list[tuple[str, str, str, str]]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            text("SELECT username, action, reason, after FROM audit_log "
                 "WHERE table_name = 'dq_queries' ORDER BY seq")
        ).all()  # fmt: skip
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_open_answer_close_each_audited(url: str) -> None:
    query = dq.open_query(url, user=DM_A, table_name="visits", key=VISIT, column="esr", text="20?")
    dq.answer_query(url, query.id, user=CLIN_A, answer="confirmed")
    closed = dq.close_query(url, query.id, user=DM_A)
    assert (closed.status, closed.answer, closed.answered_by, closed.closed_by) == (
        "closed", "confirmed", "clin_a", "dm_a",
    )  # fmt: skip
    entries = _entries(url)
    assert [(u, a, r) for u, a, r, _ in entries] == [
        ("dm_a", "insert", "query opened: 20?"),
        ("clin_a", "update", "query answered: confirmed"),
        ("dm_a", "update", "query closed"),
    ]
    assert json.loads(entries[-1][3])["status"] == "closed"
    assert verify_registry(url).entries >= 3  # the chain holds and replay ignores the table


def test_permissions_at_the_stored_site(url: str) -> None:
    with pytest.raises(AccessDenied):
        dq.open_query(url, user=CLIN_A, table_name="visits", key=VISIT, column="esr", text="?")
    with pytest.raises(dq.QueryNotFound):
        dq.open_query(url, user=CLIN_B, table_name="visits", key=VISIT, column="esr", text="?")
    query = dq.open_query(url, user=ADMIN, table_name="visits", key=VISIT, column="esr", text="?")
    with pytest.raises(dq.QueryNotFound):
        dq.answer_query(url, query.id, user=CLIN_B, answer="not mine")
    assert dq.get_query(url, query.id, user=CLIN_B) is None
    assert dq.list_queries(url, user=CLIN_B) == []
    with pytest.raises(AccessDenied):
        dq.close_query(url, query.id, user=CLIN_A)
    dq.close_query(url, query.id, user=DM_A)
    with pytest.raises(StoreError, match="closed"):
        dq.answer_query(url, query.id, user=CLIN_A, answer="late")


def test_range_rules() -> None:
    visits = pa.table({
        "patient_id": ["P1", "P1", "P1", "P2"],
        "visit_date": pa.array([1, 2, 3, 1], pa.int32()).cast(pa.date32()),
        "weight_kg": [20.0, 25.0, 25.5, None],
        "esr": [10.0, 121.0, 120.0, None],
        "active_joints": [1, 2, 72, 71],
    })  # fmt: skip
    found = [(f.rule, f.patient_id, f.visit_date, f.column) for f in range_findings(visits)]
    assert found == [
        ("esr_range", "P1", "1970-01-03", "esr"),
        ("weight_change", "P1", "1970-01-03", "weight_kg"),
        ("joints_range", "P1", "1970-01-04", "active_joints"),
    ]


@pytest.mark.slow
def test_check_opens_once_and_the_report_lists_the_gaps(url: str) -> None:
    save_record(url, "visits", {**VISIT, "esr": None, "weight_kg": 30}, user=ADMIN, reason="t")
    protocol = load_protocol(PROTOCOL)
    opened = check(url, protocol)
    assert sorted((q.column_name, q.opened_by) for q in opened) == [
        ("esr", "rule:coreset_missing"),  # month_1 and before_infusion_3 choose the same visit
        ("weight_kg", "rule:weight_change"),
        ("weight_kg", "rule:weight_change"),  # 30 after 20.5, then 21 after 30
    ]
    assert check(url, protocol) == []
    gaps = missing_report(url, protocol, user=DM_A)
    assert [(r.timepoint, r.visit_date, r.missing) for r in gaps] == [
        ("month_1", "2019-07-27", ("esr",)),
        ("before_infusion_3", "2019-07-27", ("esr",)),
    ]
    assert missing_report(url, protocol, user=UserInfo("dm_b", "data_manager", "B")) == []
    with pytest.raises(AccessDenied):
        missing_report(url, protocol, user=CLIN_A)


@pytest.mark.slow
def test_cli_check_and_missing(url: str) -> None:
    runner = CliRunner()
    save_record(url, "visits", {**VISIT, "chaq": None}, user=ADMIN, reason="t")
    done = runner.invoke(app, ["dq", "check", "--protocol", str(PROTOCOL), "--db", url])
    assert done.exit_code == 0, done.output
    assert "1 queries opened" in done.output and "chaq" in done.output
    shown = runner.invoke(app, ["dq", "missing", "--protocol", str(PROTOCOL), "--db", url])
    assert shown.exit_code == 0 and "month_1" in shown.output and "2 gaps" in shown.output
    as_csv = runner.invoke(
        app, ["dq", "missing", "--protocol", str(PROTOCOL), "--db", url, "--csv"]
    )
    assert as_csv.output.splitlines()[0] == "patient_id,site,timepoint,window,visit_date,missing"


@pytest.mark.slow
def test_a_visit_missing_in_a_window_is_reported(url: str) -> None:
    assert delete_record(url, "visits", VISIT, user=ADMIN, reason="t")
    gaps = missing_report(url, load_protocol(PROTOCOL), user=ADMIN)
    assert [(r.patient_id, r.timepoint, r.visit_date, r.cells()[4]) for r in gaps] == [
        ("A-001", "month_1", None, "no visit"),
        ("A-001", "before_infusion_3", None, "no visit"),
    ]


def test_a_query_changed_in_the_database_fails_verification(url: str) -> None:
    query = dq.open_query(url, user=DM_A, table_name="visits", key=VISIT, column="esr", text="?")
    verify_registry(url)
    with get_engine(url).begin() as conn:
        conn.execute(text("UPDATE dq_queries SET status = 'closed' WHERE id = :i"), {"i": query.id})
    with pytest.raises(StoreError, match="dq_queries row"):
        verify_registry(url)
