"""Sessions, log-in throttling, CSRF tokens and security headers of the web app.

Sessions live on the server (an in-process table keyed by a random 256-bit token); the browser
holds only the token in an HttpOnly cookie, so logging out or expiring a session really ends it.
Every session carries its own CSRF token (synchronizer pattern): HTML forms send it as the
hidden field `csrf_token`, JSON calls made with the cookie send it as the `X-CSRF-Token` header.

>>> store = SessionStore(idle_seconds=60, absolute_seconds=3600)
>>> s = store.create(username="ana", now=0.0)
>>> store.get(s.token, now=59.0) is s, store.get(s.token, now=200.0) is None
(True, True)
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, field
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "SECURITY_HEADERS",
    "LoginThrottle",
    "SecurityHeadersMiddleware",
    "Session",
    "SessionStore",
    "tokens_match",
]

SECURITY_HEADERS: Final[dict[str, str]] = {
    # No inline scripts or styles anywhere: every script and stylesheet is a file in static/.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@dataclass(slots=True)
class Session:
    """One logged-in browser: who, its CSRF token, and when it was created and last used."""

    token: str
    username: str
    csrf: str
    created: float
    last_seen: float


@dataclass
class SessionStore:
    """Server-side sessions with an idle timeout and an absolute lifetime (seconds)."""

    idle_seconds: float = 30 * 60
    absolute_seconds: float = 8 * 3600
    _sessions: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, *, username: str, now: float) -> Session:
        """Start a fresh session (never reuse a token presented before log-in: no fixation)."""
        session = Session(
            token=secrets.token_urlsafe(32),
            username=username,
            csrf=secrets.token_urlsafe(32),
            created=now,
            last_seen=now,
        )
        with self._lock:
            self._sessions[session.token] = session
        return session

    def get(self, token: str | None, *, now: float) -> Session | None:
        """The live session of `token`, refreshed; None when unknown or expired (then dropped)."""
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            expired = (
                now - session.last_seen > self.idle_seconds
                or now - session.created > self.absolute_seconds
            )
            if expired:
                del self._sessions[token]
                return None
            session.last_seen = now
            return session

    def end(self, token: str | None) -> None:
        """Log out: forget the session."""
        if token:
            with self._lock:
                self._sessions.pop(token, None)


@dataclass
class LoginThrottle:
    """Lock-out after repeated failed log-ins, counted per username and per client address.

    After `max_failures` failures within `window_seconds` for the same username (or from the
    same address), further attempts are refused for `lockout_seconds`, even with the right
    password. A successful log-in clears the username's counter.

    >>> t = LoginThrottle(max_failures=2, window_seconds=60, lockout_seconds=30)
    >>> t.failed("ana", "10.0.0.1", now=0.0); t.failed("ana", "10.0.0.2", now=1.0)
    >>> t.retry_after("ana", "10.0.0.9", now=2.0), t.retry_after("ana", "10.0.0.9", now=40.0)
    (29, 0)
    """

    max_failures: int = 5
    window_seconds: float = 15 * 60
    lockout_seconds: float = 5 * 60
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str]:
        return f"user:{username.casefold()}", f"addr:{address}"

    def retry_after(self, username: str, address: str, *, now: float) -> int:
        """Seconds until this username/address may try again (0 = may try now)."""
        with self._lock:
            until = max(self._locked_until.get(k, 0.0) for k in self._keys(username, address))
        return max(0, int(until - now + 0.999)) if until > now else 0

    def failed(self, username: str, address: str, *, now: float) -> None:
        """Record one failed attempt; lock the key when it reaches the limit."""
        with self._lock:
            for key in self._keys(username, address):
                recent = [t for t in self._failures.get(key, []) if now - t < self.window_seconds]
                recent.append(now)
                self._failures[key] = recent
                if len(recent) >= self.max_failures:
                    self._locked_until[key] = now + self.lockout_seconds
                    self._failures[key] = []

    def succeeded(self, username: str) -> None:
        """A correct password: forget the username's failures (the address keeps its count)."""
        key = self._keys(username, "")[0]
        with self._lock:
            self._failures.pop(key, None)


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token.

    >>> tokens_match("abc", "abc"), tokens_match("abc", None), tokens_match("abc", "abd")
    (True, False, False)
    """
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


class SecurityHeadersMiddleware:
    """Adds `SECURITY_HEADERS` (and HSTS when served over TLS) to every response."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        if https:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
