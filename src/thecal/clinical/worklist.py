"""Worklist priority: which of a clinic's patients needs attention first, and why.

A pure rule over what the stored projection summary knows of one patient
(:class:`PatientFacts`) at a given instant. Each reason for attention is one record of
:data:`PRIORITY_RULES` — its code, the condition, the urgency it gives, its ordering weight and
the source of the fact behind it. A patient's priority is the highest weight of the rules that
fire (ties: the earlier refill, decided by the caller), its urgency the highest urgency, and
its reasons all fired rules, heaviest first.

The facts are sourced (an empty pump stops therapy and abrupt withdrawal can be fatal,
FDA-LAB; the low-reservoir alarm, NSURG04; IEC 60601-1-8 alarm priorities; the pump's
replacement window after ERI, M-REPL; two-person verification of a concentration, ISMP); the
weights that order them against each other are a thecal convention (ASSUMED: no source ranks
them). The three heaviest carry their reasoning in the rule (``why``):

1. an open emergency case (120): a patient reporting a life-threatening picture now —
   withdrawal with fever, overdose signs (B-TROUBLE's emergent algorithm). Harm is under way.
2. an escalated second signature (110): an unverified strength already running in the pump.
   If it is wrong, every dose is wrong by the ratio of the strengths once the new drug reaches
   the catheter tip, and an overdose (respiratory depression, coma; PILL) acts within hours; a
   colleague's check of the label and the programmer settles it in minutes. Nobody has
   reported harm yet.
3. an empty reservoir (100): therapy has stopped; withdrawal evolves over 1–3 days and can
   become fulminant (COFFEY02, FDA-LAB), so it is refilled today — after the two above.

:data:`DUE_SOON`, :data:`TRIAGE_RECENT` and :data:`REPLACEMENT_SOON` are the windows of the
rules; the store's query selects the rows worth scoring with the same windows, so a row it
leaves out scores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from thecal.clinical.confirmation import ConfirmationState
from thecal.clinical.triage import Urgency
from thecal.limits import Reason, Severity
from thecal.sources import check_source

__all__ = ["DUE_SOON", "PRIORITY_RULES", "REPLACEMENT_SOON", "TRIAGE_RECENT", "PatientFacts",
           "Priority", "PriorityRule", "worklist_priority"]

DUE_SOON: Final = timedelta(days=7)  # a refill due within a week is listed as soon
TRIAGE_RECENT: Final = timedelta(days=7)  # the inbox window; an open case counts until closed
# ERI → end of service is 90 days on a SynchroMed II (M-REPL): inside it the pump must be replaced
REPLACEMENT_SOON: Final = timedelta(days=90)


@dataclass(frozen=True)
class PatientFacts:
    """What the projection summary stored with the record says about one patient.

    ``alarm_priority``: the highest pump alarm, 0 none, 1 low, 2 medium, 3 high
    (IEC 60601-1-8); ``finding_severity``: the most severe open finding that is not
    information only; ``triage_urgency``/``triage_at``: the gravest case not closed and when it was opened;
    ``confirmations``: the patient's open second-signature confirmations at *now* (kept beside
    the summary in the pending table; the service adds them).
    """

    empty_at: datetime | None = None
    low_reservoir_alarm_at: datetime | None = None
    refill_due_by: datetime | None = None
    elective_replacement_at: datetime | None = None
    alarm_priority: int = 0
    open_findings: int = 0
    finding_severity: Severity | None = None
    triage_urgency: Urgency | None = None
    triage_at: datetime | None = None
    confirmations: tuple[ConfirmationState, ...] = ()


@dataclass(frozen=True)
class PriorityRule:
    """One reason for attention: when it fires, how urgent it is, what it weighs, its source.

    ``words`` writes the reason for the facts at ``now`` (only called when ``fires``); ``why``
    says why the weight stands where it does against its neighbours (the top of the list).
    """

    code: str
    urgency: Urgency
    weight: int  # orders the list (0–120); a thecal convention
    source: str
    fires: Callable[[PatientFacts, datetime], bool]
    words: Callable[[PatientFacts, datetime], str]
    why: str = ""

    def __post_init__(self) -> None:
        check_source(self.source)


@dataclass(frozen=True)
class Priority:
    """A patient's place on the worklist: weight, urgency (None: nothing due) and reasons."""

    weight: int
    urgency: Urgency | None
    reasons: tuple[Reason, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:.0f} day{'s' if round(days) != 1 else ''}"


def _empty(f: PatientFacts, now: datetime) -> bool:
    return f.empty_at is not None and now >= f.empty_at


def _triaged(urgency: Urgency) -> Callable[[PatientFacts, datetime], bool]:
    def fires(f: PatientFacts, now: datetime) -> bool:
        # the stored triage is the gravest case not closed (thecal.service.cases): it counts
        # until the case is closed, however old it is
        return f.triage_urgency == urgency
    return fires


def _findings(severity: Severity | None) -> Callable[[PatientFacts, datetime], bool]:
    def fires(f: PatientFacts, now: datetime) -> bool:
        if not f.open_findings:
            return False
        if severity is None:
            return f.finding_severity not in (Severity.DANGER, Severity.WARNING)
        return f.finding_severity == severity
    return fires


def _findings_words(f: PatientFacts, now: datetime) -> str:
    return f"{f.open_findings} open finding{'s' if f.open_findings != 1 else ''}"


