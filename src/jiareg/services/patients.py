"""Move a patient to another site: an admin's audited action, never a side effect of an import.

An import refuses a site change on a stored patient (`jiareg.services.imports`), since the
site decides who may see and change the patient's records; `move_patient` is the one way to
change it, with a reason kept in the audit trail.
"""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import Connection

from jiareg.errors import AccessDenied, InputError
from jiareg.formats.template.dictionary import table
from jiareg.services.imports import os_user
from jiareg.store.engine import get_engine, require_initialised, write_lock
from jiareg.store.load import ensure_sites, upsert_table
from jiareg.store.tables import read_rows
from jiareg.store.users import UserInfo

__all__ = ["move_patient"]


def _check_site(site: str) -> str:
    spec = table("patients")
    column = next(c for c in spec.columns if c.name == "site")
    text = site.strip()
    if not text or not text.isprintable() or len(text) > column.max_length:
        raise InputError(f"site {site!r}: expected {column.expected()}")
    return text


def move_patient(
    db_url: str | None, patient_id: str, new_site: str, user: UserInfo | None, reason: str
) -> str:
    """Move `patient_id` to `new_site` (added to the sites if new); returns the old site.

    Only an admin may (`user` None is the operating-system user running the CLI, as for
    an import); `reason` is required and goes into the audit entry (an update of the
    patient's row, before and after). InputError for an unknown patient, an invalid site
    or a patient already at `new_site`.
    """
    if user is not None and user.role != "admin":
        raise AccessDenied(
            f"user {user.username!r} ({user.role}) may not move patients: an admin moves them"
        )
    if not reason.strip():
        raise InputError("a site move needs a reason (--reason)")
    site = _check_site(new_site)
    username = user.username if user else os_user()
    with get_engine(db_url).begin() as conn:
        write_lock(conn)
        require_initialised(conn)
        stored = read_rows(conn, "patients", pa.table({"patient_id": [patient_id]}))
        if stored.num_rows == 0:
            raise InputError(f"no patient {patient_id!r} in the registry")
        old = stored.column("site")[0].as_py()
        if old == site:
            raise InputError(f"patient {patient_id!r} is already at site {site!r}")
        move_locked(conn, stored, site, username=username, reason=reason)
    return str(old)


def move_locked(
    conn: Connection, stored: pa.Table, new_site: str, *, username: str, reason: str
) -> None:
    """Move the one stored patient row `stored` to `new_site` inside the caller's
    write-locked transaction (the site added if new); audited as an update of the row."""
    site = _check_site(new_site)
    ensure_sites(conn, pa.array([site], pa.string()), username=username, reason=reason)
    moved = stored.set_column(
        stored.column_names.index("site"), "site", pa.array([site], pa.string())
    )
    upsert_table(
        conn,
        "patients",
        table("patients").key,
        moved,
        existing=stored,
        username=username,
        reason=reason,
    )
