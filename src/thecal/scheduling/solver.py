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
Objective, lexicographic by weight: book everyone who can be booked (refills missed mean
withdrawal risk, B-DOSE), keep earlier bookings, then as late as is safe (less drug discarded,
fewer visits: days of slack before the due date cost one each), home visits grouped by area,
patients' preferred days. Times within a session are then packed in order (home visits by area),
so a proposal is deterministic for a fixed seed and worker count.

Every patient it cannot book gets a reason code, words and an escalation to the on-call
clinician; a patient already past the due date is escalated without trying.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from thecal.errors import InputError
from thecal.scheduling.calendar import (
    Absence,
    ExistingBooking,
    Proposal,
    ProposedBooking,
    Session,
    Staff,
    Unscheduled,
    VisitRequest,
)

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

W_UNBOOKED: Final = 100_000  # a patient left unbooked outweighs any comfort of the others
W_MOVE: Final = 200  # moving an earlier booking to another session
W_SLACK_PER_DAY: Final = 10  # each day booked before the due date (as late as is safe)
W_AREA: Final = 15  # each extra area a home round has to visit
W_NOT_PREFERRED: Final = 8  # a day the patient did not prefer
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class SolverReport:
    status: str
    objective: float
    best_bound: float
    wall_s: float


def _at(value: datetime) -> str:
    """A time in words for reasons: to the minute, with its offset."""
    return value.isoformat(timespec="minutes")


def _fits_before(s: Session, r: VisitRequest) -> bool:
    """Whether a visit at the session's start would end by the due time."""
    return s.start + timedelta(minutes=s.slot_minutes * s.slots_for(r.visit_minutes)) <= r.refill_due_by


