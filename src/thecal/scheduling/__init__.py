"""Refill-clinic scheduling: the clinic calendar as values and a CP-SAT scheduler over it.

Pure core (no database, no clock reads): :mod:`thecal.scheduling.calendar` holds the value
types (sessions, staff, absences, visit needs, bookings), :mod:`thecal.scheduling.solver`
proposes appointments and explains each booking and each patient it cannot book.
"""

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
from thecal.scheduling.solver import SolverReport, propose

__all__ = [
    "Absence",
    "ExistingBooking",
    "PhaseReport",
    "Proposal",
    "ProposedBooking",
    "Session",
    "SolverReport",
    "Staff",
    "Unscheduled",
    "VisitRequest",
    "propose",
]
