"""The web app's middleware: security headers, the client's address, same-origin checks."""

from __future__ import annotations

import ipaddress
from typing import Final

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jiareg.web.security import CLIENT_ADDRESS

__all__ = [
    "SECURITY_HEADERS",
    "ClientAddressMiddleware",
    "SameOriginMiddleware",
    "SecurityHeadersMiddleware",
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


class SecurityHeadersMiddleware:
    """Adds `SECURITY_HEADERS` (and HSTS when served over TLS) to every response, and
    `Cache-Control: no-store` to everything but the static files (patient pages and JSON
    must not stay in a browser's or proxy's cache)."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        if https:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                if not static and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ClientAddressMiddleware:
    """Sets the request's client address: the peer's, or, only when the peer is the trusted
    proxy (`jiareg serve --trust-proxy ADDR`), the last address in `X-Forwarded-For`.

    Also publishes it in `CLIENT_ADDRESS` for the audit of log-ins and log-outs.
    """

    def __init__(self, app: ASGIApp, *, trusted_proxy: str | None) -> None:
        self.app = app
        self.trusted = trusted_proxy

    def _address(self, scope: Scope) -> str:
        peer = scope["client"][0] if scope.get("client") else "unknown"
        if self.trusted is None or peer != self.trusted:
            return str(peer)
        forwarded = [
            value.decode("latin-1")
            for name, value in scope.get("headers", [])
            if name == b"x-forwarded-for"
        ]
        hops = [h.strip() for h in ",".join(forwarded).split(",") if h.strip()]
        if not hops:
            return str(peer)
        try:
            return str(ipaddress.ip_address(hops[-1]))  # the hop the proxy itself saw
        except ValueError:
            return str(peer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        address = self._address(scope)
        port = scope["client"][1] if scope.get("client") else 0
        token = CLIENT_ADDRESS.set(address)
        try:
            await self.app({**scope, "client": (address, port)}, receive, send)
        finally:
            CLIENT_ADDRESS.reset(token)


class SameOriginMiddleware:
    """Refuses (403) a state-changing request that a browser says comes from another site.

    Browsers send `Origin` on every cross-origin POST (and `Sec-Fetch-Site`), so a page
    elsewhere cannot post the log-in form (log-in CSRF) or anything else; clients that send
    neither (scripts, the command line) are not affected. Defence in depth next to the CSRF
    tokens.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def _foreign(scope: Scope) -> bool:
        headers: dict[bytes, str] = {
            name: value.decode("latin-1") for name, value in scope.get("headers", [])
        }
        if headers.get(b"sec-fetch-site") == "cross-site":
            return True
        origin = headers.get(b"origin")
        if origin is None:
            return False
        host = headers.get(b"host", "")
        return origin == "null" or origin.split("://", 1)[-1] != host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        unsafe = scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS")
        if unsafe and self._foreign(scope):
            await JSONResponse({"detail": "cross-site request refused"}, 403)(scope, receive, send)
            return
        await self.app(scope, receive, send)
