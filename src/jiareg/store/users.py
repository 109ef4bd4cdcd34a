"""Users, roles and the one permission function every entry point asks (`can`).

Roles (INTERFACE.md):

| role | sites | may |
|---|---|---|
| admin | all | everything |
| data_manager | own site | view, enter, import, fix (update/delete), export identified |
| clinician | own site | view, enter (add or change single records) |
| researcher | all | view de-identified data, export de-identified; never writes |

Passwords are hashed with argon2id (`argon2-cffi`, its default cost); the hash string carries
its parameters. `JIAREG_ARGON2_FAST=1` switches to the cheapest parameters, for test suites
only. A password must have at least 10 characters and a zxcvbn score of 3 or more (which
refuses common passwords such as `password`). The user lifecycle (disable, enable, remove,
new password) lives in `jiareg.store.user_admin`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Final

import argon2
import pyarrow as pa
from sqlalchemy import Connection, text

from jiareg.errors import AccessDenied, InputError, StoreError
from jiareg.store.audit import append_entries, row_json
from jiareg.store.audit_replay import user_rows
from jiareg.store.engine import get_engine, require_initialised, write_lock
from jiareg.store.load import ensure_sites
from jiareg.store.roles import ACTIONS, ROLES, Action, Role

__all__ = [
    "ACTIONS",
    "ROLES",
    "Action",
    "Role",
    "UserInfo",
    "add_user",
    "audit_user_change",
    "authenticate",
    "can",
    "check_password",
    "get_user",
    "hasher",
    "os_user",
    "require",
]


_SITE_ACTIONS: Final[dict[Role, frozenset[str]]] = {
    "data_manager": frozenset(
        {"view", "view_identified", "enter", "import", "fix", "export", "export_identified"}
    ),
    "clinician": frozenset({"view", "view_identified", "enter"}),
}
_RESEARCHER_ACTIONS: Final = frozenset({"view", "export"})
_MIN_PASSWORD: Final = 10
_MIN_SCORE: Final = 3


@cache
def hasher() -> argon2.PasswordHasher:
    """argon2id at argon2-cffi's default cost, or its cheapest with `JIAREG_ARGON2_FAST=1`."""
    if os.environ.get("JIAREG_ARGON2_FAST") == "1":
        return argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return argon2.PasswordHasher()


def os_user() -> str:
    """Who runs this command on this machine (audited as `os:NAME`)."""
    import getpass

    try:
        return f"os:{getpass.getuser()}"
    except OSError:  # no name for the uid (e.g. a bare container)
        return f"os:uid{os.getuid()}"


