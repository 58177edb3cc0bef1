"""The session cookie and the request's clinic: the HTTP plumbing both faces share.

The JSON API (:mod:`thecal.api`) and the pages (:mod:`thecal.web`) sign people in with the
same cookie, so its name and attributes live here, above ``service/`` and below both faces,
and neither face imports the other.
"""

from __future__ import annotations

from fastapi import Request, Response

from thecal.service import Clinic, Settings

__all__ = ["clear_session_cookie", "client_address", "get_clinic", "session_cookie_name",
           "session_token", "set_session_cookie"]


def get_clinic(request: Request) -> Clinic:
    """The :class:`~thecal.service.Clinic` of the app (``app.state.clinic``)."""
    clinic: Clinic = request.app.state.clinic
    return clinic


def session_cookie_name(settings: Settings) -> str:
    """``__Host-thecal_session`` when Secure (the prefix requires it), else the plain name."""
    name = settings.session_cookie_name
    return f"__Host-{name}" if settings.cookie_secure else name


def set_session_cookie(response: Response, clinic: Clinic, token: str) -> None:
    """The session cookie: ``__Host-`` prefixed when Secure, HttpOnly, SameSite=Lax, Path=/."""
    response.set_cookie(session_cookie_name(clinic.settings), token,
                        max_age=int(clinic.settings.session_absolute.total_seconds()),
                        path="/", secure=clinic.settings.cookie_secure, httponly=True,
                        samesite="lax")


def clear_session_cookie(response: Response, clinic: Clinic) -> None:
    response.delete_cookie(session_cookie_name(clinic.settings), path="/",
                           secure=clinic.settings.cookie_secure, httponly=True, samesite="lax")


def session_token(request: Request) -> str | None:
    return request.cookies.get(session_cookie_name(get_clinic(request).settings))


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None
