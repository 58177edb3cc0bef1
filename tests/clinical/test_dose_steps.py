"""Dose steps (issue 11, point 6): beyond the recommended step a second clinician, beyond the
absolute step refused, the 24-hour rule, and never ``allowed`` while a danger reason stands."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.clinical.program import assess_program_change
from thecal.limits import Severity
from thecal.timeline import Program

AT = datetime(2026, 3, 10, 9, tzinfo=UTC)


def _assess(old: float, new: float, *, hours: float | None = 72.0,
            etiology: str = "spinal-cord-injury", age: float | None = 45.0,
            multiple: float = 2.0) -> object:
    return assess_program_change(Program(AT, daily_dose_mcg=old), Program(AT, daily_dose_mcg=new),
                                 concentration_mcg_per_ml=500.0, etiology=etiology,
                                 age_years=age, hours_since_last_change=hours,
                                 absolute_step_multiple=multiple)


def test_157_to_1500_is_refused() -> None:
    # 1500 / 157 = 9.55: +855 %, far beyond the absolute step (2 × 30 % = 60 %) for a spinal adult
    a = _assess(157.0, 1500.0)
    d = a.as_dict()  # type: ignore[attr-defined]
    assert d["decision"] == "refused" and d["allowed"] is False
    assert "titration-step-exceeds-absolute" in [r["code"] for r in d["step_reasons"]]
    assert d["danger_reasons"] and "cannot be sent" in d["refusal"]


def test_step_between_recommended_and_absolute_needs_a_second_clinician() -> None:
    # 300 → 450 = +50 %: above 30 % (recommended), below 60 % (absolute)
    a = _assess(300.0, 450.0)
    assert a.decision == "second-clinician" and not a.allowed  # type: ignore[attr-defined]
    # 300 → 390 = +30 % exactly: within the recommended step, allowed alone
    assert _assess(300.0, 390.0).decision == "allowed"  # type: ignore[attr-defined]
    # 300 → 481 = +60.3 %: beyond the absolute step
    assert _assess(300.0, 481.0).decision == "refused"  # type: ignore[attr-defined]


def test_cerebral_absolute_step_is_thirty_percent() -> None:
    # cerebral adult: recommended 15 %, absolute 2 × 15 % = 30 %; 200 → 250 = +25 %, → 270 = +35 %
    assert _assess(200.0, 250.0, etiology="cerebral-palsy").decision == "second-clinician"  # type: ignore[attr-defined]
    assert _assess(200.0, 270.0, etiology="cerebral-palsy").decision == "refused"  # type: ignore[attr-defined]


def test_site_multiple_changes_the_absolute_step() -> None:
    # a site that allows 3 × 30 % = 90 %: 300 → 540 (+80 %) needs a second clinician
    assert _assess(300.0, 540.0, multiple=3.0).decision == "second-clinician"  # type: ignore[attr-defined]
    assert _assess(300.0, 540.0).decision == "refused"  # type: ignore[attr-defined]


def test_increase_within_24_hours_is_refused() -> None:
    # the last change (e.g. the start dose) was 6 h ago: an increase waits until 24 h
    a = _assess(300.0, 330.0, hours=6.0)
    assert a.decision == "refused" and "24 h" in a.refusal  # type: ignore[attr-defined]
    # a decrease is never held back by the 24-hour rule
    assert _assess(300.0, 250.0, hours=6.0).decision == "allowed"  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(old=st.floats(12.0, 2000.0), new=st.floats(0.0, 2500.0),
       hours=st.one_of(st.none(), st.floats(0.0, 200.0)),
       etiology=st.sampled_from(["spinal-cord-injury", "multiple-sclerosis", "cerebral-palsy",
                                 "stroke"]),
       age=st.one_of(st.none(), st.floats(2.0, 90.0)),
       multiple=st.floats(1.0, 5.0))
def test_never_allowed_while_a_danger_reason_stands(old: float, new: float,
                                                     hours: float | None, etiology: str,
                                                     age: float | None,
                                                     multiple: float) -> None:
    a = _assess(old, new, hours=hours, etiology=etiology, age=age, multiple=multiple)
    d = a.as_dict()  # type: ignore[attr-defined]
    dangers = [r for part in (d["comparison"]["reasons"],
                              (d["guardrail"] or {}).get("reasons", []),
                              (d["titration"] or {}).get("reasons", []), d["step_reasons"])
               for r in part if r["severity"] == Severity.DANGER.value]
    if d["allowed"]:
        assert not dangers and d["decision"] == "allowed"
    assert d["allowed"] == (d["decision"] == "allowed")
