"""The bridge from stored rows to the core: build a :class:`~thecal.timeline.Timeline`, project it.

The twin projection is computed from the stored timeline. The full projection is computed on
read (:func:`projection_of` at the time asked); a *summary* of it (dates, alarm priority,
findings, triage urgency) is rebuilt in the same transaction as every append and stored in
``projections`` for the worklist (:func:`summary_of`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Connection

from thecal import units
from thecal.catalog import pump_model
from thecal.clinical.projection import Projection, ReservoirViews, TwinSettings, project
from thecal.errors import InputError, ThecalError
from thecal.service.results import Instant
from thecal.store import records
from thecal.store.records import Row
from thecal.store.worklist import severity_code
from thecal.timeline import DEVICE_EVENTS, FORMAT, Event, Timeline, parse_timeline

PRIORITY_RANK: Final = {"high": 3, "medium": 2, "low": 1, "info": 0}


def build_timeline(patient: Mapping[str, object], event_rows: Sequence[Row]) -> Timeline:
    """The timeline of a stored patient row and its stored event rows (parsed and checked by
    :func:`thecal.timeline.parse_timeline`, the one parser of the patient block)."""
    block = {"id": patient["mrn"], "born": patient.get("born") or None, "sex":
             patient.get("sex") or None, "weight_kg": patient.get("weight_kg"),
             "timezone": patient["timezone"], "etiology": patient["etiology"]}
    return parse_timeline({"format": FORMAT,
                           "patient": {k: v for k, v in block.items() if v is not None},
                           "events": [dict(row["data"]) for row in event_rows]})


#: Site settings (the ``sites.settings`` JSON) that shape the twin (docs/twin.md).
MRI_RESUME_DELAY_SETTING: Final = "synchromed_mri_resume_delay_h"
DELIVERY_UNRELIABLE_SETTING: Final = "delivery_unreliable_below_ml"


def site_settings(conn: Connection, site_id: int) -> Mapping[str, object]:
    """The settings of a site (empty when it sets none)."""
    site = records.get_site(conn, site_id)
    settings = (site or {}).get("settings")
    return settings if isinstance(settings, dict) else {}


def twin_settings(site_settings: Mapping[str, object] | None) -> TwinSettings:
    """A site's twin settings: the SynchroMed MRI resume delay in hours (``"worst"`` takes the
    longest reported, 24 h, M-MRI) and "delivery unreliable below X mL" (NSURG04). Unset or
    unreadable values keep the catalog's figures."""
    raw = site_settings or {}

    def quantity(value: object, kind: units.Kind) -> float | None:
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


def project_record(conn: Connection, patient: Row, event_rows: Sequence[Row], at: datetime
                   ) -> Projection | None:
    """The projection of a stored record at ``at`` under its site's twin settings: what the
    chart, the worklist summary, the triage, the calendar and the cases all read."""
    return projection_of(build_timeline(patient, event_rows), at,
                         twin_settings(site_settings(conn, int(patient["site_id"]))))


def projection_json(projection: Projection | None, at: datetime) -> dict[str, object]:
    """The ``thecal twin --json`` object of a projection (or of an empty record): what the
    ``projections`` row keeps (the worklist reads its dates) and the API's projection answer.
    The values are the twin's JSON (``Projection.as_dict``, declared for the API by
    ``api.responses.ProjectionOut``)."""
    if projection is None:
        return {"at": at.isoformat(), "pump": None, "alarms": [], "findings": [],
                "note": "no events recorded yet"}
    return dict(projection.as_dict())


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


def project_new(timeline: Timeline, event: Event, at: datetime, prefix: str,
                settings: TwinSettings | None = None) -> tuple[Timeline, Projection]:
    """Add ``event`` and project (under a site's twin ``settings``); a refusal names the new
    event's field (``prefix``+field)."""
    try:
        new = timeline.with_event(event)
        return new, project(new, at, settings)
    except InputError as exc:
        raise relocated(exc, prefix) from None


@dataclass(frozen=True)
class DatesAfter:
    """The twin's dates after a change (a refill, an interrogation): the low-reservoir alarm,
    the empty reservoir and the refill-due date, in the patient's zone (None: not projected)."""

    low_reservoir_alarm_at: Instant | None
    empty_at: Instant | None
    refill_due_by: Instant | None

    @classmethod
    def of(cls, projection: Projection) -> DatesAfter:
        def local(value: datetime | None) -> datetime | None:
            return value.astimezone(projection.zone) if value is not None else None

        plan = projection.refill_plan
        return cls(local(projection.state.low_reservoir_alarm_at),
                   local(projection.state.empty_at), local(plan.refill_due_by if plan else None))


def rounded_views(views: ReservoirViews | None) -> ReservoirViews | None:
    """The reservoir views to 6 decimals (µL), as the twin's JSON writes them."""
    if views is None:
        return None
    return ReservoirViews(*(None if v is None else round(v, 6) for v in (
        views.pump_calculated_ml, views.estimate_ml, views.physical_ml)))


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def summary_of(projection: Projection | None, at: datetime, version: int,
               computed_at: datetime, triage_urgency: int = 0,
               triage_at: datetime | None = None,
               last_triage: Mapping[str, object] | None = None) -> Row:
    """The columns of the ``projections`` row for the projection at ``at`` (its ``data`` is
    the twin JSON, with the last symptom report's triage kept beside it)."""
    state = projection.state if projection is not None else None
    plan = projection.refill_plan if projection is not None else None
    # findings of information severity (a dose below the usual range after implant) are
    # shown on the chart but do not count as open work on the worklist
    findings = [f for f in (projection.findings if projection is not None else ())
                if f.severity.value != "info"]
    data = projection_json(projection, at)
    if last_triage is not None:
        data["last_triage"] = dict(last_triage)
    return {
        "version": version,
        "computed_at": computed_at,
        "low_reservoir_alarm_at": _utc(state.low_reservoir_alarm_at) if state else None,
        "empty_at": _utc(state.empty_at) if state else None,
        "refill_due_by": _utc(plan.refill_due_by) if plan else None,
        "elective_replacement_at": _utc(state.elective_replacement_at) if state else None,
        "alarm_priority": max((PRIORITY_RANK.get(a.priority, 1) for a in state.alarms),
                              default=0) if state else 0,
        "open_findings": len(findings),
        "finding_severity": max((severity_code(f.severity.value) or 1 for f in findings),
                                default=0),
        "triage_urgency": triage_urgency,
        "triage_at": triage_at,
        "data": data,
    }
