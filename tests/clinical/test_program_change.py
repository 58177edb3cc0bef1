"""Golden cases of the program-change assessment (clinical.program.assess_program_change)."""

from __future__ import annotations

from typing import Any

import pytest

from thecal.clinical.program import assess_program_change
from thecal.limits import Classification
from thecal.timeline import Program, parse_event

AT = "2026-03-10T09:00:00+01:00"


def _program(daily_dose: str | None, mode: str = "continuous") -> Program:
    data: dict[str, Any] = {"at": AT, "type": "program", "mode": mode}
    if daily_dose is not None:
        data["daily_dose"] = daily_dose
    event = parse_event(data)
    assert isinstance(event, Program)
    return event


def _assess(old: str | None, new: Program, *, hours: float | None = 72.0,
            etiology: str = "spinal-cord-injury", age: float | None = 45.0) -> Any:
    return assess_program_change(_program(old) if old else None, new,
                                 concentration_mcg_per_ml=500.0, etiology=etiology,
                                 age_years=age, hours_since_last_change=hours)


def test_within_range_needs_nothing() -> None:
    a = _assess("400 mcg/day", _program("440 mcg/day"))
    assert a.allowed and not a.needs_reason
    assert a.classification is Classification.WITHIN
    assert a.titration is not None and a.titration.allowed
    d = a.as_dict()
    assert d["comparison"]["old_daily_total_mcg"] == 400.0
    assert d["comparison"]["new_daily_total_mcg"] == 440.0
    assert d["comparison"]["new_rate_ml_per_day"] == pytest.approx(0.88)
    assert d["guardrail"]["classification"] == "within-recommended"
    assert d["new"]["daily_total_mcg"] == 440.0 and d["old"]["daily_dose"] == "400 mcg/day"
    assert "refusal" not in d and d["concentration_mcg_per_ml"] == 500.0


def test_above_recommended_needs_a_reason() -> None:
    a = _assess("760 mcg/day", _program("850 mcg/day"))  # spinal recommended max 800
    assert a.allowed and a.needs_reason
    assert a.classification is Classification.ABOVE_RECOMMENDED
    assert a.titration is not None and a.titration.allowed  # +12 %: the step is fine
    codes = [r["code"] for r in a.as_dict()["guardrail"]["reasons"]]
    assert codes == ["daily-dose-above-recommended"]


def test_above_absolute_is_refused_with_words() -> None:
    a = _assess("800 mcg/day", _program("2500 mcg/day"))
    assert not a.allowed and not a.needs_reason
    assert a.classification is Classification.ABOVE_ABSOLUTE
    assert a.titration is None
    d = a.as_dict()
    assert "cannot be sent" in d["refusal"] and "12–2000 mcg/day" in d["refusal"]
    assert d["guardrail"]["reasons"][0]["code"] == "daily-dose-above-absolute"
    assert (a.absolute_min_mcg, a.absolute_max_mcg) == (12.0, 2000.0)


def test_titration_step_too_big_needs_a_reason() -> None:
    a = _assess("400 mcg/day", _program("600 mcg/day"))  # +50 %, within the range
    assert a.classification is Classification.WITHIN
    assert a.titration is not None and not a.titration.allowed
    assert "titration-step-exceeds-limit" in a.titration.codes
    # +50 % is beyond the recommended 30 % but within the absolute 60 % (2 × 30 %):
    # a second clinician co-signs it (issue 11, point 6), and a reason is written
    assert not a.allowed and a.needs_reason
    assert a.decision == "second-clinician" and a.needs_second_clinician


def test_titration_too_soon_needs_a_reason() -> None:
    a = _assess("400 mcg/day", _program("440 mcg/day"), hours=6.0)
    assert a.titration is not None and "titration-too-soon" in a.titration.codes
    assert a.needs_reason


def test_stopped_program_is_flagged_not_classified() -> None:
    a = _assess("400 mcg/day", _program(None, mode="stopped"))
    # stopping the pump is a danger (withdrawal): never "allowed" alone, a second clinician
    assert not a.allowed and not a.needs_reason and a.decision == "second-clinician"
    assert a.classification is None and a.titration is None
    d = a.as_dict()
    assert d["guardrail"] is None and d["titration"] is None
    codes = [r["code"] for r in d["comparison"]["reasons"]]
    assert "therapy-stopped" in codes


def test_first_program_has_no_titration_check() -> None:
    a = _assess(None, _program("100 mcg/day"), hours=None, etiology="stroke")
    assert a.titration is None and a.as_dict()["old"] is None
    assert a.classification is Classification.WITHIN  # cerebral recommended 90–703
