"""The case lifecycle and the medicines rules as pure functions (issue 11, points 2 and 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thecal.clinical.cases import (
    CaseFacts,
    CaseStatus,
    check_note,
    check_outcome,
    check_transition,
    needs_banner,
    standing_urgency,
)
from thecal.clinical.medicines import (
    AllergyFact,
    AllergyStatus,
    Occasion,
    allergy_status,
    baclofen_allergy_recorded,
    parse_oral_dose,
    reconciliations_due,
)
from thecal.clinical.triage import Urgency
from thecal.errors import ConflictError, InputError

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
cases = st.lists(st.builds(CaseFacts, st.sampled_from(list(Urgency)),
                           st.sampled_from(list(CaseStatus)),
                           st.integers(0, 10_000).map(lambda m: T0 + timedelta(minutes=m))),
                 max_size=8)


@given(cases, st.sampled_from(list(Urgency)))
def test_a_new_open_case_never_lowers_the_standing_urgency(existing: list[CaseFacts],
                                                           urgency: Urgency) -> None:
    before = standing_urgency(existing)
    after = standing_urgency([*existing, CaseFacts(urgency, CaseStatus.OPEN, T0)])
    assert after is not None
    assert before is None or after.urgency.rank >= before.urgency.rank


@given(cases)
def test_the_standing_case_is_the_gravest_not_closed(existing: list[CaseFacts]) -> None:
    live = [c for c in existing if c.status is not CaseStatus.CLOSED]
    standing = standing_urgency(existing)
    if not live:
        assert standing is None
    else:
        assert standing is not None and standing.status is not CaseStatus.CLOSED
        assert standing.urgency.rank == max(c.urgency.rank for c in live)


def test_lifecycle_moves_only_forward() -> None:
    check_transition(CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED)
    check_transition(CaseStatus.OPEN, CaseStatus.CLOSED)
    check_transition(CaseStatus.ACKNOWLEDGED, CaseStatus.CLOSED)
    for current, wanted in ((CaseStatus.ACKNOWLEDGED, CaseStatus.ACKNOWLEDGED),
                            (CaseStatus.CLOSED, CaseStatus.OPEN),
                            (CaseStatus.CLOSED, CaseStatus.CLOSED),
                            (CaseStatus.ACKNOWLEDGED, CaseStatus.OPEN)):
        with pytest.raises(ConflictError):
            check_transition(current, wanted)
    with pytest.raises(InputError):
        check_outcome("fine", None)
    with pytest.raises(InputError):
        check_note("   ")


def test_banner_only_for_unacknowledged_emergencies() -> None:
    assert needs_banner(CaseFacts(Urgency.EMERGENCY, CaseStatus.OPEN, T0))
    assert not needs_banner(CaseFacts(Urgency.EMERGENCY, CaseStatus.ACKNOWLEDGED, T0))
    assert not needs_banner(CaseFacts(Urgency.URGENT, CaseStatus.OPEN, T0))


def test_allergy_status_is_true_only_when_recorded() -> None:
    assert allergy_status([]) is AllergyStatus.NOT_RECORDED
    nka = AllergyFact("no-known-allergies", "none known", T0)
    assert allergy_status([nka]) is AllergyStatus.NONE_KNOWN
    bac = AllergyFact("allergy", "Lioresal (baclofen)", T0)
    assert allergy_status([nka, bac]) is AllergyStatus.RECORDED
    assert baclofen_allergy_recorded([bac])
    assert not baclofen_allergy_recorded([AllergyFact("allergy", "penicillin", T0)])


def test_oral_dose_and_reconciliation_due() -> None:
    # 5 mg four times a day = 20 mg/day
    assert parse_oral_dose("baclofen-oral", "5 mg", 4).daily_dose_mg == 20.0
    with pytest.raises(InputError):
        parse_oral_dose("baclofen-oral", "5", 4)
    with pytest.raises(InputError):
        parse_oral_dose("aspirin", "5 mg", 4)
    implant, replaced = T0, T0 + timedelta(days=2000)
    due = reconciliations_due([(Occasion.IMPLANT, implant), (Occasion.PUMP_REPLACEMENT, replaced)],
                              [(Occasion.IMPLANT, implant)])
    assert [d.occasion for d in due] == [Occasion.PUMP_REPLACEMENT]
    assert due[0].reason.source == "JARKMS20"
    # a reconciliation of an earlier replacement does not cover a later one
    assert len(reconciliations_due([(Occasion.PUMP_REPLACEMENT, replaced)],
                                   [(Occasion.PUMP_REPLACEMENT, implant)])) == 1
