"""Sessions, log-in throttling and CSRF tokens of the web app (the middleware setting client
addresses and headers: `jiareg.web.middleware`).

Sessions and the log-in throttle live in the registry database (`web_sessions`,
`login_attempts`), so several worker processes share them and a restart keeps them; the
browser holds only a random 256-bit token in an HttpOnly cookie, so logging out, expiry, or
disabling the user (`jiareg user disable`) really ends a session. Every session carries its
own CSRF token (synchronizer pattern): HTML forms send it as the hidden field `csrf_token`,
JSON calls made with the cookie send it as the `X-CSRF-Token` header.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import Connection, Engine, text

from jiareg.store.access import AccessBuffer, record_access
from jiareg.store.engine import driver_row
from jiareg.store.queries import REGISTRY_VERSION_SQL

__all__ = [
    "CLIENT_ADDRESS",
    "Found",
    "LoginThrottle",
    "Session",
    "SessionStore",
    "UserRow",
    "tokens_match",
]


@dataclass(slots=True)
class Session:
    """One logged-in browser: who, its CSRF token, and when it was created and last used."""

    token: str
    username: str
    csrf: str
    created: float
    last_seen: float


@dataclass(frozen=True, slots=True)
class UserRow:
    """A session user's current role, site and status, read with the session."""

    role: str
    site: str | None
    disabled: bool


@dataclass(frozen=True, slots=True)
class Found:
    """What `SessionStore.lookup` reads in one statement: the live session, its user's
    current row (None once removed), and the registry's version then
    (`jiareg.store.queries.Registry.version`)."""

    session: Session
    user: UserRow | None
    registry_version: int


_LOOKUP: Final = (
    "SELECT s.username, s.csrf, s.created, s.last_seen, u.role, u.site, u.disabled, "
    f"({REGISTRY_VERSION_SQL}) "  # the reads kept per registry version need no read of it
    "FROM web_sessions s LEFT JOIN users u ON u.username = s.username WHERE s.token_hash = :t"
)
_TOUCH: Final = text(
    "UPDATE web_sessions SET last_seen = :at WHERE token_hash = :t AND last_seen < :at"
)

CLIENT_ADDRESS: ContextVar[str] = ContextVar("jiareg_client_address", default="unknown")
"""The current request's client address (set by `ClientAddressMiddleware`), for the audit."""


def _wall(now: float) -> float:
    """A `time.monotonic()` reading as seconds since the epoch (what the database stores, so
    every worker and every restart agrees)."""
    return now + (time.time() - time.monotonic())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _event(writer: Engine, username: str, action: str, detail: str = "") -> None:
    """An access event (`jiareg.store.access`) from the current request's address."""
    record_access(
        writer, username=username, action=action, address=CLIENT_ADDRESS.get(), detail=detail
    )


@dataclass
class SessionStore:
    """Sessions in the registry's `web_sessions` table, shared by every worker process.

    An idle timeout and an absolute lifetime (seconds); only the token's SHA-256 is stored.
    Log-ins and log-outs are access events (`jiareg.store.access`) with who, when and from
    which address.
    """

    writer: Engine
    reader: Engine
    idle_seconds: float = 30 * 60
    absolute_seconds: float = 8 * 3600
    later: AccessBuffer | None = None
    _touched: dict[str, float] = field(default_factory=dict, repr=False)
    _touch_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def create(self, *, username: str, now: float) -> Session:
        """Start a fresh session (never reuse a token presented before log-in: no fixation)."""
        at = _wall(now)
        session = Session(secrets.token_urlsafe(32), username, secrets.token_urlsafe(32), at, at)
        with self.writer.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO web_sessions (token_hash, username, csrf, created, last_seen) "
                    "VALUES (:t, :u, :c, :at, :at)"
                ),
                {"t": _digest(session.token), "u": username, "c": session.csrf, "at": at},
            )
            conn.execute(  # sessions that expired without being presented again
                text("DELETE FROM web_sessions WHERE last_seen < :idle OR created < :old"),
                {"idle": at - self.idle_seconds, "old": at - self.absolute_seconds},
            )
        _event(self.writer, username, "login")
        return session

    def get(self, token: str | None, *, now: float) -> Session | None:
        """The live session of `token`, refreshed; None when unknown or expired (then dropped)."""
        found = self.lookup(token, now=now)
        return None if found is None else found.session

    def lookup(self, token: str | None, *, now: float) -> Found | None:
        """`get`, with the session user's CURRENT row and the registry's version: one
        statement per request (a primary-key read). The last-seen time is written at most
        once a minute per session (the idle timeout is coarse), through `later` when given
        (a background writer, so a page view never waits for the registry's writer), else
        at once."""
        if not token:
            return None
        at, key = _wall(now), _digest(token)
        row = driver_row(self.reader, _LOOKUP, {"t": key})
        if row is None:
            return None
        username, csrf, created = row[0], row[1], float(row[2])
        last_seen = max(float(row[3]), self._touched.get(key, 0.0))
        if at - last_seen > self.idle_seconds or at - created > self.absolute_seconds:
            self._drop(key)
            return None
        if at - last_seen > min(60.0, self.idle_seconds / 10):  # few writes: idle is coarse
            self._touch(key, at)
            last_seen = at
        user = None if row[4] is None else UserRow(str(row[4]), row[5], bool(row[6]))
        return Found(Session(token, username, csrf, created, last_seen), user, int(row[7]))

    def _touch(self, key: str, at: float) -> None:
        params: dict[str, object] = {"at": at, "t": key}
        if self.later is None:
            with self.writer.begin() as conn:
                conn.execute(_TOUCH, params)
            return
        with self._touch_lock:  # this worker sees its own touch before it is written
            if len(self._touched) > 10_000:
                self._touched = {k: v for k, v in self._touched.items() if at - v < 3600}
            self._touched[key] = at
        self.later.later(_TOUCH, key, params)

    def _drop(self, key: str) -> str | None:
        with self.writer.begin() as conn:
            username = conn.execute(
                text("DELETE FROM web_sessions WHERE token_hash = :t RETURNING username"),
                {"t": key},
            ).scalar()
        return None if username is None else str(username)

    def end(self, token: str | None) -> None:
        """Log out: forget the session (audited)."""
        if token and (username := self._drop(_digest(token))) is not None:
            _event(self.writer, username, "logout")


