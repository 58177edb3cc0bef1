"""The clinic calendar as immutable values: sessions, staff, absences, visit needs, bookings.

A **session** is a block of time one team works through one visit at a time: a clinic room
(patients come in) or a home-visit round (the team drives to patients in an area). It is cut
into slots of ``slot_minutes``; a visit takes whole slots. A **visit request** is one patient
due for a refill: the conservative ``refill_due_by`` (never book after it), the visit length,
home or clinic, the area for a home visit, whether a physician must be there (for example a
planned concentration change) and the weekdays the patient prefers.

Home refills took a median of 26 minutes and every patient in that study preferred them
(GOUDMAN21): a 30-minute default slot fits one home refill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from thecal.errors import InputError
from thecal.sources import check_source

SessionKind = Literal["clinic", "home"]
StaffRole = Literal["nurse", "physician"]
SESSION_KINDS: Final = ("clinic", "home")
STAFF_ROLES: Final = ("nurse", "physician")
DEFAULT_VISIT_MINUTES: Final = 30  # GOUDMAN21: home refill median 26 min, rounded up to a slot
VISIT_SOURCE: Final = check_source("GOUDMAN21")
ESCALATE_TO: Final = "on-call clinician"


def _aware(value: datetime, what: str) -> None:
    if value.tzinfo is None:
        raise InputError(f"{what} needs a UTC offset", where=what)


@dataclass(frozen=True)
class Staff:
    """A member of the refill team; ``role`` says whether a physician-only visit can be done."""

    id: str
    role: StaffRole
    name: str = ""


@dataclass(frozen=True)
class Absence:
    """A staff member away from ``start`` to ``end`` (leave, sickness, training)."""

    staff_id: str
    start: datetime
    end: datetime
    reason: str = ""

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Session:
    """A clinic room or home-visit round: when, who, where, and how long a slot is."""

    id: str
    kind: SessionKind
    start: datetime
    end: datetime
    staff: tuple[str, ...]
    place: str = ""
    slot_minutes: int = DEFAULT_VISIT_MINUTES

    def __post_init__(self) -> None:
        _aware(self.start, "session.start")
        _aware(self.end, "session.end")
        if self.kind not in SESSION_KINDS:
            raise InputError(f"session kind {self.kind!r} is not clinic or home", where="session.kind")
        if self.end <= self.start:
            raise InputError(f"session {self.id} ends before it starts", where="session.end")
        if self.slot_minutes <= 0:
            raise InputError("slot length must be positive", where="session.slot_minutes")

    @property
    def slots(self) -> int:
        """How many whole slots the session holds."""
        return int((self.end - self.start).total_seconds() // (60 * self.slot_minutes))

    def slot_start(self, index: int) -> datetime:
        return self.start + timedelta(minutes=self.slot_minutes * index)

    def slots_for(self, visit_minutes: int) -> int:
        return max(1, math.ceil(visit_minutes / self.slot_minutes))


@dataclass(frozen=True)
class VisitRequest:
    """One patient due for a refill and what the visit needs."""

    patient_id: str
    refill_due_by: datetime
    visit_minutes: int = DEFAULT_VISIT_MINUTES
    home_visit: bool = False
    area: str = ""
    needs_physician: bool = False
    preferred_weekdays: tuple[int, ...] = ()  # Monday 0 … Sunday 6; empty: no preference
    earliest: datetime | None = None  # not before (e.g. the start of the refill window)

    def __post_init__(self) -> None:
        _aware(self.refill_due_by, "refill_due_by")
        if self.earliest is not None:
            _aware(self.earliest, "earliest")
        if self.visit_minutes <= 0:
            raise InputError("visit length must be positive", where="visit_minutes")
        if any(d not in range(7) for d in self.preferred_weekdays):
            raise InputError("preferred weekdays are 0 (Monday) to 6 (Sunday)", where="preferred_weekdays")

    @property
    def kind(self) -> SessionKind:
        return "home" if self.home_visit else "clinic"


@dataclass(frozen=True)
class ExistingBooking:
    """A booking already made; re-planning keeps it where it still can (``locked``: must)."""

    patient_id: str
    session_id: str
    start: datetime
    end: datetime
    locked: bool = False


@dataclass(frozen=True)
class ProposedBooking:
    """One proposed appointment with the reasons it is where it is."""

    patient_id: str
    session_id: str
    start: datetime
    end: datetime
    refill_due_by: datetime
    reason: str
    kept: bool = False  # the patient's earlier booking, kept

    def as_dict(self) -> dict[str, Any]:
        return {"patient_id": self.patient_id, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "session_id": self.session_id, "refill_due_by": self.refill_due_by.isoformat(),
                "reason": self.reason}


@dataclass(frozen=True)
class Unscheduled:
    """A patient the scheduler could not book before the due date: why, and who is told."""

    patient_id: str
    refill_due_by: datetime
    code: str
    reason: str
    escalate_to: str = ESCALATE_TO
    source: str = "B-DOSE"

    def as_dict(self) -> dict[str, Any]:
        return {"patient_id": self.patient_id, "refill_due_by": self.refill_due_by.isoformat(),
                "reason": self.reason}


@dataclass(frozen=True)
class PhaseReport:
    """One phase of the lexicographic solve, summed over the independent components.

    ``book-everyone``: the objective is the number of patients left unbooked who had a candidate
    session; ``comfort``: the weighted slack, area, preferred-day and moved-booking cost with that
    many booked. ``best_bound`` is the solver's proven lower bound.
    """

    name: str
    status: str
    objective: float
    best_bound: float
    wall_s: float

    @property
    def gap(self) -> float:
        """The relative optimality gap (0 when proven optimal; NaN when the phase has no bound)."""
        if self.status == "OPTIMAL":
            return 0.0
        return abs(self.objective - self.best_bound) / max(1.0, abs(self.objective))

    def as_dict(self) -> dict[str, Any]:
        def num(value: float) -> float | None:
            return None if math.isnan(value) else value

        return {"phase": self.name, "status": self.status, "objective": num(self.objective),
                "best_bound": num(self.best_bound), "gap": num(self.gap), "wall_s": round(self.wall_s, 3)}


@dataclass(frozen=True)
class Proposal:
    """The scheduler's answer: bookings, patients it could not book, and the solver's report."""

    bookings: tuple[ProposedBooking, ...]
    unscheduled: tuple[Unscheduled, ...]
    status: str
    objective: float
    best_bound: float
    wall_s: float
    changed: tuple[str, ...] = field(default=())  # patients whose earlier booking moved
    phases: tuple[PhaseReport, ...] = field(default=())  # the lexicographic phases, in order

    @property
    def gap(self) -> float:
        """The solver's relative optimality gap: the largest of the phases' (0 when all are
        proven optimal). ``objective`` and ``best_bound`` weigh an unbooked patient as 100,000."""
        if self.status == "OPTIMAL":
            return 0.0
        if self.phases:
            gaps = [p.gap for p in self.phases]
            return float("nan") if any(math.isnan(g) for g in gaps) else max(gaps)
        return abs(self.objective - self.best_bound) / max(1.0, abs(self.objective))

    def as_dict(self) -> dict[str, Any]:
        return {"bookings": [b.as_dict() for b in self.bookings],
                "unscheduled": [u.as_dict() for u in self.unscheduled]}
