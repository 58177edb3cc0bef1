"""The scheduler's hard rules on random clinics, golden cases worked out by hand, and its
lexicographic phases: the exact network flows agree with CP-SAT solving the same phase to
optimality, and the relaxation bound never exceeds the optimum."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.errors import InputError
from thecal.scheduling import (
    Absence,
    ExistingBooking,
    Proposal,
    Session,
    Staff,
    VisitRequest,
    propose,
)
from thecal.scheduling.bound import relaxation_bound
from thecal.scheduling.cpsat import CpSatModel
from thecal.scheduling.flow import Network
from thecal.scheduling.problem import Component, components
from thecal.scheduling.solver import _candidates, present_staff

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday
STAFF = (Staff("nurse-a", "nurse"), Staff("nurse-b", "nurse"), Staff("dr-c", "physician"))


def _day(d: int, h: float) -> datetime:
    return T0 + timedelta(days=d, hours=h)


@st.composite
def clinics(draw: st.DrawFn) -> tuple[list[VisitRequest], list[Session], list[Absence], list[ExistingBooking]]:
    sessions: list[Session] = []
    for day in range(draw(st.integers(2, 8))):
        # morning session for nurse-a (+ maybe the physician), afternoon for nurse-b: never overlapping staff
        kind = draw(st.sampled_from(["clinic", "home"]))
        team = ("nurse-a", "dr-c") if draw(st.booleans()) else ("nurse-a",)
        sessions.append(Session(f"m{day}", kind, _day(day, 2), _day(day, 2 + draw(st.sampled_from([1, 2, 3]))),
                                team, slot_minutes=draw(st.sampled_from([15, 30]))))
        if draw(st.booleans()):
            sessions.append(Session(f"a{day}", draw(st.sampled_from(["clinic", "home"])), _day(day, 6),
                                    _day(day, 8), ("nurse-b",), slot_minutes=30))
    absences = [Absence(draw(st.sampled_from([s.id for s in STAFF])), _day(d, 0), _day(d, 24))
                for d in draw(st.lists(st.integers(0, 8), max_size=3))]
    requests = [VisitRequest(f"p{i}", _day(draw(st.integers(-1, 9)), draw(st.sampled_from([0, 5, 12]))),
                             visit_minutes=draw(st.sampled_from([20, 30, 45, 60])),
                             home_visit=draw(st.booleans()), area=draw(st.sampled_from(["north", "south", "east"])),
                             needs_physician=draw(st.booleans()),
                             preferred_weekdays=tuple(draw(st.sets(st.integers(0, 6), max_size=3))))
                for i in range(draw(st.integers(0, 25)))]
    existing = []
    for r in requests[: draw(st.integers(0, 3))]:
        s = draw(st.sampled_from(sessions))
        existing.append(ExistingBooking(r.patient_id, s.id, s.start, s.start + timedelta(minutes=30)))
    return requests, sessions, absences, existing


def check_hard_rules(p: Proposal, requests: list[VisitRequest], sessions: list[Session],
                     absences: list[Absence], start: datetime) -> None:
    by_id = {s.id: s for s in sessions}
    req = {r.patient_id: r for r in requests}
    staff = {s.id: s for s in STAFF}
    seen = [b.patient_id for b in p.bookings] + [u.patient_id for u in p.unscheduled]
    assert sorted(seen) == sorted(req), "every patient is booked or explained, exactly once"
    used: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for b in p.bookings:
        r, s = req[b.patient_id], by_id[b.session_id]
        assert b.end <= r.refill_due_by, "never after refill_due_by"
        assert b.start >= start and s.start <= b.start < b.end <= s.end
        assert s.kind == ("home" if r.home_visit else "clinic"), "the right kind of session"
        people = present_staff(s, staff, absences)
        assert people, "someone is there"
        if r.needs_physician:
            assert any(m.role == "physician" for m in people), "a physician is there"
        assert (b.end - b.start) >= timedelta(minutes=r.visit_minutes)
        used[s.id].append((b.start, b.end))
        assert b.reason
    for spans in used.values():
        spans.sort()
        for (_, end_a), (start_b, _) in itertools.pairwise(spans):
            assert end_a <= start_b, "no two visits at once in one session"
    for u in p.unscheduled:
        assert "escalated to the on-call clinician" in u.reason and u.escalate_to == "on-call clinician"


@settings(max_examples=40)
@given(clinics())
def test_hard_rules_hold_on_random_clinics(clinic: tuple) -> None:
    requests, sessions, absences, existing = clinic
    p = propose(requests, sessions, STAFF, absences, existing, start=T0, time_limit_s=2.0)
    check_hard_rules(p, requests, sessions, absences, T0)


@settings(max_examples=15)
@given(clinics())
def test_the_greedy_start_keeps_the_hard_rules_too(clinic: tuple) -> None:
    # With no time to search, the proposal is the greedy plan the solver would start from.
    requests, sessions, absences, existing = clinic
    p = propose(requests, sessions, STAFF, absences, existing, start=T0, time_limit_s=1e-9)
    check_hard_rules(p, requests, sessions, absences, T0)


def test_books_as_late_as_is_safe() -> None:
    # Sessions Monday, Wednesday, Friday 09:00–12:00 UTC. Due Friday 08:00: Friday's session starts
    # after the due time, so Wednesday (ends 12:00, 1.8 days before) is the latest safe one.
    sessions = [Session(f"s{d}", "clinic", _day(d, 2), _day(d, 5), ("nurse-a",)) for d in (0, 2, 4)]
    p = propose([VisitRequest("p1", _day(4, 1))], sessions, STAFF, start=T0)
    assert [(b.session_id, b.start) for b in p.bookings] == [("s2", _day(2, 2))]
    assert "the latest suitable session before the due date" in p.bookings[0].reason
    assert p.status == "OPTIMAL" and p.gap == 0.0


def test_a_due_time_inside_a_session_books_the_slots_before_it() -> None:
    # One session Thursday 09:00–12:00 (six 30-minute slots). p1, p2, p3 are due at 10:00: only the
    # 09:00 and 09:30 slots end by then, so two of them are booked there and one is escalated. p4 is
    # due at 10:30 and takes 10:00 (ends 10:30, its due time); p5, due next week, fits after.
    s = Session("thu", "clinic", _day(3, 2), _day(3, 5), ("nurse-a",))
    requests = [VisitRequest(f"p{i}", _day(3, 3)) for i in (1, 2, 3)]
    requests += [VisitRequest("p4", _day(3, 3.5)), VisitRequest("p5", _day(9, 0))]
    p = propose(requests, [s], STAFF, start=T0)
    got = {b.patient_id: b.start for b in p.bookings}
    assert sorted(t for pid, t in got.items() if pid in ("p1", "p2", "p3")) == [_day(3, 2), _day(3, 2.5)]
    assert got["p4"] == _day(3, 3) and got["p5"] >= _day(3, 3.5)
    assert [u.code for u in p.unscheduled] == ["sessions-full"]
    assert all(b.end <= b.refill_due_by for b in p.bookings)


def test_capacity_pushes_the_second_patient_earlier_and_explains() -> None:
    # One-slot sessions (30 min) on day 0 and day 2; two patients due on day 3: one goes to day 2,
    # the other to day 0 — and says a later session was full.
    sessions = [Session(f"s{d}", "clinic", _day(d, 2), _day(d, 2.5), ("nurse-a",)) for d in (0, 2)]
    p = propose([VisitRequest("p1", _day(3, 0)), VisitRequest("p2", _day(3, 0))], sessions, STAFF, start=T0)
    assert sorted(b.session_id for b in p.bookings) == ["s0", "s2"]
    early = next(b for b in p.bookings if b.session_id == "s0")
    assert "1 later suitable session(s) were full" in early.reason


def test_unbookable_patients_are_explained_and_escalated() -> None:
    sessions = [Session("s0", "clinic", _day(0, 2), _day(0, 2.5), ("nurse-a",)),
                Session("h1", "home", _day(1, 2), _day(1, 4), ("nurse-b",))]
    requests = [VisitRequest("late", _day(-1, 0)),
                VisitRequest("doc", _day(3, 0), needs_physician=True),
                VisitRequest("a", _day(3, 0)), VisitRequest("b", _day(3, 0)),
                VisitRequest("home-away", _day(3, 0), home_visit=True)]
    absences = [Absence("nurse-b", _day(1, 0), _day(2, 0), "leave")]
    p = propose(requests, sessions, STAFF, absences, start=T0)
    codes = {u.patient_id: u.code for u in p.unscheduled}
    assert codes["late"] == "overdue"
    assert codes["doc"] == "no-physician"
    assert codes["home-away"] == "staff-absent"
    # s0 has one 30-minute slot: one of a and b is booked, the other finds it full.
    assert [b.patient_id for b in p.bookings] in (["a"], ["b"])
    other = "b" if p.bookings[0].patient_id == "a" else "a"
    assert codes[other] == "sessions-full" and len(codes) == 4


def test_replanning_after_an_absence_keeps_what_it_can() -> None:
    # Two sessions with room; p1 and p2 were booked in s2 (nurse-a) and s1 (nurse-b). nurse-b is
    # now absent on day 1: p2 moves, p1 keeps its session and time.
    sessions = [Session("s1", "clinic", _day(1, 2), _day(1, 4), ("nurse-b",)),
                Session("s2", "clinic", _day(2, 2), _day(2, 4), ("nurse-a",))]
    existing = [ExistingBooking("p1", "s2", _day(2, 3), _day(2, 3.5)),
                ExistingBooking("p2", "s1", _day(1, 2), _day(1, 2.5))]
    requests = [VisitRequest("p1", _day(5, 0)), VisitRequest("p2", _day(5, 0))]
    p = propose(requests, sessions, STAFF, [Absence("nurse-b", _day(1, 0), _day(1, 12))], existing, start=T0)
    got = {b.patient_id: b for b in p.bookings}
    assert got["p1"].session_id == "s2" and got["p1"].start == _day(2, 3) and got["p1"].kept
    assert got["p2"].session_id == "s2" and got["p2"].start != _day(2, 3)
    assert p.changed == ("p2",)


def test_home_visits_grouped_by_area() -> None:
    # Two home rounds with room for two each; two patients in north, two in south, all due on day 5:
    # each round visits one area.
    sessions = [Session(f"h{d}", "home", _day(d, 2), _day(d, 3), ("nurse-a",)) for d in (1, 2)]
    requests = [VisitRequest(f"{a}{i}", _day(5, 0), home_visit=True, area=a) for a in ("north", "south")
                for i in range(2)]
    p = propose(requests, sessions, STAFF, start=T0)
    areas = defaultdict(set)
    for b in p.bookings:
        areas[b.session_id].add(b.patient_id[:5])
    assert len(p.bookings) == 4 and all(len(a) == 1 for a in areas.values())


def test_a_calendar_with_one_person_in_two_places_is_refused() -> None:
    sessions = [Session("s1", "clinic", _day(1, 2), _day(1, 4), ("nurse-a",)),
                Session("s2", "home", _day(1, 3), _day(1, 5), ("nurse-a",))]
    with pytest.raises(InputError, match="at the same time"):
        propose([], sessions, STAFF, start=T0)


# ----------------------------------------------------------------- the lexicographic phases

@st.composite
def one_slot_clinics(draw: st.DrawFn) -> tuple[list[VisitRequest], list[Session]]:
    """Every visit takes one slot (30 min in 30-min slots); due times often inside sessions."""
    sessions: list[Session] = []
    for day in range(draw(st.integers(1, 5))):
        sessions.append(Session(f"m{day}", draw(st.sampled_from(["clinic", "home"])), _day(day, 2),
                                _day(day, 2 + draw(st.sampled_from([0.5, 1, 1.5, 2]))),
                                ("nurse-a", "dr-c") if draw(st.booleans()) else ("nurse-a",)))
        if draw(st.booleans()):
            sessions.append(Session(f"a{day}", draw(st.sampled_from(["clinic", "home"])), _day(day, 6),
                                    _day(day, 7), ("nurse-b",)))
    requests = [VisitRequest(f"p{i}", _day(draw(st.integers(0, 6)), draw(st.sampled_from([2.5, 3, 6.5, 12]))),
                             home_visit=draw(st.booleans()), area=draw(st.sampled_from(["north", "south", "east"])),
                             needs_physician=draw(st.booleans()),
                             preferred_weekdays=tuple(draw(st.sets(st.integers(0, 6), max_size=2))))
                for i in range(draw(st.integers(1, 14)))]
    return requests, sessions


def _parts(requests: list[VisitRequest], sessions: list[Session]) -> list[Component]:
    present = {s.id: present_staff(s, {m.id: m for m in STAFF}, ()) for s in sessions}
    candidates = {r.patient_id: _candidates(r, sessions, present, T0) for r in requests}
    return components(requests, candidates, {}, set())


def _cpsat_optimum(part: Component, *, booked: int | None = None) -> tuple[int, int]:
    """CP-SAT alone, solved to optimality: the most patients booked, then the least comfort cost."""
    model = CpSatModel(part)
    model.model.maximize(sum(model.booked.values()))
    plan, first = model.solve("book-everyone", time_limit_s=30, workers=1, seed=0)
    assert plan is not None and first.status == "OPTIMAL"
    most = round(first.objective) if booked is None else booked
    model.model.add(sum(model.booked.values()) >= most)
    model.model.minimize(model.comfort)
    plan, second = model.solve("comfort", time_limit_s=30, workers=1, seed=0)
    assert plan is not None and second.status == "OPTIMAL"
    return most, round(second.objective)


@settings(max_examples=40, deadline=None)
@given(one_slot_clinics())
def test_the_flows_agree_with_cpsat(clinic: tuple) -> None:
    for part in _parts(*clinic):
        assert part.one_slot
        network = Network(part)
        most = network.max_booked()
        best, comfort = _cpsat_optimum(part)
        assert most == best, "phase 1: the maximum flow is the most patients CP-SAT can book"
        plan, cost = network.cheapest(most)
        assert len(plan) == most and part.comfort_of(plan) >= cost
        if not part.grouped:
            assert cost == comfort, "phase 2 without area grouping: the minimum-cost flow is the optimum"
        else:
            assert cost <= comfort, "without the area term the flow is a lower bound"
        assert relaxation_bound(part, most, time_limit_s=10) <= comfort, "the relaxation never exceeds the optimum"


@settings(max_examples=30, deadline=None)
@given(one_slot_clinics())
def test_one_slot_clinics_keep_the_hard_rules_through_the_flows(clinic: tuple) -> None:
    requests, sessions = clinic
    p = propose(requests, sessions, STAFF, start=T0, time_limit_s=2.0)
    check_hard_rules(p, requests, sessions, [], T0)
    first = p.phases[0]
    assert first.name == "book-everyone" and first.status == "OPTIMAL" and first.gap == 0.0
    assert first.objective == sum(1 for u in p.unscheduled if u.code == "sessions-full")


def test_phase_one_books_the_most_even_against_the_comfort_of_the_others() -> None:
    # One 30-minute slot on Monday and one on Wednesday. "early" is due Tuesday (only Monday fits);
    # "late" is due Friday (either fits; Wednesday is later, so more comfortable). Booking "late" on
    # Monday leaves Wednesday empty but books both: 2 booked beats any comfort.
    sessions = [Session("mon", "clinic", _day(0, 2), _day(0, 2.5), ("nurse-a",)),
                Session("wed", "clinic", _day(2, 2), _day(2, 2.5), ("nurse-a",))]
    requests = [VisitRequest("late", _day(4, 0)), VisitRequest("early", _day(1, 0))]
    p = propose(requests, sessions, STAFF, start=T0)
    assert {b.patient_id: b.session_id for b in p.bookings} == {"early": "mon", "late": "wed"}
    assert p.status == "OPTIMAL" and [ph.status for ph in p.phases] == ["OPTIMAL", "OPTIMAL"]
    # comfort: Wednesday's slot ends 09:30, "late" is due Friday 07:00 → 1 whole day of slack (10);
    # Monday's ends 09:30, "early" is due Tuesday 07:00 → 21.5 h, 0 whole days (0). Total 10.
    assert p.phases[1].objective == 10 and p.phases[0].objective == 0


def test_grouping_is_searched_above_the_relaxation_bound() -> None:
    # Four home visits, two areas, two one-hour rounds (two slots each) on Tuesday and Wednesday, all
    # due Friday: the best plan gives each round one area. Slack: Tuesday's round ends 10:00 Tuesday,
    # 2 whole days before Friday 07:00 → 20 each; Wednesday's 1 day → 10 each: 60 for the four, plus
    # one area per round (15 + 15) = 90, and no plan is cheaper.
    sessions = [Session(f"h{d}", "home", _day(d, 2), _day(d, 3), ("nurse-a",)) for d in (1, 2)]
    requests = [VisitRequest(f"{a}{i}", _day(4, 0), home_visit=True, area=a) for a in ("north", "south")
                for i in range(2)]
    p = propose(requests, sessions, STAFF, start=T0, time_limit_s=10)
    assert p.phases[1].objective == 90 and p.status == "OPTIMAL"
    part = _parts(requests, sessions)[0]
    assert part.grouped and relaxation_bound(part, 4, time_limit_s=5) <= 90
    assert all(b.end <= b.refill_due_by for b in p.bookings)
    assert max(b.end for b in p.bookings) - min(b.start for b in p.bookings) > timedelta(hours=1)
