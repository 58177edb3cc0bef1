"""The clinic calendar through the service: sessions, proposal, accept, book/move/cancel, missed → escalation,
re-planning after a staff absence, and the hard rules refused on hand bookings (both back ends)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from thecal.errors import ConflictError, NotFoundError, PermissionDeniedError
from thecal.service import scheduling as cal
from thecal.service import worklist
from thecal.service.testing import NOW, World
from thecal.store.scheduling import escalations
from thecal.store.tables import projections


def _due(world: World, pid: int) -> datetime:
    with world.clinic.transaction() as conn:
        value = conn.execute(select(projections.c.refill_due_by).where(projections.c.patient_id == pid)).scalar()
    assert value is not None
    return value


def _session(world: World, start: datetime, staff: tuple[str, ...] = ("nurse",), kind: str = "clinic"
             ) -> cal.SessionView:
    return cal.add_session(world.clinic, world.actor("nurse"), kind=kind, start=start,
                           end=start + timedelta(hours=2), place="room 1", staff=list(staff))


def test_propose_accept_move_cancel_and_missed(world: World) -> None:
    nurse = world.actor("nurse")
    due = _due(world, world.patient_a)
    day = due.replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=3)
    early = _session(world, day - timedelta(days=7))
    late = _session(world, day, staff=("nurse", "clinician"))
    after = _session(world, due + timedelta(days=1))
    days = (due - NOW).days + 5
    proposal = cal.propose_schedule(world.clinic, nurse, start=NOW, days=days, time_limit_s=5)
    assert [(b.patient_id, b.session_id, b.start) for b in proposal.bookings] == [(world.patient_a, late.id, day)]
    assert proposal.as_dict()["bookings"][0].keys() == {"patient_id", "start", "end", "session_id",
                                                       "refill_due_by", "reason"}
    [booked] = cal.accept_bookings(world.clinic, nurse, [cal.BookingRequest(b.patient_id, b.session_id, b.start,
                                                                            b.reason) for b in proposal.bookings])
    assert booked.status == "booked" and booked.end == day + timedelta(minutes=30)
    with pytest.raises(ConflictError, match="already has appointment"):
        cal.book(world.clinic, nurse, cal.BookingRequest(world.patient_a, early.id, early.start))
    with pytest.raises(ConflictError, match="after the refill is due"):
        cal.move_booking(world.clinic, nurse, booked.id, session_id=after.id, start=after.start)
    with pytest.raises(ConflictError, match="not the start"):
        cal.move_booking(world.clinic, nurse, booked.id, session_id=early.id, start=early.start + timedelta(minutes=7))
    moved = cal.move_booking(world.clinic, nurse, booked.id, session_id=early.id, start=early.start)
    assert moved.session_id == early.id and moved.start == early.start
    with pytest.raises(NotFoundError):
        cal.move_booking(world.clinic, world.actor("clinician_b"), booked.id, session_id=early.id, start=early.start)
    missed = cal.mark_missed(world.clinic, nurse, moved.id)
    assert missed.status == "missed"
    with world.clinic.transaction() as conn:
        rows = conn.execute(select(escalations).where(escalations.c.resolved_at.is_(None))).mappings().all()
    assert [r["kind"] for r in rows] == ["missed-appointment"] and rows[0]["escalate_to"] == "on-call clinician"
    flagged = next(i for i in worklist(world.clinic, nurse) if i.patient_id == world.patient_a)
    assert flagged.reasons[0].startswith("escalated to the on-call clinician: missed the refill appointment")
    rebooked = cal.book(world.clinic, nurse, cal.BookingRequest(world.patient_a, late.id, late.start))
    with world.clinic.transaction() as conn:
        assert conn.execute(select(escalations).where(escalations.c.resolved_at.is_(None))).first() is None
    cancelled = cal.cancel_booking(world.clinic, nurse, rebooked.id, reason="patient in hospital")
    assert cancelled.status == "cancelled"


def test_replanning_after_an_absence_keeps_what_it_can(world: World) -> None:
    nurse = world.actor("nurse")
    due = _due(world, world.patient_a)
    day = due.replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=3)
    first = _session(world, day)
    second = _session(world, day - timedelta(days=2), staff=("clinician",))
    booked = cal.book(world.clinic, nurse, cal.BookingRequest(world.patient_a, first.id, first.start))
    days = (due - NOW).days + 5
    again = cal.propose_schedule(world.clinic, nurse, start=NOW, days=days, time_limit_s=5)
    assert [(b.session_id, b.start, b.kept) for b in again.bookings] == [(first.id, booked.start, True)]
    cal.add_absence(world.clinic, nurse, username="nurse", start=day - timedelta(hours=1), end=day + timedelta(hours=8),
                    reason="sick")
    replanned = cal.propose_schedule(world.clinic, nurse, start=NOW, days=days, time_limit_s=5)
    assert [(b.session_id, b.kept) for b in replanned.bookings] == [(second.id, False)]


def test_unbookable_patient_is_escalated_on_accept(world: World) -> None:
    nurse = world.actor("nurse")
    due = _due(world, world.patient_a)
    cal.set_visit_needs(world.clinic, nurse, world.patient_a, home_visit=True, area="north")
    _session(world, due - timedelta(days=5))  # a clinic room: the wrong kind for a home visit
    proposal = cal.propose_schedule(world.clinic, nurse, start=NOW, days=(due - NOW).days + 5, time_limit_s=5)
    assert not proposal.bookings
    [u] = proposal.unscheduled
    assert u.code == "no-session-of-kind" and "escalated to the on-call clinician" in u.reason
    cal.accept_bookings(world.clinic, nurse, [], proposal.unscheduled)
    with world.clinic.transaction() as conn:
        assert [r["kind"] for r in conn.execute(select(escalations)).mappings()] == ["cannot-book"]


def test_calendar_writes_need_a_staff_role(world: World) -> None:
    with pytest.raises(PermissionDeniedError):
        cal.add_session(world.clinic, world.actor("patient"), kind="clinic", start=NOW, end=NOW + timedelta(hours=1),
                        place="x", staff=["nurse"])
    _session(world, NOW + timedelta(days=1))
    with pytest.raises(ConflictError, match="already on session"):
        _session(world, NOW + timedelta(days=1, hours=1))


def test_patients_choose_a_slot_only_where_the_site_allows(world: World) -> None:
    from thecal.service import admin
    from thecal.service.actors import SYSTEM

    patient = world.actor("patient")
    due = _due(world, world.patient_a)
    in_window = _session(world, due.replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=3))
    too_early = _session(world, due - timedelta(days=30))
    assert cal.my_slots(world.clinic, patient, world.patient_a).slots == ()
    with pytest.raises(PermissionDeniedError, match="books refill appointments itself"):
        cal.choose_slot(world.clinic, patient, world.patient_a, session_id=in_window.id, start=in_window.start)
    admin.update_site_settings(world.clinic, SYSTEM, world.site_a, {"patients_choose_slot": True})
    mine = cal.my_slots(world.clinic, patient, world.patient_a)
    assert mine.allowed and {s.session_id for s in mine.slots} == {in_window.id}  # the window: 14 days before due
    with pytest.raises(ConflictError, match="earlier than your refill window"):
        cal.choose_slot(world.clinic, patient, world.patient_a, session_id=too_early.id, start=too_early.start)
    booked = cal.choose_slot(world.clinic, patient, world.patient_a, session_id=in_window.id,
                             start=mine.slots[1].start)
    assert booked.start == in_window.start + timedelta(minutes=30)
    again = cal.choose_slot(world.clinic, patient, world.patient_a, session_id=in_window.id, start=in_window.start)
    assert again.id == booked.id and again.start == in_window.start  # the same booking, moved
    with pytest.raises(NotFoundError):
        cal.my_slots(world.clinic, patient, world.patient_b)
