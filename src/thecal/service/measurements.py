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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Final

from pydantic import Field, computed_field
from sqlalchemy import Connection

from thecal.clinical.projection import Projection, ReservoirViews, project
from thecal.errors import InputError
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.patients import StoredEvent, add_event, new_event
from thecal.service.results import TwinFinding
from thecal.service.twin import (
    DatesAfter,
    build_timeline,
    project_new,
    rounded_views,
    site_settings,
    twin_settings,
)
from thecal.store import events as event_store
from thecal.timeline import Interrogation

#: The readings an interrogation may carry (timeline v1 field names, quantities as text).
READINGS: Final = ("reservoir", "daily_dose", "concentration", "alarms", "alarm_date",
                   "battery", "pump_state")


@dataclass(frozen=True)
class InterrogationOutcome:
    """What recording an interrogation did, and what the twin now believes (the API's answer
    itself; the findings' instants and the dates ``after`` are in the patient's zone)."""

    event: StoredEvent
    views_before: Annotated[ReservoirViews | None,
                            Field(serialization_alias="reservoir_views_before")]
    views_after: Annotated[ReservoirViews | None,
                           Field(serialization_alias="reservoir_views_after")]
    findings: tuple[TwinFinding, ...]  # about this interrogation
    after: DatesAfter
    status: str = "recorded"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def discrepancy(self) -> bool:
        """A reading disagrees with the twin (the ``interrogation-discrepancy`` finding)."""
        return any(f.code == "interrogation-discrepancy" for f in self.findings)


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
        mine = tuple(replace(f, at=f.at.astimezone(after.zone)) for f in after.findings
                     if f.at == event.at and f.code in ("interrogation-discrepancy",
                                                        "mri-check-needed"))
        return InterrogationOutcome(
            stored, rounded_views(before.reservoir_views), rounded_views(after.reservoir_views),
            mine, DatesAfter.of(after))

    return clinic.run(actor, "timeline.append", body, patient_id=patient_id, entity="event")
