"""Eligibility: golden records and the property that missing information never passes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.clinical.eligibility import FIELDS, Outcome, Verdict, assess_eligibility
from thecal.errors import InputError

CANDIDATE: dict[str, Any] = {
    "etiology": "brain-injury",
    "spasticity_severity": "severe",
    "spasticity_interferes": True,
    "oral_baclofen": {"tried": True, "inadequate_response": True,
                      "intolerable_side_effects": False},
    "months_since_brain_injury": 14,
    "screening_result": "positive",
    "expected_pump_depth": "1.5 cm",
    "active_infection": False,
    "baclofen_allergy": False,
    "age_years": 30,
}


def _with(**changes: Any) -> dict[str, Any]:
    record = dict(CANDIDATE)
    for key, value in changes.items():
        if value is ...:
            record.pop(key)
        else:
            record[key] = value
    return record


@pytest.mark.parametrize(("changes", "verdict", "criterion", "outcome"), [
    ({}, Verdict.CANDIDATE, "screening-response", Outcome.PASS),
    ({"months_since_brain_injury": 6}, Verdict.NOT_YET, "time-since-brain-injury",
     Outcome.NOT_YET),
    ({"screening_result": "not-done"}, Verdict.NOT_YET, "screening-response", Outcome.NOT_YET),
    ({"screening_result": "negative"}, Verdict.NOT_A_CANDIDATE, "screening-response",
     Outcome.EXCLUDES),
    ({"active_infection": True}, Verdict.NOT_YET, "no-active-infection", Outcome.NOT_YET),
    ({"baclofen_allergy": True}, Verdict.NOT_A_CANDIDATE, "no-baclofen-allergy",
     Outcome.EXCLUDES),
    ({"expected_pump_depth": "3 cm"}, Verdict.NOT_A_CANDIDATE, "pump-depth", Outcome.EXCLUDES),
    ({"expected_pump_depth": "25 mm"}, Verdict.CANDIDATE, "pump-depth", Outcome.PASS),
    ({"age_years": 3}, Verdict.NOT_YET, "age", Outcome.NOT_YET),
    ({"spasticity_severity": "moderate"}, Verdict.NOT_A_CANDIDATE, "severe-spasticity",
     Outcome.EXCLUDES),
    ({"oral_baclofen": {"tried": False}}, Verdict.NOT_YET, "oral-baclofen-insufficient",
     Outcome.NOT_YET),
    ({"oral_baclofen": {"tried": True, "inadequate_response": False,
                        "intolerable_side_effects": False}},
     Verdict.NOT_A_CANDIDATE, "oral-baclofen-insufficient", Outcome.EXCLUDES),
    ({"months_since_brain_injury": ...}, Verdict.NEEDS_INFORMATION, "time-since-brain-injury",
     Outcome.UNKNOWN),
    ({"etiology": "stroke", "months_since_brain_injury": ...}, Verdict.CANDIDATE,
     "etiology-known", Outcome.PASS),
    ({"baclofen_allergy": True, "age_years": ...}, Verdict.NOT_A_CANDIDATE, "age",
     Outcome.UNKNOWN),
])
def test_golden(changes: dict[str, Any], verdict: Verdict, criterion: str,
                outcome: Outcome) -> None:
    result = assess_eligibility(_with(**changes))
    assert result.verdict is verdict
    found = {c.code: c for c in result.criteria}[criterion]
    assert found.outcome is outcome
    assert found.patient_words and found.clinician_words and found.source


def test_bad_records_refused() -> None:
    with pytest.raises(InputError, match="baclofen_alergy"):
        assess_eligibility(_with(baclofen_alergy=False))
    with pytest.raises(InputError, match="active_infection"):
        assess_eligibility(_with(active_infection="no"))
    with pytest.raises(InputError, match="expected_pump_depth"):
        assess_eligibility(_with(expected_pump_depth=1.5))
    with pytest.raises(InputError):
        assess_eligibility(["not", "a", "mapping"])  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.sets(st.sampled_from((*FIELDS, "oral_baclofen.tried")), min_size=1))
def test_missing_information_never_passes(missing: set[str]) -> None:
    record = dict(CANDIDATE)
    for key in missing:
        if key == "oral_baclofen.tried":
            record["oral_baclofen"] = {k: v for k, v in CANDIDATE["oral_baclofen"].items()
                                       if k != "tried"}
        else:
            record.pop(key, None)
    result = assess_eligibility(record)
    assert result.verdict is not Verdict.CANDIDATE
    assert result.verdict is Verdict.NEEDS_INFORMATION
    assert result.by_outcome(Outcome.UNKNOWN)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional={
    "etiology": st.sampled_from(["stroke", "brain-injury", "spinal-cord-injury"]),
    "spasticity_severity": st.sampled_from(["mild", "moderate", "severe"]),
    "spasticity_interferes": st.booleans(),
    "oral_baclofen": st.fixed_dictionaries({}, optional={
        "tried": st.booleans(), "inadequate_response": st.booleans(),
        "intolerable_side_effects": st.booleans()}),
    "months_since_brain_injury": st.integers(0, 60),
    "screening_result": st.sampled_from(["positive", "negative", "not-done"]),
    "expected_pump_depth": st.sampled_from(["1 cm", "2.5 cm", "4 cm"]),
    "active_infection": st.booleans(),
    "baclofen_allergy": st.booleans(),
    "age_years": st.integers(0, 90),
}))
def test_candidate_only_when_every_criterion_passes(record: dict[str, Any]) -> None:
    result = assess_eligibility(record)
    if result.verdict is Verdict.CANDIDATE:
        assert all(c.outcome is Outcome.PASS for c in result.criteria)
        required = set(FIELDS) - {"months_since_brain_injury"}
        assert required <= set(record)
