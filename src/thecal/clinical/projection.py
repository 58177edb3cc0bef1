"""The twin's projection of a timeline at a moment: what the clinic shows and stores.

``project(timeline, at)`` replays the timeline through the pump and catheter twin, takes its
state at ``at``, plans the next refill conservatively and lists the findings. Its
``as_dict()`` is the object that ``thecal twin --json`` prints and the API serves.

The three views of the reservoir (docs/twin.md) are reported side by side
(``reservoir_views``): *pump-calculated* (what the pump and its programmer believe),
*estimate* (the twin's belief, re-anchored at every measurement) and, in simulation only,
*physical* (the truth with injected faults). Plans use the lower of the pump-calculated
volume and the estimate. Every projected date has an ``{earliest, latest}`` window from the
pump's stated accuracy (SynchroMed II ±14.5 %, ANZCA; Prometra II 85–115 %, PROM; constant
flow from the catalog); ``refill_due_by`` is taken at the conservative (fast-pump) edge and
is never after the earliest low-reservoir alarm. All of it comes from one replay and one
forward pass of the programme (the state's delivery curve).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from thecal.catalog import pump_model
from thecal.clinical.dose import rate_ml_per_day
from thecal.clinical.findings import Finding, find_problems
from thecal.clinical.program import daily_total_mcg
from thecal.clinical.refill import RefillPlan, plan_refill
from thecal.device.replay import Replay, replay
from thecal.errors import InputError
from thecal.limits import Reason, Severity
from thecal.timeline import (
    Bolus,
    CatheterRevision,
    Fault,
    Implant,
    Interrogation,
    Program,
    Refill,
    ReplacePump,
    Timeline,
)


@dataclass(frozen=True)
class TwinSettings:
    """A site's settings that shape the twin (each optional; ``None`` keeps the catalog's).

    ``mri_resume_delay_h``: how long a SynchroMed waits after an MRI before it delivers again
    (M-MRI reports 2–24 h; the catalog's worst case is ``mri_resume_delay_worst_h``).
    ``delivery_unreliable_below_ml``: below this volume delivery is treated as unreliable, so
    alarm and refill planning use it when it is above the pump's alarm volume (NSURG04:
    withdrawal signs at 2.1–3.8 mL left, none after the alarm was raised to 4 mL).
    """

    mri_resume_delay_h: float | None = None
    delivery_unreliable_below_ml: float | None = None


@dataclass(frozen=True)
class Window:
    """A projected instant at the pump's accuracy edges (fast pump: earliest)."""

    earliest: datetime | None
    latest: datetime | None

    def as_dict(self, zone: ZoneInfo) -> dict[str, str | None]:
        return {"earliest": _iso_in(self.earliest, zone), "latest": _iso_in(self.latest, zone)}


def _iso_in(value: datetime | None, zone: ZoneInfo) -> str | None:
    return value.astimezone(zone).isoformat() if value is not None else None


@dataclass(frozen=True)
class ReservoirViews:
    """The reservoir three ways (mL); ``physical_ml`` only in simulation."""

    pump_calculated_ml: float | None
    estimate_ml: float | None
    physical_ml: float | None

    @property
    def differ(self) -> bool:
        vals = [v for v in (self.pump_calculated_ml, self.estimate_ml, self.physical_ml)
                if v is not None]
        return bool(vals) and max(vals) - min(vals) > 0.05

    def as_dict(self) -> dict[str, float | None]:
        return {"pump_calculated_ml": _round(self.pump_calculated_ml),
                "estimate_ml": _round(self.estimate_ml), "physical_ml": _round(self.physical_ml)}


