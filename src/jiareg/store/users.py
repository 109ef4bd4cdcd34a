"""Users, roles and the one permission function every entry point asks (`can`).

Roles (INTERFACE.md):

| role | sites | may |
|---|---|---|
| admin | all | everything |
| data_manager | own site | view, enter, import, fix (update/delete), export identified |
| clinician | own site | view, enter (add or change single records) |
| researcher | all | view de-identified data, export de-identified; never writes |

Passwords are hashed with argon2id (`argon2-cffi`); the hash string carries its parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import argon2
import pyarrow as pa
from sqlalchemy import Connection, text

from jiareg.errors import AccessDenied, InputError, StoreError
from jiareg.store.audit import append_entries, row_json
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
    "authenticate",
    "can",
    "get_user",
    "require",
]


_SITE_ACTIONS: Final[dict[Role, frozenset[str]]] = {
    "data_manager": frozenset(
        {"view", "view_identified", "enter", "import", "fix", "export", "export_identified"}
    ),
    "clinician": frozenset({"view", "view_identified", "enter"}),
}
_RESEARCHER_ACTIONS: Final = frozenset({"view", "export"})
_HASHER: Final = argon2.PasswordHasher()


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


def _get(conn: Connection, username: str) -> tuple[UserInfo, str] | None:
    row = conn.execute(
        text("SELECT username, role, site, password_hash FROM users WHERE username = :u"),
        {"u": username},
    ).first()
    if row is None:
        return None
    return UserInfo(row[0], row[1], row[2]), row[3]


def get_user(url: str | None, username: str) -> UserInfo:
    """The user called `username` (StoreError if there is none)."""
    with get_engine(url).connect() as conn:
        require_initialised(conn)
        found = _get(conn, username)
    if found is None:
        raise StoreError(f"no user {username!r} in the registry")
    return found[0]


def authenticate(url: str | None, username: str, password: str) -> UserInfo | None:
    """The user when `password` is theirs, else None (same answer for unknown users)."""
    with get_engine(url).connect() as conn:
        require_initialised(conn)
        found = _get(conn, username)
    if found is None:
        _HASHER.hash(password)  # spend the same time as a real check
        return None
    try:
        _HASHER.verify(found[1], password)
    except argon2.exceptions.VerificationError:
        return None
    return found[0]


def add_user(
    url: str | None,
    username: str,
    password: str,
    *,
    role: str,
    site: str | None = None,
    by: str = "cli",
) -> UserInfo:
    """Create a user with an argon2 password hash; audited. Site users need `site`."""
    if role not in ROLES:
        raise InputError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if not username or len(username) > 64 or not username.isprintable():
        raise InputError(f"user name {username!r}: expected 1-64 printable characters")
    if len(password) < 8:
        raise InputError("password: expected at least 8 characters")
    if role in _SITE_ACTIONS and not site:
        raise InputError(f"role {role}: expected --site SITE (the user's clinic)")
    info = UserInfo(username, role, site)
    with get_engine(url).begin() as conn:
        require_initialised(conn)
        write_lock(conn)
        if _get(conn, username) is not None:
            raise InputError(f"user {username!r} already exists")
        if site is not None:
            ensure_sites(conn, pa.array([site], pa.string()), username=by, reason="user add")
        conn.execute(
            text("INSERT INTO users (username, password_hash, role, site) VALUES (:u, :h, :r, :s)"),
            {"u": username, "h": _HASHER.hash(password), "r": role, "s": site},
        )
        row = pa.table(
            {"username": [username], "role": [role], "site": pa.array([site], pa.string())}
        )
        append_entries(
            conn,
            username=by,
            reason="user add",
            table_name="users",
            action="insert",
            row_key=row_json(row.select(["username"])),
            patient_id=pa.nulls(1, pa.string()),
            before=pa.nulls(1, pa.string()),
            after=row_json(row),
        )
    return info
