"""Who is asking, may they, and is the form theirs: session cookie, roles, CSRF, error pages.

Every page route goes through :class:`PageRoute`, which turns a refusal into a page a person
can act on: no session → the sign-in page (then back), a record they may not see → 403, an
unknown record → 404. Access control is enforced again by the service for every call; the
checks here only decide which page to show (deny by default, SE-1, SE-2).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from thecal import service
from thecal.cookies import get_clinic as clinic_of
from thecal.cookies import session_cookie_name
from thecal.errors import NotFoundError, PermissionDeniedError, ThecalError
from thecal.service import pages
from thecal.service.errors import AuthenticationError
from thecal.service.results import User
from thecal.web.rendering import CLINIC_ROLES, HOME_ROLES, render


class LoginRequired(Exception):
    """No valid session: show the sign-in page."""


class Forbidden(Exception):
    """Signed in, but this page is not theirs."""

    def __init__(self, message: str = "This page is not available to you.") -> None:
        self.message = message
        super().__init__(message)


class BadCsrf(Exception):
    """A form that did not come from this session's page."""


def session_token(request: Request) -> str:
    return request.cookies.get(session_cookie_name(clinic_of(request).settings), "")


def optional_user(request: Request) -> User | None:
    """The signed-in user, or None; also leaves the CSRF token for the page frame."""
    cached: User | None = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    token = session_token(request)
    if not token:
        return None
    clinic = clinic_of(request)
    try:
        user = pages.current_user(clinic, token)
    except PermissionDeniedError:
        return None
    if user is None:
        return None
    request.state.user = user
    request.state.csrf_token = service.csrf_token(clinic, token)
    return user


def require_user(request: Request) -> User:
    user = optional_user(request)
    if user is None:
        raise LoginRequired()
    return user


def require_clinician(request: Request) -> User:
    user = require_user(request)
    if user.role not in CLINIC_ROLES:
        raise Forbidden("These pages are for the clinic team.")
    return user


def require_own_patient(request: Request, patient_id: str) -> User:
    """A patient or caregiver sees only their own patient; clinicians go to the service check.

    The page then shows its times in the patient's own zone.
    """
    user = require_user(request)
    if user.role in HOME_ROLES and patient_id not in user.patient_ids:
        raise Forbidden("You can only see your own pump and records.")
    if user.role not in HOME_ROLES and user.role not in CLINIC_ROLES:
        raise Forbidden()
    if user.role == "patient" and user.patient_ids == (patient_id,):
        request.state.display_zone = user.timezone
    else:
        request.state.display_zone = service.display_timezone(
            clinic_of(request), user.actor, pages.patient_id_of(patient_id))
    return user


def check_csrf(request: Request, submitted: str) -> None:
    """The synchroniser token in the form must match the session's (SE-2)."""
    expected = getattr(request.state, "csrf_token", "")
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise BadCsrf()


def home_for(user: User) -> str:
    if user.role == "admin":  # an administrator manages logins, not patient records
        return "/clinic/users"
    if user.role in CLINIC_ROLES:
        return "/clinic"
    if user.patient_ids:
        return f"/my/{user.patient_ids[0]}"
    return "/learn"


class PageRoute(APIRoute):
    """An APIRoute whose refusals become pages instead of JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                if request.method != "GET":
                    target = "/"
                return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
            except Forbidden as exc:
                return render(request, "error.html", {"title": "Not available",
                                                      "message": exc.message},
                              status_code=403)
            except BadCsrf:
                return render(request, "error.html", {
                    "title": "Form expired",
                    "message": "This form was not sent from your current session. "
                               "Go back, reload the page and send it again."},
                    status_code=403)
            except NotFoundError as exc:
                return render(request, "error.html", {"title": "Not found",
                                                      "message": exc.one_line()},
                              status_code=404)
            except AuthenticationError:
                return RedirectResponse("/login", status_code=303)
            except PermissionDeniedError as exc:
                return render(request, "error.html", {"title": "Not available",
                                                      "message": exc.one_line()},
                              status_code=403)
            except ThecalError as exc:
                return render(request, "error.html", {"title": "Cannot show this page",
                                                      "message": exc.one_line()}, status_code=422)

        return page_handler
