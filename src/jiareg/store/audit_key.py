"""The audit trail's secret key: kept outside the database, so its MAC chain cannot be redone.

Where the key comes from, first match wins:

1. env `JIAREG_AUDIT_KEY`: the key itself (at least 32 characters);
2. env `JIAREG_AUDIT_KEY_FILE`: a file holding it;
3. `$XDG_CONFIG_HOME/jiareg/audit.key` (default `~/.config/jiareg/audit.key`), the file
   `jiareg init` creates (mode 0600) when none of the above exists.

The database keeps only the key's fingerprint (`settings.audit_key_id`, an HMAC of a fixed
text), so a key that is not the registry's is refused with a clear message instead of
silently starting a second chain. Someone who can change the database but cannot read the key
can no longer recompute an edited entry's MAC.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, text

from jiareg.errors import StoreError

__all__ = [
    "ENV_KEY",
    "ENV_KEY_FILE",
    "KEY_ID",
    "audit_key",
    "checked_key",
    "default_key_file",
    "ensure_key",
    "key_id",
]

ENV_KEY: Final = "JIAREG_AUDIT_KEY"
ENV_KEY_FILE: Final = "JIAREG_AUDIT_KEY_FILE"
KEY_ID: Final = "audit_key_id"
"""The `settings` row of the audit key's fingerprint."""
_MIN_LENGTH: Final = 32


def default_key_file() -> Path:
    """`$XDG_CONFIG_HOME/jiareg/audit.key` (default `~/.config/jiareg/audit.key`)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "jiareg" / "audit.key"


def _key_file() -> Path:
    named = os.environ.get(ENV_KEY_FILE)
    return Path(named) if named else default_key_file()


def _found() -> bytes | None:
    value = os.environ.get(ENV_KEY)
    if value is None:
        path = _key_file()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
    if len(value) < _MIN_LENGTH:
        raise StoreError(f"the audit key is too short: expected at least {_MIN_LENGTH} characters")
    return value.encode()


def key_id(key: bytes) -> str:
    """The key's public fingerprint (16 hex digits).

    >>> key_id(b"k" * 32)
    '44e31e2b4c950106'
    """
    return hmac.new(key, b"jiareg audit key id", hashlib.sha256).hexdigest()[:16]


def _stored_id(conn: Connection) -> str | None:
    value = conn.execute(text("SELECT value FROM settings WHERE name = :n"), {"n": KEY_ID}).scalar()
    return None if value is None else str(value)


def _where() -> str:
    return f"set {ENV_KEY}, or put the key in {_key_file()} (env {ENV_KEY_FILE} names another file)"


def audit_key(conn: Connection) -> bytes:
    """The registry's audit key (StoreError saying where it was looked for when absent)."""
    return checked_key(_stored_id(conn))


def checked_key(stored: str | None) -> bytes:
    """`audit_key` of a registry whose `settings` row `KEY_ID` holds `stored` (None: no
    row), read by the caller with what else it reads (an audit append: with the log's head)."""
    key = _found()
    if key is None:
        raise StoreError(f"no audit key: {_where()}; `jiareg init` creates one for a new registry")
    if stored is None:
        raise StoreError("the registry has no audit key fingerprint; run `jiareg init`")
    if stored != key_id(key):
        raise StoreError(
            f"the audit key found is not this registry's (fingerprint {key_id(key)}, the "
            f"registry expects {stored}): {_where()}"
        )
    return key


def _create_file(path: Path) -> None:
    """Write a fresh random key to `path` (0600); another process winning the race is fine."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_hex(32) + "\n")
    try:
        os.link(tmp, path)  # atomic, and never replaces a key that already exists
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def ensure_key(conn: Connection) -> str:
    """Make sure the registry has an audit key (run by `init_db`); returns its fingerprint.

    A registry without a fingerprint takes the key found (creating the key file when there is
    none), and an audit log written before the key is re-chained with it. A registry that
    already has a fingerprint must find its own key.
    """
    if _stored_id(conn) is not None:
        return key_id(audit_key(conn))
    key = _found()
    if key is None:
        if os.environ.get(ENV_KEY) is None:
            _create_file(_key_file())
        key = _found()
        if key is None:
            raise StoreError(f"no audit key: {_where()}")
    fingerprint = key_id(key)
    conn.execute(
        text("INSERT INTO settings (name, value) VALUES (:n, :v)"),
        {"n": KEY_ID, "v": fingerprint},
    )
    from jiareg.store.audit import rekey_legacy_chain  # audit needs this module first

    rekey_legacy_chain(conn, key)
    return fingerprint
