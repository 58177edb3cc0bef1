"""The refill clinic's calendar over the JSON API: propose, book, move, cancel, mark missed.

Request bodies are typed (pydantic); an appointment answers as the service's own
``AppointmentView`` (the response model), a proposal as the JSON ``thecal schedule propose --json``
prints. A broken hard rule is 409 with the rule in words; a malformed field is 422 with its place.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from thecal.api.deps import api_actor, get_clinic
from thecal.api.errors import ERROR_RESPONSES
from thecal.api.responses import Out
from thecal.service import Actor, Clinic
from thecal.service import scheduling as cal
from thecal.service.scheduling import AppointmentView

router = APIRouter(prefix="/api/v1", tags=["schedule"], responses=ERROR_RESPONSES)
ActorDep = Annotated[Actor, Depends(api_actor)]
ClinicDep = Annotated[Clinic, Depends(get_clinic)]


class ProposedBookingOut(Out):
    patient_id: int
    start: str
    end: str
    session_id: int
    refill_due_by: str
    reason: str


class UnscheduledOut(Out):
    patient_id: int
    refill_due_by: str
    reason: str


class ProposalOut(Out):
    bookings: list[ProposedBookingOut]
    unscheduled: list[UnscheduledOut]


class BookingBody(BaseModel):
    patient_id: int
    session_id: int
    start: AwareDatetime
    reason: str = Field("booked by staff", max_length=500)


class MoveBody(BaseModel):
    session_id: int
    start: AwareDatetime


class CancelBody(BaseModel):
    reason: str | None = Field(None, max_length=500)


@router.get("/schedule/proposal", response_model=ProposalOut)
def get_proposal(clinic: ClinicDep, actor: ActorDep, start: Annotated[AwareDatetime, Query(alias="from")],
                 days: Annotated[int, Query(ge=1, le=366)] = 14) -> dict[str, list[dict[str, object]]]:
    """The proposal, as `thecal schedule propose --json` prints it."""
    return cal.propose_schedule(clinic, actor, start=start, days=days, time_limit_s=10).as_dict()


@router.get("/appointments")
def list_appointments(clinic: ClinicDep, actor: ActorDep, start: Annotated[AwareDatetime, Query(alias="from")],
                      days: Annotated[int, Query(ge=1, le=366)] = 30) -> list[AppointmentView]:
    return cal.appointments(clinic, actor, start=start, days=days)


@router.post("/appointments", status_code=status.HTTP_201_CREATED)
def book(body: BookingBody, clinic: ClinicDep, actor: ActorDep) -> AppointmentView:
    return cal.book(clinic, actor, cal.BookingRequest(body.patient_id, body.session_id, body.start, body.reason))


@router.patch("/appointments/{appointment_id}")
def move(appointment_id: int, body: MoveBody, clinic: ClinicDep, actor: ActorDep) -> AppointmentView:
    return cal.move_booking(clinic, actor, appointment_id, session_id=body.session_id, start=body.start)


@router.post("/appointments/{appointment_id}/cancel")
def cancel(appointment_id: int, body: CancelBody, clinic: ClinicDep, actor: ActorDep) -> AppointmentView:
    return cal.cancel_booking(clinic, actor, appointment_id, reason=body.reason)


@router.post("/appointments/{appointment_id}/missed")
def missed(appointment_id: int, clinic: ClinicDep, actor: ActorDep) -> AppointmentView:
    """The patient did not come: the appointment is missed and the patient escalated."""
    return cal.mark_missed(clinic, actor, appointment_id)


