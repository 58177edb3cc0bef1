"""Cases: a symptom report or a finding that someone must see, answer and close.

A case is **open** when it is made, **acknowledged** when a clinician says they have it (who,
when), gathers **call-back notes**, and is **closed** with an outcome. Only forward moves are
allowed (:func:`check_transition`); a closed case stays closed (a new report opens a new case).

The urgency that counts for a patient is the highest urgency of their cases that are not
closed (:func:`standing_urgency`): a later, milder report opens its own case and never lowers
what an earlier, graver one set (safety-requirements TR-4). Emergency cases notify the on-call
clinician and put a banner on the chart until they are acknowledged
(:func:`needs_banner`, :func:`needs_on_call_notice`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from thecal.clinical.triage import Urgency
from thecal.errors import ConflictError, InputError
from thecal.limits import Severity


class CaseStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class CaseKind(StrEnum):
    SYMPTOMS = "symptoms"
    FINDING = "finding"


# What may follow what: a note may be added while the case is not closed.
_NEXT: Final[dict[CaseStatus, frozenset[CaseStatus]]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.ACKNOWLEDGED, CaseStatus.CLOSED}),
    CaseStatus.ACKNOWLEDGED: frozenset({CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
}
OUTCOMES: Final[dict[str, str]] = {
    "advice-given": "advice given by telephone",
    "seen-in-clinic": "seen in clinic",
    "pump-refilled": "pump refilled or reprogrammed",
    "sent-to-emergency": "sent to the emergency department",
    "admitted": "admitted to hospital",
    "no-action-needed": "reviewed, no action needed",
    "duplicate": "duplicate of another case",
}
MAX_TEXT: Final = 4000
# ASSUMED (a thecal convention, no public source grades it): a case opened for a finding on the
# chart is as urgent as the finding is severe; an informational finding is routine.
FINDING_URGENCY: Final[dict[Severity, Urgency]] = {Severity.DANGER: Urgency.URGENT,
                                                   Severity.WARNING: Urgency.SOON}


@dataclass(frozen=True)
class CaseFacts:
    """What the rules read of one case."""

    urgency: Urgency
    status: CaseStatus
    opened_at: datetime


def check_transition(current: CaseStatus, wanted: CaseStatus) -> None:
    """Refuse a move the lifecycle does not allow (``ConflictError`` says what the case is)."""
    if wanted not in _NEXT[current]:
        raise ConflictError(f"the case is {current.value}: it cannot be made {wanted.value}",
                            where="status", fix="reload the case to see who acted on it")


def check_outcome(outcome: str, words: str | None) -> str:
    """The outcome code of a close (one of :data:`OUTCOMES`); free words are kept beside it."""
    if outcome not in OUTCOMES:
        raise InputError(f"unknown outcome {outcome!r}", where="outcome",
                         fix="use one of: " + ", ".join(OUTCOMES))
    if words is not None and len(words) > MAX_TEXT:
        raise InputError("the outcome note is too long", where="note",
                         fix=f"at most {MAX_TEXT} characters")
    return outcome


def check_note(text: str) -> str:
    """A call-back note: not empty, not huge."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise InputError("the note is empty", where="text", fix="write what was said or done")
    if len(cleaned) > MAX_TEXT:
        raise InputError("the note is too long", where="text",
                         fix=f"at most {MAX_TEXT} characters")
    return cleaned


def standing_urgency(cases: Iterable[CaseFacts]) -> CaseFacts | None:
    """The case that sets the patient's urgency: the gravest not closed (ties: the earliest)."""
    live = [c for c in cases if c.status is not CaseStatus.CLOSED]
    if not live:
        return None
    return min(live, key=lambda c: (-c.urgency.rank, c.opened_at))


def needs_banner(case: CaseFacts) -> bool:
    """An emergency case not yet acknowledged shows a banner on the chart."""
    return case.urgency is Urgency.EMERGENCY and case.status is CaseStatus.OPEN


def needs_on_call_notice(urgency: Urgency) -> bool:
    """Emergency cases notify the on-call clinician (inbox and e-mail)."""
    return urgency is Urgency.EMERGENCY


def finding_urgency(severity: Severity) -> Urgency:
    """The urgency of a case opened for a finding (:data:`FINDING_URGENCY`, ASSUMED).

    >>> [finding_urgency(s).value for s in (Severity.DANGER, Severity.WARNING, Severity.INFO)]
    ['urgent', 'soon', 'routine']
    """
    return FINDING_URGENCY.get(severity, Urgency.ROUTINE)


def advice_headline(advice: str) -> str:
    """The first sentence of a piece of advice: the line a case shows in the inbox.

    >>> advice_headline("Call the clinic today. Keep the pump card with you.")
    'Call the clinic today.'
    """
    return advice.split(". ")[0].rstrip(".") + "."
