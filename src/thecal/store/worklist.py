"""The worklist's queries: the projection summaries of the patients a staff member may see.

The database orders the list by the weight of the heaviest priority rule that fires
(:func:`priority_weight`, from :data:`RULE_CONDITIONS`, the SQL form of each rule of
:data:`thecal.clinical.worklist.PRIORITY_RULES`), then the refill date, and returns only the
rows asked for; the service then asks the rule itself for each row's reasons. The stored
integer codes become the rule's own types here (:class:`PatientFacts`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, and_, case, false, func, select

from thecal.clinical.triage import Urgency
from thecal.clinical.worklist import (
    DUE_SOON,
    PRIORITY_RULES,
    REPLACEMENT_SOON,
    PatientFacts,
)
from thecal.limits import Severity
from thecal.store.tables import patients, projections

__all__ = ["RULE_CONDITIONS", "SEVERITY_CODES", "URGENCY_CODES", "WorklistRow", "all_rows",
           "count_visible", "priority_weight", "ranked_rows", "severity_code", "urgency_code"]

# the integer columns of ``projections``: 0 is "none"
URGENCY_CODES: Final = {Urgency.ROUTINE: 1, Urgency.SOON: 2, Urgency.URGENT: 3, Urgency.EMERGENCY: 4}
SEVERITY_CODES: Final = {Severity.INFO: 1, Severity.WARNING: 2, Severity.DANGER: 3}
_URGENCY_OF: Final = {code: urgency for urgency, code in URGENCY_CODES.items()}
_SEVERITY_OF: Final = {code: severity for severity, code in SEVERITY_CODES.items()}
_URGENCY_BY_WORD: Final = {str(u): code for u, code in URGENCY_CODES.items()}
_SEVERITY_BY_WORD: Final = {str(s): code for s, code in SEVERITY_CODES.items()}


def urgency_code(urgency: Urgency | str | None) -> int:
    """The stored code of a triage urgency (0: none)."""
    return _URGENCY_BY_WORD.get(str(urgency), 0) if urgency else 0


def severity_code(severity: Severity | str | None) -> int:
    """The stored code of a finding severity (0: none)."""
    return _SEVERITY_BY_WORD.get(str(severity), 0) if severity else 0


@dataclass(frozen=True)
class WorklistRow:
    """One patient as the worklist reads them: who, and the facts of the stored summary."""

    patient_id: int
    mrn: str
    display_name: str
    facts: PatientFacts
    projected_at: datetime | None = None  # the instant of the stored projection
    empty_earliest_at: datetime | None = None  # its earliest empty (the conservative edge)


_COLUMNS: Final = (patients.c.id, patients.c.mrn, patients.c.display_name,
                   projections.c.low_reservoir_alarm_at, projections.c.empty_at,
                   projections.c.refill_due_by, projections.c.elective_replacement_at,
                   projections.c.alarm_priority, projections.c.open_findings,
                   projections.c.finding_severity, projections.c.triage_urgency,
                   projections.c.triage_at,
                   projections.c.data["at"].as_string().label("projected_at"),
                   projections.c.data[("empty_window", "earliest")].as_string()
                   .label("empty_earliest_at"))
_JOINED: Final = patients.outerjoin(projections, projections.c.patient_id == patients.c.id)


def _c() -> Any:
    return projections.c


# The SQL form of each priority rule's condition, by rule code. The weights, urgencies and
# words stay in the rule (thecal.clinical.worklist); a CASE over these, heaviest rule first,
# gives the database each row's weight, so it can order the list and stop at the limit.
# ``tests/service/test_worklist_order.py`` checks the order against scoring every patient.
# Open second-signature confirmations are not in the summary (they live in ``pending``): the
# service adds those patients' rows (:func:`rows_for`) and orders the list again.
RULE_CONDITIONS: Final[dict[str, Callable[[datetime], ColumnElement[bool]]]] = {
    "reservoir-empty": lambda now: _c().empty_at <= now,
    "low-reservoir-alarm": lambda now: _c().low_reservoir_alarm_at <= now,
    "pump-alarm-high": lambda now: _c().alarm_priority >= 3,
    "pump-alarm-medium": lambda now: _c().alarm_priority == 2,
    "pump-alarm-low": lambda now: _c().alarm_priority == 1,
    "triage-emergency": lambda now: _c().triage_urgency == URGENCY_CODES[Urgency.EMERGENCY],
    "triage-urgent": lambda now: _c().triage_urgency == URGENCY_CODES[Urgency.URGENT],
    "triage-soon": lambda now: _c().triage_urgency == URGENCY_CODES[Urgency.SOON],
    "refill-overdue": lambda now: _c().refill_due_by < now,
    "refill-due-soon": lambda now: and_(_c().refill_due_by >= now,
                                        _c().refill_due_by <= now + DUE_SOON),
    "findings-danger": lambda now: and_(_c().open_findings > 0,
                                        _c().finding_severity == SEVERITY_CODES[Severity.DANGER]),
    "findings-warning": lambda now: and_(_c().open_findings > 0, _c().finding_severity
                                         == SEVERITY_CODES[Severity.WARNING]),
    "findings-other": lambda now: and_(_c().open_findings > 0, _c().finding_severity.not_in(
        [SEVERITY_CODES[Severity.WARNING], SEVERITY_CODES[Severity.DANGER]])),
    "pump-replacement-due": lambda now: _c().elective_replacement_at <= now + REPLACEMENT_SOON,
    "confirmation-overdue": lambda now: false(),
    "confirmation-waiting": lambda now: false(),
}


def priority_weight(now: datetime) -> ColumnElement[int]:
    """SQL: the weight of the heaviest priority rule that fires for a row at ``now`` (0: none)."""
    rules = sorted(PRIORITY_RULES, key=lambda rule: -rule.weight)
    return case(*((RULE_CONDITIONS[rule.code](now), rule.weight) for rule in rules), else_=0)


def _row(r: Any) -> WorklistRow:
    return WorklistRow(int(r.id), str(r.mrn), str(r.display_name), PatientFacts(
        empty_at=r.empty_at, low_reservoir_alarm_at=r.low_reservoir_alarm_at,
        refill_due_by=r.refill_due_by, elective_replacement_at=r.elective_replacement_at,
        alarm_priority=int(r.alarm_priority or 0), open_findings=int(r.open_findings or 0),
        finding_severity=_SEVERITY_OF.get(int(r.finding_severity or 0)),
        triage_urgency=_URGENCY_OF.get(int(r.triage_urgency or 0)), triage_at=r.triage_at),
        _instant(r.projected_at), _instant(r.empty_earliest_at))


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def count_visible(conn: Connection, visible: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(patients).where(visible))
               .scalar_one())


def ranked_rows(conn: Connection, visible: ColumnElement[bool], now: datetime, limit: int
                ) -> list[WorklistRow]:
    """The ``limit`` visible patients to list first at ``now``: heaviest priority rule first,
    then the earliest refill, then the patient id (the order the database sorts)."""
    stmt = (select(*_COLUMNS).select_from(_JOINED).where(visible)
            .order_by(priority_weight(now).desc(), projections.c.refill_due_by.is_(None),
                      projections.c.refill_due_by, patients.c.id)
            .limit(limit))
    return [_row(r) for r in conn.execute(stmt)]


def rows_for(conn: Connection, patient_ids: list[int]) -> list[WorklistRow]:
    """The summary rows of these patients (those with an open confirmation, issue 11)."""
    if not patient_ids:
        return []
    return [_row(r) for r in conn.execute(select(*_COLUMNS).select_from(_JOINED)
                                          .where(patients.c.id.in_(patient_ids)))]


def all_rows(conn: Connection) -> list[WorklistRow]:
    """Every patient with their summary facts, unfiltered (to check the shortcut against)."""
    return [_row(r) for r in conn.execute(select(*_COLUMNS).select_from(_JOINED))]
