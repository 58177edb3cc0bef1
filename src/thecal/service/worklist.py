"""The worklist: a site's patients ordered by urgency, from the stored projection summaries.

Urgency comes from the summary row kept with every append (dates, alarm priority, findings,
last triage) compared with *now*: an empty reservoir or a sounding alarm first, then urgent
triage, overdue refills, serious findings, refills due within a week. The score orders the
list; each item carries its reasons in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, and_, func, not_, or_, select

from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.store.tables import patients, projections

DUE_SOON: Final = timedelta(days=7)
TRIAGE_RECENT: Final = timedelta(days=7)
REPLACEMENT_SOON: Final = timedelta(days=90)


URGENCY_LEVELS: Final = ((85, "emergency"), (55, "urgent"), (25, "soon"), (1, "routine"))


def urgency_level(score: int) -> str:
    """The words for an urgency score: emergency ≥ 85 (empty reservoir, sounding or high-priority
    alarm, emergency triage), urgent ≥ 55, soon ≥ 25, routine above 0, none at 0."""
    for threshold, words in URGENCY_LEVELS:
        if score >= threshold:
            return words
    return "none"


@dataclass(frozen=True)
class WorklistItem:
    patient_id: int
    mrn: str
    display_name: str
    urgency: int
    reasons: list[str] = field(default_factory=list)
    refill_due_by: datetime | None = None
    low_reservoir_alarm_at: datetime | None = None
    empty_at: datetime | None = None
    triage_urgency: str | None = None

    @property
    def urgency_level(self) -> str:
        return urgency_level(self.urgency)

    def as_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"patient_id": self.patient_id, "mrn": self.mrn,
                "display_name": self.display_name, "urgency": self.urgency,
                "urgency_level": self.urgency_level,
                "reasons": self.reasons, "refill_due_by": iso(self.refill_due_by),
                "low_reservoir_alarm_at": iso(self.low_reservoir_alarm_at),
                "empty_at": iso(self.empty_at), "triage_urgency": self.triage_urgency}


_TRIAGE_WORDS: Final = {4: "emergency", 3: "urgent", 2: "soon", 1: "routine"}


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:.0f} day{'s' if round(days) != 1 else ''}"


def score(row: dict[str, Any], now: datetime) -> tuple[int, list[str]]:
    """Urgency (0–100) and the reasons, for one patient's summary row at ``now``."""
    ranked: list[tuple[int, str]] = []
    empty_at, low_at, due = row.get("empty_at"), row.get("low_reservoir_alarm_at"), \
        row.get("refill_due_by")
    if empty_at is not None and now >= empty_at:
        ranked.append((100, "reservoir empty: therapy has stopped (withdrawal risk)"))
    elif low_at is not None and now >= low_at:
        ranked.append((85, "low-reservoir alarm sounding"))
    priority = int(row.get("alarm_priority") or 0)
    if priority >= 3:
        ranked.append((85, "high-priority pump alarm"))
    elif priority == 2:
        ranked.append((55, "medium-priority pump alarm"))
    elif priority == 1:
        ranked.append((25, "low-priority pump alarm"))
    triage_rank = int(row.get("triage_urgency") or 0)
    triage_at = row.get("triage_at")
    if triage_rank >= 2 and triage_at is not None and now - triage_at <= TRIAGE_RECENT:
        label = _TRIAGE_WORDS.get(triage_rank, "urgent")
        ranked.append(({4: 95, 3: 80}.get(triage_rank, 35), f"symptom report triaged {label}"))
    if due is not None:
        if now > due:
            ranked.append((70, f"refill overdue by {_days(now - due)}"))
        elif due - now <= DUE_SOON:
            ranked.append((40, f"refill due in {_days(due - now)}"))
    severity = int(row.get("finding_severity") or 0)
    findings = int(row.get("open_findings") or 0)
    if findings:
        ranked.append(({3: 60, 2: 30}.get(severity, 10),
                       f"{findings} open finding{'s' if findings != 1 else ''}"))
    eri = row.get("elective_replacement_at")
    if eri is not None and eri - now <= REPLACEMENT_SOON:
        ranked.append((30, "pump replacement due (elective replacement indicator)"))
    ranked.sort(key=lambda pair: -pair[0])
    return (ranked[0][0] if ranked else 0), [text for _, text in ranked]


