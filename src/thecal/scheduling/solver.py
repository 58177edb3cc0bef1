"""Propose refill appointments with OR-Tools CP-SAT, and explain every one.

One boolean per (patient, candidate session). A session is a **candidate** for a patient only
if every hard rule already holds there, so the solver cannot break them:

* a visit at its start would end no later than the patient's conservative ``refill_due_by``,
  and it starts no earlier than the planning start (and the patient's ``earliest``, when given);
* it is of the visit's kind (home round for a home visit, clinic room otherwise);
* at least one of its staff is present for the whole session, and for a physician visit a
  physician is present (an absence covering any part of the session removes that person);
* no staff member works two sessions that overlap in time (the calendar is refused if so,
  which rules out double-booking staff).

The model adds the rest: each patient at most once; the slots booked in a session never exceed
its slots (a booking kept from an earlier plan and marked ``locked`` stays where it is); where the
due time falls inside a session, the visits due no later than it must fit in the slots before it
(earliest-due-first order within the session is then feasible, so every visit ends in time).

The objective is **lexicographic**, solved in two phases on each independent component
(:mod:`.problem`): phase 1 books everyone who can be booked (refills missed mean withdrawal risk,
B-DOSE); phase 2 keeps that many booked and minimises the comfort cost — keep earlier bookings, as
late as is safe (less drug discarded, fewer visits: each day of slack before the due date costs),
home visits grouped by area, patients' preferred days. Where every visit takes one slot, phase 1
and phase 2 without grouping are exact network flows (:mod:`.flow`); CP-SAT (:mod:`.cpsat`) then
searches only the grouping, from the flow's plan, above the bound of the linear relaxation
(:mod:`.bound`). Otherwise CP-SAT solves both phases. Times within a session are then packed in
order (home visits by area).

Every patient it cannot book gets a reason code, words and an escalation to the on-call
clinician; a patient already past the due date is escalated without trying.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from thecal.errors import InputError
from thecal.scheduling.bound import relaxation_bound
from thecal.scheduling.calendar import (
    Absence,
    ExistingBooking,
    PhaseReport,
    Proposal,
    ProposedBooking,
    Session,
    Staff,
    Unscheduled,
    VisitRequest,
)
from thecal.scheduling.cpsat import CpSatModel
from thecal.scheduling.flow import Network
from thecal.scheduling.problem import W_UNBOOKED, Component, components, slots_before


@dataclass(frozen=True)
class SolverReport:
    status: str
    objective: float
    best_bound: float
    wall_s: float


def _fits_before(s: Session, r: VisitRequest) -> bool:
    """Whether a visit at the session's start would end by the due time."""
    return s.start + timedelta(minutes=s.slot_minutes * s.slots_for(r.visit_minutes)) <= r.refill_due_by


def check_calendar(sessions: Sequence[Session], staff: Sequence[Staff]) -> None:
    """Refuse a calendar with unknown staff, repeated ids or one person in two overlapping sessions."""
    known = {s.id for s in staff}
    ids = [s.id for s in sessions]
    if len(set(ids)) != len(ids):
        raise InputError("two sessions share an id", where="sessions")
    by_staff: dict[str, list[Session]] = defaultdict(list)
    for session in sessions:
        if not session.staff:
            raise InputError(f"session {session.id} has no staff", where=f"sessions[{session.id}].staff")
        for member in session.staff:
            if member not in known:
                raise InputError(f"session {session.id} names unknown staff {member!r}",
                                 where=f"sessions[{session.id}].staff")
            by_staff[member].append(session)
    for member, booked in by_staff.items():
        booked.sort(key=lambda s: s.start)
        for a, b in itertools.pairwise(booked):
            if b.start < a.end:
                raise InputError(f"{member} is on sessions {a.id} and {b.id} at the same time",
                                 where="sessions", fix="give one of them other staff")


def present_staff(session: Session, staff: dict[str, Staff], absences: Iterable[Absence]) -> tuple[Staff, ...]:
    """The session's staff who are not absent at any time during it."""
    away = {a.staff_id for a in absences if a.overlaps(session.start, session.end)}
    return tuple(staff[m] for m in session.staff if m not in away)