@dataclass(frozen=True)
class Projection:
    at: datetime
    replay: Replay
    state: Any
    refill_plan: RefillPlan | None
    findings: tuple[Finding, ...]
    daily_total_mcg: float | None
    zone: ZoneInfo
    reservoir_views: ReservoirViews | None = None
    low_reservoir_alarm_window: Window | None = None
    empty_window: Window | None = None
    refill_due_window: Window | None = None
    unaccounted_mcg: float = 0.0
    days_of_drug_left: float | None = None  # to the earliest empty (conservative edge)
    planning_volume_ml: float | None = None  # the lower of pump-calculated and estimate
    planning_alarm_ml: float | None = None  # the alarm volume plans use

    def as_dict(self) -> dict[str, Any]:
        """The projection as JSON-ready data; times in the patient's local offset."""
        s = self.state
        plan = self.refill_plan
        zone = self.zone

        def _iso(value: datetime | None) -> str | None:
            return value.astimezone(zone).isoformat() if value is not None else None

        empty = {"earliest": None, "latest": None}
        return {
            "at": _iso(self.at),
            "pump": {
                "model": s.pump_model,
                "state": s.pump_state,
                "reservoir_ml": _round(s.estimate_ml if s.pump_model else s.reservoir_ml),
                "reservoir_capacity_ml": s.reservoir_capacity_ml,
                "concentration_mcg_per_ml": s.concentration_mcg_per_ml,
                "daily_dose_mcg": _round(self.daily_total_mcg),
                "rate_ml_per_day": _round(s.rate_ml_per_day),
                "low_reservoir_alarm_ml": s.low_reservoir_alarm_ml,
            },
            "delivered_to_csf_mcg": _round(s.delivered_to_csf_mcg),
            "low_reservoir_alarm_at": _iso(s.low_reservoir_alarm_at),
            "empty_at": _iso(s.empty_at),
            "low_reservoir_alarm_window": (self.low_reservoir_alarm_window.as_dict(zone)
                                           if self.low_reservoir_alarm_window else empty),
            "empty_window": self.empty_window.as_dict(zone) if self.empty_window else empty,
            "refill_due_window": (self.refill_due_window.as_dict(zone)
                                  if self.refill_due_window else empty),
            "reservoir_views": (self.reservoir_views.as_dict() if self.reservoir_views else
                                {"pump_calculated_ml": None, "estimate_ml": None,
                                 "physical_ml": None}),
            "unaccounted_mcg": _round(self.unaccounted_mcg),
            "days_of_drug_left": _round(self.days_of_drug_left, 2),
            "refill_due_by": _iso(plan.refill_due_by) if plan else None,
            "refill_plan": {**plan.as_dict(), "at": _iso(plan.at),
                            "low_reservoir_alarm_at": _iso(plan.low_reservoir_alarm_at),
                            "empty_at": _iso(plan.empty_at),
                            "refill_due_by": _iso(plan.refill_due_by)} if plan else None,
            "elective_replacement_at": _iso(s.elective_replacement_at),
            "end_of_service_at": _iso(s.end_of_service_at),
            "alarms": [{"code": a.code, "priority": a.priority, "since": _iso(a.since),
                        "acknowledged": a.acknowledged} for a in s.alarms],
            "findings": [{**f.as_dict(), "at": _iso(f.at)} for f in self.findings],
        }


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


_PLAN_ANCHORS = (Implant, ReplacePump, CatheterRevision, Refill, Program, Interrogation)


def _current(timeline: Timeline, at: datetime) -> tuple[Program | None, Refill | None, str | None]:
    program: Program | None = None
    refill: Refill | None = None
    pump: str | None = None
    for _, event in timeline.effective_events():
        if event.at > at:
            break
        if isinstance(event, Implant | ReplacePump):
            pump, program, refill = event.pump, None, None
        elif isinstance(event, Program):
            program = event
        elif isinstance(event, Refill) and event.added_ml > 0:
            refill = event
    return program, refill, pump


