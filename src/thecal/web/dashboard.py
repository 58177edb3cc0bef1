"""The population dashboard page and the CSV exports (worklist, schedule, dashboard lists).

Calls ``thecal.service`` directly and renders typed results.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from thecal.cookies import get_clinic
from thecal.service import scheduling, worklist
from thecal.service.actors import Actor
from thecal.service.dashboard import dashboard, dashboard_csv, rows_csv
from thecal.web.rendering import render
from thecal.web.security import PageRoute, require_clinician

router = APIRouter(prefix="/clinic", route_class=PageRoute, include_in_schema=False)


def _csv(text: str, name: str) -> Response:
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _actor(request: Request) -> Actor:
    return require_clinician(request).actor  # or the sign-in page


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request) -> HTMLResponse:
    board = dashboard(get_clinic(request), _actor(request))
    return render(request, "dashboard/dashboard.html", {"board": board})


@router.get("/dashboard.csv")
def dashboard_export(request: Request) -> Response:
    return _csv(dashboard_csv(dashboard(get_clinic(request), _actor(request))), "dashboard.csv")


@router.get("/worklist.csv")
def worklist_export(request: Request) -> Response:
    items = worklist(get_clinic(request), _actor(request), limit=10_000)
    return _csv(rows_csv(["patient_id", "mrn", "display_name", "priority", "urgency", "refill_due_by", "reasons"],
                         [[i.patient_id, i.mrn, i.display_name, i.priority.weight,
                           i.urgency.value if i.urgency else "",
                           i.refill_due_by.isoformat() if i.refill_due_by else "", "; ".join(i.reasons)]
                          for i in items]), "worklist.csv")


@router.get("/schedule.csv")
def schedule_export(request: Request) -> Response:
    clinic = get_clinic(request)
    rows = scheduling.appointments(clinic, _actor(request), start=clinic.now(), days=90)
    return _csv(rows_csv(["appointment_id", "patient_id", "mrn", "display_name", "start", "end", "kind", "place",
                          "refill_due_by", "reason"],
                         [[a.id, a.patient_id, a.mrn, a.display_name, a.start.isoformat(), a.end.isoformat(), a.kind,
                           a.place, a.refill_due_by.isoformat() if a.refill_due_by else "", a.reason] for a in rows]),
                "schedule.csv")


