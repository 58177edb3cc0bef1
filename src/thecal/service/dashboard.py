"""The population dashboard: counts and lists by risk, each with the change against the previous period.

Lists (Tidepool's TIDE is the anchor, software-anchors): refill overdue; due within 7 days and not
booked; could not be booked or missed an appointment (escalated); ERI reached; pump-accuracy drift
and dose creep (the twin's findings ``pump-accuracy-drift``, ``dose-creep-work-up`` in the stored
projection); symptom reports triaged *emergency* in the last 7 days (the stand-in for open
emergency cases until the case register lands). The previous period is the same rule evaluated
7 days earlier on the stored summaries (bookings and escalations as they stood then).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection, select

from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.store.scheduling import appointments, escalations
from thecal.store.tables import patients, projections

PERIOD: Final = timedelta(days=7)


@dataclass(frozen=True)
class DashboardPatient:
    patient_id: int
    mrn: str
    display_name: str
    refill_due_by: datetime | None
    detail: str


@dataclass(frozen=True)
class DashboardList:
    code: str
    title: str
    count: int
    previous: int
    patients: tuple[DashboardPatient, ...]

    @property
    def change(self) -> int:
        return self.count - self.previous


@dataclass(frozen=True)
class Dashboard:
    at: datetime
    lists: tuple[DashboardList, ...]
    waits_for: tuple[str, ...]


def _lists(conn: Connection, actor: Actor, at: datetime) -> list[tuple[str, str, list[DashboardPatient]]]:
    rows = [dict(r) for r in conn.execute(
        select(patients.c.id, patients.c.mrn, patients.c.display_name, projections.c.refill_due_by,
               projections.c.elective_replacement_at, projections.c.triage_urgency, projections.c.triage_at,
               projections.c.data)
        .select_from(patients.join(projections, projections.c.patient_id == patients.c.id))
        .where(authz.visible_patients_clause(actor)).order_by(projections.c.refill_due_by, patients.c.id)).mappings()]
    booked = {int(r[0]) for r in conn.execute(select(appointments.c.patient_id).where(
        appointments.c.created_at <= at, appointments.c.starts_at >= at,
        (appointments.c.status == "booked") | (appointments.c.updated_at > at)))}
    escalated = {int(r["patient_id"]): r["detail"] for r in conn.execute(select(escalations).where(
        escalations.c.created_at <= at, escalations.c.resolved_at.is_(None) | (escalations.c.resolved_at > at)))
        .mappings()}

    def item(r: dict[str, object], detail: str) -> DashboardPatient:
        return DashboardPatient(int(r["id"]), str(r["mrn"]), str(r["display_name"]),  # type: ignore[call-overload]
                                r["refill_due_by"], detail)  # type: ignore[arg-type]

    overdue = [item(r, "refill overdue") for r in rows if r["refill_due_by"] and r["refill_due_by"] < at]
    soon = [item(r, "due within 7 days, no appointment") for r in rows
            if r["refill_due_by"] and at <= r["refill_due_by"] <= at + PERIOD and int(r["id"]) not in booked]
    esc = [item(r, escalated[int(r["id"])]) for r in rows if int(r["id"]) in escalated]
    eri = [item(r, "elective replacement indicator reached") for r in rows
           if r["elective_replacement_at"] and r["elective_replacement_at"] <= at]
    emergency = [item(r, "symptom report triaged emergency") for r in rows
                 if int(r["triage_urgency"] or 0) >= 4 and r["triage_at"] and at - PERIOD <= r["triage_at"] <= at]
    def finding(r: dict[str, object], code: str) -> str | None:
        data = r["data"] if isinstance(r["data"], dict) else {}
        hits = [f for f in data.get("findings", []) if f.get("code") == code
                and datetime.fromisoformat(f["at"]) <= at]
        return str(hits[-1]["message"]) if hits else None

    drift = [item(r, m) for r in rows if (m := finding(r, "pump-accuracy-drift"))]
    creep = [item(r, m) for r in rows if (m := finding(r, "dose-creep-work-up"))]
    return [("overdue", "Refill overdue", overdue), ("due-not-booked", "Due within 7 days and not booked", soon),
            ("escalated", "Could not be booked or missed a visit (escalated)", esc),
            ("eri", "ERI reached", eri), ("accuracy-drift", "Pump-accuracy drift", drift),
            ("dose-creep", "Dose creep: work-up suggested", creep),
            ("triage-emergency", "Emergency symptom reports (last 7 days)", emergency)]


def dashboard(clinic: Clinic, actor: Actor) -> Dashboard:
    def body(conn: Connection) -> Dashboard:
        authz.require(actor, authz.WORKLIST)
        now = clinic.now()
        current, before = _lists(conn, actor, now), _lists(conn, actor, now - PERIOD)
        lists = tuple(DashboardList(code, title, len(items), len(prev), tuple(items))
                      for (code, title, items), (_, _, prev) in zip(current, before, strict=True))
        clinic.audit(conn, actor, "dashboard.read", entity="dashboard")
        return Dashboard(now, lists, ("open emergency cases and pending confirmations (the case register)",))

    return clinic.run(actor, "dashboard.read", body)


def dashboard_csv(board: Dashboard) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["list", "patient_id", "mrn", "display_name", "refill_due_by", "detail"])
    for lst in board.lists:
        for p in lst.patients:
            writer.writerow([lst.code, p.patient_id, p.mrn, p.display_name,
                             p.refill_due_by.isoformat() if p.refill_due_by else "", p.detail])
    return out.getvalue()


def rows_csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