def _why_not(request: VisitRequest, sessions: Sequence[Session], present: dict[str, tuple[Staff, ...]],
             start: datetime) -> tuple[str, str]:
    """Why no session is a candidate for ``request`` (code, words). The words name no time: the
    due time is the request's own field, which each face writes in its zone."""
    if request.refill_due_by <= start:
        return ("overdue", "the refill was due before the planning start: refill today and never "
                           "let the pump run dry (withdrawal risk)")
    in_time = [s for s in sessions if _fits_before(s, request) and s.start >= start
               and (request.earliest is None or s.start >= request.earliest)]
    if not in_time:
        return ("no-session-before-due", "no session ends before the refill is due")
    kind = [s for s in in_time if s.kind == request.kind]
    if not kind:
        what = "home-visit round" if request.home_visit else "clinic session"
        return ("no-session-of-kind", f"no {what} before the refill is due")
    staffed = [s for s in kind if present[s.id]]
    if not staffed:
        return ("staff-absent", f"every {request.kind} session before the refill is due has all "
                                "its staff absent")
    if request.needs_physician:
        return ("no-physician", f"the visit needs a physician and none is present in a {request.kind} "
                                "session before the refill is due")
    fits = [s for s in staffed if s.slots_for(request.visit_minutes) <= s.slots]
    if not fits:
        return ("visit-too-long", f"a {request.visit_minutes}-minute visit fits no session before "
                                  "the refill is due")
    return ("sessions-full", _FULL)


_FULL: Final = "every suitable session before the refill is due is full"


def _candidates(request: VisitRequest, sessions: Sequence[Session], present: dict[str, tuple[Staff, ...]],
                start: datetime) -> list[Session]:
    out = []
    for s in sessions:
        if s.kind != request.kind or not _fits_before(s, request) or s.start < start:
            continue
        if request.earliest is not None and s.start < request.earliest:
            continue
        people = present[s.id]
        if not people or (request.needs_physician and not any(p.role == "physician" for p in people)):
            continue
        if s.slots_for(request.visit_minutes) > s.slots:
            continue
        out.append(s)
    return out


def propose(requests: Sequence[VisitRequest], sessions: Sequence[Session], staff: Sequence[Staff],
            absences: Sequence[Absence] = (), existing: Sequence[ExistingBooking] = (), *,
            start: datetime, time_limit_s: float = 10.0, workers: int = 1, seed: int = 0) -> Proposal:
    """Propose one appointment per request where the hard rules allow; explain the rest.

    ``start`` is when planning begins (nothing is booked before it). ``existing`` are earlier
    bookings: re-planning keeps each where its session is still a candidate and has room.
    ``time_limit_s`` bounds the whole search (every component, both phases).
    """
    if start.tzinfo is None:
        raise InputError("the planning start needs a UTC offset", where="start")
    ids = [r.patient_id for r in requests]
    if len(set(ids)) != len(ids):
        raise InputError("a patient appears twice in the requests", where="requests")
    check_calendar(sessions, staff)
    staff_by_id = {s.id: s for s in staff}
    session_by_id = {s.id: s for s in sessions}
    present = {s.id: present_staff(s, staff_by_id, absences) for s in sessions}
    previous = {b.patient_id: b for b in existing}
    locked = {b.patient_id: b for b in existing if b.locked}
    clock = time.perf_counter()
    by_request = {r.patient_id: r for r in requests}
    candidates: dict[str, list[Session]] = {}
    for r in requests:
        options = _candidates(r, sessions, present, start)
        lock = locked.get(r.patient_id)
        if lock is not None:
            options = [session_by_id[lock.session_id]] if lock.session_id in session_by_id else []
        candidates[r.patient_id] = options
    hint = _greedy(requests, candidates, previous)

    plan: dict[str, str] = {}
    reports: list[tuple[PhaseReport, PhaseReport]] = []
    parts = components(requests, candidates, previous, set(locked))
    left = sum(len(c.costs) for c in parts)
    for part in parts:
        budget = max(0.0, time_limit_s - (time.perf_counter() - clock)) * len(part.costs) / max(1, left)
        left -= len(part.costs)
        chosen, pair = _solve(part, {p: hint[p] for p in part.requests if p in hint},
                              time_limit_s=budget, workers=workers, seed=seed)
        plan.update(chosen)
        reports.append(pair)
    phases = tuple(_sum_phases(name, [pair[i] for pair in reports]) for i, name in enumerate(PHASES))
    status = _overall_status(phases)
    chosen_by_session: dict[str, list[str]] = defaultdict(list)
    for pid, sid in plan.items():
        chosen_by_session[sid].append(pid)
    bookings = _pack(chosen_by_session, session_by_id, by_request, previous, candidates)
    booked_ids = {b.patient_id for b in bookings}
    unscheduled = []
    for r in sorted(requests, key=lambda q: (q.refill_due_by, q.patient_id)):
        if r.patient_id in booked_ids:
            continue
        if candidates[r.patient_id]:
            code_, words = "sessions-full", _FULL
        else:
            code_, words = _why_not(r, sessions, present, start)
        unscheduled.append(Unscheduled(r.patient_id, r.refill_due_by, code_,
                                       f"{words}; escalated to the on-call clinician"))
    changed = tuple(sorted(pid for pid, prior in previous.items()
                           if pid in by_request and not any(b.patient_id == pid and b.session_id == prior.session_id
                                                            and b.start == prior.start for b in bookings)))
    first, second = phases
    objective = W_UNBOOKED * first.objective + second.objective
    bound = W_UNBOOKED * first.best_bound + second.best_bound
    return Proposal(bookings=tuple(sorted(bookings, key=lambda b: (b.start, b.session_id, b.patient_id))),
                    unscheduled=tuple(unscheduled), status=status, objective=objective,
                    best_bound=bound, wall_s=time.perf_counter() - clock,
                    changed=changed, phases=phases)


