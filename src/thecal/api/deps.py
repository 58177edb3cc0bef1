"""FastAPI dependencies shared by the JSON API and the web pages.

* :func:`get_clinic` — the :class:`~thecal.service.Clinic` of the app (``app.state.clinic``).
* :func:`api_actor` — the caller of an API route: a bearer token, or the session cookie; a
  cookie-authenticated unsafe request (POST/PUT/PATCH/DELETE) must also carry the session's
  CSRF token in ``X-CSRF-Token``.
* :func:`page_actor` / :func:`optional_page_actor` — the logged-in user of a page (cookie).
* :func:`require_csrf` — for page form posts: ``csrf_token`` form field or ``X-CSRF-Token``.
* :func:`session_cookie_name`, :func:`set_session_cookie`, :func:`clear_session_cookie` —
  the cookie (``__Host-`` prefixed, Secure, HttpOnly, SameSite=Lax, Path=/).
"""

from __future__ import annotations

from fastapi import Request, Response

from thecal.service import Actor, Clinic, Settings
from thecal.service import auth as auth_service
from thecal.service.errors import AuthenticationError

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def get_clinic(request: Request) -> Clinic:
    clinic: Clinic = request.app.state.clinic
    return clinic


def session_cookie_name(settings: Settings) -> str:
    """``__Host-thecal_session`` when Secure (the prefix requires it), else the plain name."""
    name = settings.session_cookie_name
    return f"__Host-{name}" if settings.cookie_secure else name


def set_session_cookie(response: Response, clinic: Clinic, token: str) -> None:
    response.set_cookie(session_cookie_name(clinic.settings), token,
                        max_age=int(clinic.settings.session_absolute.total_seconds()),
                        path="/", secure=clinic.settings.cookie_secure, httponly=True,
                        samesite="lax")


def clear_session_cookie(response: Response, clinic: Clinic) -> None:
    response.delete_cookie(session_cookie_name(clinic.settings), path="/",
                           secure=clinic.settings.cookie_secure, httponly=True, samesite="lax")


def session_token(request: Request) -> str | None:
    return request.cookies.get(session_cookie_name(get_clinic(request).settings))


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


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


def page_actor(request: Request) -> Actor:
    """The logged-in user of a page; raises AuthenticationError (401) when there is none."""
    return auth_service.actor_from_session(get_clinic(request), session_token(request))


def optional_page_actor(request: Request) -> Actor | None:
    """The logged-in user of a page, or None (for pages that also serve visitors)."""
    try:
        return page_actor(request)
    except AuthenticationError:
        return None


async def require_csrf(request: Request) -> None:
    """Check a page form post's CSRF token (form field ``csrf_token`` or the header)."""
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None and request.method in UNSAFE_METHODS:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    auth_service.check_csrf(get_clinic(request), session_token(request), submitted)
