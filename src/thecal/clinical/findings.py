"""What looks wrong in a replayed timeline: the twin's findings.

Each finding is a clinical rule applied to the replay of a timeline (the twin says what the
pump did; the rule says whether that is safe). Codes are stable and used the same way in the
CLI, the API and the pages:

``refill-discrepancy``, ``missing-bridge-bolus``, ``missing-priming-bolus``,
``titration-step-exceeds-limit``, ``dose-outside-recommended-range``,
``dose-outside-absolute-range``, ``refill-interval-exceeds-drug-limit``, ``therapy-stopped``,
``mri-check-needed``, ``mri-pump-not-emptied``, ``refill-concentration-mixed``,
``titration-too-soon``, ``interrogation-discrepancy``, ``pump-accuracy-drift``,
``dose-creep-work-up``.

A refill and an interrogation are measurements (docs/twin.md): the refill's expected residual
is the pump-calculated volume, and what the nurse drains is what was left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from thecal.catalog import default_max_refill_interval_days, pump_model
from thecal.clinical.program import daily_total_mcg
from thecal.clinical.refill import check_mixing, check_residual, discrepancy_threshold_ml
from thecal.clinical.titration import check_titration_step, daily_dose_guardrail
from thecal.limits import Classification, Guardrail, Severity
from thecal.timeline import (
    MAS_GRADES,
    Assessment,
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
from thecal.units import same_concentration

# A bridge or priming bolus belongs to its refill or revision when it follows within this time.
BOLUS_WINDOW = timedelta(hours=2)
# Interrogate before and after every MRI (M-MRI): within a day on either side.
MRI_INTERROGATION_WINDOW = timedelta(hours=24)
# Pump-accuracy drift (WESEMANN, 9.2): one refill's relative discrepancy is noisy (+2.5 % per
# refill against +1 % cumulative), so a trend across refills carries the signal, not one
# reading. A two-sided CUSUM on the relative discrepancy with the per-refill noise as its
# scale; allowance 0.5 σ and decision limit 4 σ are the textbook CUSUM design (ASSUMED: no
# ITB-specific design read).
DRIFT_NOISE_FRACTION = 0.025
DRIFT_ALLOWANCE = 0.5 * DRIFT_NOISE_FRACTION
DRIFT_LIMIT = 4.0 * DRIFT_NOISE_FRACTION
# One reading carries no trend (WESEMANN, 9.2), so one refill must not be able to raise the
# finding, nor leave behind a sum that later quiet refills carry over the limit:
# * each reading enters the sum clipped to ±3 σ (a robust CUSUM), so it moves the sum by at
#   most 2.5 σ, below the 4 σ limit (ASSUMED: 3 σ, the usual clipping point; a single large
#   discrepancy is the ``refill-discrepancy`` finding's business);
# * the finding needs at least this many refills in the run behind it (ASSUMED: WESEMANN gives
#   no count; three readings are the fewest in which a direction can be seen twice over).
DRIFT_CLIP = 3.0 * DRIFT_NOISE_FRACTION
DRIFT_MIN_REFILLS = 3
DRIFT_MIN_DELIVERED_ML = 1.0  # a refill interval that delivered less says nothing about rate
# Dose creep (HEETLA09: a rise > 100 mcg/year counts as tolerance; doses fell after revision
# for a mechanical failure; B-TROUBLE: rising doses call for the catheter and pump work-up).
DOSE_CREEP_MCG_PER_YEAR = 100.0
DOSE_CREEP_WINDOW = timedelta(days=180)  # ASSUMED: "over months"
TITRATION_PHASE = timedelta(days=90)  # ASSUMED: titration after implant counted as ended
DOSE_CREEP_MIN_INCREASES = 2  # ASSUMED


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


def find_problems(timeline: Timeline, replay: Any, at: datetime, state: Any = None
                  ) -> list[Finding]:
    """All findings for events up to ``at``, in time order.

    ``replay`` is the twin's replay of the same timeline (``thecal.device.replay``); it supplies
    the expected residual at each refill. ``state`` is its state at ``at`` when the caller has
    it already (saves a second forward projection).
    """
    events = [(i, e) for i, e in timeline.effective_events() if e.at <= at]
    if state is None:
        state = replay.state_at(at)
    findings: list[Finding] = []
    findings += _refill_findings(events, replay)
    findings += _bridge_and_priming_findings(events)
    findings += _program_findings(timeline, events)
    findings += _interval_findings(events, at)
    findings += _mri_findings(events, at)
    findings += _stopped_findings(events, at, state)
    findings += _interrogation_findings(events, replay)
    findings += _accuracy_drift_findings(events, replay)
    findings += _dose_creep_findings(events, at)
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
        # Only an aspiration said to be incomplete leaves old drug behind to mix with the new.
        remaining = event.kept_residual_ml
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
            unaccounted = getattr(seen, "unaccounted_ml", None)
            out.append(Finding("refill-discrepancy", event.at, Severity.WARNING,
                               check.reasons[-1].message if check.direction == "more-withdrawn"
                               else check.reasons[1].message,
                               "MAINO", index, {
                                   "expected_residual_ml": round(expected, 4),
                                   "withdrawn_ml": event.withdrawn_ml,
                                   "discrepancy_ml": round(check.discrepancy_ml, 4),
                                   "threshold_ml": check.threshold_ml,
                                   "direction": check.direction,
                                   "unaccounted_ml": None if unaccounted is None
                                   else round(unaccounted, 4)}))
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
            later = []
            for _, e in events[pos + 1:]:
                if e.at - event.at > BOLUS_WINDOW:
                    break  # events are in time order
                later.append(e)
            if (line_has_drug and line_concentration is not None
                    and not same_concentration(new, line_concentration)):
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
    previous_total = 0.0
    last_increase_at: datetime | None = None
    rails: dict[float | None, Guardrail] = {}  # the daily-dose guardrail by age
    programs = [e for _, e in events if isinstance(e, Program)]
    current_program = programs[-1] if programs else None
    for index, event in events:
        if isinstance(event, Implant | ReplacePump):
            previous = None  # a new pump starts without a programme
            last_increase_at = None
        if not isinstance(event, Program):
            continue
        total = daily_total_mcg(event)
        age = _age(timeline, event.at)
        if previous is None and event.mode != "stopped":
            # The start dose: no increase within 24 h of it (B-DOSE, label).
            last_increase_at = event.at
        if previous is not None and event.mode != "stopped":
            old_total = previous_total
            if old_total > 0:
                hours = ((event.at - last_increase_at).total_seconds() / 3600
                         if last_increase_at is not None else None)
                check = check_titration_step(old_total, total, hours, etiology, age)
                if not check.allowed:
                    limiting = [r for r in check.reasons if r.severity is not Severity.INFO]
                    reason = limiting[0] if limiting else check.reasons[0]
                    # The finding is as severe as the step check's own worst reason.
                    severity = max((r.severity for r in limiting), key=_SEVERITY_RANK.__getitem__,
                                   default=Severity.WARNING)
                    codes = {r.code for r in limiting}
                    code = ("titration-too-soon" if codes == {"titration-too-soon"}
                            else "titration-step-exceeds-limit")
                    out.append(Finding(
                        code, event.at, severity,
                        "; ".join(r.message for r in limiting) or reason.message,
                        reason.source, index,
                        {"previous_daily_dose_mcg": old_total, "new_daily_dose_mcg": total,
                         "change_fraction": round(check.change_fraction, 4),
                         "hours_since_last_increase": None if hours is None else round(hours, 2),
                         "max_allowed_daily_dose_mcg": check.max_allowed_daily_dose_mcg}))
                if total > old_total:
                    last_increase_at = event.at
        is_current = event is current_program
        if event.mode != "stopped":
            rail = rails.get(age)
            if rail is None:
                rail = rails[age] = daily_dose_guardrail(etiology, age)
            classification = rail.classify(total)  # the words only where a finding needs them
            absolute = not classification.allowed
            # Below the typical maintenance range is normal while titrating: it is reported for
            # the programme in effect only; a programme beyond the absolute bounds, always.
            if classification is not Classification.WITHIN and (absolute or is_current):
                result = rail.check(total)
                out.append(Finding(
                    "dose-outside-absolute-range" if absolute else "dose-outside-recommended-range",
                    event.at, Severity.DANGER if absolute else Severity.INFO,
                    result.reasons[0].message, result.reasons[0].source, index,
                    {"daily_dose_mcg": total, "recommended_min_mcg": rail.recommended_min,
                     "recommended_max_mcg": rail.recommended_max}))
        previous, previous_total = event, total
    return out


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.DANGER: 2}


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


_MRI_CHECK_WORDS = {
    "synchromed": ("the motor stalls in the field and may take hours (up to 24 h reported) to "
                   "resume", "M-MRI"),
    "prometra": ("the flow-activated valve may have shut flow, and delivery stays stopped until "
                 "the pump is reset", "PROM"),
}


def _shows_running(event: Interrogation) -> bool:
    return event.pump_state == "running" or (
        event.pump_state is None and "motor-stall" not in event.alarms
        and "mri-valve-closed" not in event.alarms)


def _mri_findings(events: list[tuple[int, Event]], at: datetime) -> list[Finding]:
    out: list[Finding] = []
    pump_id: str | None = None
    for pos, (index, event) in enumerate(events):
        if isinstance(event, Implant | ReplacePump):
            pump_id = event.pump
        if not isinstance(event, Mri) or pump_id is None:
            continue
        pump = pump_model(pump_id)
        if pump.mri_behaviour == "none":
            continue
        words, source = _MRI_CHECK_WORDS.get(pump.family, ("", "M-MRI"))
        before = any(isinstance(e, Interrogation) and timedelta(0) <= event.at - e.at
                     <= MRI_INTERROGATION_WINDOW for _, e in events[:pos])
        end = event.at + timedelta(hours=event.duration_h)
        after_checks = [e for _, e in events[pos + 1:] if isinstance(e, Interrogation)
                        and timedelta(0) <= e.at - end <= MRI_INTERROGATION_WINDOW]
        after = bool(after_checks)
        # An interrogation after the scan that shows the pump running closes the check.
        running_after = any(_shows_running(e) for e in after_checks)
        missing = [w for w, ok in (("before", before), ("after", after)) if not ok]
        if after and not running_after:
            out.append(Finding(
                "mri-check-needed", event.at, Severity.DANGER,
                f"the interrogation after the MRI shows the pump not running: {words}; "
                "restore delivery (withdrawal risk)", source, index, {"missing": missing}))
        elif missing and not running_after and not (missing == ["after"] and at < end):
            out.append(Finding(
                "mri-check-needed", event.at, Severity.WARNING,
                f"no pump interrogation {' or '.join(missing)} the MRI: interrogate the pump "
                f"before and after every MRI; {pump.name}: {words}", source, index,
                {"missing": missing}))
        if pump.mri_behaviour in ("empty-first", "valve-shutoff"):
            emptied = any(isinstance(e, Refill) and e.added_ml == 0 and timedelta(0)
                          <= event.at - e.at <= MRI_INTERROGATION_WINDOW for _, e in events[:pos])
            if not emptied:
                message = (f"{pump.name}: the pump must be emptied before MRI; with drug inside "
                           "the flow-activated valve shuts after at most 10 µL and therapy stays "
                           "stopped until the pump is reset: withdrawal risk"
                           if pump.mri_behaviour == "valve-shutoff" else
                           f"{pump.name}: the pump must be emptied before MRI; a strong field "
                           "can open the valves and discharge the reservoir")
                out.append(Finding("mri-pump-not-emptied", event.at, Severity.DANGER, message,
                                   "PROM" if pump.mri_behaviour == "valve-shutoff"
                                   else "PROM-MRI", index))
    return out


def _stopped_findings(events: list[tuple[int, Event]], at: datetime, state: Any) -> list[Finding]:
    programs = [(i, e) for i, e in events if isinstance(e, Program)]
    out: list[Finding] = []
    if programs and programs[-1][1].mode == "stopped":
        index, event = programs[-1]
        out.append(Finding("therapy-stopped", event.at, Severity.DANGER,
                           "the pump is programmed to stop: the patient receives no baclofen "
                           "and is at risk of withdrawal", "FDA-LAB", index))
        return out
    if state.pump_state in ("empty", "end-of-service", "stalled", "mri-valve-closed"):
        out.append(Finding("therapy-stopped", at, Severity.DANGER,
                           f"the pump is not delivering ({state.pump_state}): the patient is at "
                           "risk of withdrawal", "FDA-LAB", None,
                           {"pump_state": state.pump_state}))
    return out


def _interrogation_findings(events: list[tuple[int, Event]], replay: Any) -> list[Finding]:
    """Each reading of the pump against the twin (clinical-facts 4.4: interrogation with the
    reservoir volume is part of every work-up): a disagreement is a finding with the figures."""
    out: list[Finding] = []
    seen = {rev.index: rev for rev in replay.events}
    capacity: float | None = None
    program: Program | None = None
    for index, event in events:
        if isinstance(event, Implant | ReplacePump):
            capacity = pump_model(event.pump).reservoir_ml
            program = None
        if isinstance(event, Program):
            program = event
        if not isinstance(event, Interrogation) or capacity is None:
            continue
        rev = seen.get(index)
        if rev is None:
            continue
        parts: list[str] = []
        figures: dict[str, Any] = {}
        if event.reservoir_ml is not None and rev.pump_calculated_before_ml is not None:
            twin_ml = rev.pump_calculated_before_ml
            threshold = discrepancy_threshold_ml(capacity)
            if abs(event.reservoir_ml - twin_ml) > threshold + 1e-9:
                parts.append(f"the pump reports {event.reservoir_ml:g} mL in the reservoir where "
                             f"the twin calculated {twin_ml:.2f} mL; planning now uses the lower "
                             "volume")
                figures.update(reported_reservoir_ml=event.reservoir_ml,
                               twin_reservoir_ml=round(twin_ml, 4), threshold_ml=threshold)
        if event.daily_dose_mcg is not None and program is not None:
            twin_dose = daily_total_mcg(program)
            if abs(event.daily_dose_mcg - twin_dose) > max(0.005 * twin_dose, 0.05):
                parts.append(f"the pump is programmed for {event.daily_dose_mcg:g} mcg/day; the "
                             f"record says {twin_dose:g} mcg/day")
                figures.update(reported_daily_dose_mcg=event.daily_dose_mcg,
                               twin_daily_dose_mcg=twin_dose)
        twin_conc = rev.programmed_concentration_before_mcg_per_ml
        if event.concentration_mcg_per_ml is not None and twin_conc is not None \
                and not same_concentration(event.concentration_mcg_per_ml, twin_conc):
            parts.append(f"the pump holds {event.concentration_mcg_per_ml:g} mcg/mL as its "
                         f"concentration; the record says {twin_conc:g} mcg/mL")
            figures.update(reported_concentration_mcg_per_ml=event.concentration_mcg_per_ml,
                           twin_concentration_mcg_per_ml=twin_conc)
        if event.alarms or event.alarm_date is not None or event.battery is not None:
            state = replay.state_at(event.at)
            twin_alarms = {a.code for a in state.alarms if a.code not in ("mri-discharge",)}
            reported = set(event.alarms)
            if event.alarms and reported != twin_alarms:
                parts.append(f"the pump shows alarms {sorted(reported) or 'none'}; the twin "
                             f"expects {sorted(twin_alarms) or 'none'}")
                figures.update(reported_alarms=sorted(reported), twin_alarms=sorted(twin_alarms))
            twin_date = state.low_reservoir_alarm_at
            if event.alarm_date is not None and (
                    twin_date is None or abs((event.alarm_date - twin_date).total_seconds())
                    > 86400):
                parts.append(f"the pump's alarm date is {event.alarm_date.date().isoformat()}; the "
                             "twin's is "
                             f"{twin_date.date().isoformat() if twin_date else 'not in sight'}")
                figures.update(reported_alarm_date=event.alarm_date.isoformat(),
                               twin_alarm_date=None if twin_date is None
                               else twin_date.isoformat())
            eri = state.elective_replacement_at
            twin_battery = ("eos" if state.pump_state == "end-of-service" else
                            "eri" if eri is not None and eri <= event.at else "ok")
            if event.battery is not None and state.end_of_service_at is not None \
                    and event.battery != twin_battery:
                parts.append(f"the pump's battery shows {event.battery.upper()}; the twin "
                             f"expects {twin_battery.upper()}: plan the replacement "
                             "(at least 3 months ahead)")
                figures.update(reported_battery=event.battery, twin_battery=twin_battery)
        if parts:
            out.append(Finding("interrogation-discrepancy", event.at, Severity.WARNING,
                               "; ".join(parts), "B-TROUBLE", index, figures))
    return out


def _accuracy_drift_findings(events: list[tuple[int, Event]], replay: Any) -> list[Finding]:
    """A noise-aware trend of the relative refill discrepancy across refills (robust CUSUM).

    Each measured refill's relative discrepancy (drained − calculated residual, over the volume
    the pump calculated it delivered since the refill before) enters an upper and a lower sum,
    clipped to ±:data:`DRIFT_CLIP`; a sum past :data:`DRIFT_LIMIT` with at least
    :data:`DRIFT_MIN_REFILLS` refills behind it (since that sum last stood at zero) is a
    finding, and that sum starts again.
    """
    out: list[Finding] = []
    seen = {rev.index: rev for rev in replay.events}
    sums = {"under-delivery": 0.0, "over-delivery": 0.0}
    runs: dict[str, list[tuple[int, float]]] = {"under-delivery": [], "over-delivery": []}
    last_after: float | None = None
    for index, event in events:
        if isinstance(event, Implant | ReplacePump):
            sums = dict.fromkeys(sums, 0.0)
            runs = {side: [] for side in runs}
            last_after = None
        if not isinstance(event, Refill):
            continue
        rev = seen.get(index)
        if rev is None or rev.expected_residual_ml is None:
            continue
        expected = rev.expected_residual_ml
        if last_after is not None and event.aspiration == "complete":
            delivered = last_after - expected
            if delivered >= DRIFT_MIN_DELIVERED_ML:
                relative = (event.withdrawn_ml - expected) / delivered
                clipped = min(max(relative, -DRIFT_CLIP), DRIFT_CLIP)
                # more drained than calculated: the pump delivered less (under-delivery)
                for side, signed in (("under-delivery", clipped), ("over-delivery", -clipped)):
                    sums[side] = max(0.0, sums[side] + signed - DRIFT_ALLOWANCE)
                    runs[side] = [*runs[side], (index, relative)] if sums[side] > 0.0 else []
                for side in sums:
                    if sums[side] > DRIFT_LIMIT and len(runs[side]) >= DRIFT_MIN_REFILLS:
                        out.append(_drift_finding(event.at, index, side, sums[side], runs[side]))
                        sums[side] = 0.0
                        runs[side] = []
        last_after = rev.pump_calculated_after_ml
    return out


def _drift_finding(at: datetime, index: int, direction: str, cusum: float,
                   run: list[tuple[int, float]]) -> Finding:
    under = direction == "under-delivery"
    mean = sum(r for _, r in run) / len(run)
    return Finding(
        "pump-accuracy-drift", at, Severity.WARNING,
        f"across {len(run)} refills the drained residual ran "
        f"{'above' if under else 'below'} the pump's calculation by "
        f"{abs(mean):.1%} of the delivered volume on average: the pump seems to "
        f"deliver {'less' if under else 'more'} than programmed (one refill's "
        f"noise is about ±{DRIFT_NOISE_FRACTION:.1%}, and one reading shows no trend). "
        "Interrogate the pump and check the catheter; plan refills from the measured rate",
        "WESEMANN", index,
        {"direction": direction, "mean_relative_discrepancy": round(mean, 4),
         "refill_event_indices": [i for i, _ in run], "cusum": round(cusum, 4)})


def _mas_rank(grade: str | None) -> int | None:
    return None if grade is None else MAS_GRADES.index(grade)


def _dose_creep_findings(events: list[tuple[int, Event]], at: datetime) -> list[Finding]:
    """A daily dose rising for months after titration, without a matching improvement in the
    recorded assessments: work up the catheter and the pump (B-TROUBLE, HEETLA09)."""
    implant_at: datetime | None = None
    programs: list[tuple[int, Program]] = []
    assessments: list[Assessment] = []
    for index, event in events:
        if isinstance(event, Implant | ReplacePump):
            if isinstance(event, Implant):
                implant_at = event.at
                programs, assessments = [], []
        elif isinstance(event, Program) and event.mode != "stopped":
            programs.append((index, event))
        elif isinstance(event, Assessment):
            assessments.append(event)
    if implant_at is None or not programs:
        return []
    start = max(implant_at + TITRATION_PHASE, at - DOSE_CREEP_WINDOW)
    before = [p for _, p in programs if p.at <= start]
    inside = [(i, p) for i, p in programs if p.at > start]
    if not before or not inside:
        return []
    first = daily_total_mcg(before[-1])
    doses = [first] + [daily_total_mcg(p) for _, p in inside]
    increases = sum(1 for a, b in pairwise(doses) if b > a)
    last = doses[-1]
    years = (at - start).total_seconds() / (365.25 * 86400)
    if years <= 0 or increases < DOSE_CREEP_MIN_INCREASES:
        return []
    per_year = (last - first) / years
    if per_year <= DOSE_CREEP_MCG_PER_YEAR:
        return []
    window = [a for a in assessments if a.at >= start - timedelta(days=30)]
    mas = [_mas_rank(a.mas) for a in window if a.mas is not None]
    penn = [a.penn_frequency for a in window if a.penn_frequency is not None]
    improved = (len(mas) >= 2 and mas[-1] is not None and mas[0] is not None
                and mas[-1] < mas[0]) or (len(penn) >= 2 and penn[-1] < penn[0])
    if improved:
        return []
    index = inside[-1][0]
    return [Finding(
        "dose-creep-work-up", inside[-1][1].at, Severity.WARNING,
        f"the daily dose rose from {first:g} to {last:g} mcg/day in {years * 12:.0f} months "
        f"({per_year:.0f} mcg/day a year, {increases} increases) after titration, without a "
        "matching improvement in the recorded assessments: before another increase, work up the "
        "catheter and the pump (interrogation with the reservoir volume against the expected, "
        "catheter imaging); doses fell after revision for a mechanical failure (HEETLA09)",
        "B-TROUBLE", index,
        {"from_daily_dose_mcg": first, "to_daily_dose_mcg": last,
         "rise_mcg_per_day_per_year": round(per_year, 1), "increases": increases,
         "assessments_considered": len(window)})]
