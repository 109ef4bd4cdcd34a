"""The optional TOTP second factor (RFC 6238, `pyotp`), per user.

A user with `users.totp_secret` must give the current 6-digit code at log-in (one 30 s step
either side is accepted, for clock drift). When the setting `totp_required_for_admins` is
`on`, an admin without a secret cannot log in at all. The secret is shown once, as an
otpauth:// URI, when it is enrolled (`jiareg user totp NAME`); nothing prints it afterwards.
Enrolling and switching off are access events (the secret never enters the audit trail).
"""

from __future__ import annotations

from typing import Final, Literal

import pyotp
from sqlalchemy import text

from jiareg.errors import InputError
from jiareg.store.access import record_access
from jiareg.store.engine import get_engine, require_initialised
from jiareg.store.users import os_user

__all__ = [
    "ADMIN_SETTING",
    "Verdict",
    "admins_required",
    "check_code",
    "disable_totp",
    "enrol_totp",
    "require_for_admins",
]

ADMIN_SETTING: Final = "totp_required_for_admins"
ISSUER: Final = "jiareg"
Verdict = Literal["ok", "wrong_code", "not_enrolled"]


def _set_secret(url: str | None, username: str, secret: str | None, *, by: str | None) -> None:
    with get_engine(url).begin() as conn:
        require_initialised(conn)
        done = conn.execute(
            text("UPDATE users SET totp_secret = :s WHERE username = :u"),
            {"s": secret, "u": username},
        ).rowcount
        if not done:
            raise InputError(f"no user {username!r} in the registry")
        action = "totp_off" if secret is None else "totp_enrol"
        record_access(conn, username=by or os_user(), action=action, address="cli", detail=username)


def enrol_totp(url: str | None, username: str, *, by: str | None = None) -> str:
    """Give `username` a new secret; the otpauth:// URI to scan (shown this once)."""
    secret = pyotp.random_base32()
    _set_secret(url, username, secret, by=by)
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def disable_totp(url: str | None, username: str, *, by: str | None = None) -> None:
    """Drop `username`'s second factor."""
    _set_secret(url, username, None, by=by)


def require_for_admins(url: str | None, on: bool) -> None:
    """Switch the `totp_required_for_admins` setting."""
    with get_engine(url).begin() as conn:
        require_initialised(conn)
        conn.execute(text("DELETE FROM settings WHERE name = :n"), {"n": ADMIN_SETTING})
        if on:
            conn.execute(
                text("INSERT INTO settings (name, value) VALUES (:n, 'on')"), {"n": ADMIN_SETTING}
            )


def admins_required(url: str | None) -> bool:
    """Whether admins must have a second factor."""
    with get_engine(url).connect() as conn:
        value = conn.execute(
            text("SELECT value FROM settings WHERE name = :n"), {"n": ADMIN_SETTING}
        ).scalar()
    return value == "on"


def check_code(url: str | None, username: str, role: str, code: str | None) -> Verdict:
    """The second factor of a user whose password was right: `ok`, `wrong_code` (missing or
    wrong), or `not_enrolled` (an admin without a secret while the setting is on)."""
    with get_engine(url).connect() as conn:
        secret = conn.execute(
            text("SELECT totp_secret FROM users WHERE username = :u"), {"u": username}
        ).scalar()
    if secret is None:
        return "not_enrolled" if role == "admin" and admins_required(url) else "ok"
    if code and pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
        return "ok"
    return "wrong_code"
