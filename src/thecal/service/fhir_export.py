"""A patient's record as a FHIR R4 Bundle: the timeline, the clinic's appointments and its allergy
records (read-only)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from thecal.fhir import AllergyRecord, AppointmentRecord, timeline_to_bundle
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.medicines import medicines_in
from thecal.service.twin import build_timeline
from thecal.store import events as event_store
from thecal.store.scheduling import appointments

_STATUS = {"booked": "booked", "cancelled": "cancelled", "missed": "noshow", "attended": "fulfilled"}


def patient_bundle(clinic: Clinic, actor: Actor, patient_id: int) -> dict[str, object]:
    """The patient's record as a FHIR R4 collection Bundle: FHIR's own JSON, validated by
    ``fhir.resources`` (declared for the API by ``api.fhir.BundleOut``)."""
    def body(conn: Connection) -> dict[str, object]:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        timeline = build_timeline(patient, event_store.list_events(conn, patient_id))
        rows = conn.execute(select(appointments).where(appointments.c.patient_id == patient_id)
                            .order_by(appointments.c.starts_at)).mappings()
        appts = [AppointmentRecord(str(r["id"]), r["starts_at"], r["ends_at"], _STATUS.get(r["status"], "booked"),
                                   r["reason"]) for r in rows]
        chart = medicines_in(conn, patient_id)
        allergies = [AllergyRecord("allergy", a.substance, a.reaction, a.recorded_at, a.recorded_by)
                     for a in chart.allergies]
        if chart.no_known_allergies_at is not None and not allergies:
            allergies.append(AllergyRecord("no-known-allergies", "no known allergies", "",
                                           chart.no_known_allergies_at, chart.no_known_allergies_by or ""))
        clinic.audit(conn, actor, "fhir.export", patient_id=patient_id, entity="patient")
        return timeline_to_bundle(timeline, recorded_at=clinic.now(), appointments=appts, allergies=allergies)

    return clinic.run(actor, "fhir.export", body, patient_id=patient_id)
