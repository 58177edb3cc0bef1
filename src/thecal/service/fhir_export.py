"""A patient's record as a FHIR R4 Bundle: the timeline plus the clinic's appointments (read-only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from thecal.fhir import AppointmentRecord, timeline_to_bundle
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.twin import build_timeline
from thecal.store import events as event_store
from thecal.store.scheduling import appointments

_STATUS = {"booked": "booked", "cancelled": "cancelled", "missed": "noshow", "attended": "fulfilled"}


def patient_bundle(clinic: Clinic, actor: Actor, patient_id: int) -> dict[str, Any]:
    def body(conn: Connection) -> dict[str, Any]:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        timeline = build_timeline(patient, event_store.list_events(conn, patient_id))
        rows = conn.execute(select(appointments).where(appointments.c.patient_id == patient_id)
                            .order_by(appointments.c.starts_at)).mappings()
        appts = [AppointmentRecord(str(r["id"]), r["starts_at"], r["ends_at"], _STATUS.get(r["status"], "booked"),
                                   r["reason"]) for r in rows]
        clinic.audit(conn, actor, "fhir.export", patient_id=patient_id, entity="patient")
        return timeline_to_bundle(timeline, recorded_at=clinic.now(), appointments=appts)

    return clinic.run(actor, "fhir.export", body, patient_id=patient_id)
