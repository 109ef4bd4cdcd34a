"""The user lifecycle: list, disable, enable, remove, passwd; the password rule; who is audited."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.errors import InputError, StoreError
from jiareg.store.audit_replay import verify_registry
from jiareg.store.engine import get_engine, init_db
from jiareg.store.user_admin import UserRow, list_users
from jiareg.store.users import add_user, authenticate, check_password, get_user

GOOD = "correct horse battery"


@pytest.fixture()
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("JIAREG_AUDIT_KEY", "k" * 40)
    monkeypatch.setenv("JIAREG_ARGON2_FAST", "1")
    db = f"sqlite:///{tmp_path / 'users.db'}"
    init_db(db)
    return db


def _cli(url: str, *args: str, password: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["user", *args, "--db", url], input=password)
    return result.exit_code, result.output


@pytest.mark.parametrize("password", ["password", "password123", "qwertyuiop", "short pw"])
def test_short_and_common_passwords_are_refused(url: str, password: str) -> None:
    with pytest.raises(InputError, match="password"):
        add_user(url, "ana", password, role="admin")
    code, out = _cli(url, "add", "ana", "--role", "admin", password=password + "\n")
    assert code == 1 and "password" in out
    assert list_users(url) == []


def test_a_long_unusual_password_is_accepted() -> None:
    check_password("plum tree harbour", "ana")


def test_list_disable_enable_remove_passwd_from_the_command_line(url: str) -> None:
    assert (
        _cli(url, "add", "ana", "--role", "clinician", "--site", "A", password=GOOD + "\n")[0] == 0
    )
    assert _cli(url, "add", "rui", "--role", "researcher", password=GOOD + "\n")[0] == 0
    code, out = _cli(url, "list")
    assert code == 0 and out.splitlines() == [
        "ana\tclinician\tA\tactive",
        "rui\tresearcher\t-\tactive",
    ]

    assert _cli(url, "disable", "ana")[0] == 0
    assert authenticate(url, "ana", GOOD) is None
    with pytest.raises(StoreError, match="disabled"):
        get_user(url, "ana")
    assert list_users(url)[0] == UserRow("ana", "clinician", "A", True)

    assert _cli(url, "enable", "ana")[0] == 0
    assert authenticate(url, "ana", GOOD) is not None

    assert _cli(url, "passwd", "ana", password="plum tree harbour\n")[0] == 0
    assert authenticate(url, "ana", GOOD) is None
    assert authenticate(url, "ana", "plum tree harbour") is not None
    assert _cli(url, "passwd", "ana", password="password\n")[0] == 1

    assert _cli(url, "remove", "rui")[0] == 0
    assert [u.username for u in list_users(url)] == ["ana"]
    code, out = _cli(url, "disable", "nobody")
    assert code == 1 and "no user 'nobody'" in out
    verify_registry(url)  # every change is in the trail, and the users table matches it


def test_user_changes_are_audited_as_the_os_user(url: str) -> None:
    _cli(url, "add", "ana", "--role", "admin", password=GOOD + "\n")
    _cli(url, "disable", "ana")
    with get_engine(url).connect() as conn:
        who = (
            conn.execute(text("SELECT DISTINCT username FROM audit_log WHERE table_name = 'users'"))
            .scalars()
            .all()
        )
    assert who == [f"os:{getpass.getuser()}"]


def test_a_users_role_changed_in_sql_fails_verification(url: str) -> None:
    add_user(url, "rui", GOOD, role="researcher")
    with get_engine(url).begin() as conn:
        conn.execute(text("UPDATE users SET role = 'admin' WHERE username = 'rui'"))
    with pytest.raises(StoreError, match=r'users row \{"username":"rui"\} differs'):
        verify_registry(url)
