"""Replay a timeline through the pump and catheter twin, exactly.

``replay(timeline, until)`` applies every effective event up to ``until`` (corrections
applied) to the twin and returns a :class:`Replay`: exact piecewise-constant schedules of what
reached the spinal fluid, what was lost to tissue, the pump's actual flow and the programmed
daily dose; the reservoir volume at any instant; the alarm log; per-event observations (the
expected residual at each refill, the reservoir before and after); the mass balance at any
instant; and the twin's state at any instant with its forward projection (low-reservoir alarm
and empty times under the current program).

Pure: it never reads the clock; time is ``t_h``, hours since :attr:`Replay.epoch` (the UTC
instant of the timeline's first event, as for the simulator).

Example::

    r = replay(timeline, until)
    r.csf_delivery.integral(0, r.t_h(until))    # mcg that reached the spinal fluid
    r.state_at(until).empty_at                   # when the reservoir runs dry
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from thecal.catalog import catheter_model, pump_model
from thecal.device.alarms import ActiveAlarm, AlarmRecord, active_alarms
from thecal.device.catheter import Parcel
from thecal.device.engine import (
    CatheterLookup,
    Engine,
    Impulse,
    Observation,
    PumpLookup,
    run_to,
)
from thecal.errors import InputError
from thecal.schedule import Schedule
from thecal.timeline import Event, Timeline

FloatArray = npt.NDArray[np.float64]
PumpState = Literal["not-implanted", "running", "stopped", "empty", "stalled", "mri-stalled",
                    "mri-valve-closed", "end-of-service", "explanted"]
_H_PER_DAY = 24.0
# Projection stops after this many days at most when the reservoir would never empty.
_MAX_PROJECTION_DAYS = 3653.0
# The replay keeps the engine's state at every this many instants (and at its end); a state
# in between is reached by re-applying the events since the one before it.
_CHECKPOINT_EVERY = 16


@dataclass(frozen=True)
class ReplayedEvent:
    """One effective event as the twin applied it, and what it saw."""

    index: int  # position in the timeline file
    event: Event
    t_h: float
    type: str
    reservoir_before_ml: float | None
    reservoir_after_ml: float | None
    expected_residual_ml: float | None  # refills: the pump-calculated residual
    withdrawn_discrepancy_ml: float | None  # refills: withdrawn − expected
    programmed_concentration_before_mcg_per_ml: float | None
    programmed_concentration_after_mcg_per_ml: float | None
    bolus_volume_ml: float | None
    bolus_duration_h: float | None
    dead_volume_ml: float | None
    notes: tuple[str, ...]
    physical_residual_ml: float | None = None  # refills: what the reservoir really held
    kept_residual_ml: float | None = None  # refills: left with the new drug (incomplete)
    unaccounted_ml: float | None = None  # refills: physical − withdrawn − kept
    pump_calculated_before_ml: float | None = None
    pump_calculated_after_ml: float | None = None
    estimate_before_ml: float | None = None
    estimate_after_ml: float | None = None


@dataclass(frozen=True)
class DeliveryCurve:
    """The volume the pump is set to deliver from ``t0_h`` on, with no further event.

    Piecewise linear (``times_h``, cumulative ``volumes_ml``), computed once per state; any
    projected date (low-reservoir alarm, empty, at any accuracy edge) is one inversion of it,
    so windows cost no extra replay. ``complete`` is False when the curve stops short.
    """

    t0_h: float
    times_h: tuple[float, ...]
    volumes_ml: tuple[float, ...]

    def time_for(self, volume_ml: float) -> float | None:
        """When ``volume_ml`` will have been delivered (hours), or None if not in sight."""
        if volume_ml <= 0.0:
            return self.t0_h
        vols = self.volumes_ml
        i = bisect_left(vols, volume_ml - 1e-12)
        if i >= len(vols):
            return None
        if i == 0:
            return self.times_h[0]
        v0, v1 = vols[i - 1], vols[i]
        t0, t1 = self.times_h[i - 1], self.times_h[i]
        if v1 <= v0:
            return t1
        return t0 + (t1 - t0) * (volume_ml - v0) / (v1 - v0)


@dataclass(frozen=True)
class MassBalance:
    """Where the drug is at one instant (mcg). ``residual_mcg`` should be ~0 (float noise)."""

    t_h: float
    added_mcg: float
    withdrawn_mcg: float
    delivered_to_csf_mcg: float
    lost_to_tissue_mcg: float
    in_reservoir_mcg: float
    in_dead_volume_mcg: float
    removed_with_device_mcg: float  # left in a pump or catheter taken out
    # refills: drug the physical reservoir held beyond the measured (drained) residual; negative
    # when more was drained than it held (docs/twin.md): booked, never counted as still inside
    unaccounted_mcg: float = 0.0

    @property
    def accounted_mcg(self) -> float:
        return (self.withdrawn_mcg + self.delivered_to_csf_mcg + self.lost_to_tissue_mcg
                + self.in_reservoir_mcg + self.in_dead_volume_mcg + self.removed_with_device_mcg
                + self.unaccounted_mcg)

    @property
    def residual_mcg(self) -> float:
        return self.added_mcg - self.accounted_mcg


@dataclass(frozen=True)
class TwinState:
    """The twin at one instant, with its projection forward under the current program."""

    at: datetime
    pump_model: str | None
    pump_family: str | None
    pump_serial: str | None
    pump_state: PumpState
    reservoir_ml: float  # physical (the truth in simulation; in a clinic record the model of it)
    reservoir_capacity_ml: float | None
    concentration_mcg_per_ml: float  # in the reservoir (mixed)
    programmed_concentration_mcg_per_ml: float | None  # what the pump was told at the refill
    program_mode: str
    daily_dose_mcg: float  # programmed basal now
    rate_ml_per_day: float  # actual pump flow now (boluses and faults included)
    delivered_to_csf_mcg: float
    lost_to_tissue_mcg: float
    low_reservoir_alarm_ml: float | None
    low_reservoir_alarm_at: datetime | None  # crossing: past if already below, else projected
    empty_at: datetime | None  # when it ran dry (past) or will (projected); None: not in sight
    elective_replacement_at: datetime | None
    end_of_service_at: datetime | None
    alarms: tuple[ActiveAlarm, ...]
    active_faults: tuple[str, ...]
    bolus_kind: str | None  # the bolus running now
    bolus_ends_at: datetime | None
    implanted_at: datetime | None
    last_refill_at: datetime | None
    last_program_change_at: datetime | None
    concentration_changed_at: datetime | None
    last_mri_at: datetime | None
    last_catheter_revision_at: datetime | None
    catheter_model: str | None
    catheter_length_cm: float | None
    dead_volume_ml: float
    catheter_contents: tuple[Parcel, ...]  # from the tip to the pump
    accuracy_fraction: float | None
    min_rate_ml_per_day: float | None
    max_rate_ml_per_day: float | None
    pump_calculated_ml: float = 0.0  # what the pump and its programmer believe
    estimate_ml: float = 0.0  # the twin's belief, re-anchored at every measurement
    unaccounted_mcg: float = 0.0
    nominal_rate_ml_per_day: float = 0.0  # the flow the pump is set to, no fault
    delivery: DeliveryCurve | None = None  # what the pump is set to deliver from now on
    low_reservoir_alarm_crossed_at: datetime | None = None  # pump-calculated, past only
    estimate_empty_since: datetime | None = None  # when the estimate reached zero (past)
    # The last measurement of the fluid (a refill; an implant or a new pump: empty), what the
    # pump was set to deliver since, and the estimate as if none of it had been delivered
    # (the measured volume, lowered by any interrogation reading below the estimate since).
    measured_at: datetime | None = None
    delivered_since_measured_ml: float = 0.0
    estimate_anchor_ml: float = 0.0


def _schedule(edges: FloatArray, values: FloatArray) -> Schedule:
    if values.size == 0:
        return Schedule.empty()
    keep = np.ones(values.size, dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return Schedule(np.append(edges[:-1][keep], edges[-1]), values[keep])


@dataclass(frozen=True)
class Replay:
    """The result of :func:`replay` (immutable; every question answered exactly)."""

    epoch: datetime
    until: datetime
    end_h: float
    timezone: str
    csf_delivery: Schedule  # mcg/h reaching the spinal fluid (impulses in csf_impulses)
    tissue_loss: Schedule  # mcg/h lost to tissue (impulses in tissue_impulses)
    flow_ml_per_day: Schedule  # actual pump flow
    programmed_daily_dose: Schedule  # mcg/day, basal (boluses not included)
    csf_impulses: tuple[Impulse, ...]
    tissue_impulses: tuple[Impulse, ...]
    events: tuple[ReplayedEvent, ...]
    alarm_log: tuple[AlarmRecord, ...]
    _cols: dict[str, FloatArray]
    _checkpoints: tuple[tuple[float, Engine], ...]
    _fresh: Callable[[], Engine]
    _applied: tuple[tuple[int, Event, float], ...] = ()  # (index, event, t_h) in time order

    # ------------------------------------------------------------------ time

    def t_h(self, dt: datetime) -> float:
        """Hours since the epoch for an aware datetime."""
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise InputError(f"{dt!r} has no time zone", fix="pass an aware datetime")
        return (dt - self.epoch).total_seconds() / 3600.0

    def datetime_at(self, t_h: float) -> datetime:
        """The UTC datetime of ``t_h``."""
        return self.epoch + timedelta(hours=float(t_h))

    def _dt(self, t_h: float | None) -> datetime | None:
        return None if t_h is None else self.datetime_at(t_h)

    # ------------------------------------------------------------------ lookups

    def _locate(self, t: FloatArray) -> tuple[npt.NDArray[np.intp], FloatArray]:
        t0 = self._cols["t0"]
        idx = np.searchsorted(t0, t, side="right") - 1
        idx = np.clip(idx, 0, t0.size - 1)
        dt = np.where(t < t0[0], 0.0, t - t0[idx])
        return idx, dt

    def reservoir_ml_at(self, t_h: float | FloatArray) -> FloatArray:
        """Reservoir volume (mL) at each ``t_h`` (after any event at that instant)."""
        t = np.atleast_1d(np.asarray(t_h, dtype=float))
        idx, dt = self._locate(t)
        c = self._cols
        vol = c["vol"][idx] - c["q"][idx] * dt
        vol = np.where(t < c["t0"][0], 0.0, vol)
        return np.maximum(vol, 0.0)

    def _view_at(self, t_h: float | FloatArray, column: str) -> FloatArray:
        t = np.atleast_1d(np.asarray(t_h, dtype=float))
        idx, dt = self._locate(t)
        c = self._cols
        vol = c[column][idx] - c["qn"][idx] * dt
        vol = np.where(t < c["t0"][0], 0.0, vol)
        return np.maximum(vol, 0.0)

    def pump_calculated_ml_at(self, t_h: float | FloatArray) -> FloatArray:
        """The pump-calculated reservoir volume (mL): what the pump and programmer believe."""
        return self._view_at(t_h, "vcalc")

    def estimate_ml_at(self, t_h: float | FloatArray) -> FloatArray:
        """The twin's estimate of the reservoir volume (mL), re-anchored at measurements."""
        return self._view_at(t_h, "vest")

    def delivered_to_csf_mcg(self, t_h: float) -> float:
        """Cumulative drug that reached the spinal fluid by ``t_h`` (impulses included)."""
        return self.mass_balance(t_h).delivered_to_csf_mcg

    def mass_balance(self, t_h: float) -> MassBalance:
        """Drug added = withdrawn + spinal fluid + tissue + reservoir + dead volume + removed."""
        t = float(min(max(t_h, 0.0), self.end_h))
        i_arr, dt_arr = self._locate(np.array([t]))
        i, dt = int(i_arr[0]), float(dt_arr[0])
        c = self._cols
        q = float(c["q"][i])
        c_res, c_exit, f = float(c["c_res"][i]), float(c["c_exit"][i]), float(c["f_csf"][i])
        moved = q * dt
        return MassBalance(
            t_h=t,
            added_mcg=float(c["added"][i]),
            withdrawn_mcg=float(c["withdrawn"][i]),
            delivered_to_csf_mcg=float(c["csf"][i]) + moved * c_exit * f,
            lost_to_tissue_mcg=float(c["tissue"][i]) + moved * c_exit * (1.0 - f),
            in_reservoir_mcg=(float(c["vol"][i]) - moved) * c_res,
            in_dead_volume_mcg=float(c["dead"][i]) + moved * (c_res - c_exit),
            removed_with_device_mcg=float(c["removed"][i]),
            unaccounted_mcg=float(c["unacc"][i]),
        )

    # ------------------------------------------------------------------ state

    def state_at(self, at: datetime) -> TwinState:
        """The twin at ``at`` (≤ ``until``), projected forward under the current program."""
        t = self.t_h(at)
        if t > self.end_h + 1e-9:
            raise InputError(f"state asked at {at.isoformat()}, after the replay's end "
                             f"{self.until.isoformat()}", fix="replay further (a later until)")
        times = [c[0] for c in self._checkpoints]
        k = bisect_right(times, t) - 1
        if k < 0:
            eng = self._fresh()
            eng.t_h = t
        else:
            t_saved, saved = self._checkpoints[k]
            eng = saved.clone()
            applied = self._applied
            event_times = [e[2] for e in applied]
            run_to(eng, t, applied[bisect_right(event_times, t_saved):
                                   bisect_right(event_times, t)])
        eng.t_h = t
        pump = eng.pump
        q, qn, dose, _ = eng.flows(t)
        curve = self._delivery_curve(eng, t)
        low_at, empty_at = self._pump_dates(eng, t, curve)
        bolus = eng.bolus
        state: PumpState = eng.pump_state(t)  # type: ignore[assignment]
        return TwinState(
            at=at,
            pump_model=None if pump is None else pump.id,
            pump_family=None if pump is None else pump.family,
            pump_serial=eng.pump_serial,
            pump_state=state,
            reservoir_ml=eng.reservoir_ml,
            reservoir_capacity_ml=None if pump is None else pump.reservoir_ml,
            concentration_mcg_per_ml=eng.reservoir_conc,
            programmed_concentration_mcg_per_ml=eng.programmed_conc,
            program_mode=("constant-flow" if pump is not None and not pump.programmable
                          else eng.program.mode),
            daily_dose_mcg=dose,
            rate_ml_per_day=q * _H_PER_DAY,
            delivered_to_csf_mcg=eng.csf_mcg,
            lost_to_tissue_mcg=eng.tissue_mcg,
            low_reservoir_alarm_ml=eng.low_alarm_ml,
            low_reservoir_alarm_at=self._dt(low_at),
            empty_at=self._dt(empty_at),
            elective_replacement_at=self._dt(eng.eri_h),
            end_of_service_at=self._dt(eng.eos_h),
            alarms=active_alarms(self.alarm_log, t),
            active_faults=tuple(f.kind for f in eng.faults)
            + (("pocket-fill",) if eng.pocket_fill is not None else ()),
            bolus_kind=None if bolus is None else bolus.kind,
            bolus_ends_at=None if bolus is None else self._dt(bolus.end_h),
            implanted_at=self._dt(eng.implanted_h),
            last_refill_at=self._dt(eng.last_refill_h),
            last_program_change_at=self._dt(eng.last_program_h),
            concentration_changed_at=self._dt(eng.conc_changed_h),
            last_mri_at=self._dt(eng.last_mri_h),
            last_catheter_revision_at=self._dt(eng.last_revision_h),
            catheter_model=eng.catheter_model,
            catheter_length_cm=eng.catheter_length_cm,
            dead_volume_ml=eng.dead.volume_ml,
            catheter_contents=eng.dead.parcels(),
            accuracy_fraction=None if pump is None else pump.accuracy_fraction,
            min_rate_ml_per_day=None if pump is None else pump.min_rate_ml_per_day,
            max_rate_ml_per_day=None if pump is None else pump.max_rate_ml_per_day,
            pump_calculated_ml=eng.calc_ml,
            estimate_ml=eng.est_ml,
            unaccounted_mcg=eng.unaccounted_mcg,
            nominal_rate_ml_per_day=qn * _H_PER_DAY,
            delivery=curve,
            low_reservoir_alarm_crossed_at=self._dt(
                eng.low_crossed_h if eng.low_alarm_ml is not None
                and eng.calc_ml <= eng.low_alarm_ml else None),
            estimate_empty_since=self._dt(eng.est_empty_h if eng.est_ml <= 0.0 else None),
            measured_at=self._dt(eng.anchor_h),
            delivered_since_measured_ml=eng.since_anchor_ml,
            estimate_anchor_ml=eng.anchor_ml,
        )

    def _delivery_curve(self, eng: Engine, t: float) -> DeliveryCurve | None:
        """What the pump is set to deliver from ``t`` on (nominal flow, no further event), far
        enough for the pump-calculated volume to run out, and the estimate at the pump's slow
        accuracy edge since the last measurement (:meth:`Replay.estimate_reaches`). One
        forward pass; no replay."""
        pump = eng.pump
        if pump is None:
            return None
        slow = max(1.0 - pump.accuracy_fraction, 0.05)
        target = max(eng.calc_ml, eng.est_ml / slow,
                     eng.anchor_ml / slow - eng.since_anchor_ml, 0.0) * (1.0 + 1e-9)
        proj = eng.clone()
        proj.track_dead = False
        proj.projecting = True
        horizon = t + _MAX_PROJECTION_DAYS * _H_PER_DAY
        times = [t]
        vols = [0.0]
        tt, cum = t, 0.0
        while tt < horizon and cum < target:
            proj.fire_timers(tt)
            _, qn, _, nxt = proj.flows(tt)
            if qn <= 0.0 and not proj.timers and nxt == math.inf:
                break  # nothing will change without an event
            stop = min(horizon, proj.next_timer_h(), nxt)
            if stop <= tt:
                stop = min(horizon, proj.next_timer_h())
                if stop <= tt:
                    break
            if qn > 0.0 and cum + qn * (stop - tt) >= target:
                times.append(tt + (target - cum) / qn)
                vols.append(target)
                break
            cum += max(qn, 0.0) * (stop - tt)
            tt = stop
            proj.t_h = tt
            times.append(tt)
            vols.append(cum)
        return DeliveryCurve(t, tuple(times), tuple(vols))

    def _pump_dates(self, eng: Engine, t: float, curve: DeliveryCurve | None
                    ) -> tuple[float | None, float | None]:
        """The pump's own low-reservoir alarm (pump-calculated volume) and the estimate's
        empty time, past or projected at the nominal flow."""
        if eng.pump is None or curve is None:
            return None, None
        low = eng.low_alarm_ml
        if low is None:
            low_at = None
        elif eng.calc_ml <= low:
            low_at = eng.low_crossed_h
        else:
            low_at = curve.time_for(eng.calc_ml - low)
        empty_at = eng.est_empty_h if eng.est_ml <= 0.0 else curve.time_for(eng.est_ml)
        return low_at, empty_at

    def estimate_reaches(self, state: TwinState, level_ml: float, flow_factor: float
                         ) -> float | None:
        """When (``t_h``) the reservoir comes down to ``level_ml`` if, since the last
        measurement, the pump delivered ``flow_factor`` × what it was set to deliver (1: the
        estimate; 1 ± the pump's accuracy: the fast and slow edges of its window).

        The volume then is ``anchor − flow_factor × delivered since the measurement``, so the
        answer does not move as time passes without a new measurement; it may lie in the past
        (found in the replay's steps since the measurement) or ahead (the state's delivery
        curve). None when the programme never gets there.
        """
        anchor, since = state.estimate_anchor_ml, state.delivered_since_measured_ml
        ahead = (anchor - level_ml) / flow_factor - since  # nominal mL still to deliver
        if ahead > 0.0:
            return None if state.delivery is None else state.delivery.time_for(ahead)
        t_at = self.t_h(state.at)
        t_from = t_at if state.measured_at is None else self.t_h(state.measured_at)
        c = self._cols
        t0 = c["t0"]
        first = int(np.searchsorted(t0, t_from, side="left"))
        last = int(np.searchsorted(t0, t_at, side="right"))
        if first >= last:
            return t_at
        starts = t0[first:last]
        ends = np.minimum(np.append(t0[first + 1:last], t_at), t_at)
        at_start = c["vanc"][first:last] - flow_factor * c["vsince"][first:last]
        fall = flow_factor * c["qn"][first:last]
        at_end = at_start - fall * (ends - starts)
        reached = np.flatnonzero((at_start <= level_ml) | (at_end <= level_ml))
        if reached.size == 0:
            return t_at  # float noise at the instant asked
        k = int(reached[0])
        if at_start[k] <= level_ml:
            return float(starts[k])
        return float(starts[k] + (at_start[k] - level_ml) / fall[k])

    def low_reservoir_alarm_times(self) -> tuple[datetime, ...]:
        """When each low-reservoir alarm was raised."""
        return tuple(r.raised_at for r in self.alarm_log if r.code == "low-reservoir")


