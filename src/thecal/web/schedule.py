"""Schedule pages: review and accept a proposal, book a patient, move / cancel / mark missed.

Each page calls ``thecal.service.scheduling`` directly and renders its frozen results. A refused
booking (a hard rule, 409) comes back as the page with the rule in words.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from thecal.cookies import get_clinic
from thecal.errors import ThecalError
from thecal.service import scheduling as cal
from thecal.service.actors import Actor
from thecal.web.rendering import display_zone, render
from thecal.web.security import PageRoute, check_csrf, require_clinician, require_own_patient

router = APIRouter(prefix="/clinic", route_class=PageRoute, include_in_schema=False)
Text = Annotated[str, Form()]
Many = Annotated[list[str], Form()]


def _actor(request: Request) -> Actor:
    return require_clinician(request).actor  # or the sign-in page


def _start(request: Request, text: str | None) -> datetime:
    zone = display_zone(request)
    clinic = get_clinic(request)
    day = clinic.now().astimezone(zone).date()
    if text:
        with contextlib.suppress(ValueError):
            day = date.fromisoformat(text)
    return datetime.combine(day, time(0), tzinfo=zone)


@router.get("/schedule", response_class=HTMLResponse)
def schedule_page(request: Request, start: str | None = None, days: int = 14, propose: int = 0) -> Response:
    actor = _actor(request)
    clinic = get_clinic(request)
    begin = _start(request, start)
    days = max(1, min(days, 90))
    proposal = cal.propose_schedule(clinic, actor, start=begin, days=days, time_limit_s=5) if propose else None
    booked = cal.appointments(clinic, actor, start=clinic.now(), days=days + 30)
    return render(request, "schedule/schedule.html", {"proposal": proposal, "booked": booked,
                                                      "start": begin.date().isoformat(), "days": days,
                                                      "message": request.query_params.get("message", "")})


@router.post("/schedule/accept")
def accept(request: Request, csrf_token: Text = "", booking: Many = [], unscheduled: Many = [],  # noqa: B006
           start: Text = "", days: Text = "14") -> Response:
    actor = _actor(request)
    check_csrf(request, csrf_token)
    reqs = []
    for item in booking:
        pid, sid, at, reason = item.split("|", 3)
        reqs.append(cal.BookingRequest(int(pid), int(sid), datetime.fromisoformat(at), reason))
    escalate = []
    for item in unscheduled:
        pid, due, code, reason = item.split("|", 3)
        escalate.append(cal.UnscheduledView(int(pid), "", "", datetime.fromisoformat(due), code, reason,
                                            "on-call clinician"))
    try:
        made = cal.accept_bookings(get_clinic(request), actor, reqs, escalate)
    except ThecalError as exc:
        return RedirectResponse(f"/clinic/schedule?start={start}&days={days}&message=Not booked: "
                                f"{exc.message}", status_code=303)
    return RedirectResponse(f"/clinic/schedule?start={start}&days={days}&message={len(made)} booked, "
                            f"{len(escalate)} escalated", status_code=303)


def _slots_page(request: Request, actor: Actor, patient_id: int, moving: cal.AppointmentView | None,
                error: str = "", status_code: int = 200) -> Response:
    clinic = get_clinic(request)
    slots = cal.free_slots(clinic, actor, patient_id, start=clinic.now(), days=60,
                           moving=moving.id if moving else None)
    return render(request, "schedule/book.html", {"patient_id": patient_id, "slots": slots, "moving": moving,
                                                  "error": error}, status_code=status_code)


@router.get("/schedule/book", response_class=HTMLResponse)
def book_page(request: Request, patient_id: int) -> Response:
    return _slots_page(request, _actor(request), patient_id, None)


@router.post("/schedule/book")
def book(request: Request, patient_id: Text, slot: Text = "", csrf_token: Text = "") -> Response:
    actor = _actor(request)
    check_csrf(request, csrf_token)
    try:
        sid, at = slot.split("|", 1)
        cal.book(get_clinic(request), actor, cal.BookingRequest(int(patient_id), int(sid), datetime.fromisoformat(at)))
    except (ValueError, ThecalError) as exc:
        words = exc.message if isinstance(exc, ThecalError) else "choose a slot"
        return _slots_page(request, actor, int(patient_id), None, words, 409)
    return RedirectResponse("/clinic/schedule?message=Booked", status_code=303)


@router.get("/appointments/{appointment_id}/move", response_class=HTMLResponse)
def move_page(request: Request, appointment_id: int) -> Response:
    actor = _actor(request)
    current = cal.appointment(get_clinic(request), actor, appointment_id)
    return _slots_page(request, actor, current.patient_id, current)


@router.post("/appointments/{appointment_id}/move")
def move(request: Request, appointment_id: int, slot: Text = "", csrf_token: Text = "") -> Response:
    actor = _actor(request)
    check_csrf(request, csrf_token)
    clinic = get_clinic(request)
    current = cal.appointment(clinic, actor, appointment_id)
    try:
        sid, at = slot.split("|", 1)
        cal.move_booking(clinic, actor, appointment_id, session_id=int(sid), start=datetime.fromisoformat(at))
    except (ValueError, ThecalError) as exc:
        words = exc.message if isinstance(exc, ThecalError) else "choose a slot"
        return _slots_page(request, actor, current.patient_id, current, words, 409)
    return RedirectResponse("/clinic/schedule?message=Moved", status_code=303)


@router.post("/appointments/{appointment_id}/status")
def set_status(request: Request, appointment_id: int, status: Text = "", csrf_token: Text = "") -> Response:
    actor = _actor(request)
    check_csrf(request, csrf_token)
    clinic = get_clinic(request)
    if status == "missed":
        cal.mark_missed(clinic, actor, appointment_id)
    else:
        cal.cancel_booking(clinic, actor, appointment_id, reason="cancelled on the schedule page")
    return RedirectResponse(f"/clinic/schedule?message=Appointment {status or 'cancelled'}", status_code=303)


# ------------------------------------------------------------------ patients and caregivers

home_router = APIRouter(prefix="/my", route_class=PageRoute, include_in_schema=False)


@home_router.get("/{patient_id}/appointment", response_class=HTMLResponse)
def my_appointment(request: Request, patient_id: int) -> Response:
    user = require_own_patient(request, str(patient_id))
    mine = cal.my_slots(get_clinic(request), user.actor, patient_id)
    return render(request, "schedule/mine.html", {"mine": mine, "patient_id": patient_id,
                                                  "message": request.query_params.get("message", "")})


@home_router.post("/{patient_id}/appointment")
def choose(request: Request, patient_id: int, slot: Text = "", csrf_token: Text = "") -> Response:
    user = require_own_patient(request, str(patient_id))
    check_csrf(request, csrf_token)
    try:
        sid, at = slot.split("|", 1)
        cal.choose_slot(get_clinic(request), user.actor, patient_id, session_id=int(sid),
                        start=datetime.fromisoformat(at))
    except (ValueError, ThecalError) as exc:
        words = exc.message if isinstance(exc, ThecalError) else "choose a slot"
        return RedirectResponse(f"/my/{patient_id}/appointment?message=Not booked: {words}", status_code=303)
    return RedirectResponse(f"/my/{patient_id}/appointment?message=Your appointment is booked", status_code=303)
