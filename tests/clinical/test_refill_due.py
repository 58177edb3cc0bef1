"""The refill-due state: overdue is said to be overdue (issue 11, point 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from thecal.clinical.refill_due import refill_due_state

BERLIN = ZoneInfo("Europe/Berlin")


def test_three_days_overdue_on_1_december() -> None:
    # due by Sat 28 Nov 2026 09:00 Berlin; on Tue 1 Dec 10:00 Berlin: 1 Dec − 28 Nov = 3 days
    due = datetime(2026, 11, 28, 9, tzinfo=BERLIN)
    state = refill_due_state(due, datetime(2026, 12, 1, 10, tzinfo=BERLIN), BERLIN)
    assert state.overdue and state.state == "overdue"
    assert state.days_overdue == 3 and state.days_left is None
    assert state.due_on.isoformat() == "2026-11-28"


def test_due_later_today_is_due_today_not_overdue() -> None:
    # 09:00 now, due at 17:00 the same Berlin day: not passed yet, 0 days left
    state = refill_due_state(datetime(2026, 12, 1, 17, tzinfo=BERLIN),
                             datetime(2026, 12, 1, 9, tzinfo=BERLIN), BERLIN)
    assert state.state == "due-today" and state.days_left == 0 and not state.overdue


def test_passed_an_hour_ago_is_overdue_by_zero_whole_days() -> None:
    state = refill_due_state(datetime(2026, 12, 1, 8, tzinfo=BERLIN),
                             datetime(2026, 12, 1, 9, tzinfo=BERLIN), BERLIN)
    assert state.overdue and state.days_overdue == 0


def test_the_calendar_day_is_the_patients() -> None:
    # 23:30 UTC on 27 Nov is 00:30 on 28 Nov in Berlin: the due day is the 28th there
    due = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    state = refill_due_state(due, datetime(2026, 11, 20, tzinfo=UTC), BERLIN)
    assert state.due_on.isoformat() == "2026-11-28" and state.days_left == 8


def test_unknown_without_a_date() -> None:
    assert refill_due_state(None, datetime(2026, 12, 1, tzinfo=UTC), BERLIN).state == "unknown"


@given(st.integers(min_value=-400 * 24, max_value=400 * 24))
def test_overdue_exactly_when_the_instant_has_passed(offset_h: int) -> None:
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    due = now + timedelta(hours=offset_h)
    state = refill_due_state(due, now, BERLIN)
    assert state.overdue == (due <= now)
    if state.overdue:
        assert state.days_overdue >= 0 and state.days_left is None
    else:
        assert state.days_left is not None and state.days_left >= 0