PHASES: Final = ("book-everyone", "comfort")


def _solve(part: Component, greedy: dict[str, str], *, time_limit_s: float, workers: int,
           seed: int) -> tuple[dict[str, str], tuple[PhaseReport, PhaseReport]]:
    """Lexicographic: phase 1 books as many patients as can be booked; phase 2 keeps that many
    booked and minimises the comfort cost. One-slot components (no locked booking) solve phase 1
    and the slack/preference part of phase 2 as exact network flows (:mod:`.flow`); CP-SAT then
    only searches the area grouping, from the flow's plan and above its proven lower bound.
    Otherwise CP-SAT solves both phases, phase 1 from the greedy plan, phase 2 from phase 1's.
    """
    clock = time.perf_counter()
    n = len(part.requests)
    model: CpSatModel | None = None
    lower = 0
    if part.one_slot and not part.locked:
        network = Network(part)
        most = network.max_booked()
        first = PhaseReport(PHASES[0], "OPTIMAL", float(n - most), float(n - most), time.perf_counter() - clock)
        start, lower = network.cheapest(most)
        if not part.grouped:  # nothing left to search: the flow is the optimum
            return start, (first, PhaseReport(PHASES[1], "OPTIMAL", float(lower), float(lower),
                                              time.perf_counter() - clock - first.wall_s))
        lower = max(lower, _relaxation(part, most, time_limit_s, clock))
        model = CpSatModel(part)
    else:
        model = CpSatModel(part)
        model.hint(greedy)
        model.model.minimize(n - sum(model.booked.values()))
        found, first = model.solve(PHASES[0], time_limit_s=time_limit_s / 2, workers=workers, seed=seed)
        if found is None:  # no plan in time: the greedy one keeps the hard rules
            return greedy, (replace(first, status=f"GREEDY ({first.status})", objective=float(n - len(greedy))),
                            PhaseReport(PHASES[1], "NOT RUN", float(part.comfort_of(greedy)), float("nan"), 0.0))
        start, most = found, n - round(first.objective)
        if part.grouped:
            lower = _relaxation(part, most, time_limit_s, clock)
    model.model.add(sum(model.booked.values()) >= most)
    if lower:
        model.model.add(model.comfort >= lower)  # a proven bound, stated for the search
    model.hint(start)
    model.model.minimize(model.comfort)
    plan, second = model.solve(PHASES[1], time_limit_s=time_limit_s - (time.perf_counter() - clock),
                               workers=workers, seed=seed)
    if plan is None:  # no better plan in time: the start stands
        plan, second = start, replace(second, objective=float(part.comfort_of(start)), best_bound=float(lower))
    return plan, (first, replace(second, best_bound=max(second.best_bound, float(lower))))


