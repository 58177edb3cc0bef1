"""FastAPI dependencies of the JSON API.

* :func:`get_clinic` — the :class:`~thecal.service.Clinic` of the app (``app.state.clinic``).
* :func:`api_actor` — the caller of an API route: a bearer token, or the session cookie; a
  cookie-authenticated unsafe request (POST/PUT/PATCH/DELETE) must also carry the session's
  CSRF token in ``X-CSRF-Token``.
* the cookie helpers (:func:`session_cookie_name`, :func:`set_session_cookie`, …) come from
  :mod:`thecal.cookies`, which the pages share.
"""

from __future__ import annotations

from fastapi import Request

from thecal.cookies import (
    clear_session_cookie,
    client_address,
    get_clinic,
    session_cookie_name,
    session_token,
    set_session_cookie,
)
from thecal.service import Actor
from thecal.service import auth as auth_service
from thecal.service.errors import AuthenticationError

__all__ = ["api_actor", "bearer_token", "clear_session_cookie", "client_address",
           "get_clinic", "session_cookie_name", "session_token", "set_session_cookie"]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def api_actor(request: Request) -> Actor:
    """The caller: bearer token first, else the session cookie (+ CSRF on unsafe methods)."""
    clinic = get_clinic(request)
    token = bearer_token(request)
    cookie = session_token(request)
    try:
        if token is not None:
            return auth_service.actor_from_api_token(clinic, token)
        actor = auth_service.actor_from_session(clinic, cookie)
    except AuthenticationError as exc:  # AU-4: failed authentication is logged
        who = Actor(user_id=None, username="anonymous", role="anonymous", via="api")
        clinic.record_refusal(who, "authenticate", exc, entity=request.url.path[:64],
                             client=client_address(request))
        raise
    if request.method in UNSAFE_METHODS:
        auth_service.check_csrf(clinic, cookie, request.headers.get(CSRF_HEADER))
    return actor
