"""What the triage knows about the pump: :class:`PumpContext`, and its adapter from the twin.

Every field is optional; ``None`` means *unknown*, and the triage never reads unknown as
reassuring (an unknown state cannot lower urgency; only a known problem raises it). The
adapter :func:`pump_context_from_twin` reads a twin state (``thecal.device.replay``) by
attribute name and tolerates missing attributes, so the two modules can evolve apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from thecal.errors import InputError

if TYPE_CHECKING:
    from thecal.clinical.projection import Projection

# Alarm codes the triage understands. A code not listed as non-critical is treated as critical:
# an alarm thecal cannot name is never read as harmless (M-PUMP: a two-tone alarm means the
# medicine is no longer flowing).
NON_CRITICAL_ALARM_CODES: Final[frozenset[str]] = frozenset({
    "low-reservoir", "reservoir-low", "elective-replacement", "eri",
    "elective-replacement-indicator", "non-critical-memory-error", "low-battery-warning",
})
CRITICAL_ALARM_CODES: Final[frozenset[str]] = frozenset({
    "empty-reservoir", "reservoir-empty", "end-of-service", "eos", "motor-stall",
    "critical-memory-error", "pump-stopped", "therapy-stopped", "battery-reset",
})
_FAULT_ALARM_WORDS: Final = ("stall", "memory", "reset", "fault", "end-of-service", "eos")
_STOPPED_STATE_WORDS: Final = ("stop", "stall", "empty", "end-of-service", "eos", "explant",
                               "off")
# Alarms and injected faults that mean a possible large dose rather than too little.
OVERDOSE_ALARM_CODES: Final = frozenset({"mri-discharge", "over-infusion", "pump-overinfusion"})
OVERDOSE_FAULTS: Final = frozenset({"pump-overinfusion", "pocket-fill"})

RECENT_DAYS: Final = 3.0  # withdrawal evolves over 1–3 days (COFFEY02); effect of a change 1–2 d
SURGICAL_WEEKS: Final = 8.0  # recovery restrictions last 6–8 weeks after implant (GIL)


@dataclass(frozen=True)
class PumpContext:
    """The pump's state and recent events as far as they are known (None = unknown).

    ``*_within_days`` / ``*_recently`` flags mean "within the last few days" as decided by
    whoever builds the context (:data:`RECENT_DAYS` in :func:`pump_context_from_twin`;
    catheter revisions within :data:`SURGICAL_WEEKS`).
    """

    reservoir_low: bool | None = None
    reservoir_empty: bool | None = None
    alarm_sounding: tuple[str, ...] | None = None
    refill_within_24h: bool | None = None
    dose_raised_within_days: bool | None = None
    concentration_changed_recently: bool | None = None
    mri_within_days: bool | None = None
    catheter_revised_recently: bool | None = None
    weeks_since_implant: float | None = None
    therapy_stopped: bool | None = None
    pump_fault_suspected: bool | None = None
    # Beyond the brief's list: the pump may have delivered a large dose at once (a Prometra
    # "mri-discharge" alarm, PROM-MRI; an over-infusion, ANZCA). Raises overdose, never lowers.
    overdose_suspected: bool | None = None
    # The refill is past its due date (the refill-overdue finding, M-PUMP): the reservoir may
    # be low or empty without the pump saying so yet.
    refill_overdue: bool | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.name == "alarm_sounding":
                if isinstance(value, str) or not all(isinstance(c, str) for c in value):
                    raise InputError("alarm_sounding must be a list of alarm codes",
                                     where="alarm_sounding", fix="e.g. ['low-reservoir']")
                object.__setattr__(self, "alarm_sounding", tuple(value))
            elif f.name == "weeks_since_implant":
                if isinstance(value, bool) or not isinstance(value, (int, float)) \
                        or not math.isfinite(value) or value < 0:
                    raise InputError(f"weeks_since_implant {value!r} must be zero or more",
                                     where="weeks_since_implant", fix="give weeks as a number")
            elif not isinstance(value, bool):
                raise InputError(f"{f.name} must be true, false or unknown (null)",
                                 where=f.name, fix="write true or false, or leave it out")

    @property
    def critical_alarms(self) -> tuple[str, ...]:
        """Sounding alarms that mean therapy may have stopped (unknown codes count)."""
        return tuple(c for c in (self.alarm_sounding or ()) if c not in NON_CRITICAL_ALARM_CODES)

    @property
    def non_critical_alarms(self) -> tuple[str, ...]:
        return tuple(c for c in (self.alarm_sounding or ()) if c in NON_CRITICAL_ALARM_CODES)

    @property
    def therapy_at_risk(self) -> bool:
        """Known to be empty, stopped, faulty or critically alarming (AL-5)."""
        return bool(self.reservoir_empty or self.therapy_stopped or self.pump_fault_suspected
                    or self.critical_alarms)

    @property
    def recent_surgery(self) -> bool:
        """Implant or catheter revision within the surgical recovery window (≤ 8 weeks)."""
        recent_implant = (self.weeks_since_implant is not None
                          and self.weeks_since_implant <= SURGICAL_WEEKS)
        return bool(recent_implant or self.catheter_revised_recently)

    def as_dict(self) -> dict[str, object]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in fields(self)}


def pump_context_from_mapping(data: object) -> PumpContext:
    """Build a :class:`PumpContext` from a dict (CLI/API input); unknown keys are refused."""
    if data is None:
        return PumpContext()
    if not isinstance(data, dict):
        raise InputError("the pump context must be a mapping of field to value",
                         fix="e.g. {reservoir_empty: true}")
    names = {f.name for f in fields(PumpContext)}
    unknown = sorted(str(k) for k in data if k not in names)
    if unknown:
        raise InputError(f"unknown pump-context field(s): {', '.join(unknown)}",
                         fix="use: " + ", ".join(sorted(names)))
    values = dict(data)
    if isinstance(values.get("alarm_sounding"), list):
        values["alarm_sounding"] = tuple(values["alarm_sounding"])
    return PumpContext(**values)


# --- the twin adapter ---------------------------------------------------------------------------

def _get(state: Any, *names: str) -> Any:
    for name in names:
        value = getattr(state, name, None)
        if value is None and isinstance(state, dict):
            value = state.get(name)
        if value is not None:
            return value
    return None


def _within(at: datetime, then: Any, window: timedelta) -> bool | None:
    """True if ``then`` lies in (at − window, at]; None if ``then`` is not a usable datetime."""
    if not isinstance(then, datetime):
        return None
    try:
        delta = at - then
    except TypeError:  # naive vs aware: refuse to guess
        return None
    return timedelta(0) <= delta <= window


def _alarm_codes(alarms: Any) -> tuple[str, ...] | None:
    if alarms is None:
        return None
    if isinstance(alarms, dict):
        alarms = list(alarms.values())
    if isinstance(alarms, str) or not isinstance(alarms, Iterable):
        return None
    codes: list[str] = []
    for alarm in alarms:
        code = alarm if isinstance(alarm, str) else _get(alarm, "code", "kind", "name")
        if code is None:
            continue
        text = str(getattr(code, "value", code)).lower().replace("_", "-")
        priority = str(getattr(_get(alarm, "priority"), "value", _get(alarm, "priority")) or "")
        if text in NON_CRITICAL_ALARM_CODES and priority.lower() in {"high", "critical"}:
            text = f"{text}-high-priority"  # a high-priority alarm is never read as harmless
        codes.append(text)
    return tuple(dict.fromkeys(codes))


def pump_context_from_twin(state: Any, at: datetime, *, recent_days: float = RECENT_DAYS,
                           surgical_weeks: float = SURGICAL_WEEKS, empty_at_ml: float = 0.0,
                           use_injected_faults: bool = False) -> PumpContext:
    """Read a twin state (``replay(timeline, until).state_at(at)``) into a :class:`PumpContext`.

    Attributes read when present: ``reservoir_ml``, ``low_reservoir_alarm_ml``,
    ``pump_state``, ``alarms`` (each ``.code``, ``.priority``), ``last_refill_at``,
    ``last_dose_increase_at`` (else ``last_program_change_at``: any program change is
    counted as a possible dose increase, which can only raise urgency),
    ``concentration_changed_at``, ``last_mri_at``, ``last_catheter_revision_at``,
    ``implanted_at``, ``refill_due_by`` (past it: ``refill_overdue``). A missing attribute
    leaves its field unknown.

    ``active_faults`` (simulation only) are what the clinic cannot know; they are read only
    with ``use_injected_faults=True`` (a simulation that wants the triage to see them).
    An ``mri-discharge`` alarm sets ``overdose_suspected``.
    """
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise InputError("the time of the triage must be a timezone-aware datetime",
                         fix="give the time with its offset, e.g. 2026-03-01T09:00:00+01:00")
    recent = timedelta(days=recent_days)
    surgical = timedelta(weeks=surgical_weeks)

    reservoir = _get(state, "reservoir_ml")
    # The clinic knows the pump-calculated volume and the twin's estimate (re-anchored at the
    # last refill or interrogation), not the physical truth of a simulation: read the lower.
    views = [v for v in (_get(state, "pump_calculated_ml"), _get(state, "estimate_ml"))
             if isinstance(v, (int, float)) and math.isfinite(v)]
    if views and not use_injected_faults:
        reservoir = min(views)
    low_alarm = _get(state, "low_reservoir_alarm_ml")
    reservoir_ok = isinstance(reservoir, (int, float)) and math.isfinite(reservoir)
    reservoir_empty: bool | None = (float(reservoir) <= empty_at_ml) if reservoir_ok else None
    reservoir_low: bool | None = None
    if reservoir_ok and isinstance(low_alarm, (int, float)):
        reservoir_low = float(reservoir) <= float(low_alarm)

    alarms = _alarm_codes(_get(state, "alarms"))
    if alarms:
        if any("empty" in code for code in alarms):
            reservoir_empty = True
        if any("low-reservoir" in code or "reservoir-low" in code for code in alarms):
            reservoir_low = True

    pump_state = _get(state, "pump_state")
    state_text = str(getattr(pump_state, "value", pump_state)).lower() if pump_state else None
    therapy_stopped: bool | None = None
    if state_text is not None:
        therapy_stopped = any(word in state_text for word in _STOPPED_STATE_WORDS)
    if reservoir_empty:
        therapy_stopped = True

    fault: bool | None = None
    if alarms is not None:
        fault = any(word in code for code in alarms for word in _FAULT_ALARM_WORDS)
    if state_text is not None and any(w in state_text for w in ("fault", "stall", "reset")):
        fault = True

    overdose: bool | None = None
    if alarms is not None:
        overdose = any(code in OVERDOSE_ALARM_CODES for code in alarms)
    if use_injected_faults:
        injected = _get(state, "active_faults")
        if isinstance(injected, (tuple, list, set, frozenset)):
            kinds = {str(k) for k in injected}
            if kinds:
                fault = True
            if kinds & OVERDOSE_FAULTS:
                overdose = True

    implanted_at = _get(state, "implanted_at")
    weeks: float | None = None
    if isinstance(implanted_at, datetime):
        try:
            elapsed = (at - implanted_at).total_seconds() / (7 * 86400)
            weeks = elapsed if elapsed >= 0 else None
        except TypeError:
            weeks = None

    dose_change_at = _get(state, "last_dose_increase_at", "last_program_change_at")
    due = _get(state, "refill_due_by")
    overdue: bool | None = None
    if isinstance(due, datetime):
        try:
            overdue = at > due
        except TypeError:
            overdue = None
    return PumpContext(
        reservoir_low=reservoir_low,
        reservoir_empty=reservoir_empty,
        alarm_sounding=alarms,
        refill_within_24h=_within(at, _get(state, "last_refill_at"), timedelta(hours=24)),
        dose_raised_within_days=_within(at, dose_change_at, recent),
        concentration_changed_recently=_within(at, _get(state, "concentration_changed_at"),
                                               recent),
        mri_within_days=_within(at, _get(state, "last_mri_at"), recent),
        catheter_revised_recently=_within(at, _get(state, "last_catheter_revision_at"), surgical),
        weeks_since_implant=weeks,
        therapy_stopped=therapy_stopped,
        pump_fault_suspected=fault,
        overdose_suspected=overdose,
        refill_overdue=overdue,
    )


def pump_context_from_projection(projection: Projection | None, at: datetime) -> PumpContext:
    """What the triage knows about the pump at ``at`` from the twin's projection of the record:
    its state (:func:`pump_context_from_twin`) and, from the refill plan, whether the refill is
    past its due date (``refill_overdue``; the twin's state carries no refill date). Nothing
    recorded (``None``): every fact unknown.

    The one way a stored record becomes a triage context: the symptom report and the triage
    inbox that replays it both read it, so the inbox shows the triage the report got.
    """
    if projection is None:
        return PumpContext()
    context = pump_context_from_twin(projection.state, at)
    plan = projection.refill_plan
    if plan is not None and context.refill_overdue is None:
        context = replace(context, refill_overdue=at > plan.refill_due_by)
    return context
