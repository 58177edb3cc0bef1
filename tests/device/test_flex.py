"""Flex step boundaries on the local clock, including the odd clock times of DST days."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from thecal.device.flex import FlexClock
from thecal.timeline import FlexStep

BERLIN = ZoneInfo("Europe/Berlin")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _t(d: datetime) -> float:
    return (d - EPOCH).total_seconds() / 3600


def test_a_step_inside_the_spring_gap_starts_at_the_change_and_a_later_one_wins() -> None:
    # 29 March 2026: 02:00 CET (01:00Z) → 03:00 CEST. 02:30 does not exist: it takes effect
    # at 01:00Z; the 03:00 step also starts at 01:00Z and wins, so 02:30's step never runs.
    clock = FlexClock((FlexStep(time(0, 0), 100.0), FlexStep(time(2, 30), 200.0),
                       FlexStep(time(3, 0), 300.0)), BERLIN, EPOCH)
    dose, nxt = clock.at(_t(datetime(2026, 3, 29, 0, 30, tzinfo=UTC)))
    assert dose == 100.0 and nxt == _t(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    assert clock.at(nxt)[0] == 300.0
    alone = FlexClock((FlexStep(time(0, 0), 100.0), FlexStep(time(2, 30), 200.0)), BERLIN, EPOCH)
    assert alone.at(_t(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)))[0] == 200.0
    assert alone.at(_t(datetime(2026, 3, 29, 0, 59, tzinfo=UTC)))[0] == 100.0


def test_a_step_in_the_repeated_autumn_hour_starts_at_its_first_occurrence() -> None:
    # 25 October 2026: 03:00 CEST (01:00Z) → 02:00 CET. 02:30 first happens at 00:30Z.
    clock = FlexClock((FlexStep(time(0, 0), 100.0), FlexStep(time(2, 30), 200.0)), BERLIN, EPOCH)
    dose, nxt = clock.at(_t(datetime(2026, 10, 25, 0, 0, tzinfo=UTC)))
    assert dose == 100.0 and nxt == _t(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    # It holds through the repeated hour until local midnight (23:00Z).
    dose, nxt = clock.at(_t(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)))
    assert dose == 200.0 and nxt == _t(datetime(2026, 10, 25, 23, 0, tzinfo=UTC))


def test_ordinary_days_follow_the_local_clock() -> None:
    clock = FlexClock((FlexStep(time(0, 0), 100.0), FlexStep(time(7, 0), 300.0)), BERLIN, EPOCH)
    # 15 July: CEST (+2): 07:00 local = 05:00Z; midnight = 22:00Z the day before.
    assert clock.at(_t(datetime(2026, 7, 15, 4, 59, tzinfo=UTC)))[0] == 100.0
    assert clock.at(_t(datetime(2026, 7, 15, 5, 0, tzinfo=UTC))) == (
        300.0, _t(datetime(2026, 7, 15, 22, 0, tzinfo=UTC)))
