"""Pump alarms: codes, IEC 60601-1-8 priorities, and the raised → acknowledged → cleared log.

Priorities follow safety-requirements AL-1 (IEC 60601-1-8 Table 1, paraphrased): what stops
the drug (empty reservoir, end of service, motor stall) is HIGH, because untreated severe
withdrawal can progress to death; what asks for a planned action (low reservoir, elective
replacement indicator) is MEDIUM. The SynchroMed's own tones agree: a two-tone critical alarm
for empty reservoir, end of service and motor stall; a single-tone non-critical alarm for low
reservoir and ERI (clinical-facts 1.10, 1.11; M-PUMP, GIL).

``battery-reset``: a failing battery may reset the pump, whose flow falls to a very low level;
the advisory says a pump alarm sounds (M-ADV). ``mri-valve-closed``: Prometra II's
flow-activated valve shuts flow in an MRI with drug in the reservoir (after at most 10 µL) and
delivery stays stopped until the pump is reset (PROM, PROM-MRI).

``mri-discharge`` is not a pump alarm: the twin raises it when a Prometra-family pump goes
into an MRI scan without having been emptied first (PROM-MRI: the field can open the valves
and discharge the reservoir and catheter contents at once), so the hazard cannot pass unseen.

Lifecycle (AL-4): an alarm is raised at an exact instant, may be acknowledged by an
``alarm-acknowledged`` event (which silences, it does not cure), and is cleared when its cause
is removed (a refill, a pump replacement, the end of a stall). Every step is logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from thecal.sources import check_source

Priority = Literal["high", "medium", "low"]

LOW_RESERVOIR: Final = "low-reservoir"
EMPTY_RESERVOIR: Final = "empty-reservoir"
ELECTIVE_REPLACEMENT: Final = "elective-replacement"
END_OF_SERVICE: Final = "end-of-service"
MOTOR_STALL: Final = "motor-stall"
MRI_DISCHARGE: Final = "mri-discharge"
MRI_VALVE_CLOSED: Final = "mri-valve-closed"
BATTERY_RESET: Final = "battery-reset"


@dataclass(frozen=True)
class AlarmKind:
    """One alarm the twin can raise: code, priority, words, and where the rule comes from."""

    code: str
    priority: Priority
    message: str
    source: str

    def __post_init__(self) -> None:
        check_source(self.source)


ALARM_KINDS: Final[dict[str, AlarmKind]] = {
    k.code: k for k in (
        AlarmKind(LOW_RESERVOIR, "medium",
                  "the reservoir has reached the low-reservoir alarm volume: refill soon",
                  "NSURG04"),
        AlarmKind(EMPTY_RESERVOIR, "high",
                  "the reservoir is empty: no drug is flowing (withdrawal risk)", "M-PUMP"),
        AlarmKind(ELECTIVE_REPLACEMENT, "medium",
                  "elective replacement indicator: replace the pump within 90 days", "M-REPL"),
        AlarmKind(END_OF_SERVICE, "high",
                  "end of service: the battery is exhausted and the pump has stopped", "M-REPL"),
        AlarmKind(MOTOR_STALL, "high",
                  "motor stall: the pump is not delivering drug", "M-MRI"),
        AlarmKind(MRI_DISCHARGE, "high",
                  "MRI with drug in a valve-gated pump: the field may have discharged the "
                  "reservoir and catheter contents at once (overdose risk)", "PROM-MRI"),
        AlarmKind(MRI_VALVE_CLOSED, "high",
                  "MRI with drug in the pump: the flow-activated valve has shut and delivery "
                  "stays stopped until the pump is reset (withdrawal risk)", "PROM"),
        AlarmKind(BATTERY_RESET, "high",
                  "the pump has reset: flow has fallen to a very low level (withdrawal risk); "
                  "interrogate and reprogram the pump", "M-ADV"),
    )
}


@dataclass(frozen=True)
class AlarmRecord:
    """One alarm in the log. ``cleared_at`` None: still active at the end of the replay."""

    code: str
    priority: Priority
    raised_at: datetime
    acknowledged_at: datetime | None
    cleared_at: datetime | None
    raised_h: float
    acknowledged_h: float | None
    cleared_h: float | None

    def active_at(self, t_h: float) -> bool:
        return self.raised_h <= t_h and (self.cleared_h is None or t_h < self.cleared_h)

    def acknowledged_by(self, t_h: float) -> bool:
        return self.acknowledged_h is not None and self.acknowledged_h <= t_h


@dataclass(frozen=True)
class ActiveAlarm:
    """An alarm that holds at a given instant."""

    code: str
    priority: Priority
    since: datetime
    acknowledged: bool


@dataclass
class _Entry:
    code: str
    raised_h: float
    acknowledged_h: float | None = None
    cleared_h: float | None = None


class AlarmBook:
    """The mutable alarm log kept while replaying; :meth:`records` freezes it."""

    __slots__ = ("_active", "_log")

    def __init__(self) -> None:
        self._log: list[_Entry] = []
        self._active: dict[str, _Entry] = {}

    def clone(self) -> AlarmBook:
        """A book that goes on from this one's active alarms (copies; the log starts empty)."""
        other = AlarmBook()
        for code, entry in self._active.items():
            copy = _Entry(entry.code, entry.raised_h, entry.acknowledged_h, entry.cleared_h)
            other._active[code] = copy
            other._log.append(copy)
        return other

    def is_active(self, code: str) -> bool:
        return code in self._active

    def raise_(self, code: str, t_h: float) -> None:
        if code not in ALARM_KINDS:
            raise KeyError(f"unknown alarm code {code!r}")
        if code not in self._active:
            entry = _Entry(code, t_h)
            self._active[code] = entry
            self._log.append(entry)

    def acknowledge(self, code: str, t_h: float) -> bool:
        """Acknowledge the active alarm ``code``; False when no such alarm is active."""
        entry = self._active.get(code)
        if entry is None:
            return False
        if entry.acknowledged_h is None:
            entry.acknowledged_h = t_h
        return True

    def clear(self, code: str, t_h: float) -> None:
        entry = self._active.pop(code, None)
        if entry is not None:
            entry.cleared_h = t_h

    def clear_all(self, t_h: float) -> None:
        for code in list(self._active):
            self.clear(code, t_h)

    def records(self, to_datetime: Callable[[float], datetime]) -> tuple[AlarmRecord, ...]:
        out = []
        for e in self._log:
            out.append(AlarmRecord(
                code=e.code, priority=ALARM_KINDS[e.code].priority,
                raised_at=to_datetime(e.raised_h),
                acknowledged_at=None if e.acknowledged_h is None else to_datetime(e.acknowledged_h),
                cleared_at=None if e.cleared_h is None else to_datetime(e.cleared_h),
                raised_h=e.raised_h, acknowledged_h=e.acknowledged_h, cleared_h=e.cleared_h))
        return tuple(out)


def active_alarms(log: tuple[AlarmRecord, ...], t_h: float) -> tuple[ActiveAlarm, ...]:
    """The alarms holding at ``t_h``, highest priority first (AL-3), then oldest first."""
    rank = {"high": 0, "medium": 1, "low": 2}
    held = [r for r in log if r.active_at(t_h)]
    held.sort(key=lambda r: (rank[r.priority], r.raised_h))
    return tuple(ActiveAlarm(r.code, r.priority, r.raised_at, r.acknowledged_by(t_h))
                 for r in held)
