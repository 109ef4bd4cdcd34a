"""Setting a registry up and looking after it: create or migrate it, users and log-in, and
the audit trail (verify the hash chain, one patient's history).

Writes here are audited by the store (`jiareg.store.users`, `jiareg.store.audit`).
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

from jiareg.store.audit import AuditRecord, patient_history, verify_chain
from jiareg.store.engine import get_engine, init_db, normalise_url, require_initialised
from jiareg.store.users import UserInfo, add_user, authenticate, get_user

__all__ = [
    "AuditRecord",
    "UserInfo",
    "add_user",
    "authenticate",
    "get_user",
    "init_db",
    "initialised_url",
    "patient_history",
    "shown_url",
    "verify_chain",
]


def shown_url(url: str | None) -> str:
    """The registry URL as it may be printed (the password hidden).

    >>> shown_url("postgresql://ana:secret@db/reg")
    'postgresql+psycopg://ana:***@db/reg'
    """
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def initialised_url(url: str | None) -> str:
    """The SQLAlchemy URL of a registry that has the schema (StoreError when it has not)."""
    sa_url = normalise_url(url)
    with get_engine(sa_url).connect() as conn:
        require_initialised(conn)
    return sa_url
