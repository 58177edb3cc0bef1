"""Golden cases for the twin, each worked out by hand in its comment.

Common set-up (``implanted()``): implant at t = 0 h of a SynchroMed II with an Ascenda catheter
of 50 cm — dead volume = tubing 0.14 mL (TGA-TUBING) + 0.0022 mL/cm × 50 cm = 0.25 mL, full of
saline; fill at 1 h with 500 mcg/mL; priming bolus at 1 h: 0.25 mL at 24 mL/day = 1 mL/h, so
it ends at 1.25 h, pushes the saline out (0 mcg reaches the spinal fluid) and leaves
19.75 mL (20 mL pump) in the reservoir; program 100 mcg/day at 2 h → 100/500 = 0.2 mL/day.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from twin_helpers import build, dt, implanted

from thecal.catalog import pump_model
from thecal.device.replay import replay
from thecal.errors import TimelineError

H = 1.0 / 24.0  # days per hour
BASAL = 100.0 / 24.0  # mcg/h at 100 mcg/day


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-12, abs=1e-9)


def test_continuous_20ml_empties_at_the_exact_time() -> None:
    # After priming 19.75 mL at 0.2 mL/day from 2 h: empty after 98.75 days = 2370 h → 2372 h.
    # Low-reservoir alarm (2 mL, NSURG04): 17.75 mL / 0.2 = 88.75 days = 2130 h → 2132 h.
    # Spinal fluid: nothing before 2 h (saline out), then 100 mcg/day for 98.75 days = 9875 mcg;
    # the dead volume keeps 0.25 mL × 500 = 125 mcg: 9875 + 125 = 10000 mcg added.
    r = replay(build(implanted("synchromed-ii-20")), dt(3000))
    assert r.csf_delivery.segments() == [(0.0, 2.0, 0.0), (2.0, 2372.0, approx(BASAL)),
                                         (2372.0, 3000.0, 0.0)]
    assert r.reservoir_ml_at(2372.0)[0] == 0.0
    assert r.reservoir_ml_at(2371.0)[0] == approx(0.2 / 24)
    codes = {a.code: a for a in r.alarm_log}
    assert codes["low-reservoir"].raised_h == approx(2132.0)
    assert codes["low-reservoir"].priority == "medium"
    assert codes["empty-reservoir"].raised_h == approx(2372.0)
    assert codes["empty-reservoir"].priority == "high"
    mb = r.mass_balance(3000)
    assert mb.delivered_to_csf_mcg == approx(9875.0)
    assert mb.in_dead_volume_mcg == approx(125.0)
    assert mb.added_mcg == 10000.0
    assert abs(mb.residual_mcg) < 1e-9
    # One day after programming: 19.55 mL, empty projected at 2372 h, low alarm at 2132 h.
    s = r.state_at(dt(26))
    assert s.reservoir_ml == approx(19.55)
    assert s.pump_state == "running"
    assert s.empty_at == dt(2372)
    assert s.low_reservoir_alarm_at == dt(2132)
    assert s.rate_ml_per_day == approx(0.2)
    assert r.state_at(dt(2500)).pump_state == "empty"
    assert r.state_at(dt(2500)).empty_at == dt(2372)


def test_continuous_40ml_with_a_programmed_alarm_volume() -> None:
    # 39.75 mL at 0.2 mL/day: empty after 198.75 days = 4770 h → 4772 h.
    # Alarm at 4 mL: 35.75 / 0.2 = 178.75 days = 4290 h → 4292 h.
    events = implanted("synchromed-ii-40", added="40 mL")
    events[0]["low_reservoir_alarm"] = "4 mL"
    r = replay(build(events), dt(5000))
    codes = {a.code: a for a in r.alarm_log}
    assert codes["low-reservoir"].raised_h == approx(4292.0)
    assert r.reservoir_ml_at(4292.0)[0] == approx(4.0)
    assert codes["empty-reservoir"].raised_h == approx(4772.0)
    assert r.state_at(dt(100)).empty_at == dt(4772)


def test_flex_program_across_both_daylight_saving_days() -> None:
    # Europe/Berlin; 2000 mcg/mL; flex 00:00 → 120 mcg/day (0.06 mL/day), 12:00 → 240 mcg/day.
    # A normal local day: 12 h × 5 mcg/h + 12 h × 10 mcg/h = 180 mcg.
    # 29 March 2026 (clocks go 02:00 → 03:00): the morning step lasts 11 h: 55 + 120 = 175 mcg.
    # 25 October 2026 (03:00 → 02:00): it lasts 13 h: 65 + 120 = 185 mcg.
    # Local midnights in UTC: 2026-03-28T23:00Z … 2026-03-29T22:00Z (23 h);
    # 2026-10-24T22:00Z … 2026-10-25T23:00Z (25 h). Noon on 29 March is 10:00Z.
    events = implanted("synchromed-ii-40", added="40 mL", concentration="2000 mcg/mL",
                       dose=None)
    events.append({"h": 2, "type": "program", "mode": "flex",
                   "steps": [{"start": "00:00", "daily_dose": "120 mcg/day"},
                             {"start": "12:00", "daily_dose": "240 mcg/day"}]})
    until = datetime(2026, 11, 1, tzinfo=UTC)
    r = replay(build(events), until)

    def day(a: datetime, b: datetime) -> float:
        return r.csf_delivery.integral(r.t_h(a), r.t_h(b))

    assert day(datetime(2026, 3, 27, 23, tzinfo=UTC), datetime(2026, 3, 28, 23, tzinfo=UTC)) \
        == approx(180.0)
    assert day(datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC)) \
        == approx(175.0)
    assert day(datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 23, tzinfo=UTC)) \
        == approx(185.0)
    noon = r.t_h(datetime(2026, 3, 29, 10, tzinfo=UTC))
    assert r.flow_ml_per_day.value_at([noon - 1e-6, noon]).tolist() == [approx(0.06),
                                                                         approx(0.12)]
    assert r.programmed_daily_dose.value_at([noon - 1e-6, noon]).tolist() == [120.0, 240.0]
    # Projection under a flex program: exact over the daily cycle. Reservoir at the end of a
    # local day is x; the next empty time must make the volume integral equal x.
    s = r.state_at(until)
    assert s.empty_at is not None
    assert s.program_mode == "flex"


def test_clinician_bolus_adds_to_the_basal() -> None:
    # 50 mcg over 30 min at 500 mcg/mL: 0.1 mL over 0.5 h = 0.2 mL/h on top of 0.2 mL/day.
    # Flow 0.2 × 24 + 0.2 = 5.0 mL/day; spinal fluid gets 50 + 0.5 × 100/24 mcg in [50, 50.5].
    events = implanted()
    events.append({"h": 50, "type": "bolus", "kind": "clinician", "dose": "50 mcg",
                   "duration": "30 min"})
    r = replay(build(events), dt(100))
    assert r.flow_ml_per_day.value_at(50.25)[0] == approx(5.0)
    assert r.flow_ml_per_day.value_at(50.5)[0] == approx(0.2)
    assert r.csf_delivery.integral(50, 50.5) == approx(50 + 0.5 * BASAL)
    assert r.reservoir_ml_at(50.5)[0] == approx(19.75 - 0.2 * 48.5 / 24 - 0.1)
    ev = [e for e in r.events if e.type == "bolus"][-1]
    assert ev.bolus_volume_ml == approx(0.1)
    assert ev.bolus_duration_h == approx(0.5)


def _concentration_change(bridge: bool) -> list[dict[str, object]]:
    events = implanted()
    events.append({"h": 100, "type": "refill", "withdrawn": "20 mL", "added": "20 mL",
                   "concentration": "2000 mcg/mL"})
    if bridge:
        events.append({"h": 100, "type": "bolus", "kind": "bridge"})
    return events


def test_concentration_change_without_bridge_old_drug_arrives_first() -> None:
    # At 100 h the reservoir holds 19.75 − 0.2 × 98/24 = 18.9333 mL (the expected residual);
    # 20 mL are withdrawn (1.0667 mL more than expected: the twin counts what it held).
    # New rate 100/2000 = 0.05 mL/day pushes the old 500 mcg/mL drug out first:
    # 0.05 × 500 = 25 mcg/day for 0.25 / 0.05 = 5 days = 120 h, then 100 mcg/day.
    r = replay(build(_concentration_change(False)), dt(400))
    refill = [e for e in r.events if e.type == "refill"][-1]
    assert refill.expected_residual_ml == approx(19.75 - 0.2 * 98 / 24)
    assert refill.withdrawn_discrepancy_ml == approx(20 - (19.75 - 0.2 * 98 / 24))
    segs = r.csf_delivery.restricted(90, 400).segments()
    assert segs == [(90.0, 100.0, approx(BASAL)), (100.0, 220.0, approx(25 / 24)),
                    (220.0, 400.0, approx(BASAL))]
    assert abs(r.mass_balance(400).residual_mcg) < 1e-9


def test_concentration_change_with_bridge_keeps_the_daily_dose() -> None:
    # Bridge: 0.25 mL at the old drug's rate-equivalent 100/500 = 0.2 mL/day → 1.25 days =
    # 30 h, replacing the basal: 0.2 mL/day × 500 = 100 mcg/day of the old drug, then the new
    # drug arrives at the tip and 0.05 mL/day × 2000 = 100 mcg/day. No gap, no step.
    r = replay(build(_concentration_change(True)), dt(400))
    segs = r.csf_delivery.restricted(90, 400).segments()
    assert len(segs) == 1 and segs[0][2] == approx(BASAL)
    assert r.flow_ml_per_day.value_at([110, 131]).tolist() == [approx(0.2), approx(0.05)]
    bridge = r.events[-1]
    assert bridge.bolus_volume_ml == approx(0.25)
    assert bridge.bolus_duration_h == approx(30.0)
    # Reservoir: 20 mL after the refill, 0.25 mL in 30 h, then 0.05 mL/day.
    assert r.reservoir_ml_at(130)[0] == approx(19.75)
    assert r.state_at(dt(130)).concentration_changed_at == dt(100)


def test_a_short_aspiration_is_a_measurement_booked_as_unaccounted() -> None:
    # At 1202 h (50 days of 0.2 mL/day): 19.75 − 10 = 9.75 mL expected (pump-calculated).
    # The nurse drains 9.25 mL: that is the measurement of what was left. After the refill the
    # reservoir holds what was added, 10 mL of 2000 mcg/mL; the 0.5 mL × 500 mcg/mL = 250 mcg
    # the twin believed were inside are booked as unaccounted, never as drug still inside.
    events = implanted()
    events.append({"h": 1202, "type": "refill", "withdrawn": "9.25 mL", "added": "10 mL",
                   "concentration": "2000 mcg/mL"})
    r = replay(build(events), dt(1300))
    refill = r.events[-1]
    assert refill.expected_residual_ml == approx(9.75)
    assert refill.withdrawn_discrepancy_ml == approx(-0.5)
    assert refill.unaccounted_ml == approx(0.5)
    s = r.state_at(dt(1202))
    assert s.reservoir_ml == approx(10.0)
    assert s.pump_calculated_ml == approx(10.0) and s.estimate_ml == approx(10.0)
    assert s.concentration_mcg_per_ml == approx(2000.0)
    mb = r.mass_balance(1300)
    assert mb.unaccounted_mcg == approx(250.0)
    assert mb.withdrawn_mcg == approx(9.25 * 500)
    assert abs(mb.residual_mcg) < 1e-9
    # The exact withdrawal: no discrepancy, nothing unaccounted.
    exact = implanted()
    exact.append({"h": 1202, "type": "refill", "withdrawn": "9.75 mL", "added": "20 mL",
                  "concentration": "500 mcg/mL"})
    r2 = replay(build(exact), dt(1300))
    assert r2.events[-1].withdrawn_discrepancy_ml == approx(0.0)
    assert r2.state_at(dt(1202)).reservoir_ml == approx(20.0)
    assert r2.mass_balance(1300).unaccounted_mcg == approx(0.0)


def test_an_incomplete_aspiration_keeps_its_estimated_residual_and_mixes() -> None:
    # Same refill said to be incomplete with 0.5 mL estimated left: 0.5 mL of 500 mcg/mL +
    # 10 mL of 2000 mcg/mL = 10.5 mL holding 250 + 20000 mcg → 1928.571… mcg/mL; the pump is
    # told 2000. Unaccounted: 9.75 − 9.25 − 0.5 = 0.
    events = implanted()
    events.append({"h": 1202, "type": "refill", "withdrawn": "9.25 mL", "added": "10 mL",
                   "concentration": "2000 mcg/mL", "aspiration": "incomplete",
                   "estimated_residual": "0.5 mL"})
    r = replay(build(events), dt(1300))
    s = r.state_at(dt(1202))
    assert s.reservoir_ml == approx(10.5) and s.pump_calculated_ml == approx(10.5)
    assert s.concentration_mcg_per_ml == approx(20250 / 10.5)
    assert s.programmed_concentration_mcg_per_ml == 2000.0
    assert r.mass_balance(1300).unaccounted_mcg == approx(0.0)
    assert abs(r.mass_balance(1300).residual_mcg) < 1e-9


def test_the_40ml_pump_drained_short_fills_to_full_in_one_go() -> None:
    # The case: a 40 mL pump at 0.2 mL/day for 100 days expects 20 mL; 17 mL are
    # drawn and the pump is filled to 40 mL. Accepted: 40 mL inside afterwards, the −3 mL
    # discrepancy kept as 3 mL × 500 = 1500 mcg unaccounted.
    events = implanted("synchromed-ii-40", added="40 mL")
    # 40 − 0.25 priming − 0.2 × (2401 − 2)/24 days... choose the refill at 100 days after the
    # program start: 0.2 × 100 = 20 mL gone → 19.75 mL expected.
    events.append({"h": 2402, "type": "refill", "withdrawn": "17 mL", "added": "40 mL",
                   "concentration": "500 mcg/mL"})
    r = replay(build(events), dt(2500))
    refill = r.events[-1]
    assert refill.expected_residual_ml == approx(19.75)
    assert refill.withdrawn_discrepancy_ml == approx(-2.75)
    assert r.state_at(dt(2402)).estimate_ml == approx(40.0)
    assert r.mass_balance(2500).unaccounted_mcg == approx(2.75 * 500)


def test_overfilling_refill_names_the_event_and_field() -> None:
    # 9.75 mL said to be left (incomplete aspiration) + 10.5 mL added = 20.25 mL > 20 mL.
    events = implanted()
    events.append({"h": 1202, "type": "refill", "withdrawn": "0 mL", "added": "10.5 mL",
                   "concentration": "500 mcg/mL", "aspiration": "incomplete",
                   "estimated_residual": "9.75 mL"})
    with pytest.raises(TimelineError) as info:
        replay(build(events), dt(1300))
    assert info.value.where == "events[4].added"


def test_more_withdrawn_than_the_reservoir_holds_asks_to_check_the_needle() -> None:
    # A 20 mL pump holds at most 20 mL + 5 % tolerance = 21 mL of aspirate.
    events = implanted()
    events.append({"h": 1202, "type": "refill", "withdrawn": "21.5 mL", "added": "20 mL",
                   "concentration": "500 mcg/mL"})
    with pytest.raises(TimelineError) as info:
        build(events)
    assert info.value.where == "events[4].withdrawn"
    assert "needle placement" in (info.value.fix or "")
    ok = implanted()
    ok.append({"h": 1202, "type": "refill", "withdrawn": "21 mL", "added": "20 mL",
               "concentration": "500 mcg/mL"})
    assert replay(build(ok), dt(1300)).events[-1].withdrawn_discrepancy_ml == approx(11.25)


def test_eri_and_eos_dates_and_the_hard_stop() -> None:
    # Implant 2026-01-05 08:00Z; service life 2557 days (7 years, M-REPL) → EOS 2033-01-05
    # 08:00Z; ERI 90 days before → 2032-10-07 08:00Z.
    r = replay(build(implanted()), datetime(2033, 2, 1, tzinfo=UTC))
    s = r.state_at(datetime(2026, 2, 1, tzinfo=UTC))
    assert s.end_of_service_at == datetime(2033, 1, 5, 8, tzinfo=UTC)
    assert s.elective_replacement_at == datetime(2032, 10, 7, 8, tzinfo=UTC)
    codes = {a.code: a for a in r.alarm_log}
    assert codes["elective-replacement"].raised_at == datetime(2032, 10, 7, 8, tzinfo=UTC)
    assert codes["elective-replacement"].priority == "medium"
    assert codes["end-of-service"].raised_at == datetime(2033, 1, 5, 8, tzinfo=UTC)
    assert codes["end-of-service"].priority == "high"
    assert r.state_at(datetime(2033, 1, 6, tzinfo=UTC)).pump_state == "end-of-service"


def test_end_of_service_stops_delivery_with_drug_left() -> None:
    # A stand-in catalog entry with a 30-day life: EOS at 720 h, ERI at 720 − 90 days < 0 (so
    # at once). Flow stops at 720 h with 19.75 − 0.2 × 718/24 mL still in the reservoir.
    short = dataclasses.replace(pump_model("synchromed-ii-20"), service_life_days=30.0)
    r = replay(build(implanted()), dt(1000), pump_lookup=lambda _id: short)
    assert r.flow_ml_per_day.value_at([719.9, 720.0]).tolist() == [approx(0.2), 0.0]
    assert r.reservoir_ml_at(900)[0] == approx(19.75 - 0.2 * 718 / 24)
    assert r.state_at(dt(800)).empty_at is None


def test_replacing_the_pump_resets_the_battery_and_clears_alarms() -> None:
    events = implanted()
    events.append({"at": "2032-11-01T08:00:00+00:00", "type": "replace-pump",
                   "pump": "synchromed-ii-40"})
    r = replay(build(events), datetime(2033, 2, 1, tzinfo=UTC))
    eri = [a for a in r.alarm_log if a.code == "elective-replacement"]
    assert eri[0].cleared_at == datetime(2032, 11, 1, 8, tzinfo=UTC)
    assert not any(a.code == "end-of-service" for a in r.alarm_log)
    s = r.state_at(datetime(2033, 2, 1, tzinfo=UTC))
    assert s.pump_model == "synchromed-ii-40"
    assert s.end_of_service_at == datetime(2039, 11, 2, 8, tzinfo=UTC)  # + 2557 days
    assert s.reservoir_ml == 0.0 and s.program_mode == "stopped"


def test_synchromed_mri_stalls_the_motor_then_resumes_after_the_delay() -> None:
    # 40-min scan at 100 h; catalog delay 2 h (M-MRI, assumed): no flow on [100, 102.667).
    events = implanted()
    events.append({"h": 100, "type": "mri", "duration": "40 min"})
    r = replay(build(events), dt(200))
    end = 100 + 40 / 60 + 2
    assert r.flow_ml_per_day.value_at([99.9, 100.0, end - 1e-6, end]).tolist() == \
        [approx(0.2), 0.0, 0.0, approx(0.2)]
    stall = next(a for a in r.alarm_log if a.code == "motor-stall")
    assert stall.priority == "high"
    assert stall.raised_h == 100.0 and stall.cleared_h == approx(end)
    assert r.state_at(dt(101)).pump_state == "mri-stalled"
    assert r.state_at(dt(101)).last_mri_at == dt(100)
    # A scenario may set the delay up to 24 h.
    r24 = replay(build(events), dt(200), mri_resume_delay_h=24.0)
    assert r24.flow_ml_per_day.value_at(100 + 40 / 60 + 23.9)[0] == 0.0


def test_prometra_ii_mri_without_emptying_shuts_the_valve_and_stops_therapy() -> None:
    # Prometra II 20 mL: tubing 0.1 mL (assumed) + 0.11 mL catheter = 0.21 mL; priming at
    # 28.8 mL/day. Not emptied before the MRI at 100 h: the flow-activated valve passes at most
    # 10 µL (0.01 mL × 500 mcg/mL = 5 mcg, at the tip at once since the line already holds
    # the same drug) and shuts; delivery stays stopped until the pump is reset (PROM, 8.2).
    # The hazard is therapy stopped (withdrawal), not an overdose of the whole reservoir.
    events = implanted("prometra-ii-20")
    events.append({"h": 100, "type": "mri", "duration": "40 min"})
    r = replay(build(events), dt(200))
    held = 20 - 0.21 - 0.2 * 98 / 24
    assert len(r.csf_impulses) == 1
    assert r.csf_impulses[0].dose_mcg == approx(0.01 * 500)
    assert [a.code for a in r.alarm_log if a.priority == "high"] == ["mri-valve-closed"]
    assert r.reservoir_ml_at(150)[0] == approx(held - 0.01)
    assert r.flow_ml_per_day.value_at(150)[0] == 0.0
    assert r.state_at(dt(150)).pump_state == "mri-valve-closed"
    assert abs(r.mass_balance(200).residual_mcg) < 1e-9
    # The clinician resets the pump at an interrogation that shows it running: flow resumes.
    reset = [*events, {"h": 120, "type": "interrogation", "pump_state": "running"}]
    r3 = replay(build(reset), dt(200))
    assert r3.flow_ml_per_day.value_at([119, 121]).tolist() == [0.0, approx(0.2)]
    assert r3.state_at(dt(121)).pump_state == "running"
    # Emptied first: nothing discharged, no alarm.
    emptied = implanted("prometra-ii-20")
    emptied.append({"h": 99, "type": "refill", "withdrawn": "20 mL", "added": "0 mL",
                    "concentration": "500 mcg/mL"})
    emptied.append({"h": 100, "type": "mri", "duration": "40 min"})
    r2 = replay(build(emptied), dt(200))
    assert r2.csf_impulses == ()
    assert not any(a.code == "mri-discharge" for a in r2.alarm_log)


def test_faults_kink_leak_stall_reset_and_pocket_fill() -> None:
    events = implanted()
    events += [
        # kink 0.7 for 48 h: 0.3 × 0.2 = 0.06 mL/day, silent.
        {"h": 100, "type": "fault", "kind": "catheter-kink", "severity": 0.7, "duration": "48 h"},
        # leak 0.4 for 24 h: 60 % to the spinal fluid, 40 % to tissue.
        {"h": 200, "type": "fault", "kind": "catheter-leak", "severity": 0.4, "duration": "24 h"},
        # motor stall for 10 h: no flow, high alarm raised and cleared.
        {"h": 300, "type": "fault", "kind": "motor-stall", "duration": "10 h"},
        # battery reset for 24 h: 0.048 mL/day (catalog, M-ADV).
        {"h": 400, "type": "fault", "kind": "battery-reset", "duration": "24 h"},
        # pocket fill 0.5 at the next refill: 5 of 10 mL (2500 mcg) into tissue.
        {"h": 500, "type": "fault", "kind": "pocket-fill", "severity": 0.5},
        {"h": 501, "type": "refill", "withdrawn": "20 mL", "added": "10 mL",
         "concentration": "500 mcg/mL"},
    ]
    r = replay(build(events), dt(600))
    assert r.flow_ml_per_day.value_at([120, 150]).tolist() == [approx(0.06), approx(0.2)]
    assert r.csf_delivery.value_at(210)[0] == approx(0.6 * BASAL)
    assert r.tissue_loss.value_at(210)[0] == approx(0.4 * BASAL)
    assert r.flow_ml_per_day.value_at([305, 310]).tolist() == [0.0, approx(0.2)]
    stall = next(a for a in r.alarm_log if a.code == "motor-stall")
    assert (stall.raised_h, stall.cleared_h) == (300.0, 310.0)
    assert r.flow_ml_per_day.value_at(410)[0] == approx(0.048)
    assert r.tissue_impulses[-1].dose_mcg == approx(2500.0)
    assert r.events[-1].reservoir_after_ml == approx(5.0)
    mb = r.mass_balance(600)
    assert mb.lost_to_tissue_mcg == approx(2500.0 + 0.4 * 100.0)
    assert abs(mb.residual_mcg) < 1e-9
    assert not any(a.code in ("low-reservoir", "empty-reservoir") for a in r.alarm_log)


def test_catheter_revision_fills_the_new_catheter_with_saline() -> None:
    # At 100 h the 0.11 mL catheter (0.0022 × 50) is replaced: its 55 mcg leave with it; the
    # tubing's 0.14 mL of drug stays. The new saline reaches the tip first: no drug for
    # 0.11 / 0.2 days = 13.2 h, then 100 mcg/day again.
    events = implanted()
    events.append({"h": 100, "type": "catheter-revision"})
    r = replay(build(events), dt(200))
    assert r.csf_delivery.restricted(99, 200).segments() == [
        (99.0, 100.0, approx(BASAL)), (100.0, approx(113.2), 0.0), (approx(113.2), 200.0,
                                                                    approx(BASAL))]
    mb = r.mass_balance(200)
    assert mb.removed_with_device_mcg == approx(55.0)
    assert abs(mb.residual_mcg) < 1e-9
    assert r.state_at(dt(150)).last_catheter_revision_at == dt(100)


def test_constant_flow_pump_has_no_alarms_and_flows_from_the_fill() -> None:
    # constant-flow-20: 0.5 mL/day from the fill at 1 h; dead volume 0.1 + 0.11 = 0.21 mL of
    # saline: drug reaches the tip 0.21 / 0.5 days = 10.08 h later; 250 mcg/day after that.
    # Empty at 1 + 20 / 0.5 days = 961 h. No battery, no alarm.
    events = implanted("constant-flow-20", dose=None)[:2]
    r = replay(build(events), dt(1000))
    assert r.csf_delivery.segments()[:2] == [(0.0, approx(11.08), 0.0),
                                             (approx(11.08), approx(961.0), approx(250 / 24))]
    assert r.alarm_log == ()
    s = r.state_at(dt(100))
    assert s.empty_at == dt(961)
    assert s.program_mode == "constant-flow"
    assert s.daily_dose_mcg == approx(250.0)
    assert s.end_of_service_at is None


def test_alarm_acknowledged_then_cleared_by_the_refill() -> None:
    events = implanted()
    events += [
        {"h": 2140, "type": "alarm-acknowledged", "alarm": "low-reservoir"},
        {"h": 2200, "type": "refill", "withdrawn": "1 mL", "added": "19 mL",
         "concentration": "500 mcg/mL"},
    ]
    r = replay(build(events), dt(2300))
    (low,) = [a for a in r.alarm_log if a.code == "low-reservoir"]
    assert low.raised_h == approx(2132.0)
    assert low.acknowledged_h == 2140.0 and low.cleared_h == 2200.0
    active = r.state_at(dt(2150)).alarms
    assert [(a.code, a.acknowledged) for a in active] == [("low-reservoir", True)]
    assert r.state_at(dt(2250)).alarms == ()


def test_program_before_any_fill_delivers_nothing_and_says_so() -> None:
    events = implanted(dose=None)[:1]
    events.append({"h": 1, "type": "program", "mode": "continuous", "daily_dose": "100 mcg/day"})
    r = replay(build(events), dt(10))
    assert r.flow_ml_per_day.values.tolist() in ([], [0.0])
    assert any("concentration" in n for n in r.events[-1].notes)


def test_rate_outside_the_pump_range_is_refused() -> None:
    # 2000 mcg/day at 50 mcg/mL would need 40 mL/day; the pump runs at most 24 mL/day.
    events = implanted(concentration="50 mcg/mL", dose=None)
    events.append({"h": 2, "type": "program", "mode": "continuous", "daily_dose": "2000 mcg/day"})
    with pytest.raises(TimelineError) as info:
        replay(build(events), dt(10))
    assert info.value.where == "events[3].daily_dose"


def test_state_before_the_until_and_time_helpers() -> None:
    r = replay(build(implanted()), dt(10))
    assert r.epoch == dt(0)
    assert r.t_h(dt(5)) == 5.0
    assert r.datetime_at(5.0) == dt(5)
    with pytest.raises(Exception, match="after the replay"):
        r.state_at(dt(11))
    assert r.state_at(dt(0)).implanted_at == dt(0)


def test_a_refill_at_the_same_strength_keeps_the_strength_exactly() -> None:
    # 20 mL pump filled with 19.4 mL of 1 mg/mL (fill at 1 h). Mass over volume the textbook
    # way gives (0 × 0 + 19.4 × 1000) / (0 + 19.4) = 1000.0000000000001 mcg/mL: 19.4 × 1000
    # and the division each round. The twin mixes as C1 + (C2 − C1) · V2 / (V1 + V2), which
    # is C2 exactly when nothing remains and C1 exactly when C1 == C2, so the reservoir holds
    # 1000 mcg/mL. A second refill of 1000 mcg/mL at 100 h (drained: 19.4 − 98.25 h ×
    # 0.1 mL/day ≈ 19.0 mL withdrawn) is no concentration change: no note, no changed time.
    assert (0 * 0 + 19.4 * 1000) / (0 + 19.4) == 1000.0000000000001  # the noise, reproduced
    events = implanted(added="19.4 mL", concentration="1 mg/mL")
    events.append({"h": 100, "type": "refill", "withdrawn": "19 mL", "added": "19.4 mL",
                   "concentration": "1000 mcg/mL"})
    r = replay(build(events), dt(200))
    for hours in (50, 150):
        state = r.state_at(dt(hours))
        assert state.concentration_mcg_per_ml == 1000.0  # exactly, not 1000.0000000000001
        assert state.programmed_concentration_mcg_per_ml == 1000.0
        assert state.concentration_changed_at is None
    refills = [e for e in r.events if e.type == "refill"]
    assert not any("concentration changed" in n for e in refills for n in e.notes)
    # a real change is still one: 500 mcg/mL at 100 h
    events[-1] = {**events[-1], "concentration": "500 mcg/mL"}
    changed = replay(build(events), dt(200)).state_at(dt(150))
    assert changed.concentration_mcg_per_ml == 500.0
    assert changed.concentration_changed_at == dt(100)