def check_password(password: str, username: str) -> None:
    """InputError unless `password` is long (10+) and hard to guess (zxcvbn score >= 3).

    >>> check_password("correct horse battery", "ana")
    >>> check_password("password", "ana")
    Traceback (most recent call last):
    jiareg.errors.InputError: password: expected at least 10 characters
    """
    from zxcvbn import zxcvbn

    if len(password) < _MIN_PASSWORD:
        raise InputError(f"password: expected at least {_MIN_PASSWORD} characters")
    verdict = zxcvbn(password[:100], user_inputs=[username, "jiareg"])
    if verdict["score"] < _MIN_SCORE:
        hint = verdict["feedback"]["warning"] or "add more unusual words"
        raise InputError(f"password: too easy to guess ({hint})")


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A registry user (never carries the password hash)."""

    username: str
    role: Role
    site: str | None


def can(user: UserInfo, action: Action, *, site: str | None) -> bool:
    """Whether `user` may do `action` on records of `site` (None = no particular site).

    admin: everything. data_manager and clinician: only their own site (a site-less action
    such as a whole-registry export is refused); clinicians view and enter, data managers
    also import, fix and export. researcher: any site, `view` (de-identified) and `export`
    (de-identified) only.

    >>> nurse = UserInfo("ana", "clinician", "BA")
    >>> can(nurse, "enter", site="BA"), can(nurse, "enter", site="CBA")
    (True, False)
    >>> can(nurse, "import", site="BA")
    False
    >>> can(UserInfo("rui", "researcher", None), "view_identified", site="BA")
    False
    """
    if user.role == "admin":
        return True
    if user.role == "researcher":
        return action in _RESEARCHER_ACTIONS
    allowed = _SITE_ACTIONS.get(user.role, frozenset())
    return action in allowed and site is not None and site == user.site


def require(user: UserInfo, action: Action, *, site: str | None) -> None:
    """`can`, raising AccessDenied with who, what and where when it is refused."""
    if not can(user, action, site=site):
        where = f" at site {site!r}" if site is not None else ""
        raise AccessDenied(f"user {user.username!r} ({user.role}) may not {action}{where}")


def _get(conn: Connection, username: str) -> tuple[UserInfo, str, bool] | None:
    row = conn.execute(
        text("SELECT username, role, site, password_hash, disabled FROM users WHERE username = :u"),
        {"u": username},
    ).first()
    if row is None:
        return None
    return UserInfo(row[0], row[1], row[2]), row[3], bool(row[4])


def get_user(url: str | None, username: str) -> UserInfo:
    """The active user called `username` (StoreError if there is none or it is disabled)."""
    with get_engine(url).connect() as conn:
        require_initialised(conn)
        found = _get(conn, username)
    if found is None:
        raise StoreError(f"no user {username!r} in the registry")
    if found[2]:
        raise StoreError(f"user {username!r} is disabled")
    return found[0]


def authenticate(url: str | None, username: str, password: str) -> UserInfo | None:
    """The user when `password` is theirs and the user is active, else None (the same answer,
    in about the same time, for unknown and disabled users)."""
    with get_engine(url).connect() as conn:
        require_initialised(conn)
        found = _get(conn, username)
    if found is None:
        hasher().hash(password)  # spend the same time as a real check
        return None
    try:
        hasher().verify(found[1], password)
    except argon2.exceptions.VerificationError:
        return None
    return None if found[2] else found[0]


def audit_user_change(
    conn: Connection, username: str, *, action: str, before: pa.Table, by: str, reason: str
) -> None:
    """Audit one change to `username`'s row: `before` (zero or one row of
    `audit_replay.user_rows`) against the row now stored."""
    after = user_rows(conn, "WHERE username = :u", {"u": username})
    key = row_json(pa.table({"username": [username]}))
    append_entries(
        conn,
        username=by,
        reason=reason,
        table_name="users",
        action=action,
        row_key=key,
        patient_id=pa.nulls(1, pa.string()),
        before=row_json(before) if before.num_rows else pa.nulls(1, pa.string()),
        after=row_json(after) if after.num_rows else pa.nulls(1, pa.string()),
    )


def add_user(
    url: str | None,
    username: str,
    password: str,
    *,
    role: str,
    site: str | None = None,
    by: str | None = None,
) -> UserInfo:
    """Create a user with an argon2 password hash; audited as `by` (default: the OS user).
    Site users need `site`."""
    if role not in ROLES:
        raise InputError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if not username or len(username) > 64 or not username.isprintable():
        raise InputError(f"user name {username!r}: expected 1-64 printable characters")
    if role in _SITE_ACTIONS and not site:
        raise InputError(f"role {role}: expected --site SITE (the user's clinic)")
    who = by or os_user()
    info = UserInfo(username, role, site)
    with get_engine(url).begin() as conn:
        require_initialised(conn)
        write_lock(conn)
        if _get(conn, username) is not None:
            raise InputError(f"user {username!r} already exists")
        check_password(password, username)
        if site is not None:
            ensure_sites(conn, pa.array([site], pa.string()), username=who, reason="user add")
        conn.execute(
            text("INSERT INTO users (username, password_hash, role, site) VALUES (:u, :h, :r, :s)"),
            {"u": username, "h": hasher().hash(password), "r": role, "s": site},
        )
        before = user_rows(conn, "WHERE 1 = 0")
        audit_user_change(conn, username, action="insert", before=before, by=who, reason="user add")
    return info
