"""The administrator's page of its site's logins: deactivate a login, revoke its tokens and
sessions, remove a caregiver link or a care-team member (de-provisioning).

Each action is a CSRF-checked form post to one use case of ``thecal.service.admin``, which
confines the administrator to its own site and audits the change (or the refusal).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from thecal.errors import InputError
from thecal.service import admin as admin_service
from thecal.service.actors import Actor
from thecal.web.rendering import render
from thecal.web.security import Forbidden, PageRoute, check_csrf, clinic_of, require_user

router = APIRouter(prefix="/clinic/users", route_class=PageRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=200)]


def _admin(request: Request, csrf_token: str | None = None) -> Actor:
    """The signed-in administrator (and, for a form, its CSRF check)."""
    user = require_user(request)
    if user.role != "admin" or user.actor is None:
        raise Forbidden("This page is for administrators.")
    if csrf_token is not None:
        check_csrf(request, csrf_token)
    return user.actor


def _id(text: str, field: str) -> int:
    value = text.strip()
    if not value.isdigit() or len(value) > 18:
        raise InputError(f"{field} is a record number", where=field, fix="write e.g. 12")
    return int(value)


def _done(what: str) -> Response:
    return RedirectResponse(f"/clinic/users?done={what}", status_code=303)


@router.get("")
def users_page(request: Request, done: str = "") -> Response:
    users = admin_service.list_users(clinic_of(request), _admin(request))
    return render(request, "clinic/users.html", {"title": "Logins", "users": users,
                                                 "done": done[:100]})


@router.post("/{user_id}/deactivate")
def deactivate(request: Request, user_id: int, csrf_token: Text = "",
               reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    actor = _admin(request, csrf_token)
    admin_service.deactivate_user(clinic_of(request), actor, user_id, reason=reason or None)
    return _done("deactivated")


@router.post("/{user_id}/revoke-tokens")
def revoke(request: Request, user_id: int, csrf_token: Text = "") -> Response:
    admin_service.revoke_user_tokens(clinic_of(request), _admin(request, csrf_token), user_id)
    return _done("revoked")


@router.post("/unlink-caregiver")
def unlink(request: Request, csrf_token: Text = "", caregiver_user_id: Text = "",
           patient_id: Text = "") -> Response:
    admin_service.unlink_caregiver(clinic_of(request), _admin(request, csrf_token),
                                   _id(caregiver_user_id, "caregiver_user_id"),
                                   _id(patient_id, "patient_id"))
    return _done("unlinked")


@router.post("/remove-care-team-member")
def remove_member(request: Request, csrf_token: Text = "", patient_id: Text = "",
                  user_id: Text = "") -> Response:
    admin_service.remove_care_team_member(clinic_of(request), _admin(request, csrf_token),
                                          _id(patient_id, "patient_id"), _id(user_id, "user_id"))
    return _done("removed")
