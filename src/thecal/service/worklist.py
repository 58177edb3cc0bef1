"""The worklist: a site's patients, most in need of attention first, with the reasons.

The priority rule is :func:`thecal.clinical.worklist.worklist_priority`, asked of the facts
of each patient's stored projection summary (kept with every append) at *now*. The database
orders the patients by the same rules (:mod:`thecal.store.worklist`) and returns only the
rows shown, so a large site costs little more than a small one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field, computed_field
from sqlalchemy import ColumnElement, Connection

from thecal.clinical.confirmation import ConfirmationState, confirmation_state
from thecal.clinical.triage import Urgency
from thecal.clinical.worklist import Priority, worklist_priority
from thecal.limits import Reason
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.escalation import escalate_overdue
from thecal.service.results import Instant
from thecal.store import auth as auth_store
from thecal.store import worklist as worklist_store

__all__ = ["WorklistItem", "confirmation_states", "days_of_drug_left", "worklist"]


@dataclass(frozen=True)
class WorklistItem:
    """One patient on the worklist: who, the priority (weight, urgency, reasons), the dates.

    The API's answer itself: ``priority`` is written as its weight, its reasons as
    ``reasons``."""

    patient_id: int
    mrn: str
    display_name: str
    priority: Annotated[Priority, Field(exclude=True)]
    refill_due_by: Instant | None = None
    low_reservoir_alarm_at: Instant | None = None
    empty_at: Instant | None = None
    triage_urgency: Urgency | None = None
    escalations: tuple[str, ...] = ()  # open escalations (could not be booked in time, missed a visit)
    days_of_drug_left: float | None = None  # the projection's, at its conservative edge

    @computed_field(alias="priority")  # type: ignore[prop-decorator]
    @property
    def weight(self) -> int:
        """Where the rule puts the patient (heaviest first)."""
        return self.priority.weight

    @computed_field  # type: ignore[prop-decorator]
    @property
    def urgency(self) -> Urgency | None:
        """The highest urgency of the fired rules; None: nothing due."""
        return self.priority.urgency

    @computed_field(alias="reasons")  # type: ignore[prop-decorator]
    @property
    def rule_reasons(self) -> tuple[Reason, ...]:
        """The fired rules' reasons, heaviest first."""
        return self.priority.reasons

    @property
    def reasons(self) -> tuple[str, ...]:
        """The reasons in words, heaviest first (open escalations flagged before them)."""
        return (*self.escalations, *(r.message for r in self.priority.reasons))


def item_of(row: worklist_store.WorklistRow, now: datetime,
            confirmations: Sequence[ConfirmationState] = ()) -> WorklistItem:
    """A stored row as a worklist item at ``now`` (the rule asked of its facts, with the
    patient's open second-signature ``confirmations``)."""
    f = replace(row.facts, confirmations=tuple(confirmations)) if confirmations else row.facts
    return WorklistItem(row.patient_id, row.mrn, row.display_name, worklist_priority(f, now),
                        f.refill_due_by, f.low_reservoir_alarm_at, f.empty_at, f.triage_urgency,
                        days_of_drug_left=days_of_drug_left(row, now))


def days_of_drug_left(row: worklist_store.WorklistRow, now: datetime) -> float | None:
    """Days to the earliest empty at ``now``, as a projection at ``now`` gives them; None: no
    empty date in the stored summary.

    The earliest empty applies the pump's accuracy to what it was set to deliver since the
    last measurement, so it stays where the stored summary put it until a new event: the days
    left are the time to it (to the nominal empty where the summary has no earliest).
    """
    empty = row.facts.empty_at
    if empty is None:
        return None
    edge = row.empty_earliest_at or empty
    return max((edge - now).total_seconds() / 86400.0, 0.0)


def ordered(items: list[WorklistItem]) -> list[WorklistItem]:
    """Heaviest priority first; ties: the earlier refill, then the patient id."""
    far = datetime.max.replace(tzinfo=UTC)

    def key(i: WorklistItem) -> tuple[int, datetime, int]:
        return (-i.priority.weight, i.refill_due_by or far, i.patient_id)

    return sorted(items, key=key)


def confirmation_states(conn: Connection, now: datetime,
                        visible: ColumnElement[bool] | None = None
                        ) -> dict[int, tuple[ConfirmationState, ...]]:
    """Each (visible) patient's open second-signature confirmations at ``now``."""
    states: dict[int, list[ConfirmationState]] = {}
    for row in auth_store.open_confirmations(conn, visible):
        states.setdefault(int(row["patient_id"]), []).append(confirmation_state(
            due_at=row["expires_at"], now=now,
            what=str(row["payload"].get("summary") or "refill")))
    return {pid: tuple(found) for pid, found in states.items()}


def worklist(clinic: Clinic, actor: Actor, *, limit: int = 100) -> list[WorklistItem]:
    """The actor's site and care-team patients, most urgent first (ties: earliest refill);
    overdue second-signature confirmations are escalated first, and every open one is a reason
    of the rule (issue 11)."""
    if authz.allowed(actor, authz.WORKLIST):
        escalate_overdue(clinic)

    def body(conn: Connection) -> list[WorklistItem]:
        authz.require(actor, authz.WORKLIST)
        visible = authz.visible_patients_clause(actor)
        now = clinic.now()
        wanted = max(1, min(limit, 10_000))
        total = worklist_store.count_visible(conn, visible)
        # the database ranks by the summary's rules; a patient with an open confirmation can
        # only rise, so those rows are added and the whole list ordered again
        states = confirmation_states(conn, now, visible)
        rows = worklist_store.ranked_rows(conn, visible, now, wanted)
        listed = {row.patient_id for row in rows}
        rows += worklist_store.rows_for(conn, [pid for pid in states if pid not in listed])
        shown = _with_escalations(conn, ordered(
            [item_of(row, now, states.get(row.patient_id, ())) for row in rows])[:wanted])
        clinic.audit(conn, actor, "worklist.read", entity="patient",
                     detail=f"{len(shown)} of {total} patients listed")
        return shown

    return clinic.run(actor, "worklist.read", body, entity="worklist")




def _with_escalations(conn: Connection, items: list[WorklistItem]) -> list[WorklistItem]:
    """Flag the open escalations (could not be booked in time, missed a visit); the order stays the rule's."""
    from dataclasses import replace

    from thecal.store.scheduling import open_escalations

    flags: dict[int, list[str]] = {}
    for row in open_escalations(conn, [i.patient_id for i in items]):
        flags.setdefault(int(row["patient_id"]), []).append(f"escalated to the {row['escalate_to']}: {row['detail']}")
    return [replace(i, escalations=tuple(flags[i.patient_id])) if i.patient_id in flags else i for i in items]
