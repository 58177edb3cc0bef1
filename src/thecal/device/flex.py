"""Flex dosing on the patient's local clock: which step holds when, in hours since the epoch.

A flex program is a list of steps, each a local clock time (``start``) and a daily dose; the
first step starts at 00:00 and the list repeats every local day. Steps follow the patient's
time zone (IANA, via :mod:`zoneinfo`), so daylight-saving changes are real: the local day of
the spring change lasts 23 h and the autumn one 25 h, and the steps stretch or shrink with it
(B-DOSE and clinical-facts 1.27 warn about exactly this).

Rules for clock times that a change makes odd:

* a start time that does not exist (inside the spring gap, e.g. 02:30 in Europe/Berlin on the
  last Sunday of March) takes effect at the instant of the change, the first instant whose
  wall clock reads at or after it; a later step starting at the same instant wins;
* a start time that happens twice (the repeated autumn hour) takes effect at its first
  occurrence (``fold=0``) and is not repeated.

Boundaries are returned as ``t_h`` (hours since the replay epoch) so the twin can build exact
piecewise-constant schedules.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from thecal.timeline import FlexStep

_SECONDS_PER_HOUR = 3600.0
_ONE_DAY = timedelta(days=1)


def _resolve_local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the wall clock first reads ``clock`` on ``day`` (see module doc)."""
    local = datetime.combine(day, clock, tzinfo=zone)  # fold=0: first occurrence
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # Inside a spring gap: find the change instant between the two readings of the offset.
    # Offsets change on whole seconds, so bisect over integer POSIX seconds (exact).
    a = int(local.replace(fold=1).astimezone(UTC).timestamp())
    b = int(instant.timestamp())
    lo, hi = min(a, b), max(a, b)
    offset_lo = datetime.fromtimestamp(lo, UTC).astimezone(zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == offset_lo:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


@lru_cache(maxsize=8192)
def _local_midnight(zone: ZoneInfo, day: date) -> tuple[datetime, bool]:
    """The UTC instant of local midnight starting ``day``, and whether the day keeps one
    offset throughout (no daylight-saving change). Cached: every flex program asks for it."""
    midnight = datetime.combine(day, time(0, 0), tzinfo=zone)
    next_midnight = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)
    return midnight.astimezone(UTC), midnight.utcoffset() == next_midnight.utcoffset()


class FlexClock:
    """The step boundaries of one flex program, computed per local day and cached.

    ``epoch`` is the UTC instant of ``t_h = 0``.
    """

    def __init__(self, steps: Sequence[FlexStep], zone: ZoneInfo, epoch: datetime) -> None:
        if not steps:
            raise ValueError("a flex program needs at least one step")
        self.steps = tuple(sorted(steps, key=lambda s: s.start))
        # each step's start as the terms a plain day adds to its midnight, in the same order
        # (hour, minute / 60, second / 3600: the same floating-point sums), and its dose
        self._plain = tuple((s.start.hour, s.start.minute / 60.0,
                             s.start.second / _SECONDS_PER_HOUR, s.daily_dose_mcg)
                            for s in self.steps)
        self.zone = zone
        self.epoch = epoch
        self._days: dict[date, tuple[list[float], list[float]]] = {}
        # the local day last asked for: (first start, next day's first start, starts, doses)
        self._hot: tuple[float, float, list[float], list[float]] | None = None

    def _t_h(self, instant: datetime) -> float:
        return (instant - self.epoch).total_seconds() / _SECONDS_PER_HOUR

    def _day(self, day: date) -> tuple[list[float], list[float]]:
        """``(starts_h, doses)`` of the steps of local ``day``, strictly increasing starts."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        zone = self.zone
        midnight_utc, plain_day = _local_midnight(zone, day)
        starts: list[float] = []
        doses: list[float] = []
        if plain_day:
            # No change of offset this day (the usual case): plain arithmetic.
            base = self._t_h(midnight_utc)
            starts = [base + hour + minutes + seconds for hour, minutes, seconds, _ in self._plain]
            doses = [dose for _, _, _, dose in self._plain]
        else:
            for step in self.steps:
                t_h = self._t_h(_resolve_local(day, step.start, zone))
                if starts and t_h <= starts[-1]:
                    # Same instant as the step before (a start inside the spring gap):
                    # the later step wins.
                    starts[-1] = t_h
                    doses[-1] = step.daily_dose_mcg
                else:
                    starts.append(t_h)
                    doses.append(step.daily_dose_mcg)
        if len(self._days) > 4096:
            self._days.clear()
        self._days[day] = (starts, doses)
        return starts, doses

    def local_date(self, t_h: float) -> date:
        return (self.epoch + timedelta(hours=t_h)).astimezone(self.zone).date()

    def at(self, t_h: float) -> tuple[float, float]:
        """``(daily_dose_mcg, next_boundary_h)``: the step holding at ``t_h`` and when it ends."""
        hot = self._hot
        if hot is not None and hot[0] <= t_h < hot[1]:
            starts, doses = hot[2], hot[3]
            i = bisect_right(starts, t_h) - 1
            return doses[i], (starts[i + 1] if i + 1 < len(starts) else hot[1])
        day = self.local_date(t_h)
        starts, doses = self._day(day)
        i = bisect_right(starts, t_h) - 1
        if i < 0:
            # Before the first step of this local day (cannot happen with a 00:00 first step,
            # but keep the rule general): the previous day's last step holds.
            _, prev_doses = self._day(day - timedelta(days=1))
            return prev_doses[-1], starts[0]
        next_starts, _ = self._day(day + timedelta(days=1))
        self._hot = (starts[0], next_starts[0], starts, doses)
        if i + 1 < len(starts):
            return doses[i], starts[i + 1]
        return doses[i], next_starts[0]

    def steps_from(self, t_h: float) -> Iterator[tuple[float, float]]:
        """``(daily_dose_mcg, next_boundary_h)`` of the step holding at ``t_h``, then of each
        step after it: the programme's step schedule, a local day at a time (the same values
        as :meth:`at` at each boundary in turn, without a search per step)."""
        day = self.local_date(t_h)
        starts, doses = self._day(day)
        i = bisect_right(starts, t_h) - 1
        if i < 0:  # before the day's first step (see at()): the previous day's last step
            _, prev_doses = self._day(day - timedelta(days=1))
            yield prev_doses[-1], starts[0]
            i = 0
        while True:
            day += _ONE_DAY
            next_starts, next_doses = self._day(day)
            last = len(starts) - 1
            while i < last:
                yield doses[i], starts[i + 1]
                i += 1
            yield doses[last], next_starts[0]
            starts, doses, i = next_starts, next_doses, 0
