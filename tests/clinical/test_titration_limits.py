"""Titration step limits, the daily-dose guardrail, the suggestion and oral weaning.

Figures from B-DOSE (clinical-facts 3.6, 3.16) and MEDSCAPE2 / GAB-SUM (3.8).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.clinical.etiology import ETIOLOGIES, origin
from thecal.clinical.titration import (
    DoseStep,
    OralDrug,
    check_titration_step,
    daily_dose_guardrail,
    oral_weaning_plan,
    step_limit,
    suggest_titration,
)
from thecal.errors import InputError
from thecal.limits import Classification

AT = datetime(2026, 2, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(("etiology", "age", "lo", "hi"), [
    ("spinal-cord-injury", 40, 0.10, 0.30),
    ("multiple-sclerosis", 55, 0.10, 0.30),
    ("other-spinal", 18, 0.10, 0.30),
    ("stroke", 60, 0.05, 0.15),
    ("cerebral-palsy", 30, 0.05, 0.15),
    ("spinal-cord-injury", 12, 0.05, 0.15),  # child: 5–15 % whatever the origin
    ("spinal-cord-injury", None, 0.05, 0.15),  # unknown age: never read as adult
])
def test_step_limit(etiology: str, age: float | None, lo: float, hi: float) -> None:
    limit = step_limit(etiology, age)
    assert (limit.min_fraction, limit.max_fraction, limit.min_interval_h) == (lo, hi, 24.0)
    assert all(r.source == "B-DOSE" for r in limit.reasons)


def test_origin() -> None:
    assert origin("multiple-sclerosis") == "spinal"
    assert origin("brain-injury") == "cerebral"
    with pytest.raises(InputError, match="stroke"):
        origin("polio")


def test_increase_within_limit_allowed() -> None:
    # 200 → 260 is +30 %: the adult spinal maximum, allowed.
    check = check_titration_step(200, 260, 30, "spinal-cord-injury", 40)
    assert check.allowed
    assert check.max_allowed_daily_dose_mcg == 260
    assert "titration-step-within-limit" in check.codes


def test_increase_above_limit_refused() -> None:
    # Cerebral adult: 200 × 1.15 = 230 at most; 240 (+20 %) is refused.
    check = check_titration_step(200, 240, 48, "stroke", 50)
    assert not check.allowed
    assert check.max_allowed_daily_dose_mcg == 230
    assert "titration-step-exceeds-limit" in check.codes


def test_second_increase_within_24h_refused() -> None:
    check = check_titration_step(200, 220, 12, "spinal-cord-injury", 40)
    assert not check.allowed
    assert check.codes == ("titration-step-within-limit", "titration-too-soon")


def test_decrease_always_allowed() -> None:
    check = check_titration_step(400, 100, 1, "stroke", 8)
    assert check.allowed
    assert "titration-decrease" in check.codes


def test_above_absolute_ceiling_refused() -> None:
    check = check_titration_step(1900, 2090, 48, "spinal-cord-injury", 40)
    assert not check.allowed
    assert "daily-dose-above-absolute" in check.codes
    assert check.max_allowed_daily_dose_mcg == 2000


def test_bad_input_refused() -> None:
    with pytest.raises(InputError):
        check_titration_step(0, 50, None, "stroke", 40)
    with pytest.raises(InputError):
        check_titration_step(100, float("nan"), None, "stroke", 40)
    with pytest.raises(InputError):
        check_titration_step(100, 110, -1, "stroke", 40)


def test_guardrails() -> None:
    spinal = daily_dose_guardrail("spinal-cord-injury", 40)
    assert (spinal.recommended_min, spinal.recommended_max) == (300, 800)
    assert (spinal.absolute_min, spinal.absolute_max) == (12, 2000)
    cerebral = daily_dose_guardrail("cerebral-palsy", 30)
    assert (cerebral.recommended_min, cerebral.recommended_max) == (90, 703)
    child = daily_dose_guardrail("cerebral-palsy", 8)
    assert (child.recommended_min, child.recommended_max, child.absolute_min) == (24, 1199, 24)
    assert spinal.classify(900) is Classification.ABOVE_RECOMMENDED
    assert spinal.source == "MEDSCAPE2" and spinal.absolute_source == "GAB-SUM"


def test_suggest_increase_midpoint() -> None:
    # Adult spinal, midpoint 20 %: 200 → 240.
    s = suggest_titration(200, "spinal-cord-injury", 40, "too-tight", AT)
    assert (s.action, s.next_daily_dose_mcg) == ("increase", 240.0)
    # Cerebral: 10 %: 200 → 220.
    s = suggest_titration(200, "stroke", 40, "too-tight", AT)
    assert s.next_daily_dose_mcg == 220.0


def test_suggest_holds_within_24h() -> None:
    s = suggest_titration(220, "stroke", 40, "too-tight", AT,
                          recent_steps=(DoseStep(AT - timedelta(hours=6), 200),))
    assert s.action == "hold"
    assert s.not_before == AT + timedelta(hours=18)
    assert "titration-too-soon" in s.codes


def test_suggest_investigates_when_rising_without_benefit() -> None:
    steps = tuple(DoseStep(AT - timedelta(days=d), dose)
                  for d, dose in ((9, 200), (6, 230), (3, 260)))
    s = suggest_titration(290, "stroke", 40, "too-tight", AT, recent_steps=steps)
    assert s.action == "investigate"
    assert s.next_daily_dose_mcg == 290
    assert any("catheter imaging" in item for item in s.workup)
    assert "titration-rising-without-benefit" in s.codes


def test_suggest_decrease_for_side_effects_and_triage_for_withdrawal() -> None:
    s = suggest_titration(300, "stroke", 40, "about-right", AT, side_effects=("sleepiness",))
    assert (s.action, s.next_daily_dose_mcg) == ("decrease", 270.0)
    s = suggest_titration(300, "stroke", 40, "too-tight", AT, side_effects=("itching",))
    assert s.action == "triage"
    s = suggest_titration(300, "stroke", 40, "about-right", AT)
    assert s.action == "hold"
    with pytest.raises(InputError):
        suggest_titration(300, "stroke", 40, "fine", AT)


@settings(max_examples=300, deadline=None)
@given(dose=st.floats(min_value=1, max_value=2500, allow_nan=False),
       etiology=st.sampled_from(ETIOLOGIES),
       age=st.one_of(st.none(), st.floats(min_value=0, max_value=100)),
       fraction=st.one_of(st.none(), st.floats(min_value=0.001, max_value=3.0)),
       report=st.sampled_from(("too-tight", "about-right", "too-loose")),
       hours_ago=st.lists(st.floats(min_value=0, max_value=24 * 30), max_size=4),
       doses=st.lists(st.floats(min_value=1, max_value=2000), min_size=4, max_size=4))
def test_suggestion_never_above_limit(dose: float, etiology: str, age: float | None,
                                      fraction: float | None, report: str,
                                      hours_ago: list[float], doses: list[float]) -> None:
    steps = tuple(DoseStep(AT - timedelta(hours=h), d) for h, d in zip(hours_ago, doses,
                                                                       strict=False))
    s = suggest_titration(dose, etiology, age, report, AT, recent_steps=steps,
                          increase_fraction=fraction)
    limit = step_limit(etiology, age)
    if s.next_daily_dose_mcg > dose:
        assert s.action == "increase"
        assert s.next_daily_dose_mcg <= dose * (1 + limit.max_fraction) + 1e-9
        assert s.next_daily_dose_mcg <= 2000
        last = max((st_.at for st_ in steps), default=None)
        assert last is None or AT - last >= timedelta(hours=24)
        hours = None if last is None else (AT - last).total_seconds() / 3600
        assert check_titration_step(dose, s.next_daily_dose_mcg, hours, etiology, age).allowed


def test_oral_weaning_one_at_a_time() -> None:
    # Baclofen 60 mg/day at 25 %: 45, 30, 15, 0; then tizanidine 12 → 9, 6, 3, 0.
    plan = oral_weaning_plan([OralDrug("baclofen", 60), OralDrug("tizanidine", 12)],
                             date(2026, 1, 10), fraction=0.25, step_days=7)
    assert [(s.drug, s.daily_dose_mg) for s in plan.steps] == [
        ("baclofen", 45), ("baclofen", 30), ("baclofen", 15), ("baclofen", 0),
        ("tizanidine", 9), ("tizanidine", 6), ("tizanidine", 3), ("tizanidine", 0)]
    assert plan.steps[1].on == date(2026, 1, 17)
    assert all(s.assess_by - s.on == timedelta(days=1) for s in plan.steps)
    with pytest.raises(InputError, match="25–50"):
        oral_weaning_plan([OralDrug("baclofen", 60)], date(2026, 1, 10), fraction=0.6)
