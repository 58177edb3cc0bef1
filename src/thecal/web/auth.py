"""Signing in and out, and the start page that sends each role to its home."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from thecal import service
from thecal.cookies import client_address, session_cookie_name
from thecal.errors import PermissionDeniedError
from thecal.service import pages
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
    return render(request, "login.html", {"title": "Sign in", "next": _safe_next(next),
                                          "error": "", "username": ""})


@router.post("/login")
def login(request: Request, username: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "") -> Response:
    clinic = clinic_of(request)
    error = ""
    signed = None
    if not username.strip() or not password:
        error = "Enter your user name and password."
    else:
        try:
            signed = pages.sign_in(clinic, username.strip(), password,
                                   client_address(request))
        except PermissionDeniedError as exc:
            error = exc.message if type(exc).__name__ == "ThrottledError" else ""
        if signed is None and not error:
            error = "That user name and password do not match. Check them and try again."
    if signed is None:
        return render(request, "login.html", {"title": "Sign in", "next": _safe_next(next),
                                              "error": error, "username": username},
                      status_code=401)
    response = RedirectResponse(_safe_next(next) or home_for(signed.user), status_code=303)
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
    response.delete_cookie(session_cookie_name(clinic.settings), path="/")
    return response
