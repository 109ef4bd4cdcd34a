"""The audit trail proves something: a keyed MAC chain, and a replay that checks the data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import StoreError
from jiareg.services.imports import import_path
from jiareg.store.audit import GENESIS, verify_chain
from jiareg.store.audit_replay import verify_registry
from jiareg.store.engine import get_engine, init_db
from jiareg.store.users import add_user

DATA = Path(__file__).parents[2] / "web" / "site_data"
KEY = "k" * 40


@pytest.fixture()
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("JIAREG_AUDIT_KEY", KEY)
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    init_db(url)
    import_path(DATA, url)
    assert verify_registry(url).entries > 10
    return url


def _sql(url: str, sql: str) -> None:
    with get_engine(url).begin() as conn:
        conn.exec_driver_sql(sql)


def _unkeyed_chain(url: str) -> None:
    """Recompute the chain as sha256(prev + payload): what an attacker without the key can
    do, and what registries made before the audit key hold."""
    from jiareg.store import audit

    with get_engine(url).begin() as conn:
        log = audit._read_log(conn)
        fields = {n: log.column(n).combine_chunks() for n in audit._HASHED}
        payloads = audit._payloads(fields).to_pylist()
        prev = GENESIS
        for seq, payload in zip(log.column("seq").to_pylist(), payloads, strict=True):
            digest = hashlib.sha256(prev.encode() + payload).hexdigest()
            conn.exec_driver_sql(
                "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq)
            )
            prev = digest
        conn.exec_driver_sql(
            "UPDATE settings SET value = ? WHERE name = 'audit_head'", (f"{len(payloads)}:{prev}",)
        )


def test_an_edited_entry_with_a_recomputed_unkeyed_chain_fails(registry: str) -> None:
    _sql(registry, "UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 3")
    _unkeyed_chain(registry)
    with pytest.raises(StoreError, match="broken at entry 1: its content does not match"):
        verify_chain(registry)


def test_init_rechains_a_registry_made_before_the_audit_key(registry: str) -> None:
    add_user(registry, "cleo", "correct horse battery", role="clinician", site="A")
    _sql(registry, "UPDATE audit_log SET after = replace(after, ',\"disabled\":false', '')")
    _sql(registry, "DELETE FROM settings WHERE name = 'audit_key_id'")
    _unkeyed_chain(registry)  # now as an old registry: unkeyed, users without `disabled`
    init_db(registry)
    assert verify_registry(registry).entries > 10


def test_init_refuses_to_rechain_a_broken_legacy_log(registry: str) -> None:
    _sql(registry, "DELETE FROM settings WHERE name = 'audit_key_id'")
    _unkeyed_chain(registry)
    _sql(registry, "UPDATE audit_log SET reason = 'edited' WHERE seq = 4")
    with pytest.raises(StoreError, match="broken at entry 4; it was not re-chained"):
        init_db(registry)


@pytest.mark.parametrize(
    ("sql", "row"),
    [
        (
            "UPDATE patients SET birth_date = '2012-03-05' WHERE patient_id = 'A-001'",
            'patients row {"patient_id":"A-001"} differs',
        ),
        ("UPDATE patients SET site = 'B' WHERE patient_id = 'A-002'", '{"patient_id":"A-002"}'),
        (
            "UPDATE visits SET esr = 6 WHERE patient_id = 'A-001' AND visit_date = '2019-06-25'",
            'visits row {"patient_id":"A-001","visit_date":"2019-06-25"} differs',
        ),
        (
            "DELETE FROM administrations WHERE patient_id = 'A-001'",
            "administrations row .* is missing from the database",
        ),
        ("UPDATE users SET role = 'admin'", "users row"),
    ],
    ids=["birth_date", "site", "esr", "deleted-row", "user-role"],
)
def test_verify_names_a_direct_change_to_the_data(registry: str, sql: str, row: str) -> None:
    add_user(registry, "cleo", "correct horse battery", role="clinician", site="A")
    _sql(registry, sql)
    verify_chain(registry)  # the trail itself is intact...
    with pytest.raises(StoreError, match=row):  # ...but the data no longer matches it
        verify_registry(registry)
    result = CliRunner().invoke(app, ["audit", "verify", "--db", registry])
    assert result.exit_code == 1 and ("differs" in result.stderr or "missing" in result.stderr)


def test_cli_verify_passes_on_an_untouched_registry(registry: str) -> None:
    result = CliRunner().invoke(app, ["audit", "verify", "--db", registry])
    assert result.exit_code == 0, result.output
    assert "the data matches it" in result.stdout


def test_a_missing_or_wrong_key_is_a_clear_error(
    registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JIAREG_AUDIT_KEY")
    monkeypatch.setenv("JIAREG_AUDIT_KEY_FILE", str(tmp_path / "absent.key"))
    with pytest.raises(StoreError, match="no audit key: set JIAREG_AUDIT_KEY"):
        verify_chain(registry)
    with pytest.raises(StoreError, match="no audit key"):  # nor can anything be written
        add_user(registry, "cleo", "correct horse battery", role="clinician", site="A")
    monkeypatch.setenv("JIAREG_AUDIT_KEY", "x" * 40)
    with pytest.raises(StoreError, match="not this registry's"):
        verify_chain(registry)


def test_init_creates_a_private_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIAREG_AUDIT_KEY", raising=False)
    key_file = tmp_path / "conf" / "audit.key"
    monkeypatch.setenv("JIAREG_AUDIT_KEY_FILE", str(key_file))
    url = f"sqlite:///{tmp_path / 'new.db'}"
    init_db(url)
    assert key_file.stat().st_mode & 0o777 == 0o600
    import_path(DATA, url)
    assert verify_registry(url).rows > 0
    assert key_file.read_text().strip() not in (tmp_path / "new.db").read_bytes().decode("latin1")