def _confirmations(escalated: bool) -> tuple[Callable[[PatientFacts, datetime], bool],
                                             Callable[[PatientFacts, datetime], str]]:
    """The rule's condition and words: any open confirmation in that state (the words are
    each confirmation's own, e.g. "concentration 500 → 1000 mcg/mL: second confirmation overdue
    by 20 min (escalated)")."""
    def chosen(f: PatientFacts) -> list[ConfirmationState]:
        return [s for s in f.confirmations if s.escalated is escalated]

    return (lambda f, now: bool(chosen(f)),
            lambda f, now: "; ".join(s.reason.message for s in chosen(f)))


PRIORITY_RULES: Final[tuple[PriorityRule, ...]] = (
    PriorityRule("triage-emergency", Urgency.EMERGENCY, 120, "B-TROUBLE",
                 _triaged(Urgency.EMERGENCY),
                 lambda f, now: "symptom report triaged emergency",
                 why="ASSUMED order: a patient reporting a life-threatening picture now "
                     "(withdrawal with fever, overdose signs) comes first: harm is under way"),
    PriorityRule("confirmation-overdue", Urgency.URGENT, 110, "ISMP", *_confirmations(True),
                 why="ASSUMED order: an unverified strength already runs in the pump; if it is "
                     "wrong the dose is wrong from now and an overdose acts within hours "
                     "(PILL), and a check takes minutes; below a reported emergency, where "
                     "harm is already under way"),
    PriorityRule("reservoir-empty", Urgency.EMERGENCY, 100, "FDA-LAB", _empty,
                 lambda f, now: "reservoir empty: therapy has stopped (withdrawal risk)",
                 why="ASSUMED order: withdrawal after the pump empties evolves over 1-3 days "
                     "(COFFEY02): refill today, after a reported emergency and an unverified "
                     "strength"),
    PriorityRule("low-reservoir-alarm", Urgency.EMERGENCY, 85, "NSURG04",
                 lambda f, now: (not _empty(f, now) and f.low_reservoir_alarm_at is not None
                                 and now >= f.low_reservoir_alarm_at),
                 lambda f, now: "low-reservoir alarm sounding"),
    PriorityRule("pump-alarm-high", Urgency.EMERGENCY, 85, "IEC-60601-1-8",
                 lambda f, now: f.alarm_priority >= 3,
                 lambda f, now: "high-priority pump alarm"),
    PriorityRule("pump-alarm-medium", Urgency.URGENT, 55, "IEC-60601-1-8",
                 lambda f, now: f.alarm_priority == 2,
                 lambda f, now: "medium-priority pump alarm"),
    PriorityRule("pump-alarm-low", Urgency.SOON, 25, "IEC-60601-1-8",
                 lambda f, now: f.alarm_priority == 1,
                 lambda f, now: "low-priority pump alarm"),
    PriorityRule("triage-urgent", Urgency.URGENT, 80, "B-TROUBLE", _triaged(Urgency.URGENT),
                 lambda f, now: "symptom report triaged urgent"),
    PriorityRule("triage-soon", Urgency.SOON, 35, "B-TROUBLE", _triaged(Urgency.SOON),
                 lambda f, now: "symptom report triaged soon"),
    PriorityRule("refill-overdue", Urgency.URGENT, 70, "FDA-LAB",
                 lambda f, now: f.refill_due_by is not None and now > f.refill_due_by,
                 lambda f, now: f"refill overdue by {_days(now - f.refill_due_by)}"  # type: ignore[operator]
                 ),
    PriorityRule("confirmation-waiting", Urgency.SOON, 45, "ISMP", *_confirmations(False)),
    PriorityRule("refill-due-soon", Urgency.SOON, 40, "ANZCA",
                 lambda f, now: (f.refill_due_by is not None and now <= f.refill_due_by
                                 and f.refill_due_by - now <= DUE_SOON),
                 lambda f, now: f"refill due in {_days(f.refill_due_by - now)}"  # type: ignore[operator]
                 ),
    PriorityRule("findings-danger", Urgency.URGENT, 60, "ASSUMED", _findings(Severity.DANGER),
                 _findings_words),
    PriorityRule("findings-warning", Urgency.SOON, 30, "ASSUMED", _findings(Severity.WARNING),
                 _findings_words),
    PriorityRule("findings-other", Urgency.ROUTINE, 10, "ASSUMED", _findings(None),
                 _findings_words),
    PriorityRule("pump-replacement-due", Urgency.SOON, 30, "M-REPL",
                 lambda f, now: (f.elective_replacement_at is not None
                                 and f.elective_replacement_at - now <= REPLACEMENT_SOON),
                 lambda f, now: "pump replacement due (elective replacement indicator)"),
)


def worklist_priority(facts: PatientFacts, now: datetime) -> Priority:
    """The priority of one patient at ``now``: every rule of :data:`PRIORITY_RULES` asked.

    >>> from datetime import UTC
    >>> now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    >>> p = worklist_priority(PatientFacts(refill_due_by=now - timedelta(days=2)), now)
    >>> p.weight, p.urgency, p.reasons[0].message
    (70, <Urgency.URGENT: 'urgent'>, 'refill overdue by 2 days')
    >>> worklist_priority(PatientFacts(), now).urgency is None
    True
    """
    fired = sorted((rule for rule in PRIORITY_RULES if rule.fires(facts, now)),
                   key=lambda rule: -rule.weight)
    if not fired:
        return Priority(0, None, ())
    reasons = tuple(Reason(rule.code, rule.words(facts, now), rule.source,
                           verified=rule.source != "ASSUMED") for rule in fired)
    return Priority(fired[0].weight, max((rule.urgency for rule in fired),
                                         key=lambda u: u.rank), reasons)