def _relaxation(part: Component, booked: int, time_limit_s: float, clock: float) -> int:
    """The relaxation's bound on phase 2, which CP-SAT's own LP does not reach (see :mod:`.bound`),
    within half the time left."""
    return relaxation_bound(part, booked, time_limit_s=(time_limit_s - (time.perf_counter() - clock)) / 2)


def _sum_phases(name: str, reports: Sequence[PhaseReport]) -> PhaseReport:
    """One phase over every component: values and bounds add up; the status is the weakest."""
    statuses = {r.status for r in reports}
    greedy = sorted(s for s in statuses if s.startswith("GREEDY"))
    status = (greedy[0] if greedy else "OPTIMAL" if statuses <= {"OPTIMAL"}
              else "NOT RUN" if "NOT RUN" in statuses else "FEASIBLE")
    return PhaseReport(name, status, sum(r.objective for r in reports), sum(r.best_bound for r in reports),
                       sum(r.wall_s for r in reports))


def _overall_status(phases: Sequence[PhaseReport]) -> str:
    first = phases[0].status
    if first.startswith("GREEDY"):
        return first
    return "OPTIMAL" if all(p.status == "OPTIMAL" for p in phases) else "FEASIBLE"
def _greedy(requests: Sequence[VisitRequest], candidates: dict[str, list[Session]],
            previous: dict[str, ExistingBooking]) -> dict[str, str]:
    """Earliest due first, each into its earlier session if kept, else the latest session with room."""
    used: dict[str, int] = defaultdict(int)
    plan: dict[str, str] = {}
    for r in sorted(requests, key=lambda q: (q.refill_due_by, q.patient_id)):
        options = sorted(candidates[r.patient_id], key=lambda s: s.start, reverse=True)
        prior = previous.get(r.patient_id)
        if prior is not None:
            options.sort(key=lambda s: s.id != prior.session_id)
        for s in options:
            need = s.slots_for(r.visit_minutes)
            room = slots_before(s, r.refill_due_by)
            if used[s.id] + need <= (s.slots if room is None else room):
                used[s.id] += need
                plan[r.patient_id] = s.id
                break
    return plan