def _anchored_plan(result: Replay, at: datetime, state: Any, pump: Any, daily_volume: float,
                   last_refill: Refill | None, alarm_ml: float,
                   low_at: datetime | None, empty_at: datetime | None) -> RefillPlan | None:
    """The refill plan as made at the last refill or programme change (DM-6).

    A refill-due date is a promise made when the reservoir was filled or the flow changed; it
    does not move with the clock, so a late refill shows as overdue. Each bolus since then
    takes its volume out of the reservoir at once and can only bring the date earlier.
    """
    seen = [rev for rev in result.events if rev.event.at <= at]
    anchors = [k for k, rev in enumerate(seen) if isinstance(rev.event, _PLAN_ANCHORS)
               and rev.reservoir_after_ml is not None
               and not (isinstance(rev.event, Interrogation) and rev.event.reservoir_ml is None)]
    if not anchors:
        return None
    anchor = seen[anchors[-1]]

    def plan_from(when: datetime, reservoir_ml: float) -> RefillPlan:
        return plan_refill(at=when, reservoir_ml=max(reservoir_ml, 0.0), daily_volume_ml=daily_volume,
                           low_reservoir_alarm_ml=alarm_ml, accuracy_fraction=pump.accuracy_fraction,
                           last_refill_at=last_refill.at if last_refill is not None else None,
                           low_reservoir_alarm_at=low_at, empty_at=empty_at)

    # The plan starts from the conservative view at the anchor: the lower of what the pump
    # calculates and what the twin estimates.
    anchor_ml = min(v for v in (anchor.pump_calculated_after_ml, anchor.estimate_after_ml,
                                anchor.reservoir_after_ml) if v is not None)
    plan = plan_from(anchor.event.at, anchor_ml)
    for rev in seen[anchors[-1] + 1:]:
        if isinstance(rev.event, Bolus) and rev.reservoir_before_ml is not None:
            after_bolus = rev.reservoir_before_ml - (rev.bolus_volume_ml or 0.0)
            candidate = plan_from(rev.event.at, after_bolus)
            if candidate.refill_due_by < plan.refill_due_by:
                plan = candidate
    return plan


def _window(result: Replay, state: Any, level_ml: float, accuracy: float
            ) -> tuple[Window, datetime | None]:
    """When the reservoir comes down to ``level_ml`` at the pump's fast and slow accuracy
    edges, and at its nominal flow. The uncertainty is the accuracy applied to what the pump
    was set to deliver since the last measurement, so the window stays where it is as time
    passes and moves only with a new measurement (or programme)."""

    def when(flow_factor: float) -> datetime | None:
        t = result.estimate_reaches(state, level_ml, flow_factor)
        return None if t is None else result.datetime_at(t)

    return Window(when(1.0 + accuracy), when(max(1.0 - accuracy, 0.05))), when(1.0)


def is_simulation(timeline: Timeline) -> bool:
    """A timeline with a virtual patient or injected faults is a simulation (physical view)."""
    return timeline.patient.physiology is not None or any(
        isinstance(e, Fault) for e in timeline.events)


