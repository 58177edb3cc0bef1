"""Security headers on every answer of the app (pages, API, static files).

* ``Content-Security-Policy``: scripts only from this origin (no inline script: the two print
  buttons use ``/static/thecal.js``), no plugins, no ``<base>``, forms only to this origin, and
  ``frame-ancestors 'none'`` so no other site can frame a page (the password-confirm forms
  could be framed before). Inline style attributes are allowed: they cannot run code.
* ``X-Frame-Options: DENY`` for browsers without CSP 2, ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: no-referrer`` (patient ids are in the paths), and a
  ``Permissions-Policy`` that turns off camera, microphone and location.
* ``Cache-Control: no-store`` on everything but ``/static``: pages and API answers carry
  patient data and must not stay in a shared or browser cache.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP: Final = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
              "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS: Final = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


class SecurityHeadersMiddleware:
    """Adds :data:`HEADERS` (and ``no-store`` outside ``/static``) to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in {name for name, _ in HEADERS}
                           and (static or k.lower() != b"cache-control")]
                headers.extend(HEADERS)
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                    headers.append((b"pragma", b"no-cache"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
