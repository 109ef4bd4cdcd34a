"""Setting a registry up and looking after it: create or migrate it, users and log-in, and
the audit trail (verify the hash chain, filtered entries), access events (reads, log-ins) and
the TOTP second factor.

Writes here are audited by the store (`jiareg.store.users`, `jiareg.store.audit`).
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

from jiareg.store.access import AccessRow, Filters, access_events, record_access, trail_entries
from jiareg.store.audit import AuditRecord, patient_history
from jiareg.store.audit_key import audit_key
from jiareg.store.audit_replay import Verified, verify_registry
from jiareg.store.engine import get_engine, init_db, normalise_url, require_initialised
from jiareg.store.totp import (
    Verdict,
    check_code,
    disable_totp,
    enrol_totp,
    require_for_admins,
)
from jiareg.store.user_admin import UserRow, list_users, remove_user, set_disabled, set_password
from jiareg.store.users import UserInfo, add_user, authenticate, get_user

__all__ = [
    "AccessRow",
    "AuditRecord",
    "Filters",
    "UserInfo",
    "UserRow",
    "Verdict",
    "Verified",
    "access_events",
    "add_user",
    "authenticate",
    "check_code",
    "disable_totp",
    "enrol_totp",
    "get_user",
    "init_db",
    "initialised_url",
    "list_users",
    "patient_history",
    "record_access",
    "remove_user",
    "require_for_admins",
    "set_disabled",
    "set_password",
    "shown_url",
    "trail_entries",
    "verify_registry",
]


def shown_url(url: str | None) -> str:
    """The registry URL as it may be printed (the password hidden).

    >>> shown_url("postgresql://ana:secret@db/reg")
    'postgresql+psycopg://ana:***@db/reg'
    """
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def initialised_url(url: str | None) -> str:
    """The SQLAlchemy URL of a registry that has the schema and whose audit key is at hand
    (StoreError naming what is missing otherwise)."""
    sa_url = normalise_url(url)
    with get_engine(sa_url).connect() as conn:
        require_initialised(conn)
        audit_key(conn)  # fail now, clearly, rather than at the first write
    return sa_url