def _slots_before_due(s: Session, r: VisitRequest) -> int | None:
    """How many of the session's slots end by the due time, when the due time falls inside the session."""
    if r.refill_due_by >= s.end:
        return None
    return int((r.refill_due_by - s.start).total_seconds() // (60 * s.slot_minutes))


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
    """Why no session is a candidate for ``request`` (code, words)."""
    due = _at(request.refill_due_by)
    if request.refill_due_by <= start:
        return ("overdue", f"the refill was due by {due}, before the planning start: refill today "
                           "and never let the pump run dry (withdrawal risk)")
    in_time = [s for s in sessions if _fits_before(s, request) and s.start >= start
               and (request.earliest is None or s.start >= request.earliest)]
    if not in_time:
        return ("no-session-before-due", f"no session ends before the refill is due by {due}")
    kind = [s for s in in_time if s.kind == request.kind]
    if not kind:
        what = "home-visit round" if request.home_visit else "clinic session"
        return ("no-session-of-kind", f"no {what} before the refill is due by {due}")
    staffed = [s for s in kind if present[s.id]]
    if not staffed:
        return ("staff-absent", f"every {request.kind} session before {due} has all its staff absent")
    if request.needs_physician:
        return ("no-physician", f"the visit needs a physician and none is present in a {request.kind} "
                                f"session before {due}")
    fits = [s for s in staffed if s.slots_for(request.visit_minutes) <= s.slots]
    if not fits:
        return ("visit-too-long", f"a {request.visit_minutes}-minute visit fits no session before {due}")
    return ("sessions-full", f"every suitable session before the refill is due by {due} is full")


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

    from ortools.sat.python import cp_model  # loaded when a plan is asked for (a few seconds of import)

    model = cp_model.CpModel()
    choice: dict[tuple[str, str], cp_model.IntVar] = {}
    candidates: dict[str, list[Session]] = {}
    booked: dict[str, cp_model.IntVar] = {}
    objective: list[cp_model.LinearExprT] = []
    by_request = {r.patient_id: r for r in requests}
    for r in requests:
        options = _candidates(r, sessions, present, start)
        lock = locked.get(r.patient_id)
        if lock is not None:
            options = [session_by_id[lock.session_id]] if lock.session_id in session_by_id else []
        candidates[r.patient_id] = options
        if not options:
            continue
        xs = []
        for s in options:
            x = model.new_bool_var(f"x[{r.patient_id},{s.id}]")
            choice[(r.patient_id, s.id)] = x
            xs.append(x)
            slack_days = max(0, (r.refill_due_by - s.end).days)
            cost = W_SLACK_PER_DAY * slack_days
            if r.preferred_weekdays and s.start.weekday() not in r.preferred_weekdays:
                cost += W_NOT_PREFERRED
            prior = previous.get(r.patient_id)
            if prior is not None and prior.session_id != s.id:
                cost += W_MOVE
            if cost:
                objective.append(cost * x)
        b = model.new_bool_var(f"booked[{r.patient_id}]")
        model.add(sum(xs) == b)
        if lock is not None:
            model.add(b == 1)
        booked[r.patient_id] = b
        objective.append(W_UNBOOKED * (1 - b))

    hint = _greedy(requests, candidates, previous)
    area_vars: dict[tuple[str, str], cp_model.IntVar] = {}
    by_session: dict[str, list[tuple[str, cp_model.IntVar]]] = defaultdict(list)
    for (pid, sid), x in choice.items():
        by_session[sid].append((pid, x))
    for sid, entries in by_session.items():
        s = session_by_id[sid]
        model.add(sum(s.slots_for(by_request[pid].visit_minutes) * x for pid, x in entries) <= s.slots)
        for pid, x in entries:
            room = _slots_before_due(s, by_request[pid])
            if room is not None:  # the visits due no later than this one fit before its due time
                due = by_request[pid].refill_due_by
                ahead = [(q, xq) for q, xq in entries if by_request[q].refill_due_by <= due]
                model.add(sum(s.slots_for(by_request[q].visit_minutes) * xq for q, xq in ahead) <= room
                          ).only_enforce_if(x)
        if s.kind == "home":
            areas: dict[str, list[cp_model.IntVar]] = defaultdict(list)
            for pid, x in entries:
                areas[by_request[pid].area].append(x)
            if len(areas) > 1:
                for area, xs in areas.items():
                    visited = model.new_bool_var(f"area[{sid},{area}]")
                    area_vars[(sid, area)] = visited
                    model.add_max_equality(visited, xs)
                    objective.append(W_AREA * visited)
    model.minimize(sum(objective))
    for (pid, sid), x in choice.items():  # a greedy plan to start from (the solver improves on it)
        model.add_hint(x, hint.get(pid) == sid)
    for pid, b in booked.items():
        model.add_hint(b, pid in hint)
    for (sid, area), visited in area_vars.items():
        model.add_hint(visited, any(hint.get(pid) == sid and by_request[pid].area == area
                                    for pid, _ in by_session[sid]))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    code = solver.solve(model)
    status = solver.status_name(code)
    chosen: dict[str, list[str]] = defaultdict(list)
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        for (pid, sid), x in choice.items():
            if solver.boolean_value(x):
                chosen[sid].append(pid)
        objective_value, bound = solver.objective_value, solver.best_objective_bound
    else:  # no solution within the time limit: the greedy plan (it keeps every hard rule too)
        for pid, sid in hint.items():
            chosen[sid].append(pid)
        status, objective_value, bound = f"GREEDY ({status})", float("nan"), float("nan")
    bookings = _pack(chosen, session_by_id, by_request, previous, candidates)
    booked_ids = {b.patient_id for b in bookings}
    unscheduled = []
    for r in sorted(requests, key=lambda q: (q.refill_due_by, q.patient_id)):
        if r.patient_id in booked_ids:
            continue
        if candidates[r.patient_id]:
            code_, words = "sessions-full", (f"every suitable session before the refill is due by "
                                             f"{_at(r.refill_due_by)} is full")
        else:
            code_, words = _why_not(r, sessions, present, start)
        unscheduled.append(Unscheduled(r.patient_id, r.refill_due_by, code_,
                                       f"{words}; escalated to the on-call clinician"))
    changed = tuple(sorted(pid for pid, prior in previous.items()
                           if pid in by_request and not any(b.patient_id == pid and b.session_id == prior.session_id
                                                            and b.start == prior.start for b in bookings)))
    return Proposal(bookings=tuple(sorted(bookings, key=lambda b: (b.start, b.session_id, b.patient_id))),
                    unscheduled=tuple(unscheduled), status=status, objective=objective_value,
                    best_bound=bound, wall_s=time.perf_counter() - clock,
                    changed=changed)


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
            room = _slots_before_due(s, r)
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
    words = [f"{what} on {_WEEKDAYS[s.start.weekday()]} {s.start.date().isoformat()} "
             f"({s.place or s.id}), {slack:.1f} days before the refill is due by {r.refill_due_by.date().isoformat()}"]
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
        problems.append(("not-a-slot", f"{_at(start)} is not the start of a free run of {need} slot(s) "
                                       f"in session {session.id}"))
    if start < now:
        problems.append(("in-the-past", "the appointment would be in the past"))
    if end > request.refill_due_by:
        problems.append(("after-due", f"the visit would end after the refill is due by "
                                      f"{_at(request.refill_due_by)} (withdrawal risk)"))
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
