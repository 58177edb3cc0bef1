"""The patient's calendar: the ``.ics`` download, subscription links, and the feed they serve.

* ``GET /calendar/{token}.ics`` — the feed for a calendar application; no session, the token
  is the key. An unknown or revoked token answers 404.
* ``/my/{id}/calendar`` (the patient or a linked caregiver) and
  ``/clinic/patients/{id}/calendar`` (the clinic) list the patient's links, make a new one
  (its URL is shown once: only its hash is stored) and revoke one.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from thecal.errors import NotFoundError
from thecal.service import calendar as calendar_service
from thecal.service.calendar import NewCalendarLink
from thecal.service.results import User
from thecal.web.ics import calendar
from thecal.web.rendering import render
from thecal.web.security import (
    PageRoute,
    check_csrf,
    clinic_of,
    require_clinician,
    require_own_patient,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ICS_TYPE = "text/calendar; charset=utf-8"


def _pid(patient_id: str) -> int:
    try:
        return int(patient_id)
    except ValueError:
        raise NotFoundError(f"no patient {patient_id!r}") from None


@router.get("/calendar/{token}.ics")
def subscribed_feed(request: Request, token: str) -> Response:
    feed = calendar_service.calendar_feed_by_token(clinic_of(request), token[:100])
    return Response(calendar(feed), media_type=ICS_TYPE,
                    headers={"Cache-Control": "no-store"})


@router.get("/my/{patient_id}/appointments.ics")
def download_feed(request: Request, patient_id: str) -> Response:
    user = require_own_patient(request, patient_id)
    feed = calendar_service.calendar_feed(clinic_of(request), user.actor, _pid(patient_id))
    return Response(calendar(feed), media_type=ICS_TYPE, headers={
        "Content-Disposition": 'attachment; filename="thecal-refills.ics"',
        "Cache-Control": "no-store"})


def _links_page(request: Request, user: User, patient_id: str, base: str,
                new: NewCalendarLink | None = None) -> Response:
    links = calendar_service.calendar_links(clinic_of(request), user.actor, _pid(patient_id))
    url = ""
    if new is not None:
        url = str(request.base_url).rstrip("/") + f"/calendar/{new.token}.ics"
    return render(request, "calendar_links.html", {
        "title": "Calendar links", "links": links, "base": base, "new_url": url,
        "webcal_url": url.replace("https://", "webcal://").replace("http://", "webcal://"),
        "patient_id": patient_id, "revoked": request.query_params.get("revoked", "")[:20]})


def _who(request: Request, patient_id: str, side: str) -> tuple[User, str]:
    if side == "clinic":
        return require_clinician(request), f"/clinic/patients/{patient_id}/calendar"
    return require_own_patient(request, patient_id), f"/my/{patient_id}/calendar"


async def _csrf(request: Request) -> None:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))


def _routes(side: str, prefix: str) -> None:
    @router.get(prefix + "/{patient_id}/calendar", name=f"{side}-calendar-links")
    def links(request: Request, patient_id: str) -> Response:
        user, base = _who(request, patient_id, side)
        return _links_page(request, user, patient_id, base)

    @router.post(prefix + "/{patient_id}/calendar/links", name=f"{side}-calendar-link-new")
    async def create(request: Request, patient_id: str) -> Response:
        user, base = _who(request, patient_id, side)
        await _csrf(request)
        new = calendar_service.create_calendar_link(clinic_of(request), user.actor,
                                                    _pid(patient_id))
        return _links_page(request, user, patient_id, base, new)

    @router.post(prefix + "/{patient_id}/calendar/links/{link_id}/revoke",
                 name=f"{side}-calendar-link-revoke")
    async def revoke(request: Request, patient_id: str, link_id: int) -> Response:
        user, base = _who(request, patient_id, side)
        await _csrf(request)
        calendar_service.revoke_calendar_link(clinic_of(request), user.actor,
                                              _pid(patient_id), link_id)
        return RedirectResponse(f"{base}?revoked={link_id}", status_code=303)


_routes("home", "/my")
_routes("clinic", "/clinic/patients")
