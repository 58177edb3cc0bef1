"""Interrogations: the pump's own readings recorded as a measurement (docs/twin.md).

:func:`record_interrogation` appends an ``interrogation`` event with whatever the clinician
read from the programmer (reservoir volume, programmed dose and concentration, active alarms,
the pump's alarm date, battery indicator, whether it runs) and answers with the twin before
and after: the reservoir views, the ``interrogation-discrepancy`` finding when a reading
disagrees, and the new alarm and refill-due dates (plans use the lower of the pump's reading
and the twin's estimate). Used before and after a refill and around an MRI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Final

from sqlalchemy import Connection

from thecal.clinical.findings import Finding
from thecal.clinical.projection import Projection, ReservoirViews, project
from thecal.errors import InputError
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.patients import StoredEvent, add_event, new_event
from thecal.service.twin import build_timeline, project_new, site_settings, twin_settings
from thecal.store import events as event_store
from thecal.timeline import Interrogation

#: The readings an interrogation may carry (timeline v1 field names, quantities as text).
READINGS: Final = ("reservoir", "daily_dose", "concentration", "alarms", "alarm_date",
                   "battery", "pump_state")


@dataclass(frozen=True)
class InterrogationOutcome:
    """What recording an interrogation did, and what the twin now believes."""

    event: StoredEvent
    zone: tzinfo
    views_before: ReservoirViews | None
    views_after: ReservoirViews | None
    findings: tuple[Finding, ...]  # about this interrogation
    low_reservoir_alarm_at: datetime | None
    empty_at: datetime | None
    refill_due_by: datetime | None
    status: str = "recorded"

    def as_dict(self) -> dict[str, object]:
        def iso(value: datetime | None) -> str | None:
            return value.astimezone(self.zone).isoformat() if value is not None else None

        return {
            "status": self.status, "event": self.event.as_dict(),
            "reservoir_views_before": (self.views_before.as_dict()
                                       if self.views_before is not None else None),
            "reservoir_views_after": (self.views_after.as_dict()
                                      if self.views_after is not None else None),
            "findings": [{**f.as_dict(), "at": iso(f.at)} for f in self.findings],
            "discrepancy": any(f.code == "interrogation-discrepancy" for f in self.findings),
            "after": {"low_reservoir_alarm_at": iso(self.low_reservoir_alarm_at),
                      "empty_at": iso(self.empty_at), "refill_due_by": iso(self.refill_due_by)},
        }


def _interrogation_event(actor: Actor, at: datetime, readings: Mapping[str, object]
                         ) -> Interrogation:
    unknown = sorted(set(readings) - set(READINGS))
    if unknown:
        raise InputError(f"unknown reading {unknown[0]!r}", where=unknown[0],
                         fix="use " + ", ".join(READINGS))
    return new_event(actor, at, Interrogation,
                     {k: v for k, v in readings.items() if v is not None and v != []})


def record_interrogation(clinic: Clinic, actor: Actor, patient_id: int, *,
                         readings: Mapping[str, object], expected_version: int,
                         at: datetime | None = None, idempotency_key: str | None = None
                         ) -> InterrogationOutcome:
    """Record the pump's readings and say how they re-anchor the twin."""
    when = at or clinic.now()

    def body(conn: Connection) -> InterrogationOutcome:
        patient = authz.patient_for(conn, actor, authz.APPEND, patient_id)
        timeline = build_timeline(patient, event_store.list_events(conn, patient_id))
        if not any(e.type == "implant" for e in timeline.events):
            raise InputError("this patient has no implanted pump on record",
                             where="patient_id", fix="record the implant first")
        event = _interrogation_event(actor, when, readings)
        settings = twin_settings(site_settings(conn, int(patient["site_id"])))
        before: Projection = project(timeline, when, settings)
        after = project_new(timeline, event, when, "", settings)[1]
        stored = add_event(clinic, conn, actor, patient, event, expected_version,
                           action="timeline.append", idempotency_key=idempotency_key)
        mine = tuple(f for f in after.findings if f.at == event.at and f.code in (
            "interrogation-discrepancy", "mri-check-needed"))
        return InterrogationOutcome(
            event=stored, zone=timeline.patient.zone, views_before=before.reservoir_views,
            views_after=after.reservoir_views, findings=mine,
            low_reservoir_alarm_at=after.state.low_reservoir_alarm_at,
            empty_at=after.state.empty_at,
            refill_due_by=after.refill_plan.refill_due_by if after.refill_plan else None)

    return clinic.run(actor, "timeline.append", body, patient_id=patient_id, entity="event")
