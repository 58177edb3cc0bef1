"""The patient's and caregiver's pages: my pump, report symptoms, recovery, implant card,
and the care team (the calendar: :mod:`thecal.web.calendar`).

A patient or caregiver sees only the patients linked to their login; the service checks again.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from thecal import service
from thecal.errors import InputError, NotFoundError
from thecal.service import Actor, PatientHome, pages
from thecal.service.home import patient_contacts
from thecal.service.results import Symptom, TriageAnswer
from thecal.web.rendering import render
from thecal.web.security import PageRoute, check_csrf, clinic_of, require_own_patient

router = APIRouter(prefix="/my", route_class=PageRoute, include_in_schema=False)


def _home(request: Request, actor: Actor, patient_id: str) -> PatientHome:
    return service.patient_home(clinic_of(request), actor, pages.patient_id_of(patient_id))


@router.get("/{patient_id}")
def my_pump(request: Request, patient_id: str) -> Response:
    user = require_own_patient(request, patient_id)
    pump = _home(request, user.actor, patient_id).pump
    title = "My pump" if user.role == "patient" else f"{pump.header.name}'s pump"
    return render(request, "home/pump.html", {"title": title, "m": pump,
                                              "h": pump.header})


def _symptom_page(request: Request, patient_id: str, selected: list[str], notes: str,
                  answer: TriageAnswer | None = None, error: str = "",
                  status_code: int = 200) -> Response:
    user = require_own_patient(request, patient_id)
    groups: dict[str, list[Symptom]] = {}
    for s in service.symptom_vocabulary():
        groups.setdefault(s.group, []).append(s)
    contacts = patient_contacts(clinic_of(request), user.actor, pages.patient_id_of(patient_id))
    return render(request, "home/symptoms.html", {
        "title": "Report symptoms", "patient_id": patient_id, "groups": groups,
        "selected": selected, "notes": notes, "answer": answer, "error": error,
        "is_patient": user.role == "patient", "contacts": contacts}, status_code=status_code)


@router.get("/{patient_id}/symptoms")
def symptoms_form(request: Request, patient_id: str) -> Response:
    return _symptom_page(request, patient_id, [], "")


@router.post("/{patient_id}/symptoms")
async def symptoms_send(request: Request, patient_id: str) -> Response:
    user = require_own_patient(request, patient_id)
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    codes = [str(c) for c in form.getlist("codes")]
    notes = str(form.get("notes", "")).strip()
    if not codes:
        return _symptom_page(request, patient_id, codes, notes,
                             error="Tick at least one symptom, or call the clinic if it is not "
                                   "listed.", status_code=422)
    try:
        answer = pages.report_symptoms(clinic_of(request), user, patient_id, codes, notes)
    except InputError as exc:
        return _symptom_page(request, patient_id, codes, notes, error=exc.one_line(),
                             status_code=422)
    return _symptom_page(request, patient_id, codes, notes, answer=answer)


@router.get("/{patient_id}/recovery")
def recovery(request: Request, patient_id: str) -> Response:
    user = require_own_patient(request, patient_id)
    checklist = _home(request, user.actor, patient_id).recovery
    return render(request, "home/recovery.html", {"title": "Recovery after implant",
                                                  "c": checklist, "patient_id": patient_id})


@router.get("/{patient_id}/card")
def implant_card(request: Request, patient_id: str) -> Response:
    user = require_own_patient(request, patient_id)
    card = _home(request, user.actor, patient_id).card
    if card is None:
        raise NotFoundError("no implant on record yet", fix="ask the clinic")
    return render(request, "home/card.html", {"title": "Implant card", "card": card})


@router.get("/{patient_id}/team")
def my_team(request: Request, patient_id: str) -> Response:
    user = require_own_patient(request, patient_id)
    members = service.patient_care_team(clinic_of(request), user.actor,
                                        pages.patient_id_of(patient_id))
    return render(request, "clinic/team.html", {"title": "My care team", "members": members,
                                                "h": None})

