"""The user lifecycle (INTERFACE.md): list, disable, enable, remove, new password.

Every change is audited (as `by`, default the OS user running the command) and ends the
user's web sessions in the same transaction, so a disabled or removed user is logged out at
once in every worker; the web app also checks, on every request, that the user is still
active and reads their current role and site.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from jiareg.errors import InputError
from jiareg.store.audit_replay import user_rows
from jiareg.store.engine import get_engine, require_initialised, write_lock
from jiareg.store.users import audit_user_change, check_password, hasher, os_user

__all__ = ["UserRow", "end_sessions", "list_users", "remove_user", "set_disabled", "set_password"]


@dataclass(frozen=True, slots=True)
class UserRow:
    """One user as `jiareg user list` shows it."""

    username: str
    role: str
    site: str | None
    disabled: bool


def list_users(url: str | None) -> list[UserRow]:
    """Every user, by name."""
    with get_engine(url).connect() as conn:
        require_initialised(conn)
        return [UserRow(**row) for row in user_rows(conn).to_pylist()]


def _change(
    url: str | None, username: str, *, by: str | None, reason: str, sql: str, **params: object
) -> None:
    """Run `sql` on `username`'s row, end their sessions and audit the change."""
    with get_engine(url).begin() as conn:
        require_initialised(conn)
        write_lock(conn)
        before = user_rows(conn, "WHERE username = :u", {"u": username})
        if before.num_rows == 0:
            raise InputError(f"no user {username!r} in the registry")
        conn.execute(text(sql), {"u": username, **params})
        end_sessions(conn, username)
        action = "delete" if sql.startswith("DELETE") else "update"
        audit_user_change(
            conn, username, action=action, before=before, by=by or os_user(), reason=reason
        )


def end_sessions(conn: Connection, username: str) -> None:
    """Log `username` out of every browser."""
    conn.execute(text("DELETE FROM web_sessions WHERE username = :u"), {"u": username})


def set_disabled(url: str | None, username: str, disabled: bool, *, by: str | None = None) -> None:
    """Disable (log out and refuse log-ins) or enable a user; audited."""
    _change(
        url,
        username,
        by=by,
        reason="user disable" if disabled else "user enable",
        sql="UPDATE users SET disabled = :d WHERE username = :u",
        d=disabled,
    )


def remove_user(url: str | None, username: str, *, by: str | None = None) -> None:
    """Delete a user (their audit entries stay); audited."""
    _change(url, username, by=by, reason="user remove", sql="DELETE FROM users WHERE username = :u")


def set_password(url: str | None, username: str, password: str, *, by: str | None = None) -> None:
    """Give a user a new password (same rule as `add_user`); ends their sessions; audited."""
    check_password(password, username)
    _change(
        url,
        username,
        by=by,
        reason="user passwd",
        sql="UPDATE users SET password_hash = :h WHERE username = :u",
        h=hasher().hash(password),
    )
