"""Is the refill overdue? The state of a refill-due date as a patient must be told it.

The twin gives the instant by which the pump must be refilled (``refill_due_by``); this rule
turns it, at ``now`` and in the patient's own zone, into one of three states: *overdue* (the
instant has passed), *due-today* (it falls on today's calendar day) or *due* (later), with the
calendar day it falls on and the whole days past or left. A page never shows a passed due date
as a date to "book before": an overdue refill is said to be overdue (issue 11, point 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Literal

RefillDueState = Literal["overdue", "due-today", "due", "unknown"]


@dataclass(frozen=True)
class RefillDue:
    """Where a patient stands against the refill-due date.

    ``due_on`` is the calendar day of ``due_by`` in the patient's zone; ``days_overdue`` is
    the whole calendar days from that day to today (0 unless overdue); ``days_left`` the
    whole calendar days from today to that day (None when unknown or overdue).
    """

    state: RefillDueState
    due_by: datetime | None
    due_on: date | None
    today: date
    days_overdue: int = 0
    days_left: int | None = None

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"


def refill_due_state(due_by: datetime | None, now: datetime, zone: tzinfo) -> RefillDue:
    """The state of ``due_by`` at ``now`` (both aware) on the calendar of ``zone``.

    Worked example: due by Sat 28 Nov 2026 09:00 Berlin, now Tue 1 Dec 2026 10:00 Berlin →
    overdue, ``days_overdue`` = 1 Dec − 28 Nov = 3.
    """
    today = now.astimezone(zone).date()
    if due_by is None:
        return RefillDue("unknown", None, None, today)
    due_on = due_by.astimezone(zone).date()
    if now >= due_by:
        return RefillDue("overdue", due_by, due_on, today,
                         days_overdue=max((today - due_on).days, 0))
    left = (due_on - today).days
    return RefillDue("due-today" if left == 0 else "due", due_by, due_on, today,
                     days_left=left)
