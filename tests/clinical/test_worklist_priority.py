"""The worklist priority rule: every rule can fire, weights order, urgency is the highest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thecal.clinical.confirmation import confirmation_state
from thecal.clinical.triage import Urgency
from thecal.clinical.worklist import (
    PRIORITY_RULES,
    REPLACEMENT_SOON,
    PatientFacts,
    worklist_priority,
)
from thecal.limits import Severity
from thecal.sources import SOURCES

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
DAY = timedelta(days=1)
CHANGE = "concentration 500 → 1000 mcg/mL (refill of 20 mL)"
# a confirmation due 20 minutes ago (escalated) and one due in 10 minutes (waiting)
ESCALATED = confirmation_state(due_at=NOW - timedelta(minutes=20), now=NOW, what=CHANGE)
WAITING = confirmation_state(due_at=NOW + timedelta(minutes=10), now=NOW, what=CHANGE)

# one patient per rule, for whom that rule (and maybe lighter ones) fires
FIRES: dict[str, PatientFacts] = {
    "reservoir-empty": PatientFacts(empty_at=NOW - DAY),
    "low-reservoir-alarm": PatientFacts(low_reservoir_alarm_at=NOW - DAY),
    "pump-alarm-high": PatientFacts(alarm_priority=3),
    "pump-alarm-medium": PatientFacts(alarm_priority=2),
    "pump-alarm-low": PatientFacts(alarm_priority=1),
    "triage-emergency": PatientFacts(triage_urgency=Urgency.EMERGENCY, triage_at=NOW - DAY),
    "triage-urgent": PatientFacts(triage_urgency=Urgency.URGENT, triage_at=NOW - DAY),
    "triage-soon": PatientFacts(triage_urgency=Urgency.SOON, triage_at=NOW - DAY),
    "refill-overdue": PatientFacts(refill_due_by=NOW - 3 * DAY),
    "refill-due-soon": PatientFacts(refill_due_by=NOW + 3 * DAY),
    "findings-danger": PatientFacts(open_findings=1, finding_severity=Severity.DANGER),
    "findings-warning": PatientFacts(open_findings=2, finding_severity=Severity.WARNING),
    "findings-other": PatientFacts(open_findings=1, finding_severity=Severity.INFO),
    "pump-replacement-due": PatientFacts(elective_replacement_at=NOW + REPLACEMENT_SOON - DAY),
    "confirmation-overdue": PatientFacts(confirmations=(ESCALATED,)),
    "confirmation-waiting": PatientFacts(confirmations=(WAITING,)),
}


def test_every_rule_has_a_case_and_a_registered_source() -> None:
    codes = [rule.code for rule in PRIORITY_RULES]
    assert len(codes) == len(set(codes))
    assert set(codes) == set(FIRES)
    assert all(rule.source in SOURCES for rule in PRIORITY_RULES)


@pytest.mark.parametrize("rule", PRIORITY_RULES, ids=lambda r: r.code)
def test_every_rule_can_fire(rule: object) -> None:
    code = rule.code  # type: ignore[attr-defined]
    priority = worklist_priority(FIRES[code], NOW)
    assert priority.codes[0] == code
    assert priority.weight == rule.weight  # type: ignore[attr-defined]
    assert priority.urgency is rule.urgency  # type: ignore[attr-defined]


def test_golden_cases() -> None:
    # overdue by 3 days (70, urgent) and a serious finding (60, urgent): the overdue refill leads
    p = worklist_priority(PatientFacts(refill_due_by=NOW - 3 * DAY, open_findings=1,
                                       finding_severity=Severity.DANGER), NOW)
    assert (p.weight, p.urgency) == (70, Urgency.URGENT)
    assert [r.message for r in p.reasons] == ["refill overdue by 3 days", "1 open finding"]
    # an empty reservoir silences the low-reservoir reason (it is the same drug running out)
    p = worklist_priority(PatientFacts(empty_at=NOW - DAY, low_reservoir_alarm_at=NOW - 9 * DAY),
                          NOW)
    assert p.codes == ("reservoir-empty",) and p.urgency is Urgency.EMERGENCY
    # the stored triage is the gravest case not closed: an emergency case opened 8 days ago
    # and still open still leads (issue 11); a refill due in 8 days is not yet "soon"
    old = PatientFacts(triage_urgency=Urgency.EMERGENCY, triage_at=NOW - 8 * DAY,
                       refill_due_by=NOW + 8 * DAY)
    assert worklist_priority(old, NOW).urgency is Urgency.EMERGENCY
    assert worklist_priority(PatientFacts(refill_due_by=NOW + 8 * DAY), NOW).urgency is None


@given(st.sampled_from(sorted(FIRES)), st.sampled_from(sorted(FIRES)))
def test_adding_a_fact_never_lowers_the_priority(a: str, b: str) -> None:
    one = FIRES[a]
    both = PatientFacts(**{k: v for k, v in vars(one).items()
                           if v not in (None, 0, ())} | {k: v for k, v in vars(FIRES[b]).items()
                                                         if v not in (None, 0, ())})
    if (one.finding_severity is not None and FIRES[b].finding_severity is not None) \
            or (one.confirmations and FIRES[b].confirmations) \
            or (one.alarm_priority and FIRES[b].alarm_priority) \
            or (one.triage_urgency and FIRES[b].triage_urgency) \
            or (one.refill_due_by and FIRES[b].refill_due_by):
        return  # the same fact with two values: not an addition
    assert worklist_priority(both, NOW).weight >= worklist_priority(one, NOW).weight
    assert worklist_priority(both, NOW).urgency.rank >= worklist_priority(one, NOW).urgency.rank  # type: ignore[union-attr]


def test_the_top_of_the_list_as_a_clinician_reads_it() -> None:
    """An open emergency case first (a patient reporting a life-threatening picture now), an
    escalated second signature right after it (an unverified strength already in the pump),
    both above everything else — an empty reservoir included (withdrawal evolves over 1–3
    days, COFFEY02). Each of the three says why it stands where it does."""
    emergency = worklist_priority(FIRES["triage-emergency"], NOW)
    escalated = worklist_priority(FIRES["confirmation-overdue"], NOW)
    rest = [worklist_priority(facts, NOW).weight for code, facts in FIRES.items()
            if code not in ("triage-emergency", "confirmation-overdue")]
    assert emergency.weight > escalated.weight > max(rest)
    top = sorted(PRIORITY_RULES, key=lambda rule: -rule.weight)[:3]
    assert [rule.code for rule in top] == ["triage-emergency", "confirmation-overdue",
                                           "reservoir-empty"]
    assert all(rule.why.startswith("ASSUMED order") for rule in top)
    # a patient with both: the emergency leads, the confirmation follows in the reasons
    both = worklist_priority(PatientFacts(triage_urgency=Urgency.EMERGENCY, triage_at=NOW - DAY,
                                          confirmations=(ESCALATED, WAITING)), NOW)
    assert both.codes == ("triage-emergency", "confirmation-overdue", "confirmation-waiting")
    assert both.urgency is Urgency.EMERGENCY
    # the confirmation's own words: what changed and how late
    assert both.reasons[1].message == (f"{CHANGE}: second confirmation overdue by 20 min "
                                       "(escalated)")
    # a waiting confirmation is listed with the refills due soon, not at the top
    assert worklist_priority(FIRES["confirmation-waiting"], NOW).weight == 45
