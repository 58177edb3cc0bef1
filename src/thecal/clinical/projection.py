"""The twin's projection of a timeline at a moment: what the clinic shows and stores.

``project(timeline, at)`` replays the timeline through the pump and catheter twin, takes its
state at ``at``, plans the next refill conservatively and lists the findings. Its
``as_dict()`` is the object that ``thecal twin --json`` prints and the API serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from thecal.catalog import pump_model
from thecal.clinical.dose import rate_ml_per_day
from thecal.clinical.findings import Finding, find_problems
from thecal.clinical.program import daily_total_mcg
from thecal.clinical.refill import RefillPlan, plan_refill
from thecal.device.replay import Replay, replay
from thecal.errors import InputError
from thecal.limits import Severity
from thecal.timeline import Bolus, CatheterRevision, Implant, Program, Refill, ReplacePump, Timeline


@dataclass(frozen=True)
class Projection:
    at: datetime
    replay: Replay
    state: Any
    refill_plan: RefillPlan | None
    findings: tuple[Finding, ...]
    daily_total_mcg: float | None
    zone: ZoneInfo

    def as_dict(self) -> dict[str, Any]:
        """The projection as JSON-ready data; times in the patient's local offset."""
        s = self.state
        plan = self.refill_plan
        zone = self.zone

        def _iso(value: datetime | None) -> str | None:
            return value.astimezone(zone).isoformat() if value is not None else None

        return {
            "at": _iso(self.at),
            "pump": {
                "model": s.pump_model,
                "state": s.pump_state,
                "reservoir_ml": _round(s.reservoir_ml),
                "reservoir_capacity_ml": s.reservoir_capacity_ml,
                "concentration_mcg_per_ml": s.concentration_mcg_per_ml,
                "daily_dose_mcg": _round(self.daily_total_mcg),
                "rate_ml_per_day": _round(s.rate_ml_per_day),
                "low_reservoir_alarm_ml": s.low_reservoir_alarm_ml,
            },
            "delivered_to_csf_mcg": _round(s.delivered_to_csf_mcg),
            "low_reservoir_alarm_at": _iso(s.low_reservoir_alarm_at),
            "empty_at": _iso(s.empty_at),
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


_PLAN_ANCHORS = (Implant, ReplacePump, CatheterRevision, Refill, Program)


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
                   last_refill: Refill | None) -> RefillPlan | None:
    """The refill plan as made at the last refill or programme change (DM-6).

    A refill-due date is a promise made when the reservoir was filled or the flow changed; it
    does not move with the clock, so a late refill shows as overdue. Each bolus since then
    takes its volume out of the reservoir at once and can only bring the date earlier.
    """
    seen = [rev for rev in result.events if rev.event.at <= at]
    anchors = [rev for rev in seen if isinstance(rev.event, _PLAN_ANCHORS)
               and rev.reservoir_after_ml is not None]
    if not anchors:
        return None
    anchor = anchors[-1]
    alarm_ml = state.low_reservoir_alarm_ml or pump.low_reservoir_alarm_ml

    def plan_from(when: datetime, reservoir_ml: float) -> RefillPlan:
        return plan_refill(at=when, reservoir_ml=max(reservoir_ml, 0.0), daily_volume_ml=daily_volume,
                           low_reservoir_alarm_ml=alarm_ml, accuracy_fraction=pump.accuracy_fraction,
                           last_refill_at=last_refill.at if last_refill is not None else None,
                           low_reservoir_alarm_at=state.low_reservoir_alarm_at, empty_at=state.empty_at)

    plan = plan_from(anchor.event.at, anchor.reservoir_after_ml or 0.0)
    for rev in seen[seen.index(anchor) + 1:]:
        if isinstance(rev.event, Bolus) and rev.reservoir_before_ml is not None:
            after_bolus = rev.reservoir_before_ml - (rev.bolus_volume_ml or 0.0)
            candidate = plan_from(rev.event.at, after_bolus)
            if candidate.refill_due_by < plan.refill_due_by:
                plan = candidate
    return plan


def project(timeline: Timeline, at: datetime) -> Projection:
    """Replay ``timeline`` up to ``at`` and say what the pump holds, when to refill, what is wrong."""
    if at.tzinfo is None:
        raise InputError("the projection time needs a UTC offset")
    result = replay(timeline, until=at)
    state = result.state_at(at)
    program, last_refill, pump_id = _current(timeline, at)
    plan: RefillPlan | None = None
    total: float | None = None
    if pump_id is not None and state.pump_state not in ("explanted", "not-implanted"):
        pump = pump_model(pump_id)
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
            plan = _anchored_plan(result, at, state, pump, daily_volume, last_refill)
    findings = list(find_problems(timeline, result, at))
    if plan is not None and at > plan.refill_due_by and state.reservoir_ml is not None:
        days = (at - plan.refill_due_by).total_seconds() / 86400
        findings.append(Finding(
            "refill-overdue", plan.refill_due_by, Severity.WARNING,
            f"the refill was due by {plan.refill_due_by.date().isoformat()}, {days:.1f} days ago; "
            "refill before the low-reservoir alarm and never let the pump run dry (withdrawal risk)",
            "B-DOSE", None, {"days_overdue": round(days, 2)}))
        findings.sort(key=lambda f: (f.at, f.code))
    return Projection(at=at, replay=result, state=state, refill_plan=plan, findings=tuple(findings),
                      daily_total_mcg=total, zone=timeline.patient.zone)
