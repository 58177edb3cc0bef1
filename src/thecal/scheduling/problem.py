"""One independent piece of a scheduling problem: its patients, their candidate sessions, and
the phase-2 ("comfort") cost of each possible booking.

Two patients interact only through a session both could take (its capacity), so patients linked
by shared candidate sessions form a **component**, and components are solved apart: the optimum
of the whole is the union of the components' optima (an exact decomposition, not a heuristic).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from thecal.scheduling.calendar import ExistingBooking, Session, VisitRequest

W_UNBOOKED: Final = 100_000  # a patient left unbooked outweighs any comfort of the others
W_MOVE: Final = 200  # moving an earlier booking to another session
W_SLACK_PER_DAY: Final = 10  # each day booked before the due date (as late as is safe)
W_AREA: Final = 15  # each extra area a home round has to visit
W_NOT_PREFERRED: Final = 8  # a day the patient did not prefer


def slots_before(s: Session, due: datetime) -> int | None:
    """How many of the session's slots end by ``due``, when ``due`` falls inside the session."""
    if due >= s.end:
        return None
    return int((due - s.start).total_seconds() // (60 * s.slot_minutes))


def comfort_cost(r: VisitRequest, s: Session, prior: ExistingBooking | None) -> int:
    """The comfort cost of booking ``r`` into ``s``: slack days, a day not preferred, a moved booking."""
    cost = W_SLACK_PER_DAY * max(0, (r.refill_due_by - s.end).days)
    if r.preferred_weekdays and s.start.weekday() not in r.preferred_weekdays:
        cost += W_NOT_PREFERRED
    if prior is not None and prior.session_id != s.id:
        cost += W_MOVE
    return cost


@dataclass(frozen=True)
class Component:
    """Patients linked by shared candidate sessions, with everything a solver needs about them."""

    requests: dict[str, VisitRequest]
    candidates: dict[str, tuple[Session, ...]]
    locked: frozenset[str]  # patients whose earlier booking must stay
    costs: dict[tuple[str, str], int]  # (patient, session) → comfort cost
    by_session: dict[str, tuple[str, ...]]  # session → the patients it is a candidate for
    sessions: dict[str, Session]
    grouped: frozenset[tuple[str, str]] = field(default=frozenset())  # (home session, area) with a cost

    @property
    def one_slot(self) -> bool:
        """Whether every possible booking takes exactly one slot (then the phases are network flows)."""
        return all(s.slots_for(self.requests[p].visit_minutes) == 1
                   for p, options in self.candidates.items() for s in options)

    def prefixes(self, sid: str) -> list[tuple[datetime, int, tuple[str, ...]]]:
        """The session's nested capacities: for each due time inside it, the slots before that time
        and the patients due by then (their visits must fit in those slots)."""
        s = self.sessions[sid]
        out = []
        dues = sorted({self.requests[p].refill_due_by for p in self.by_session[sid]
                       if self.requests[p].refill_due_by < s.end})
        for due in dues:
            room = slots_before(s, due)
            assert room is not None
            out.append((due, room, tuple(p for p in self.by_session[sid] if self.requests[p].refill_due_by <= due)))
        return out

    def comfort_of(self, plan: dict[str, str]) -> int:
        """The comfort cost of ``plan`` (patient → session), computed as the model would."""
        areas = {(sid, self.requests[pid].area) for pid, sid in plan.items()}
        return sum(self.costs[(pid, sid)] for pid, sid in plan.items()) + W_AREA * len(areas & self.grouped)


def components(requests: Sequence[VisitRequest], candidates: dict[str, list[Session]],
               previous: dict[str, ExistingBooking], locked: set[str]) -> list[Component]:
    """The independent components of the patients who have a candidate session, largest first."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    bookable = [r for r in requests if candidates[r.patient_id]]
    for r in bookable:
        mine = f"p:{r.patient_id}"
        parent.setdefault(mine, mine)
        for s in candidates[r.patient_id]:
            node = f"s:{s.id}"
            parent.setdefault(node, node)
            parent[root(mine)] = root(node)
    groups: dict[str, list[VisitRequest]] = defaultdict(list)
    for r in bookable:
        groups[root(f"p:{r.patient_id}")].append(r)
    out = []
    for group in sorted(groups.values(), key=lambda g: (-len(g), g[0].patient_id)):
        by_session: dict[str, list[str]] = defaultdict(list)
        sessions: dict[str, Session] = {}
        costs = {}
        for r in group:
            for s in candidates[r.patient_id]:
                by_session[s.id].append(r.patient_id)
                sessions[s.id] = s
                costs[(r.patient_id, s.id)] = comfort_cost(r, s, previous.get(r.patient_id))
        reqs = {r.patient_id: r for r in group}
        grouped = frozenset((sid, reqs[p].area) for sid, pids in by_session.items() if sessions[sid].kind == "home"
                            and len({reqs[q].area for q in pids}) > 1 for p in pids)
        out.append(Component(reqs, {r.patient_id: tuple(candidates[r.patient_id]) for r in group},
                             frozenset(p for p in reqs if p in locked), costs,
                             {sid: tuple(p) for sid, p in by_session.items()}, sessions, grouped))
    return out
