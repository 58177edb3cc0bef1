"""The administrator's page of its site's logins: deactivate a login, revoke its tokens and
sessions, remove a caregiver link or a care-team member (de-provisioning).

Each action is a CSRF-checked form post to one use case of ``thecal.service.admin``, which
confines the administrator to its own site and audits the change (or the refusal).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from thecal.errors import InputError
from thecal.service import admin as admin_service
from thecal.service.clinic import Clinic
from thecal.web.rendering import render
from thecal.web.security import Forbidden, PageRoute, check_csrf, require_user

router = APIRouter(prefix="/clinic/users", route_class=PageRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=200)]


def _admin(request: Request) -> Any:
    user = require_user(request)
    if user.role != "admin" or user.actor is None:
        raise Forbidden("This page is for administrators.")
    return user.actor


def _clinic(request: Request) -> Clinic:
    clinic: Clinic = request.app.state.clinic
    return clinic


def _id(text: str, field: str) -> int:
    value = text.strip()
    if not value.isdigit() or len(value) > 18:
        raise InputError(f"{field} is a record number", where=field, fix="write e.g. 12")
    return int(value)


@router.get("")
def users_page(request: Request, done: str = "") -> Response:
    actor = _admin(request)
    users = admin_service.list_users(_clinic(request), actor)
    return render(request, "clinic/users.html", {"title": "Logins", "users": users,
                                                 "done": done[:100]})


@router.post("/{user_id}/deactivate")
def deactivate(request: Request, user_id: int, csrf_token: Text = "",
               reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    actor = _admin(request)
    check_csrf(request, csrf_token)
    admin_service.deactivate_user(_clinic(request), actor, user_id, reason=reason or None)
    return RedirectResponse("/clinic/users?done=deactivated", status_code=303)


@router.post("/{user_id}/revoke-tokens")
def revoke(request: Request, user_id: int, csrf_token: Text = "") -> Response:
    actor = _admin(request)
    check_csrf(request, csrf_token)
    admin_service.revoke_user_tokens(_clinic(request), actor, user_id)
    return RedirectResponse("/clinic/users?done=revoked", status_code=303)


@router.post("/unlink-caregiver")
def unlink(request: Request, csrf_token: Text = "", caregiver_user_id: Text = "",
           patient_id: Text = "") -> Response:
    actor = _admin(request)
    check_csrf(request, csrf_token)
    admin_service.unlink_caregiver(_clinic(request), actor,
                                   _id(caregiver_user_id, "caregiver_user_id"),
                                   _id(patient_id, "patient_id"))
    return RedirectResponse("/clinic/users?done=unlinked", status_code=303)


@router.post("/remove-care-team-member")
def remove_member(request: Request, csrf_token: Text = "", patient_id: Text = "",
                  user_id: Text = "") -> Response:
    actor = _admin(request)
    check_csrf(request, csrf_token)
    admin_service.remove_care_team_member(_clinic(request), actor,
                                          _id(patient_id, "patient_id"),
                                          _id(user_id, "user_id"))
    return RedirectResponse("/clinic/users?done=removed", status_code=303)
