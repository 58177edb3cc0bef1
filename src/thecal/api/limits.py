"""Bounded resources for the whole app (API and pages): body size, request rates, id range.

Pure ASGI middleware, installed by the app factory around everything else:

* **Body limit.** A request body larger than ``Settings.max_body_bytes`` (1 MiB by default)
  answers 413 before the route runs: refused on ``Content-Length`` alone, or when a streamed
  body passes the limit (a 200 MB anonymous request used to add about 800 MB to the server).
* **Rate limits** (token buckets, in process): per source address, per credential (the bearer
  token or session cookie, hashed), and a tighter one for the sign-in routes. An empty bucket
  answers 429 with ``Retry-After``. The tables of buckets are bounded.
* **Ids in range.** A path segment of digits beyond a signed 64-bit integer answers 404 (the
  databases cannot hold such an id, so no such record exists); it used to answer 500.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_ID: Final = 2**63 - 1
LOGIN_PATHS: Final = frozenset({"/login", "/api/v1/login", "/api/v1/token"})
_DIGITS: Final = re.compile(r"^[0-9]+$")
MAX_BUCKETS: Final = 20_000


@dataclass(frozen=True)
class RateLimits:
    """Bucket sizes (requests) and refill rates (requests per second)."""

    per_source: tuple[float, float] = (600.0, 20.0)
    per_credential: tuple[float, float] = (1200.0, 40.0)
    sign_in: tuple[float, float] = (60.0, 1.0)


class Buckets:
    """Token buckets by key, thread-safe, least recently used forgotten beyond a bound."""

    def __init__(self, capacity: float, rate: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_BUCKETS) -> None:
        self.capacity, self.rate, self.clock, self.max_keys = capacity, rate, clock, max_keys
        self._lock = threading.Lock()
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when a request may pass (and is counted); else the seconds until it may."""
        now = self.clock()
        with self._lock:
            tokens, seen = self._state.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - seen) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._state[key] = (tokens, now)
            while len(self._state) > self.max_keys:
                self._state.popitem(last=False)
            return wait


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value)
    return None


def _credential(scope: Scope) -> str | None:
    auth = _header(scope, b"authorization")
    if auth and auth.lower().startswith(b"bearer "):
        return hashlib.sha256(auth[7:].strip()).hexdigest()[:24]
    cookie = _header(scope, b"cookie")
    if cookie and b"thecal_session=" in cookie:
        value = cookie.split(b"thecal_session=", 1)[1].split(b";", 1)[0]
        return hashlib.sha256(value).hexdigest()[:24]
    return None


async def _answer(send: Send, status: int, detail: str, fix: str,
                  headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = json.dumps({"detail": detail, "where": None, "fix": fix}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), *headers]})
    await send({"type": "http.response.body", "body": body})


class LimitsMiddleware:
    """Body limit (413), rate limits (429 + Retry-After) and id range (404) in one pass."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = 1 << 20,
                 limits: RateLimits | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        limits = limits or RateLimits()
        self.per_source = Buckets(*limits.per_source, clock=clock)
        self.per_credential = Buckets(*limits.per_credential, clock=clock)
        self.sign_in = Buckets(*limits.sign_in, clock=clock)

    def _wait(self, scope: Scope) -> float:
        client = scope.get("client")
        source = str(client[0]) if client else "-"
        path = str(scope.get("path", ""))
        waits = [self.per_source.take(source)]
        credential = _credential(scope)
        if credential is not None:
            waits.append(self.per_credential.take(credential))
        if scope.get("method") == "POST" and path in LOGIN_PATHS:
            waits.append(self.sign_in.take(source))
        return max(waits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if any(_DIGITS.match(part) and (len(part) > 19 or int(part) > MAX_ID)
               for part in path.split("/") if part):
            await _answer(send, 404, "not found: an id beyond 2^63-1 names no record",
                          "check the id")
            return
        if not path.startswith("/static/"):
            wait = self._wait(scope)
            if wait > 0:
                retry = str(max(1, math.ceil(wait))).encode()
                await _answer(send, 429, "too many requests from here",
                              "wait the seconds in Retry-After, then try again",
                              ((b"retry-after", retry),))
                return
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0 or declared > self.max_body_bytes:
                await _answer(send, 413, f"the request body is larger than "
                                         f"{self.max_body_bytes} bytes", "send less")
                return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # answer now and tell the app the client went away: the rest is not read
                    refused = True
                    await _answer(send, 413, f"the request body is larger than "
                                             f"{self.max_body_bytes} bytes", "send less")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise
