"""The clinic's case pages: the inbox of cases, one case (acknowledge, call-back notes, close
with an outcome), a patient's cases, and the allergies and medicines page.

Each handler reads the form, calls one use case of :mod:`thecal.service.cases` or
:mod:`thecal.service.medicines` and renders its typed answer; refusals come back as the page
with the message beside the form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from thecal.errors import InputError
from thecal.service import cases, medicines, pages
from thecal.web.rendering import render
from thecal.web.security import PageRoute, check_csrf, clinic_of, require_clinician

router = APIRouter(prefix="/clinic", route_class=PageRoute, include_in_schema=False)

Text = Annotated[str, Form()]


def _case_id(raw: str) -> int:
    return pages.patient_id_of(raw)


@router.get("/cases")
def inbox(request: Request) -> Response:
    user = require_clinician(request)
    found = cases.inbox(clinic_of(request), user.actor)
    return render(request, "clinic/cases.html", {"title": "Cases inbox", "cases": found,
                                                 "h": None})


def _case_page(request: Request, case_id: str, error: str = "",
               status_code: int = 200) -> Response:
    user = require_clinician(request)
    case = cases.get_case(clinic_of(request), user.actor, _case_id(case_id))
    return render(request, "clinic/case.html", {
        "title": f"Case {case.case_id} · {case.patient_name}", "case": case,
        "outcomes": cases.OUTCOMES, "error": error}, status_code=status_code)


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str) -> Response:
    return _case_page(request, case_id)


def _after(request: Request, case_id: str, csrf_token: str, action: str,
           *args: str) -> Response:
    user = require_clinician(request)
    check_csrf(request, csrf_token)
    clinic = clinic_of(request)
    try:
        if action == "acknowledge":
            cases.acknowledge_case(clinic, user.actor, _case_id(case_id))
        elif action == "note":
            cases.add_case_note(clinic, user.actor, _case_id(case_id), args[0])
        else:
            cases.close_case(clinic, user.actor, _case_id(case_id), args[0], args[1] or None)
    except InputError as exc:
        return _case_page(request, case_id, exc.one_line(), 422)
    return RedirectResponse(f"/clinic/cases/{case_id}?saved={action}", status_code=303)


@router.post("/cases/{case_id}/acknowledge")
def acknowledge(request: Request, case_id: str, csrf_token: Text = "") -> Response:
    return _after(request, case_id, csrf_token, "acknowledge")


@router.post("/cases/{case_id}/notes")
def note(request: Request, case_id: str, csrf_token: Text = "", text: Text = "") -> Response:
    return _after(request, case_id, csrf_token, "note", text)


@router.post("/cases/{case_id}/close")
def close(request: Request, case_id: str, csrf_token: Text = "", outcome: Text = "",
          note: Text = "") -> Response:
    return _after(request, case_id, csrf_token, "close", outcome, note)


@router.get("/patients/{patient_id}/cases")
def patient_cases(request: Request, patient_id: str) -> Response:
    user = require_clinician(request)
    clinic = clinic_of(request)
    header = pages.chart(clinic, user, patient_id).header
    found = cases.patient_cases(clinic, user.actor, pages.patient_id_of(patient_id))
    return render(request, "clinic/cases.html", {"title": f"Cases · {header.name}",
                                                 "cases": found, "h": header})


@router.post("/patients/{patient_id}/cases")
def finding_case(request: Request, patient_id: str, csrf_token: Text = "",
                 finding_code: Text = "") -> Response:
    user = require_clinician(request)
    check_csrf(request, csrf_token)
    case = cases.open_finding_case(clinic_of(request), user.actor,
                                   pages.patient_id_of(patient_id), finding_code)
    return RedirectResponse(f"/clinic/cases/{case.case_id}", status_code=303)


# --- allergies and medicines ----------------------------------------------------------------

def _medicines_page(request: Request, patient_id: str, error: str = "",
                    status_code: int = 200) -> Response:
    user = require_clinician(request)
    clinic = clinic_of(request)
    header = pages.chart(clinic, user, patient_id).header
    meds = medicines.medicines(clinic, user.actor, pages.patient_id_of(patient_id))
    return render(request, "clinic/medicines.html", {
        "title": f"Allergies and medicines · {header.name}", "h": header, "m": meds,
        "drugs": medicines.ORAL_ANTISPASTICITY, "occasions": medicines.OCCASION_WORDS, "error": error},
        status_code=status_code)


@router.get("/patients/{patient_id}/medicines")
def medicines_page(request: Request, patient_id: str) -> Response:
    return _medicines_page(request, patient_id)


@router.post("/patients/{patient_id}/medicines")
def medicines_send(request: Request, patient_id: str, csrf_token: Text = "", action: Text = "",
                   substance: Text = "", reaction: Text = "", drug: Text = "", dose: Text = "",
                   times_per_day: Text = "", medication_id: Text = "", occasion: Text = "",
                   notes: Text = "") -> Response:
    user = require_clinician(request)
    check_csrf(request, csrf_token)
    clinic, pid = clinic_of(request), pages.patient_id_of(patient_id)
    try:
        if action == "allergy":
            medicines.record_allergy(clinic, user.actor, pid, substance, reaction or None)
        elif action == "no-known-allergies":
            medicines.record_no_known_allergies(clinic, user.actor, pid)
        elif action == "medication":
            if not times_per_day.strip().isdigit():
                raise InputError("times a day must be a whole number", where="times_per_day",
                                 fix="e.g. 3")
            medicines.record_medication(clinic, user.actor, pid, drug, dose,
                                        int(times_per_day))
        elif action == "stop":
            medicines.stop_medication(clinic, user.actor, pid, pages.patient_id_of(
                medication_id))
        elif action == "reconcile":
            medicines.record_reconciliation(clinic, user.actor, pid, occasion, None,
                                            notes or None)
        else:
            raise InputError("unknown action", where="action")
    except InputError as exc:
        return _medicines_page(request, patient_id, exc.one_line(), 422)
    return RedirectResponse(f"/clinic/patients/{patient_id}/medicines?saved={action}",
                            status_code=303)
