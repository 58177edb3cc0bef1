"""Invariants of the measured twin (issue 9), on random histories of both pump families.

* every window has earliest ≤ latest;
* ``refill_due_by`` ≤ the earliest low-reservoir alarm ≤ the earliest empty;
* without a new event the low-reservoir and empty windows stay where they are as time passes
  (their uncertainty comes from the last measurement, not from the instant asked);
* a fill to full after any measured residual within the tolerance is accepted, and the
  reservoir then holds exactly what was added.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thecal.clinical.projection import project
from thecal.device.replay import replay
from thecal.timeline import parse_timeline, withdrawal_limit_ml

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
PUMPS = ("synchromed-ii-20", "synchromed-ii-40", "prometra-ii-20", "prometra-ii-40")


def _timeline(pump: str, events: list[dict[str, Any]]) -> Any:
    capacity = 20 if pump.endswith("20") else 40
    raw = [{"at": T0.isoformat(), "type": "implant", "pump": pump,
            "catheter": {"model": "ascenda", "length_cm": 50}},
           {"at": (T0 + timedelta(hours=1)).isoformat(), "type": "refill", "withdrawn": "0 mL",
            "added": f"{capacity} mL", "concentration": "500 mcg/mL"}]
    raw += events
    return parse_timeline({"format": "thecal.timeline/1",
                           "patient": {"id": "p", "timezone": "UTC", "born": "1980-01-01",
                                       "etiology": "spinal-cord-injury"}, "events": raw})


@st.composite
def history(draw: st.DrawFn) -> tuple[Any, datetime]:
    pump = draw(st.sampled_from(PUMPS))
    capacity = 20 if pump.endswith("20") else 40
    h = 2.0
    events: list[dict[str, Any]] = [{"at": (T0 + timedelta(hours=h)).isoformat(),
                                     "type": "program", "mode": "continuous",
                                     "daily_dose": f"{draw(st.integers(50, 900))} mcg/day"}]
    for _ in range(draw(st.integers(0, 5))):
        h += draw(st.floats(1.0, 60 * 24.0)).__round__(3)
        kind = draw(st.sampled_from(("refill", "interrogation", "program")))
        at = (T0 + timedelta(hours=h)).isoformat()
        if kind == "refill":
            events.append({"at": at, "type": "refill",
                           "withdrawn": f"{draw(st.floats(0, capacity)):.3f} mL",
                           "added": f"{draw(st.integers(1, capacity))} mL",
                           "concentration": "500 mcg/mL"})
        elif kind == "interrogation":
            events.append({"at": at, "type": "interrogation",
                           "reservoir": f"{draw(st.floats(0, capacity)):.2f} mL"})
        else:
            events.append({"at": at, "type": "program", "mode": "continuous",
                           "daily_dose": f"{draw(st.integers(50, 900))} mcg/day"})
    at = T0 + timedelta(hours=h + draw(st.floats(0.0, 90 * 24.0)))
    return _timeline(pump, events), at


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history())
def test_windows_are_ordered_and_the_refill_is_due_before_the_earliest_alarm(
        case: tuple[Any, datetime]) -> None:
    timeline, at = case
    p = project(timeline, at)
    for w in (p.low_reservoir_alarm_window, p.empty_window, p.refill_due_window):
        if w is not None and w.earliest is not None and w.latest is not None:
            assert w.earliest <= w.latest
    low, empty, plan = p.low_reservoir_alarm_window, p.empty_window, p.refill_plan
    assert plan is not None and low is not None and empty is not None
    if low.earliest is not None:
        assert plan.refill_due_by <= low.earliest
        if empty.earliest is not None:
            assert low.earliest <= empty.earliest + timedelta(microseconds=1)
    balance = p.replay.mass_balance(p.replay.end_h)
    assert abs(balance.residual_mcg) <= 1e-9 * max(1.0, balance.added_mcg)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(PUMPS), st.floats(0.0, 1.0), st.floats(1.0, 200 * 24.0))
def test_a_fill_to_full_after_any_measured_residual_within_tolerance_is_accepted(
        pump: str, fraction: float, hours: float) -> None:
    capacity = 20.0 if pump.endswith("20") else 40.0
    withdrawn = round(fraction * withdrawal_limit_ml(capacity), 3)
    at = T0 + timedelta(hours=2 + hours)
    timeline = _timeline(pump, [
        {"at": (T0 + timedelta(hours=2)).isoformat(), "type": "program", "mode": "continuous",
         "daily_dose": "300 mcg/day"},
        {"at": at.isoformat(), "type": "refill", "withdrawn": f"{withdrawn} mL",
         "added": f"{capacity:g} mL", "concentration": "500 mcg/mL"}])
    r = replay(timeline, at)
    state = r.state_at(at)
    assert state.reservoir_ml == capacity
    assert state.pump_calculated_ml == capacity and state.estimate_ml == capacity


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history(), st.floats(0.5, 120 * 24.0))
def test_windows_do_not_move_as_time_passes_without_an_event(case: tuple[Any, datetime],
                                                            later_h: float) -> None:
    timeline, at = case
    first = project(timeline, at)
    second = project(timeline, at + timedelta(hours=later_h))
    for a, b in ((first.low_reservoir_alarm_window, second.low_reservoir_alarm_window),
                 (first.empty_window, second.empty_window)):
        assert a is not None and b is not None
        for x, y in ((a.earliest, b.earliest), (a.latest, b.latest)):
            assert (x is None) == (y is None)
            if x is not None and y is not None:
                assert abs((x - y).total_seconds()) < 1e-3
