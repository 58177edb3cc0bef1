"""The bridge from stored rows to the core: build a :class:`~thecal.timeline.Timeline`, project it.

The twin projection is computed from the stored timeline. The full projection is computed on
read (``project_timeline`` at the time asked); a *summary* of it (dates, alarm priority,
findings, triage urgency) is rebuilt in the same transaction as every append and stored in
``projections`` for the worklist (:func:`summary_of`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from thecal import units
from thecal.catalog import pump_model
from thecal.clinical.projection import Projection, TwinSettings, project
from thecal.errors import InputError, ThecalError
from thecal.store.worklist import severity_code
from thecal.timeline import DEVICE_EVENTS, FORMAT, Event, Timeline, parse_timeline

PRIORITY_RANK: Final = {"high": 3, "medium": 2, "low": 1, "info": 0}


def patient_block(patient: dict[str, Any]) -> dict[str, Any]:
    """The timeline v1 ``patient`` block of a patient row."""
    block: dict[str, Any] = {"id": patient["mrn"]}
    if patient.get("born"):
        block["born"] = patient["born"]
    if patient.get("sex"):
        block["sex"] = patient["sex"]
    if patient.get("weight_kg") is not None:
        block["weight_kg"] = patient["weight_kg"]
    block["timezone"] = patient["timezone"]
    block["etiology"] = patient["etiology"]
    return block


def timeline_dict(patient: dict[str, Any], event_rows: Sequence[dict[str, Any]]
                  ) -> dict[str, Any]:
    return {"format": FORMAT, "patient": patient_block(patient),
            "events": [dict(row["data"]) for row in event_rows]}


def build_timeline(patient: dict[str, Any], event_rows: Sequence[dict[str, Any]]) -> Timeline:
    return parse_timeline(timeline_dict(patient, event_rows))


#: Site settings (the ``sites.settings`` JSON) that shape the twin (docs/twin.md).
MRI_RESUME_DELAY_SETTING: Final = "synchromed_mri_resume_delay_h"
DELIVERY_UNRELIABLE_SETTING: Final = "delivery_unreliable_below_ml"


def twin_settings(site_settings: dict[str, Any] | None) -> TwinSettings:
    """A site's twin settings: the SynchroMed MRI resume delay in hours (``"worst"`` takes the
    longest reported, 24 h, M-MRI) and "delivery unreliable below X mL" (NSURG04). Unset or
    unreadable values keep the catalog's figures."""
    raw = site_settings or {}

    def quantity(value: Any, kind: units.Kind) -> float | None:
        if not isinstance(value, str) or not value:
            return None
        try:
            return units.parse_quantity(value, kind)
        except ThecalError:
            return None

    delay_raw = raw.get(MRI_RESUME_DELAY_SETTING)
    delay = (pump_model("synchromed-ii-40").mri_resume_delay_worst_h if delay_raw == "worst"
             else quantity(delay_raw, units.DURATION))
    return TwinSettings(mri_resume_delay_h=delay, delivery_unreliable_below_ml=quantity(
        raw.get(DELIVERY_UNRELIABLE_SETTING), units.VOLUME))


def projection_of(timeline: Timeline, at: datetime, settings: TwinSettings | None = None
                  ) -> Projection | None:
    """The twin's projection of ``timeline`` at ``at`` (None when nothing is recorded yet),
    under a site's twin settings.

    Raises :class:`TimelineError` when the twin refuses the timeline (an overfilled reservoir).
    """
    return project(timeline, at, settings) if timeline.events else None


def projection_json(projection: Projection | None, at: datetime) -> dict[str, Any]:
    """The ``thecal twin --json`` object of a projection (or of an empty record)."""
    if projection is None:
        return {"at": at.isoformat(), "pump": None, "alarms": [], "findings": [],
                "note": "no events recorded yet"}
    return dict(projection.as_dict())


def project_full(timeline: Timeline, at: datetime, settings: TwinSettings | None = None
                 ) -> tuple[dict[str, Any], Any]:
    """The ``thecal twin --json`` object for ``timeline`` at ``at``, and the twin state
    (None when there is nothing to replay)."""
    projection = projection_of(timeline, at, settings)
    return projection_json(projection, at), projection.state if projection else None


def project_timeline(timeline: Timeline, at: datetime, settings: TwinSettings | None = None
                     ) -> dict[str, Any]:
    """The ``thecal twin --json`` object (see :func:`project_full`)."""
    return project_full(timeline, at, settings)[0]


_EVENT_WHERE: Final = re.compile(r"^events\[\d+\]\.?")


def relocated(exc: InputError, prefix: str) -> InputError:
    """The twin's error about ``events[12].added`` as one about ``<prefix>added``."""
    where = exc.where or ""
    if _EVENT_WHERE.match(where):
        where = prefix + _EVENT_WHERE.sub("", where)
        return type(exc)(exc.message, where=where.rstrip(".") or None, fix=exc.fix)
    return exc


PLAN_EVENTS: Final = DEVICE_EVENTS | {"implant"}


def plan_time(timeline: Timeline, default: datetime) -> datetime:
    """When the stored summary is projected: the last event that changes the device.

    The summary describes the device as last recorded; the refill-due date in it is anchored
    by the core (``thecal.clinical.projection``) and does not depend on this instant. The
    worklist compares the stored dates (alarm, empty, due) with *now* when it is read.
    """
    times = [ev.at for ev in timeline.events if ev.type in PLAN_EVENTS]
    return max(times) if times else default


def project_new(timeline: Timeline, event: Event, at: datetime, prefix: str
                ) -> tuple[Timeline, dict[str, Any], Any]:
    """Add ``event`` and project; a refusal names the new event's field (``prefix``+field)."""
    try:
        new = timeline.with_event(event)
        projected, state = project_full(new, at)
    except InputError as exc:
        raise relocated(exc, prefix) from None
    return new, projected, state


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def summary_of(projection: dict[str, Any], version: int, computed_at: datetime,
               triage_urgency: int = 0, triage_at: datetime | None = None) -> dict[str, Any]:
    """The columns of the ``projections`` row for a projection dict."""
    alarms = projection.get("alarms") or []
    # findings of information severity (a dose below the usual range after implant) are
    # shown on the chart but do not count as open work on the worklist
    findings = [f for f in projection.get("findings") or []
                if str(f.get("severity")) != "info"]
    return {
        "version": version,
        "computed_at": computed_at,
        "low_reservoir_alarm_at": _parse_time(projection.get("low_reservoir_alarm_at")),
        "empty_at": _parse_time(projection.get("empty_at")),
        "refill_due_by": _parse_time(projection.get("refill_due_by")),
        "elective_replacement_at": _parse_time(projection.get("elective_replacement_at")),
        "alarm_priority": max((PRIORITY_RANK.get(str(a.get("priority")), 1) for a in alarms),
                              default=0),
        "open_findings": len(findings),
        "finding_severity": max((severity_code(str(f.get("severity"))) or 1
                                 for f in findings), default=0),
        "triage_urgency": triage_urgency,
        "triage_at": triage_at,
        "data": projection,
    }
