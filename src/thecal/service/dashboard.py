"""The population dashboard: counts and lists by risk, each with the change against the previous period.

Lists (Tidepool's TIDE is the anchor, software-anchors): open emergency cases (the case
register: every emergency case not closed, acknowledged or not); second signatures waiting
(open confirmations of recorded concentration changes, escalated or not); refill overdue; due
within 7 days and not booked; could not be booked or missed an appointment (escalated); ERI
reached; pump-accuracy drift and dose creep (the twin's findings ``pump-accuracy-drift``,
``dose-creep-work-up`` in the stored projection). The previous period is the same rule
evaluated 7 days earlier (cases, confirmations, bookings and escalations as they stood then,
the stored summaries for the rest).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ColumnElement, Connection, select

from thecal.clinical.confirmation import confirmation_state
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.store import dashboard as dashboard_store
from thecal.store.scheduling import appointments, escalations
from thecal.store.tables import patients, projections

PERIOD: Final = timedelta(days=7)


@dataclass(frozen=True)
class DashboardPatient:
    """One line of a list: the patient, and the case or confirmation it is about (if any)."""

    patient_id: int
    mrn: str
    display_name: str
    refill_due_by: datetime | None
    detail: str
    case_id: int | None = None
    pending_id: int | None = None


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


def _emergency_cases(conn: Connection, visible: ColumnElement[bool], at: datetime
                     ) -> list[DashboardPatient]:
    """Every emergency case not closed at ``at``, in the patient's own words."""
    out = []
    for r in dashboard_store.open_cases_at(conn, visible, at, urgency="emergency"):
        acknowledged = r["acknowledged_at"] is not None and r["acknowledged_at"] <= at
        status = (f"acknowledged by {r['acknowledged_by']}" if acknowledged
                  else "not acknowledged")
        words = str(r["patient_words"] or "").strip() or ", ".join(r["symptoms"] or [])
        out.append(DashboardPatient(
            int(r["patient_id"]), str(r["mrn"]), str(r["display_name"]), r["refill_due_by"],
            f"case {r['id']}, {status}: {words}", case_id=int(r["id"])))
    return out


def _confirmations(conn: Connection, visible: ColumnElement[bool], at: datetime
                   ) -> list[DashboardPatient]:
    """Every second signature still open at ``at``: escalated (past its time) first."""
    found = []
    for r in dashboard_store.confirmations_at(conn, visible, at):
        state = confirmation_state(due_at=r["expires_at"], now=at,
                                   what=str(r["payload"].get("summary") or "refill"))
        found.append((not state.escalated, DashboardPatient(
            int(r["patient_id"]), str(r["mrn"]), str(r["display_name"]), r["refill_due_by"],
            f"{state.reason.message}; entered by {r['entered_by']}", pending_id=int(r["id"]))))
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]


def _lists(conn: Connection, actor: Actor, at: datetime) -> list[tuple[str, str, list[DashboardPatient]]]:
    visible = authz.visible_patients_clause(actor)
    rows = [dict(r) for r in conn.execute(
        select(patients.c.id, patients.c.mrn, patients.c.display_name, projections.c.refill_due_by,
               projections.c.elective_replacement_at, projections.c.data)
        .select_from(patients.join(projections, projections.c.patient_id == patients.c.id))
        .where(visible).order_by(projections.c.refill_due_by, patients.c.id)).mappings()]
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
    def finding(r: dict[str, object], code: str) -> str | None:
        data = r["data"] if isinstance(r["data"], dict) else {}
        hits = [f for f in data.get("findings", []) if f.get("code") == code
                and datetime.fromisoformat(f["at"]) <= at]
        return str(hits[-1]["message"]) if hits else None

    drift = [item(r, m) for r in rows if (m := finding(r, "pump-accuracy-drift"))]
    creep = [item(r, m) for r in rows if (m := finding(r, "dose-creep-work-up"))]
    return [("emergency-cases", "Open emergency cases", _emergency_cases(conn, visible, at)),
            ("pending-confirmations", "Second signatures waiting", _confirmations(conn, visible, at)),
            ("overdue", "Refill overdue", overdue), ("due-not-booked", "Due within 7 days and not booked", soon),
            ("escalated", "Could not be booked or missed a visit (escalated)", esc),
            ("eri", "ERI reached", eri), ("accuracy-drift", "Pump-accuracy drift", drift),
            ("dose-creep", "Dose creep: work-up suggested", creep)]


def dashboard(clinic: Clinic, actor: Actor) -> Dashboard:
    def body(conn: Connection) -> Dashboard:
        authz.require(actor, authz.WORKLIST)
        now = clinic.now()
        current, before = _lists(conn, actor, now), _lists(conn, actor, now - PERIOD)
        lists = tuple(DashboardList(code, title, len(items), len(prev), tuple(items))
                      for (code, title, items), (_, _, prev) in zip(current, before, strict=True))
        clinic.audit(conn, actor, "dashboard.read", entity="dashboard")
        return Dashboard(now, lists)

    return clinic.run(actor, "dashboard.read", body)


def dashboard_csv(board: Dashboard) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["list", "patient_id", "mrn", "display_name", "refill_due_by", "detail",
                     "case_id", "pending_id"])
    for lst in board.lists:
        for p in lst.patients:
            writer.writerow([lst.code, p.patient_id, p.mrn, p.display_name,
                             p.refill_due_by.isoformat() if p.refill_due_by else "", p.detail,
                             p.case_id or "", p.pending_id or ""])
    return out.getvalue()


def rows_csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
