"""Refill calculators: golden cases worked out by hand, and the ordering invariants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thecal.catalog import catheter_model, pump_model
from thecal.clinical.dose import concentration_mcg_per_ml, daily_dose_mcg, rate_ml_per_day
from thecal.clinical.refill import (
    bridge_bolus,
    check_mixing,
    check_residual,
    fill_volume,
    plan_refill,
    priming_bolus,
)
from thecal.errors import InputError

T0 = datetime(2026, 4, 10, 9, 0, tzinfo=timezone(timedelta(hours=2)))


def test_plan_20ml_pump_golden() -> None:
    # 18 mL of 500 mcg/mL at 300 mcg/day → 0.6 mL/day.
    # 16 mL above the 2 mL alarm / 0.6 = 26.67 days to the alarm; 18 / 0.6 = 30 days to empty.
    # Pump 14.5 % fast: 16 / (0.6 × 1.145) = 23.29 days → refill due by 23 whole days.
    plan = plan_refill(at=T0, reservoir_ml=18, daily_volume_ml=rate_ml_per_day(300, 500),
                       low_reservoir_alarm_ml=2, accuracy_fraction=0.145, last_refill_at=T0)
    assert plan.days_to_alarm == pytest.approx(26.6667, abs=1e-4)
    assert plan.low_reservoir_alarm_at == T0 + timedelta(days=16 / 0.6)
    assert plan.empty_at == T0 + timedelta(days=30)
    assert plan.refill_due_by == T0 + timedelta(days=23)
    assert "refill-due-conservative" in {r.code for r in plan.reasons}


def test_plan_40ml_pump_limited_by_drug_interval() -> None:
    # 38 mL of 2000 mcg/mL at 280 mcg/day → 0.14 mL/day: 36 / 0.14 = 257 days to the alarm,
    # 224 days conservatively — but the drug may stay at most 180 days (GAB-PT).
    plan = plan_refill(at=T0, reservoir_ml=38, daily_volume_ml=0.14, low_reservoir_alarm_ml=2,
                       accuracy_fraction=0.145, last_refill_at=T0)
    assert plan.days_to_alarm == pytest.approx(257.142857, abs=1e-6)
    assert plan.refill_due_by == T0 + timedelta(days=180)
    assert plan.reasons[-1].code == "refill-due-drug-interval"


def test_plan_at_or_below_alarm_is_due_now() -> None:
    plan = plan_refill(at=T0, reservoir_ml=1.5, daily_volume_ml=0.5, low_reservoir_alarm_ml=2,
                       accuracy_fraction=0.145)
    assert plan.refill_due_by == T0
    assert "reservoir-at-alarm" in {r.code for r in plan.reasons}


@given(reservoir=st.floats(0, 40), daily=st.floats(0.01, 24), alarm=st.floats(0.5, 5),
       accuracy=st.floats(0, 0.3), since=st.floats(0, 400))
def test_due_never_after_alarm_never_after_empty(reservoir: float, daily: float, alarm: float,
                                                 accuracy: float, since: float) -> None:
    plan = plan_refill(at=T0, reservoir_ml=reservoir, daily_volume_ml=daily,
                       low_reservoir_alarm_ml=alarm, accuracy_fraction=accuracy,
                       last_refill_at=T0 - timedelta(days=since))
    assert plan.low_reservoir_alarm_at is not None and plan.empty_at is not None
    assert plan.refill_due_by <= plan.low_reservoir_alarm_at <= plan.empty_at
    assert plan.refill_due_by <= T0 - timedelta(days=since) + timedelta(days=180)


def test_residual_discrepancy_thresholds_maino() -> None:
    small = check_residual(expected_residual_ml=5.0, withdrawn_ml=6.2, reservoir_capacity_ml=20)
    assert small.flagged and small.direction == "more-withdrawn"
    assert small.discrepancy_ml == pytest.approx(1.2)
    assert "under" in small.reasons[-1].message
    large = check_residual(expected_residual_ml=5.0, withdrawn_ml=6.5, reservoir_capacity_ml=40)
    assert not large.flagged and large.threshold_ml == 2.0
    less = check_residual(expected_residual_ml=8.0, withdrawn_ml=5.5, reservoir_capacity_ml=40)
    assert less.flagged and less.direction == "less-withdrawn"
    assert "aspirat" in " ".join(r.message for r in less.reasons)
    edge = check_residual(expected_residual_ml=5.0, withdrawn_ml=6.0, reservoir_capacity_ml=20)
    assert not edge.flagged  # exactly 1 mL is not "above 1 mL"


def test_bridge_bolus_golden() -> None:
    # Dead volume: SynchroMed tubing 0.14 mL + Ascenda 52 cm × 0.0022 mL/cm = 0.2544 mL.
    # Old 500 mcg/mL at 300 mcg/day → 0.6 mL/day; the line empties in 0.2544 / 0.6 d = 10.176 h,
    # delivering 0.2544 × 500 = 127.2 mcg.
    dead = pump_model("synchromed-ii-40").tubing_volume_ml + catheter_model("ascenda").volume_ml(52)
    bolus = bridge_bolus(old_concentration_mcg_per_ml=500, new_concentration_mcg_per_ml=2000,
                         old_daily_dose_mcg=300, dead_volume_ml=dead)
    assert bolus.needed
    assert bolus.volume_ml == pytest.approx(0.2544)
    assert bolus.rate_ml_per_day == pytest.approx(0.6)
    assert bolus.duration_h == pytest.approx(10.176)
    assert bolus.dose_mcg == pytest.approx(127.2)
    assert "without-bridge-underdose" in {r.code for r in bolus.reasons}
    down = bridge_bolus(old_concentration_mcg_per_ml=2000, new_concentration_mcg_per_ml=500,
                        old_daily_dose_mcg=300, dead_volume_ml=dead)
    assert "without-bridge-overdose" in {r.code for r in down.reasons}
    same = bridge_bolus(old_concentration_mcg_per_ml=500, new_concentration_mcg_per_ml=500,
                        old_daily_dose_mcg=300, dead_volume_ml=dead)
    assert not same.needed


def test_priming_bolus_fills_the_line() -> None:
    pump = pump_model("synchromed-ii-20")
    prime = priming_bolus(pump=pump, catheter_volume_ml=catheter_model("ascenda").volume_ml(52),
                          concentration_mcg_per_ml=500)
    assert prime.volume_ml == pytest.approx(0.2544)
    assert prime.duration_h == pytest.approx(0.2544 / 24 * 24)
    assert "priming-supervision" in {r.code for r in prime.reasons}


@given(st.floats(0.001, 5000), st.sampled_from([50.0, 500.0, 1000.0, 2000.0]))
def test_dose_rate_round_trip(dose: float, conc: float) -> None:
    rate = rate_ml_per_day(dose, conc)
    assert daily_dose_mcg(rate, conc) == pytest.approx(dose, rel=1e-12)
    assert concentration_mcg_per_ml(dose, rate) == pytest.approx(conc, rel=1e-12)


def test_dose_conversion_refuses_zero_concentration() -> None:
    with pytest.raises(InputError):
        rate_ml_per_day(100, 0)


def test_fill_volume_fills_to_full_after_a_drained_reservoir() -> None:
    # A refill is a measurement: 40 mL pump, 5.25 mL expected, 5.0 withdrawn → the reservoir
    # was drained, nothing stays; fill 40 mL. The 4.837 vs 4.8 mL case: fill the 20 mL pump
    # to 20 mL.
    filling = fill_volume(capacity_ml=40, expected_residual_ml=5.25, withdrawn_ml=5.0)
    assert filling.remaining_ml == 0 and filling.suggested_added_ml == 40
    assert fill_volume(capacity_ml=20, expected_residual_ml=4.837,
                       withdrawn_ml=4.8).suggested_added_ml == 20
    more = fill_volume(capacity_ml=20, expected_residual_ml=3.0, withdrawn_ml=4.0)
    assert more.remaining_ml == 0 and more.suggested_added_ml == 20
    # Incomplete aspiration, 0.25 mL said to stay: 39.75 mL fills it, shown as 39.7 mL
    # (rounded down so the reservoir cannot overfill).
    kept = fill_volume(capacity_ml=40, expected_residual_ml=5.25, withdrawn_ml=5.0,
                       kept_residual_ml=0.25)
    assert kept.remaining_ml == pytest.approx(0.25)
    assert kept.suggested_added_ml == pytest.approx(39.7)


@given(st.floats(1, 40), st.floats(0, 1), st.floats(0, 40), st.floats(0, 1))
def test_fill_volume_property(capacity: float, fraction: float, withdrawn: float,
                              kept_fraction: float) -> None:
    expected = capacity * fraction  # the reservoir never holds more than its capacity
    filling = fill_volume(capacity_ml=capacity, expected_residual_ml=expected, withdrawn_ml=withdrawn,
                          kept_residual_ml=kept_fraction * capacity)
    assert filling.suggested_added_ml >= 0
    assert filling.remaining_ml + filling.suggested_added_ml <= capacity + 1e-9


def test_mixing_golden() -> None:
    # 3.04 mL of 2000 mcg/mL left behind + 10 mL of 500 mcg/mL: (6080 + 5000) / 13.04 =
    # 849.69 mcg/mL, so the pump told "500" delivers 1.70× every programmed dose.
    mix = check_mixing(remaining_ml=3.04, remaining_concentration_mcg_per_ml=2000, added_ml=10,
                       added_concentration_mcg_per_ml=500)
    assert mix.mixed_concentration_mcg_per_ml == pytest.approx(849.693, abs=1e-3)
    assert mix.ratio == pytest.approx(1.699, abs=1e-3)
    assert mix.flagged and mix.reasons[0].severity.value == "danger"
    same = check_mixing(remaining_ml=3.04, remaining_concentration_mcg_per_ml=500, added_ml=10,
                        added_concentration_mcg_per_ml=500)
    assert not same.flagged and same.ratio == pytest.approx(1.0)
    small = check_mixing(remaining_ml=0.2, remaining_concentration_mcg_per_ml=1000, added_ml=19.8,
                         added_concentration_mcg_per_ml=2000)
    assert not small.flagged  # 0.99× is within the ±5 % labelled strength (LIO-AMP)