def needs_attention(now: datetime) -> ColumnElement[bool]:
    """SQL form of "``score`` is above zero": the rows worth scoring one by one.

    Every condition of :func:`score` that adds a reason is here, so a row outside this clause
    scores 0 and is ordered by its refill date alone — which the database can do.
    """
    p = projections.c
    return or_(p.empty_at <= now, p.low_reservoir_alarm_at <= now, p.alarm_priority >= 1,
               and_(p.triage_urgency >= 2, p.triage_at >= now - TRIAGE_RECENT),
               p.refill_due_by <= now + DUE_SOON, p.open_findings > 0,
               p.elective_replacement_at <= now + REPLACEMENT_SOON)


def worklist(clinic: Clinic, actor: Actor, *, limit: int = 100) -> list[WorklistItem]:
    """The actor's site and care-team patients, most urgent first (ties: earliest refill).

    Patients that need attention are scored here; the rest (score 0) come after them in
    refill-date order straight from the database, so a large site costs little more than a
    small one.
    """
    def body(conn: Connection) -> list[WorklistItem]:
        authz.require(actor, authz.WORKLIST)
        columns = (patients.c.id, patients.c.mrn, patients.c.display_name,
                   projections.c.low_reservoir_alarm_at, projections.c.empty_at,
                   projections.c.refill_due_by, projections.c.elective_replacement_at,
                   projections.c.alarm_priority, projections.c.open_findings,
                   projections.c.finding_severity, projections.c.triage_urgency,
                   projections.c.triage_at)
        joined = patients.outerjoin(projections, projections.c.patient_id == patients.c.id)
        visible = authz.visible_patients_clause(actor)
        now = clinic.now()
        wanted = max(1, min(limit, 10_000))
        attention = needs_attention(now)
        total = int(conn.execute(select(func.count()).select_from(joined).where(visible))
                    .scalar_one())
        items = [_item(dict(row), now) for row in conn.execute(
            select(*columns).select_from(joined).where(visible, attention)).mappings()]
        far = now + timedelta(days=100 * 365)
        items.sort(key=lambda i: (-i.urgency, i.refill_due_by or far, i.patient_id))
        if len(items) < wanted:
            rest = (select(*columns).select_from(joined)
                    .where(visible, or_(not_(attention), attention.is_(None)))
                    .order_by(projections.c.refill_due_by.is_(None),
                              projections.c.refill_due_by, patients.c.id)
                    .limit(wanted - len(items)))
            items += [_item(dict(row), now) for row in conn.execute(rest).mappings()]
        shown = _with_escalations(conn, items[:wanted])
        clinic.audit(conn, actor, "worklist.read", entity="patient",
                     detail=f"{len(shown)} of {total} patients listed")
        return shown

    return clinic.run(actor, "worklist.read", body, entity="worklist")


def _with_escalations(conn: Connection, items: list[WorklistItem]) -> list[WorklistItem]:
    """Add the open escalations (could not be booked in time, missed a visit) to the reasons (a flag: the
    order stays the score's)."""
    from dataclasses import replace

    from thecal.store.scheduling import open_escalations

    flags: dict[int, list[str]] = {}
    for row in open_escalations(conn, [i.patient_id for i in items]):
        flags.setdefault(int(row["patient_id"]), []).append(f"escalated to the {row['escalate_to']}: {row['detail']}")
    return [replace(i, reasons=[*flags[i.patient_id], *i.reasons]) if i.patient_id in flags else i for i in items]


def _item(row: dict[str, Any], now: datetime) -> WorklistItem:
    urgency, reasons = score(row, now)
    rank = int(row["triage_urgency"] or 0)
    return WorklistItem(
        patient_id=int(row["id"]), mrn=row["mrn"], display_name=row["display_name"],
        urgency=urgency, reasons=reasons, refill_due_by=row["refill_due_by"],
        low_reservoir_alarm_at=row["low_reservoir_alarm_at"], empty_at=row["empty_at"],
        triage_urgency=_TRIAGE_WORDS.get(rank) if rank else None)
