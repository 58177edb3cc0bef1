"""Signing in and out, and the start page that sends each role to its home.

The sign-in form carries its own CSRF token (login CSRF): the page sets a random token in a
short-lived ``SameSite=Strict`` cookie and in a hidden field, and a sign-in whose two copies
differ is refused (403), so another site cannot sign a browser in to an account of its
choosing. A throttled sign-in answers 429 with ``Retry-After`` and says the account is
temporarily locked. Signing out deletes the session cookie with the attributes it was set
with (``Secure``, ``HttpOnly``, ``SameSite``, ``Path``), or browsers keep it.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from thecal import service
from thecal.cookies import client_address, session_cookie_name
from thecal.service import pages
from thecal.service.errors import ThrottledError
from thecal.web.rendering import render
from thecal.web.security import (
    PageRoute,
    check_csrf,
    clinic_of,
    home_for,
    optional_user,
    session_token,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
LOGIN_CSRF_COOKIE: Final = "thecal_login_csrf"
LOGIN_CSRF_FIELD: Final = "login_csrf"


def _login_page(request: Request, *, next_: str, error: str, username: str,
                status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The sign-in form with a fresh login-CSRF token (cookie + hidden field)."""
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", {"title": "Sign in", "next": next_,
                                              "error": error, "username": username,
                                              "login_csrf": token}, status_code=status_code)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/login", httponly=True,
                        samesite="strict", secure=clinic_of(request).settings.cookie_secure)
    return response


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no //host) may be the page after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""


@router.get("/")
def start(request: Request) -> Response:
    user = optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(home_for(user), status_code=303)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    user = optional_user(request)
    if user is not None:
        return RedirectResponse(_safe_next(next) or home_for(user), status_code=303)
    return _login_page(request, next_=_safe_next(next), error="", username="")


@router.post("/login")
def login(request: Request, username: Annotated[str, Form(max_length=200)] = "",
          password: Annotated[str, Form(max_length=1000)] = "",
          next: Annotated[str, Form(max_length=2000)] = "",
          login_csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    clinic = clinic_of(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not login_csrf or not hmac.compare_digest(expected.encode(),
                                                                 login_csrf.encode()):
        return _login_page(request, next_=_safe_next(next), username=username[:100],
                           error="This sign-in form has expired. Enter your user name and "
                                 "password again.", status_code=403)
    error = ""
    signed = None
    status_code = 401
    headers: dict[str, str] = {}
    if not username.strip() or not password:
        error = "Enter your user name and password."
    else:
        try:
            signed = pages.sign_in(clinic, username.strip(), password,
                                   client_address(request))
        except ThrottledError as exc:
            error = (f"This account is temporarily locked after too many failed "
                     f"sign-ins. Try again in {exc.retry_after_s} seconds.")
            status_code, headers = 429, {"Retry-After": str(exc.retry_after_s)}
        if signed is None and not error:
            error = "That user name and password do not match. Check them and try again."
    if signed is None:
        return _login_page(request, next_=_safe_next(next), error=error,
                           username=username[:100], status_code=status_code, headers=headers)
    response = RedirectResponse(_safe_next(next) or home_for(signed.user), status_code=303)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login",
                           secure=clinic.settings.cookie_secure, httponly=True,
                           samesite="strict")
    response.set_cookie(session_cookie_name(clinic.settings), signed.token, httponly=True,
                        samesite="lax", secure=clinic.settings.cookie_secure, path="/")
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    clinic = clinic_of(request)
    token = session_token(request)
    if optional_user(request) is not None:
        check_csrf(request, csrf_token)
        service.logout(clinic, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(session_cookie_name(clinic.settings), path="/",
                           secure=clinic.settings.cookie_secure, httponly=True, samesite="lax")
    return response
