"""The worklist: a site's patients, most in need of attention first, with the reasons.

The priority rule is :func:`thecal.clinical.worklist.worklist_priority`, asked of the facts
of each patient's stored projection summary (kept with every append) at *now*. The database
orders the patients by the same rules (:mod:`thecal.store.worklist`) and returns only the
rows shown, so a large site costs little more than a small one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import Connection

from thecal.clinical.confirmation import ConfirmationState, confirmation_state, worklist_weight
from thecal.clinical.triage import Urgency
from thecal.clinical.worklist import Priority, worklist_priority
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.escalation import escalate_overdue
from thecal.store import auth as auth_store
from thecal.store import worklist as worklist_store

__all__ = ["WorklistItem", "days_of_drug_left", "worklist"]


@dataclass(frozen=True)
class WorklistItem:
    """One patient on the worklist: who, the priority (weight, urgency, reasons), the dates."""

    patient_id: int
    mrn: str
    display_name: str
    priority: Priority
    refill_due_by: datetime | None = None
    low_reservoir_alarm_at: datetime | None = None
    empty_at: datetime | None = None
    triage_urgency: Urgency | None = None
    escalations: tuple[str, ...] = ()  # open escalations (could not be booked in time, missed a visit)
    days_of_drug_left: float | None = None  # the projection's, at its conservative edge

    @property
    def urgency(self) -> Urgency | None:
        """The highest urgency of the fired rules; None: nothing due."""
        return self.priority.urgency

    @property
    def reasons(self) -> tuple[str, ...]:
        """The reasons in words, heaviest first (open escalations flagged before them)."""
        return (*self.escalations, *(r.message for r in self.priority.reasons))

    def as_dict(self) -> dict[str, object]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"patient_id": self.patient_id, "mrn": self.mrn,
                "display_name": self.display_name, "priority": self.priority.weight,
                "urgency": self.urgency.value if self.urgency else None,
                "reasons": [r.as_dict() for r in self.priority.reasons],
                "refill_due_by": iso(self.refill_due_by),
                "low_reservoir_alarm_at": iso(self.low_reservoir_alarm_at),
                "empty_at": iso(self.empty_at),
                "triage_urgency": self.triage_urgency.value if self.triage_urgency else None,
                "escalations": list(self.escalations),
                "days_of_drug_left": self.days_of_drug_left}


def item_of(row: worklist_store.WorklistRow, now: datetime) -> WorklistItem:
    """A stored row as a worklist item at ``now`` (the rule asked of its facts)."""
    f = row.facts
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


def with_confirmations(items: list[WorklistItem], extra: list[WorklistItem],
                       states: dict[int, list[ConfirmationState]]) -> list[WorklistItem]:
    """Add each open confirmation's reason to its patient's item (issue 11: a waiting one is
    said, an escalated one lists the patient first), and order again."""
    by_id = {i.patient_id: i for i in items}
    for item in extra:
        by_id.setdefault(item.patient_id, item)
    out = []
    for pid, item in by_id.items():
        found = states.get(pid)
        if not found:
            out.append(item)
            continue
        reasons = tuple(s.reason for s in sorted(found, key=lambda s: not s.escalated))
        weight = max([item.priority.weight] + [worklist_weight(s) for s in found])
        urgency = (Urgency.URGENT if any(s.escalated for s in found) else Urgency.SOON)
        if item.priority.urgency is not None and item.priority.urgency.rank > urgency.rank:
            urgency = item.priority.urgency
        lead = worklist_weight(max(found, key=worklist_weight)) >= item.priority.weight
        merged = reasons + item.priority.reasons if lead else item.priority.reasons + reasons
        out.append(replace(item, priority=Priority(weight, urgency, merged)))
    return ordered(out)


def worklist(clinic: Clinic, actor: Actor, *, limit: int = 100) -> list[WorklistItem]:
    """The actor's site and care-team patients, most urgent first (ties: earliest refill);
    open second-signature confirmations are escalated first and listed (issue 11)."""
    if authz.allowed(actor, authz.WORKLIST):
        escalate_overdue(clinic)

    def body(conn: Connection) -> list[WorklistItem]:
        authz.require(actor, authz.WORKLIST)
        visible = authz.visible_patients_clause(actor)
        now = clinic.now()
        wanted = max(1, min(limit, 10_000))
        total = worklist_store.count_visible(conn, visible)
        shown = _with_escalations(conn, [item_of(row, now)
                                         for row in worklist_store.ranked_rows(conn, visible, now, wanted)])
        states: dict[int, list[ConfirmationState]] = {}
        for row in auth_store.open_confirmations(conn, visible):
            states.setdefault(int(row["patient_id"]), []).append(confirmation_state(
                due_at=row["expires_at"], now=now,
                what=str(row["payload"].get("summary") or "refill")))
        if states:
            extra = [item_of(r, now) for r in worklist_store.rows_for(conn, list(states))]
            shown = with_confirmations(shown, _with_escalations(conn, extra), states)[:wanted]
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