def _pack(chosen: dict[str, list[str]], sessions: dict[str, Session], requests: dict[str, VisitRequest],
          previous: dict[str, ExistingBooking], candidates: dict[str, list[Session]]) -> list[ProposedBooking]:
    """Give each chosen patient a time in the session and a reason."""
    out: list[ProposedBooking] = []
    for sid, pids in chosen.items():
        s = sessions[sid]
        free = [True] * s.slots
        placed: dict[str, int] = {}
        # An earlier booking in the same session keeps its time when that slot run is free.
        for pid in pids:
            prior = previous.get(pid)
            need = s.slots_for(requests[pid].visit_minutes)
            if prior is not None and prior.session_id == sid:
                index = int((prior.start - s.start).total_seconds() // (60 * s.slot_minutes))
                if 0 <= index <= s.slots - need and all(free[index:index + need]):
                    placed[pid] = index
                    free[index:index + need] = [False] * need
        def key(p: str, sess: Session = s) -> tuple[int, datetime, str, datetime, str]:
            r = requests[p]
            limited = r.refill_due_by < sess.end  # due inside the session: earliest-due first, ahead of the rest
            return (0 if limited else 1, r.refill_due_by if limited else sess.end,
                    r.area if sess.kind == "home" else "", r.refill_due_by, p)

        order = sorted((p for p in pids if p not in placed), key=key)
        for pid in order:
            need = s.slots_for(requests[pid].visit_minutes)
            found = next((i for i in range(s.slots - need + 1) if all(free[i:i + need])), None)
            if found is None:  # fragmented by kept times: pack the whole session in order again
                return _pack({**chosen, sid: pids}, sessions, requests,
                             {k: v for k, v in previous.items() if v.session_id != sid}, candidates)
            placed[pid] = found
            free[found:found + need] = [False] * need
        late = [p for p, i in placed.items()
                if s.slot_start(i) + timedelta(minutes=s.slot_minutes * s.slots_for(requests[p].visit_minutes))
                > requests[p].refill_due_by]
        if late and any(previous.get(p) is not None and previous[p].session_id == sid for p in pids):
            # a kept time pushed a visit past its due time: pack the session afresh, earliest due first
            return _pack(chosen, sessions, requests, {k: v for k, v in previous.items() if v.session_id != sid},
                         candidates)
        for pid, index in placed.items():
            r = requests[pid]
            begin = s.slot_start(index)
            end = begin + timedelta(minutes=s.slot_minutes * s.slots_for(r.visit_minutes))
            prior = previous.get(pid)
            kept = prior is not None and prior.session_id == sid
            out.append(ProposedBooking(pid, sid, begin, end, r.refill_due_by,
                                       _explain(r, s, pids, requests, candidates[pid], kept), kept))
    return out


def _explain(r: VisitRequest, s: Session, mates: list[str], requests: dict[str, VisitRequest],
             options: list[Session], kept: bool) -> str:
    slack = max(0.0, (r.refill_due_by - min(s.end, r.refill_due_by)).total_seconds() / 86400)
    what = "home visit" if r.home_visit else "clinic visit"
    # the session's time and the due time are the booking's own fields (each face writes them
    # in its zone): the words say where and how much before
    words = [f"{what} ({s.place or s.id}), {slack:.1f} days before the refill is due"]
    later = [o for o in options if o.end > s.end]
    if kept:
        words.append("the earlier booking is kept")
    elif not later:
        words.append("the latest suitable session before the due date")
    else:
        words.append(f"{len(later)} later suitable session(s) were full or fitted the clinic less well")
    if r.needs_physician:
        words.append("a physician is present")
    if r.home_visit and r.area:
        same = sum(1 for m in mates if requests[m].home_visit and requests[m].area == r.area) - 1
        if same:
            words.append(f"grouped with {same} other visit(s) in {r.area}")
    if r.preferred_weekdays:
        words.append("a preferred day" if s.start.weekday() in r.preferred_weekdays else "not a preferred day")
    return "; ".join(words)


def booking_problems(request: VisitRequest, session: Session, present: Sequence[Staff], start: datetime,
                     taken: Sequence[tuple[datetime, datetime]], *, now: datetime) -> list[tuple[str, str]]:
    """Why a booking made by hand would break a hard rule (empty when it is fine): the same rules
    the scheduler keeps, checked for one patient, session and start time."""
    problems: list[tuple[str, str]] = []
    need = session.slots_for(request.visit_minutes)
    offset = (start - session.start).total_seconds() / 60
    index = int(offset // session.slot_minutes)
    end = start + timedelta(minutes=need * session.slot_minutes)
    if offset < 0 or offset % session.slot_minutes or end > session.end:
        problems.append(("not-a-slot", f"the chosen time is not the start of a free run of {need} "
                                       f"slot(s) in session {session.id}"))
    if start < now:
        problems.append(("in-the-past", "the appointment would be in the past"))
    if end > request.refill_due_by:
        problems.append(("after-due", "the visit would end after the refill is due (withdrawal "
                                      "risk)"))
    if session.kind != request.kind:
        problems.append(("wrong-kind", f"the patient needs a {request.kind} visit, session {session.id} is "
                                       f"{session.kind}"))
    if not present:
        problems.append(("staff-absent", f"all staff of session {session.id} are absent"))
    elif request.needs_physician and not any(p.role == "physician" for p in present):
        problems.append(("no-physician", "the visit needs a physician and none is present in this session"))
    if any(a < end and start < b for a, b in taken):
        problems.append(("slot-taken", f"slot {index} of session {session.id} is already booked"))
    return problems
