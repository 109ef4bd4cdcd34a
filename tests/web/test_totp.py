"""Issue #12: the optional TOTP second factor, and the setting that requires it of admins."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.web.conftest import PASSWORD
from typer.testing import CliRunner

from jiareg.cli import app
from jiareg.store.engine import get_engine
from jiareg.web.routes.api import NO_TOTP

Factory = Callable[..., TestClient]


def _enrol(db_url: str, name: str) -> pyotp.TOTP:
    run = CliRunner().invoke(app, ["user", "totp", name, "--db", db_url])
    assert run.exit_code == 0, run.output
    uri = next(line for line in run.output.splitlines() if line.startswith("otpauth://"))
    return pyotp.TOTP(parse_qs(urlparse(uri).query)["secret"][0])


def _login(c: TestClient, name: str, totp: str | None = None) -> int:
    body = {"username": name, "password": PASSWORD}
    if totp is not None:
        body["totp"] = totp
    return int(c.post("/api/login", json=body).status_code)


def test_the_current_code_logs_in_and_a_wrong_or_missing_one_does_not(
    app_factory: Factory, db_url: str
) -> None:
    otp = _enrol(db_url, "clin_a")
    with app_factory() as c:
        assert _login(c, "clin_a") == 401
        wrong = f"{(int(otp.now()) + 500_000) % 1_000_000:06d}"
        assert _login(c, "clin_a", wrong) == 401
        assert _login(c, "clin_a", otp.now()) == 200
        assert _login(c, "dm_a") == 200  # no secret, no code asked
    with get_engine(db_url).connect() as conn:
        failed = conn.execute(
            text("SELECT detail FROM access_events WHERE action = 'login_failed'")
        ).scalars()
        assert list(failed) == ["wrong or missing one-time code"] * 2


def test_wrong_codes_are_throttled(app_factory: Factory, db_url: str) -> None:
    otp = _enrol(db_url, "clin_a")
    with app_factory(max_login_failures=3) as c:
        for _ in range(3):
            assert _login(c, "clin_a", "000000" if otp.now() != "000000" else "111111") == 401
        assert _login(c, "clin_a", otp.now()) == 429


def test_the_login_form_takes_the_code(app_factory: Factory, db_url: str) -> None:
    otp = _enrol(db_url, "clin_a")
    with app_factory() as c:
        page = c.get("/login").text
        assert 'name="totp"' in page
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        form = {"username": "clin_a", "password": PASSWORD, "csrf_token": token}
        assert c.post("/login", data=form, follow_redirects=False).status_code == 401
        done = c.post("/login", data={**form, "totp": otp.now()}, follow_redirects=False)
        assert done.status_code == 303


def test_admins_without_totp_are_refused_when_the_setting_is_on(
    app_factory: Factory, db_url: str
) -> None:
    run = CliRunner().invoke(app, ["user", "totp-admins", "on", "--db", db_url])
    assert run.exit_code == 0, run.output
    with app_factory() as c:
        r = c.post("/api/login", json={"username": "admin", "password": PASSWORD})
        assert r.status_code == 403 and r.json()["detail"] == NO_TOTP
        assert _login(c, "clin_a") == 200  # only admins must
        otp = _enrol(db_url, "admin")
        assert _login(c, "admin", otp.now()) == 200
    run = CliRunner().invoke(app, ["user", "totp", "admin", "--off", "--db", db_url])
    assert run.exit_code == 0, run.output
    with app_factory() as c:
        assert _login(c, "admin") == 403


def test_the_secret_is_never_listed(db_url: str) -> None:
    _enrol(db_url, "clin_a")
    listed = CliRunner().invoke(app, ["user", "list", "--db", db_url]).output
    with get_engine(db_url).connect() as conn:
        secret = conn.execute(
            text("SELECT totp_secret FROM users WHERE username = 'clin_a'")
        ).scalar_one()
    assert secret not in listed
