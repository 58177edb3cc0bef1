"""What looks wrong in a replayed timeline: the twin's findings.

Each finding is a clinical rule applied to the replay of a timeline (the twin says what the
pump did; the rule says whether that is safe). Codes are stable and used the same way in the
CLI, the API and the pages:

``refill-discrepancy``, ``missing-bridge-bolus``, ``missing-priming-bolus``,
``titration-step-exceeds-limit``, ``dose-outside-recommended-range``,
``dose-outside-absolute-range``, ``refill-interval-exceeds-drug-limit``, ``therapy-stopped``,
``mri-check-needed``, ``mri-pump-not-emptied``, ``refill-concentration-mixed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from thecal.catalog import default_max_refill_interval_days, pump_model
from thecal.clinical.program import daily_total_mcg
from thecal.clinical.refill import check_mixing, check_residual
from thecal.clinical.titration import check_titration_step, daily_dose_guardrail
from thecal.limits import Classification, Severity
from thecal.timeline import (
    Bolus,
    CatheterRevision,
    Event,
    Implant,
    Interrogation,
    Mri,
    Program,
    Refill,
    ReplacePump,
    Timeline,
)

# A bridge or priming bolus belongs to its refill or revision when it follows within this time.
BOLUS_WINDOW = timedelta(hours=2)
# Interrogate before and after every MRI (M-MRI): within a day on either side.
MRI_INTERROGATION_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Finding:
    code: str
    at: datetime
    severity: Severity
    message: str
    source: str
    event_index: int | None = None
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "at": self.at.isoformat(), "severity": self.severity.value,
                "message": self.message, "source": self.source,
                "event_index": self.event_index, **self.figures}


def _age(timeline: Timeline, at: datetime) -> float | None:
    return timeline.patient.age_years(at)


def find_problems(timeline: Timeline, replay: Any, at: datetime) -> list[Finding]:
    """All findings for events up to ``at``, in time order.

    ``replay`` is the twin's replay of the same timeline (``thecal.device.replay``); it supplies
    the expected residual at each refill.
    """
    events = [(i, e) for i, e in timeline.effective_events() if e.at <= at]
    findings: list[Finding] = []
    findings += _refill_findings(events, replay)
    findings += _bridge_and_priming_findings(events)
    findings += _program_findings(timeline, events)
    findings += _interval_findings(events, at)
    findings += _mri_findings(events, at)
    findings += _stopped_findings(events, at, replay)
    findings.sort(key=lambda f: (f.at, f.code))
    return findings


def _refill_findings(events: list[tuple[int, Event]], replay: Any) -> list[Finding]:
    out: list[Finding] = []
    capacity: float | None = None
    expected_by_index = {rev.index: rev for rev in replay.events}
    for index, event in events:
        if isinstance(event, Implant | ReplacePump):
            capacity = pump_model(event.pump).reservoir_ml
        if not isinstance(event, Refill) or capacity is None:
            continue
        seen = expected_by_index.get(index)
        expected = getattr(seen, "expected_residual_ml", None) if seen is not None else None
        if expected is None:
            continue
        remaining = max(0.0, expected - event.withdrawn_ml)
        old_conc = getattr(seen, "programmed_concentration_before_mcg_per_ml", None)
        if remaining > 0 and event.added_ml > 0 and old_conc:
            mixing = check_mixing(remaining_ml=remaining, remaining_concentration_mcg_per_ml=old_conc,
                                  added_ml=event.added_ml,
                                  added_concentration_mcg_per_ml=event.concentration_mcg_per_ml)
            if mixing.flagged:
                reason = mixing.reasons[0]
                out.append(Finding("refill-concentration-mixed", event.at, reason.severity,
                                   reason.message, reason.source, index,
                                   {"mixed_concentration_mcg_per_ml": round(mixing.mixed_concentration_mcg_per_ml, 3),
                                    "programmed_concentration_mcg_per_ml": event.concentration_mcg_per_ml,
                                    "dose_ratio": round(mixing.ratio, 4)}))
        check = check_residual(expected_residual_ml=expected, withdrawn_ml=event.withdrawn_ml,
                               reservoir_capacity_ml=capacity)
        if check.flagged:
            out.append(Finding("refill-discrepancy", event.at, Severity.WARNING,
                               check.reasons[-1].message if check.direction == "more-withdrawn"
                               else check.reasons[1].message,
                               "MAINO", index, {
                                   "expected_residual_ml": round(expected, 4),
                                   "withdrawn_ml": event.withdrawn_ml,
                                   "discrepancy_ml": round(check.discrepancy_ml, 4),
                                   "threshold_ml": check.threshold_ml,
                                   "direction": check.direction}))
    return out


def _bridge_and_priming_findings(events: list[tuple[int, Event]]) -> list[Finding]:
    out: list[Finding] = []
    line_has_drug = False
    line_concentration: float | None = None
    needs_priming_since: tuple[int, Event] | None = None
    for pos, (index, event) in enumerate(events):
        if isinstance(event, Implant | CatheterRevision):
            line_has_drug = False
            needs_priming_since = (index, event)
        if isinstance(event, Bolus) and event.kind == "priming":
            needs_priming_since = None
            line_has_drug = True
        if isinstance(event, Refill) and event.added_ml > 0:
            new = event.concentration_mcg_per_ml
            later = [e for _, e in events[pos + 1:] if e.at - event.at <= BOLUS_WINDOW]
            if (line_has_drug and line_concentration is not None
                    and abs(new - line_concentration) > 1e-9):
                bridged = any(isinstance(e, Bolus) and e.kind == "bridge" for e in later)
                if not bridged:
                    stronger = new < line_concentration  # old drug is stronger: pushed faster
                    out.append(Finding(
                        "missing-bridge-bolus", event.at,
                        Severity.DANGER if stronger else Severity.WARNING,
                        f"concentration changed {line_concentration:g} → {new:g} mcg/mL without a "
                        "bridge bolus: the old drug in the tubing and catheter reaches the patient "
                        + ("faster than programmed (overdose risk)" if stronger
                           else "slower than programmed (under-dose, withdrawal risk)"),
                        "B-DOSE", index, {"old_concentration_mcg_per_ml": line_concentration,
                                          "new_concentration_mcg_per_ml": new}))
            line_concentration = new
            if needs_priming_since is not None:
                primed = any(isinstance(e, Bolus) and e.kind == "priming" for e in later)
                if not primed:
                    src_index, src = needs_priming_since
                    out.append(Finding(
                        "missing-priming-bolus", event.at, Severity.WARNING,
                        f"the catheter was {'implanted' if isinstance(src, Implant) else 'revised'} "
                        "and filled with drug without a priming bolus: the drug reaches the spinal "
                        "fluid only after the line has filled at the programmed rate",
                        "M-PRIME", index, {"since_event_index": src_index}))
                    needs_priming_since = None
                    line_has_drug = True
            else:
                line_has_drug = True
    return out


def _program_findings(timeline: Timeline, events: list[tuple[int, Event]]) -> list[Finding]:
    out: list[Finding] = []
    etiology = timeline.patient.etiology
    previous: Program | None = None
    last_increase_at: datetime | None = None
    programs = [e for _, e in events if isinstance(e, Program)]
    current_program = programs[-1] if programs else None
    for index, event in events:
        if isinstance(event, Implant | ReplacePump):
            previous = None  # a new pump starts without a programme
        if not isinstance(event, Program):
            continue
        total = daily_total_mcg(event)
        age = _age(timeline, event.at)
        if previous is not None and event.mode != "stopped":
            old_total = daily_total_mcg(previous)
            if old_total > 0:
                hours = ((event.at - last_increase_at).total_seconds() / 3600
                         if last_increase_at is not None else None)
                check = check_titration_step(old_total, total, hours, etiology, age)
                if not check.allowed:
                    limiting = [r for r in check.reasons if r.severity is not Severity.INFO]
                    reason = limiting[0] if limiting else check.reasons[0]
                    out.append(Finding(
                        "titration-step-exceeds-limit", event.at, Severity.WARNING,
                        reason.message, reason.source, index,
                        {"previous_daily_dose_mcg": old_total, "new_daily_dose_mcg": total,
                         "change_fraction": round(check.change_fraction, 4),
                         "max_allowed_daily_dose_mcg": check.max_allowed_daily_dose_mcg}))
                if total > old_total:
                    last_increase_at = event.at
        is_current = event is current_program
        if event.mode != "stopped":
            rail = daily_dose_guardrail(etiology, age)
            result = rail.check(total)
            absolute = not result.classification.allowed
            # Below the typical maintenance range is normal while titrating: it is reported for
            # the programme in effect only; a programme beyond the absolute bounds, always.
            if result.classification is not Classification.WITHIN and (absolute or is_current):
                out.append(Finding(
                    "dose-outside-absolute-range" if absolute else "dose-outside-recommended-range",
                    event.at, Severity.DANGER if absolute else Severity.INFO,
                    result.reasons[0].message, result.reasons[0].source, index,
                    {"daily_dose_mcg": total, "recommended_min_mcg": rail.recommended_min,
                     "recommended_max_mcg": rail.recommended_max}))
        previous = event
    return out


def _interval_findings(events: list[tuple[int, Event]], at: datetime) -> list[Finding]:
    fig = default_max_refill_interval_days()
    limit = timedelta(days=float(fig.value or 180))
    out: list[Finding] = []
    last: tuple[int, Refill] | None = None
    for index, event in events:
        if isinstance(event, Refill) and event.added_ml > 0:
            if last is not None and event.at - last[1].at > limit:
                out.append(_interval_finding(last, event.at, limit, fig.source, index))
            last = (index, event)
        if isinstance(event, Implant | ReplacePump):
            last = None
    if last is not None and at - last[1].at > limit:
        out.append(_interval_finding(last, at, limit, fig.source, last[0]))
    return out


def _interval_finding(last: tuple[int, Refill], until: datetime, limit: timedelta, source: str,
                      index: int) -> Finding:
    days = (until - last[1].at).total_seconds() / 86400
    return Finding("refill-interval-exceeds-drug-limit", last[1].at + limit, Severity.WARNING,
                   f"{days:.0f} days since the refill of {last[1].at.date().isoformat()}; the drug "
                   f"may stay in the pump at most {limit.days} days", source, index,
                   {"days_since_refill": round(days, 2), "limit_days": limit.days})


def _mri_findings(events: list[tuple[int, Event]], at: datetime) -> list[Finding]:
    out: list[Finding] = []
    pump_id: str | None = None
    for pos, (index, event) in enumerate(events):
        if isinstance(event, Implant | ReplacePump):
            pump_id = event.pump
        if not isinstance(event, Mri) or pump_id is None:
            continue
        pump = pump_model(pump_id)
        before = any(isinstance(e, Interrogation) and timedelta(0) <= event.at - e.at
                     <= MRI_INTERROGATION_WINDOW for _, e in events[:pos])
        end = event.at + timedelta(hours=event.duration_h)
        after = any(isinstance(e, Interrogation) and timedelta(0) <= e.at - end
                    <= MRI_INTERROGATION_WINDOW for _, e in events[pos + 1:])
        missing = [w for w, ok in (("before", before), ("after", after)) if not ok]
        if missing and not (missing == ["after"] and at < end):
            out.append(Finding(
                "mri-check-needed", event.at, Severity.WARNING,
                f"no pump interrogation {' or '.join(missing)} the MRI: interrogate the pump "
                "before and after every MRI; the motor stalls in the field and may take hours to "
                "resume", "M-MRI", index, {"missing": missing}))
        if pump.mri_behaviour == "empty-first":
            emptied = any(isinstance(e, Refill) and e.added_ml == 0 and timedelta(0)
                          <= event.at - e.at <= MRI_INTERROGATION_WINDOW for _, e in events[:pos])
            if not emptied:
                out.append(Finding(
                    "mri-pump-not-emptied", event.at, Severity.DANGER,
                    f"{pump.name}: the pump must be emptied before MRI; a strong field can open "
                    "the valves and discharge the reservoir", "PROM-MRI", index))
    return out


def _stopped_findings(events: list[tuple[int, Event]], at: datetime, replay: Any) -> list[Finding]:
    programs = [(i, e) for i, e in events if isinstance(e, Program)]
    out: list[Finding] = []
    if programs and programs[-1][1].mode == "stopped":
        index, event = programs[-1]
        out.append(Finding("therapy-stopped", event.at, Severity.DANGER,
                           "the pump is programmed to stop: the patient receives no baclofen "
                           "and is at risk of withdrawal", "FDA-LAB", index))
        return out
    state = replay.state_at(at)
    if state.pump_state in ("empty", "end-of-service", "stalled"):
        out.append(Finding("therapy-stopped", at, Severity.DANGER,
                           f"the pump is not delivering ({state.pump_state}): the patient is at "
                           "risk of withdrawal", "FDA-LAB", None,
                           {"pump_state": state.pump_state}))
    return out