def replay(timeline: Timeline, until: datetime, *,
           pump_lookup: PumpLookup | None = None,
           catheter_lookup: CatheterLookup | None = None,
           mri_resume_delay_h: float | None = None) -> Replay:
    """Replay ``timeline``'s effective events up to and including ``until``.

    ``pump_lookup`` / ``catheter_lookup`` replace the catalog lookups (a clinic's overridden
    figures, or a test's stand-ins); ``mri_resume_delay_h`` overrides the catalog's delay
    before a SynchroMed resumes after an MRI (M-MRI reports 2–24 h).

    Raises :class:`thecal.errors.TimelineError` naming the event and field for what the twin
    cannot replay (an overfilled reservoir, a rate the pump cannot run).
    """
    if until.tzinfo is None or until.utcoffset() is None:
        raise InputError("until has no time zone", fix="pass an aware datetime")
    until_utc = until.astimezone(UTC)
    epoch = timeline.epoch or until_utc
    if until_utc < epoch:
        raise InputError(f"until {until.isoformat()} is before the first event "
                         f"{epoch.isoformat()}", fix="replay up to a later instant")
    zone = ZoneInfo(timeline.patient.timezone)
    end_h = (until_utc - epoch).total_seconds() / 3600.0

    def fresh() -> Engine:
        return Engine(zone, epoch, pump_lookup or pump_model, catheter_lookup or catheter_model,
                      mri_resume_delay_h)

    engine = fresh()
    events = [(i, ev, (ev.at - epoch).total_seconds() / 3600.0)
              for i, ev in timeline.effective_events() if ev.at <= until]
    replayed: list[ReplayedEvent] = []
    checkpoints: list[tuple[float, Engine]] = []

    def on_event(index: int, ev: Event, t_h: float, obs: Observation) -> None:
        replayed.append(ReplayedEvent(
            index=index, event=ev, t_h=t_h, type=ev.type,
            reservoir_before_ml=obs.reservoir_before_ml,
            reservoir_after_ml=obs.reservoir_after_ml,
            expected_residual_ml=obs.expected_residual_ml,
            withdrawn_discrepancy_ml=obs.withdrawn_discrepancy_ml,
            programmed_concentration_before_mcg_per_ml=obs.concentration_before_mcg_per_ml,
            programmed_concentration_after_mcg_per_ml=obs.concentration_after_mcg_per_ml,
            bolus_volume_ml=obs.bolus_volume_ml, bolus_duration_h=obs.bolus_duration_h,
            dead_volume_ml=obs.dead_volume_ml, notes=tuple(obs.notes),
            physical_residual_ml=obs.physical_residual_ml,
            kept_residual_ml=obs.kept_residual_ml, unaccounted_ml=obs.unaccounted_ml,
            pump_calculated_before_ml=obs.pump_calculated_before_ml,
            pump_calculated_after_ml=obs.pump_calculated_after_ml,
            estimate_before_ml=obs.estimate_before_ml,
            estimate_after_ml=obs.estimate_after_ml))

    instants = 0

    def on_instant(t_h: float) -> None:
        nonlocal instants
        if checkpoints and checkpoints[-1][0] == t_h:
            checkpoints[-1] = (t_h, engine.clone())
        elif instants % _CHECKPOINT_EVERY == 0 or t_h >= end_h:
            checkpoints.append((t_h, engine.clone()))
        instants += 1

    run_to(engine, end_h, events, on_event, on_instant)
    engine._record(end_h, 0.0, engine.reservoir_conc, 1.0, 0.0)  # sentinel: the final state
    rows = engine.rows
    assert rows is not None
    table = np.asarray(rows.data, dtype=float).reshape(len(rows.data), len(rows.NAMES))
    cols = {name: np.ascontiguousarray(table[:, k]) for k, name in enumerate(rows.NAMES)}
    edges = cols["t0"]
    q, c_exit, f = cols["q"][:-1], cols["c_exit"][:-1], cols["f_csf"][:-1]
    exit_mcg_per_h = q * c_exit
    to_dt: Callable[[float], datetime] = lambda t_h: epoch + timedelta(hours=t_h)  # noqa: E731
    return Replay(
        epoch=epoch, until=until_utc, end_h=end_h, timezone=timeline.patient.timezone,
        csf_delivery=_schedule(edges, exit_mcg_per_h * f),
        tissue_loss=_schedule(edges, exit_mcg_per_h * (1.0 - f)),
        flow_ml_per_day=_schedule(edges, q * _H_PER_DAY),
        programmed_daily_dose=_schedule(edges, cols["dose"][:-1]),
        csf_impulses=tuple(engine.csf_impulses),
        tissue_impulses=tuple(engine.tissue_impulses),
        events=tuple(replayed),
        alarm_log=engine.alarms.records(to_dt),
        _cols=cols,
        _checkpoints=tuple(checkpoints),
        _fresh=fresh,
        _applied=tuple(events),
    )
