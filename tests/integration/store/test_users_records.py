"""Users (argon2), and single-record writes through the import's rules, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.store.sample import write_folder
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import AccessDenied, ImportErrors, InputError, StoreError
from jiareg.services.imports import import_path
from jiareg.services.records import delete_record, save_record
from jiareg.store.audit import patient_history, verify_chain
from jiareg.store.engine import get_engine
from jiareg.store.tables import read_tables
from jiareg.store.users import UserInfo, add_user, authenticate, get_user

NURSE = UserInfo("cleo", "clinician", "BA")
MANAGER = UserInfo("max", "data_manager", "BA")


def test_user_add_hashes_with_argon2_and_authenticates(registry_url: str) -> None:
    add_user(registry_url, "cleo", "correct horse", role="clinician", site="BA")
    assert authenticate(registry_url, "cleo", "correct horse") == NURSE
    assert authenticate(registry_url, "cleo", "wrong horse") is None
    assert authenticate(registry_url, "nobody", "correct horse") is None
    with get_engine(registry_url).connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM users").scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    with pytest.raises(InputError, match="already exists"):
        add_user(registry_url, "cleo", "another pass", role="clinician", site="BA")
    with pytest.raises(InputError, match="--site"):
        add_user(registry_url, "dan", "another pass", role="data_manager")
    verify_chain(registry_url)


def test_cli_user_add_reads_the_password_from_stdin(registry_url: str) -> None:
    result = CliRunner().invoke(
        app,
        ["user", "add", "rui", "--role", "researcher", "--db", registry_url],
        input="long enough pw\n",
    )
    assert result.exit_code == 0, result.output
    assert get_user(registry_url, "rui") == UserInfo("rui", "researcher", None)
    assert authenticate(registry_url, "rui", "long enough pw") is not None


def _unwrapped(text: str) -> str:
    """Rich's boxed, wrapped help and errors without the box and any whitespace."""
    return "".join(text.replace("│", "").split())


def test_cli_user_add_offers_and_checks_the_roles(registry_url: str) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["user", "add", "--help"], env={"COLUMNS": "200"})
    assert "admin|data_manager|clinician|researcher" in _unwrapped(shown.output)
    refused = runner.invoke(
        app,
        ["user", "add", "nia", "--role", "nurse", "--db", registry_url],
        input="long enough pw\n",
    )
    assert refused.exit_code == 2  # a usage error: nothing is read or written
    assert "'nurse'isnotoneof'admin','data_manager','clinician','researcher'" in _unwrapped(
        refused.output
    )
    with pytest.raises(StoreError, match="no user 'nia'"):
        get_user(registry_url, "nia")


@pytest.mark.slow
def test_save_record_merges_validates_and_audits(registry_url: str, tmp_path: Path) -> None:
    import_path(write_folder(tmp_path / "in"), registry_url)
    change = save_record(
        registry_url,
        "visits",
        {"patient_id": "P1", "visit_date": "2020-01-10", "esr": 50},
        user=NURSE,
        reason="lab result",
    )
    assert change.action == "update"
    row = next(
        v
        for v in read_tables(registry_url)["visits"].to_pylist()
        if v["patient_id"] == "P1" and str(v["visit_date"]) == "2020-01-10"
    )
    assert row["esr"] == 50.0 and row["active_joints"] == 8  # other fields kept
    last = patient_history(registry_url, "P1")[-1]
    assert (last.username, last.reason, last.action) == ("cleo", "lab result", "update")
    again = save_record(
        registry_url,
        "visits",
        {"patient_id": "P1", "visit_date": "2020-01-10", "esr": "50"},
        user=NURSE,
        reason="same",
    )
    assert again.action == "none"
    with pytest.raises(ImportErrors, match=r"visits form:1: column 'esr' = '250'"):
        save_record(
            registry_url,
            "visits",
            {"patient_id": "P1", "visit_date": "2020-01-10", "esr": 250},
            user=NURSE,
            reason="typo",
        )
    with pytest.raises(ImportErrors, match="'P3'; expected a patient_id among"):  # as unknown
        save_record(
            registry_url,
            "visits",
            {"patient_id": "P3", "visit_date": "2021-03-03", "esr": 10},
            user=NURSE,
            reason="other site",
        )
    new = save_record(
        registry_url,
        "visits",
        {"patient_id": "P2", "visit_date": "2020-06-01", "active_joints": 1},
        user=NURSE,
        reason="visit",
    )
    assert new.action == "insert"
    verify_chain(registry_url)


def test_delete_record_needs_fix_rights_and_is_audited(registry_url: str, tmp_path: Path) -> None:
    import_path(write_folder(tmp_path / "in"), registry_url)
    key = {"patient_id": "P1", "drug": "prednisone", "start_date": "2020-02-01"}
    with pytest.raises(AccessDenied):
        delete_record(registry_url, "steroids", key, user=NURSE, reason="wrong entry")
    assert delete_record(registry_url, "steroids", key, user=MANAGER, reason="wrong entry")
    assert not delete_record(registry_url, "steroids", key, user=MANAGER, reason="again")
    assert read_tables(registry_url)["steroids"].num_rows == 1
    last = patient_history(registry_url, "P1")[-1]
    assert (
        last.action == "delete" and last.after is None and '"daily_dose_mg":5' in str(last.before)
    )
    with pytest.raises(StoreError, match="other records refer to it"):
        delete_record(registry_url, "patients", {"patient_id": "P1"}, user=MANAGER, reason="x")
    verify_chain(registry_url)


def test_import_as_a_user_checks_role_and_site(registry_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in")  # patients at BA and CBA
    with pytest.raises(AccessDenied, match="may not import at site 'CBA'"):
        import_path(folder, registry_url, user=MANAGER)
    with pytest.raises(AccessDenied, match="clinician"):
        import_path(folder, registry_url, user=NURSE)
    assert read_tables(registry_url)["patients"].num_rows == 0