def project(timeline: Timeline, at: datetime, settings: TwinSettings | None = None) -> Projection:
    """Replay ``timeline`` up to ``at`` and say what the pump holds, when to refill, what is wrong."""
    if at.tzinfo is None:
        raise InputError("the projection time needs a UTC offset")
    settings = settings or TwinSettings()
    result = replay(timeline, until=at, mri_resume_delay_h=settings.mri_resume_delay_h)
    state = result.state_at(at)
    program, last_refill, pump_id = _current(timeline, at)
    plan: RefillPlan | None = None
    total: float | None = None
    views: ReservoirViews | None = None
    low_window = empty_window = due_window = None
    days_left: float | None = None
    plan_ml: float | None = None
    alarm_ml: float | None = None
    if pump_id is not None and state.pump_state not in ("explanted", "not-implanted"):
        pump = pump_model(pump_id)
        views = ReservoirViews(state.pump_calculated_ml, state.estimate_ml,
                               state.reservoir_ml if is_simulation(timeline) else None)
        accuracy = pump.accuracy_fraction
        plan_ml = min(state.pump_calculated_ml, state.estimate_ml)
        alarm_ml = state.low_reservoir_alarm_ml or pump.low_reservoir_alarm_ml
        unreliable = settings.delivery_unreliable_below_ml
        if unreliable is not None and unreliable > alarm_ml:
            alarm_ml = unreliable
        low_window, low_nominal = _window(result, state, alarm_ml, accuracy)
        empty_window, empty_nominal = _window(result, state, 0.0, accuracy)
        state = replace(state, low_reservoir_alarm_at=low_nominal, empty_at=empty_nominal)
        if empty_window.earliest is not None:
            days_left = max((empty_window.earliest - at).total_seconds() / 86400.0, 0.0)
        if pump.constant_rate_ml_per_day is not None:
            daily_volume = pump.constant_rate_ml_per_day
            conc = state.concentration_mcg_per_ml
            total = daily_volume * conc if conc else None
        elif program is not None and state.programmed_concentration_mcg_per_ml:
            # The pump sets its flow from the concentration it was told at the refill.
            total = daily_total_mcg(program)
            daily_volume = rate_ml_per_day(total, state.programmed_concentration_mcg_per_ml)
        else:
            total = daily_total_mcg(program) if program is not None else None
            daily_volume = 0.0
        if state.reservoir_ml is not None:
            plan = _anchored_plan(result, at, state, pump, daily_volume, last_refill, alarm_ml,
                                  low_nominal, empty_nominal)
        if plan is not None:
            plan, due_window = _windowed_plan(plan, low_window)
    findings = list(find_problems(timeline, result, at, state))
    if plan is not None and at > plan.refill_due_by and state.reservoir_ml is not None:
        days = (at - plan.refill_due_by).total_seconds() / 86400
        findings.append(Finding(
            "refill-overdue", plan.refill_due_by, Severity.WARNING,
            f"the refill was due by {plan.refill_due_by.date().isoformat()}, {days:.1f} days ago; "
            "refill before the low-reservoir alarm and never let the pump run dry (withdrawal risk)",
            "B-DOSE", None, {"days_overdue": round(days, 2)}))
        findings.sort(key=lambda f: (f.at, f.code))
    return Projection(at=at, replay=result, state=state, refill_plan=plan, findings=tuple(findings),
                      daily_total_mcg=total, zone=timeline.patient.zone, reservoir_views=views,
                      low_reservoir_alarm_window=low_window, empty_window=empty_window,
                      refill_due_window=due_window, unaccounted_mcg=state.unaccounted_mcg,
                      days_of_drug_left=days_left, planning_volume_ml=plan_ml,
                      planning_alarm_ml=alarm_ml)


def _windowed_plan(plan: RefillPlan, low: Window | None) -> tuple[RefillPlan, Window]:
    """``refill_due_by`` never after the earliest low-reservoir alarm (the fast-pump edge);
    the due window runs from it to the whole days before the latest (slow-pump) alarm."""
    due = plan.refill_due_by
    if low is not None and low.earliest is not None and low.earliest < due:
        due = low.earliest
        plan = replace(plan, refill_due_by=due, reasons=(*plan.reasons, Reason(
            "refill-due-at-earliest-alarm", "the refill is due by the earliest low-reservoir "
            "alarm the pump's accuracy allows", "ANZCA", verified=False)))
    latest = due
    if low is not None and low.latest is not None and low.latest > due:
        whole_days = math.floor((low.latest - plan.at).total_seconds() / 86400.0 + 1e-9)
        latest = max(due, min(low.latest, plan.at + timedelta(days=whole_days)))
    limit = [r for r in plan.reasons if r.code == "refill-due-drug-interval"]
    if limit:
        latest = due  # the drug's maximum interval binds both edges
    return plan, Window(due, latest)