@dataclass
class LoginThrottle:
    """Failed log-ins per (user name, client address), and per address, in the registry.

    `retry_after` RESERVES an attempt before the (slow) password check, in one transaction,
    so concurrent guesses cannot all pass the check before any failure is recorded. When a
    key reaches `max_failures`, it is locked for `lockout_seconds`, doubling with each further
    failure (exponential back-off, at most a day); the count starts again after
    `window_seconds` without attempts once any lock has ended. Only that address is locked:
    someone elsewhere cannot lock a user out. A correct password clears its (user, address)
    count and gives back its reservation on the address.
    """

    writer: Engine
    max_failures: int = 5
    lockout_seconds: float = 5 * 60
    window_seconds: float = 15 * 60

    @staticmethod
    def _keys(username: str, address: str) -> list[dict[str, str]]:
        return [{"u": username.casefold()[:100], "a": address[:64]}, {"u": "*", "a": address[:64]}]

    def _reserve(self, conn: Connection, key: dict[str, str], at: float) -> tuple[int, float]:
        """The key's (failures, locked_until) after forgetting a quiet past, row locked."""
        conn.execute(
            text(
                "INSERT INTO login_attempts (username, address, failures, locked_until, "
                "last_failure) VALUES (:u, :a, 0, 0, 0) ON CONFLICT DO NOTHING"
            ),
            key,
        )
        lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
        row = conn.execute(
            text(
                "SELECT failures, locked_until, last_failure FROM login_attempts "
                f"WHERE username = :u AND address = :a{lock}"
            ),
            key,
        ).one()
        failures, locked, last = int(row[0]), float(row[1]), float(row[2])
        quiet = at - max(locked, last) > self.window_seconds
        return (0 if quiet else failures), locked

    def retry_after(self, username: str, address: str, *, now: float) -> int:
        """0 and one attempt reserved, or the seconds until this user/address may try again."""
        at = _wall(now)
        with self.writer.begin() as conn:
            rows = [(key, *self._reserve(conn, key, at)) for key in self._keys(username, address)]
            until = max(locked for _, _, locked in rows)
            if until > at:
                return max(1, math.ceil(until - at))
            for key, failures, locked in rows:
                failures += 1
                if failures >= self.max_failures:
                    back_off = 2.0 ** min(failures - self.max_failures, 16)
                    locked = at + min(self.lockout_seconds * back_off, 86_400.0)
                conn.execute(
                    text(
                        "UPDATE login_attempts SET failures = :f, locked_until = :l, "
                        "last_failure = :at WHERE username = :u AND address = :a"
                    ),
                    {**key, "f": failures, "l": locked, "at": at},
                )
            conn.execute(  # forget keys quiet for a day
                text(
                    "DELETE FROM login_attempts WHERE locked_until < :old AND last_failure < :old"
                ),
                {"old": at - 86_400.0},
            )
        return 0

    def failed(self, username: str, why: str = "wrong password") -> None:
        """A failed log-in (already counted by `retry_after`): an access event."""
        _event(self.writer, username, "login_failed", why)

    def succeeded(self, username: str) -> None:
        """A correct password: clear this (user, address), give back the address's attempt."""
        user, anyone = self._keys(username, CLIENT_ADDRESS.get())
        with self.writer.begin() as conn:
            conn.execute(
                text("DELETE FROM login_attempts WHERE username = :u AND address = :a"), user
            )
            conn.execute(
                text(
                    "UPDATE login_attempts SET failures = failures - 1 "
                    "WHERE username = :u AND address = :a AND failures > 0"
                ),
                anyone,
            )


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token.

    >>> tokens_match("abc", "abc"), tokens_match("abc", None), tokens_match("abc", "abd")
    (True, False, False)
    """
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
