"""The twin's event-driven engine (internal to :mod:`thecal.device`; use :func:`replay`).

The engine holds the pump, reservoir, dead volume, program, bolus, faults and alarm state,
applies events at their instants, and between instants moves fluid in closed form: within a
step the pump's flow is constant, so the reservoir falls linearly, the empty time and the
low-reservoir crossing are solved exactly, and the dead volume's exit concentration changes
only when a parcel boundary reaches the tip (a step ends there too). No time stepping.

Each step is written as one *row* (its start time, flow, the state at its start and the rates
that hold through it); :mod:`thecal.device.replay` turns the rows into exact schedules and
answers questions at any instant by linear interpolation inside a row.

Modelling choices (each documented in docs/twin.md):

* the pump computes its rate from the concentration it was told at the last refill
  (``programmed_concentration``); the drug that moves is the reservoir's real, mixed one;
* a program before any concentration is known runs at zero flow (noted on the event);
* a bolus runs to a timetable: ``clinician`` and ``patient`` boluses add their rate to the
  basal, ``bridge`` and ``priming`` replace it; a new bolus or a new program cancels a running
  bolus; a stall or an empty reservoir loses the part of the bolus that fell in it;
* three views of the reservoir are kept apart (docs/twin.md): the *physical* volume (the
  truth, with injected faults: what drives the drug), the *pump-calculated* volume (what the
  pump believes, from the programmed flow since the last refill; its alarms follow it) and the
  *estimate* (the twin's belief, re-anchored at every measurement). The last two drain at the
  nominal flow, the programmed flow with no fault;
* a refill is a measurement: the reservoir is drained (SSN), so ``withdrawn`` is what was left
  and after the refill the reservoir holds what was added (plus the stated residual of an
  aspiration said to be incomplete). What the physical reservoir held beyond the measurement
  is booked as *unaccounted* drug, never as drug still inside;
* an interrogation is a measurement: the pump's reported volume becomes the pump-calculated
  volume and the estimate takes the lower of the two.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

from thecal.catalog import CatheterModel, PumpModel
from thecal.device import alarms as al
from thecal.device.catheter import DeadVolume
from thecal.device.faults import (
    CATHETER_FAULTS,
    PUMP_FAULTS,
    ActiveFault,
    csf_fraction,
    flow_factor,
)
from thecal.device.flex import FlexClock
from thecal.errors import TimelineError
from thecal.timeline import (
    AlarmAcknowledged,
    Assessment,
    Bolus,
    CatheterRevision,
    Correction,
    Diathermy,
    Event,
    Explant,
    Fault,
    Implant,
    Interrogation,
    Mri,
    Note,
    OralBaclofen,
    Program,
    Refill,
    ReplacePump,
    ScreeningDose,
    Symptoms,
    check_device_event,
)
from thecal.units import mixed_concentration, same_concentration

_INF = math.inf
_H_PER_DAY = 24.0
# Relative tolerance for "the reservoir is full" and rate-range checks (float noise only).
_REL_TOL = 1e-9
# Prometra II's flow-activated valve shuts flow after at most 10 µL in an MRI (PROM, 8.2).
VALVE_SHUTOFF_ML = 0.010


@dataclass(frozen=True)
class ProgramState:
    """The basal prescription in force: mode, dose (continuous) or flex clock."""

    mode: str  # "continuous" | "flex" | "stopped"
    daily_dose_mcg: float = 0.0
    flex: FlexClock | None = None


@dataclass(frozen=True)
class ActiveBolus:
    kind: str
    volume_ml: float
    rate_ml_per_h: float
    replaces_basal: bool
    start_h: float
    end_h: float


@dataclass
class Observation:
    """What the twin saw at one event (filled in while the event is applied)."""

    reservoir_before_ml: float | None = None
    reservoir_after_ml: float | None = None
    expected_residual_ml: float | None = None
    withdrawn_discrepancy_ml: float | None = None
    concentration_before_mcg_per_ml: float | None = None
    concentration_after_mcg_per_ml: float | None = None
    bolus_volume_ml: float | None = None
    bolus_duration_h: float | None = None
    dead_volume_ml: float | None = None
    physical_residual_ml: float | None = None  # refills: what the reservoir really held
    kept_residual_ml: float | None = None  # refills: left in the reservoir with the new drug
    unaccounted_ml: float | None = None  # refills: physical − withdrawn − kept
    pump_calculated_before_ml: float | None = None
    pump_calculated_after_ml: float | None = None
    estimate_before_ml: float | None = None
    estimate_after_ml: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Impulse:
    """Drug moved at one instant (a valve discharge into the spinal fluid, a pocket fill)."""

    t_h: float
    dose_mcg: float
    cause: str


class Rows:
    """Column store of the replay's steps (see module docstring): one tuple per step, in the
    order of :attr:`NAMES`, turned into columns once at the end of the replay."""

    NAMES: Final = (
        "t0",  # step start, h
        "q",  # actual pump flow, mL/h
        "vol",  # physical reservoir mL at t0
        "c_res",  # reservoir concentration, mcg/mL
        "dead",  # drug in the dead volume at t0, mcg
        "c_exit",  # concentration leaving the tip, mcg/mL
        "f_csf",  # fraction of the exit reaching the spinal fluid
        "dose",  # programmed basal daily dose, mcg/day
        "added", "withdrawn", "csf", "tissue", "removed",  # cumulative mcg
        "qn",  # nominal flow (programmed, no fault), mL/h
        "vcalc",  # pump-calculated reservoir mL at t0
        "vest",  # estimated reservoir mL at t0
        "unacc",  # unaccounted drug, mcg
        "vanc",  # estimate anchor mL (see Engine.anchor_ml)
        "vsince",  # nominal volume delivered since the last measurement, mL, at t0
    )
    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data: list[tuple[float, ...]] = []

    def columns(self) -> dict[str, list[float]]:
        cols = list(zip(*self.data, strict=True)) if self.data else [()] * len(self.NAMES)
        return {name: list(col) for name, col in zip(self.NAMES, cols, strict=True)}


PumpLookup = Callable[[str], PumpModel]
CatheterLookup = Callable[[str], CatheterModel]


class Engine:
    """Mutable replay state. One instance replays one timeline; :meth:`clone` copies it."""

    def __init__(self, zone: ZoneInfo, epoch: datetime, pump_lookup: PumpLookup,
                 catheter_lookup: CatheterLookup, mri_resume_delay_h: float | None) -> None:
        self.zone = zone
        self.epoch = epoch
        self.pump_lookup = pump_lookup
        self.catheter_lookup = catheter_lookup
        self.mri_resume_delay_override_h = mri_resume_delay_h
        self.t_h = 0.0
        # device
        self.pump: PumpModel | None = None
        self.pump_serial: str | None = None
        self.ever_implanted = False
        self.catheter_model: str | None = None
        self.catheter_length_cm: float | None = None
        self.dead = DeadVolume(0.0, 0.0)
        self.low_alarm_ml: float | None = None
        self.eri_h: float | None = None
        self.eos_h: float | None = None
        self.end_of_service = False
        self.pump_generation = 0
        # drug
        self.reservoir_ml = 0.0  # physical
        self.calc_ml = 0.0  # pump-calculated
        self.est_ml = 0.0  # estimate
        # The estimate's uncertainty grows with what the pump was set to deliver since the
        # last measurement of the fluid (a refill drains and fills the reservoir; an implant or
        # a new pump starts empty): ``since_anchor_ml``. ``anchor_ml`` is the estimate as if
        # nothing had been delivered since (the measured volume, lowered by an interrogation
        # reading below the estimate): unclamped estimate = anchor_ml − since_anchor_ml.
        self.anchor_ml = 0.0
        self.since_anchor_ml = 0.0
        self.anchor_h: float | None = None
        self.reservoir_conc = 0.0
        self.programmed_conc: float | None = None
        self.previous_programmed_conc: float | None = None
        self.valve_closed = False  # Prometra II flow-activated valve shut at MRI (until reset)
        # prescription
        self.program = ProgramState("stopped")
        self.bolus: ActiveBolus | None = None
        self.faults: list[ActiveFault] = []
        self.pocket_fill: ActiveFault | None = None
        self.mri_stall_until_h: float | None = None
        self.mri_generation = 0
        # timers: (t_h, seq, kind, token)
        self.timers: list[tuple[float, int, str, object]] = []
        self._seq = 0
        # bookkeeping (mcg)
        self.added_mcg = 0.0
        self.withdrawn_mcg = 0.0
        self.csf_mcg = 0.0
        self.tissue_mcg = 0.0
        self.removed_mcg = 0.0
        self.unaccounted_mcg = 0.0
        self.csf_impulses: list[Impulse] = []
        self.tissue_impulses: list[Impulse] = []
        # times of note
        self.implanted_h: float | None = None
        self.last_refill_h: float | None = None
        self.last_program_h: float | None = None
        self.conc_changed_h: float | None = None
        self.last_mri_h: float | None = None
        self.last_revision_h: float | None = None
        # last downward crossing of the alarm volume by the pump-calculated volume
        self.low_crossed_h: float | None = None
        self.empty_h: float | None = None  # when the physical reservoir last ran dry
        self.est_empty_h: float | None = None  # when the estimate last reached zero
        # outputs
        self.alarms = al.AlarmBook()
        self.rows: Rows | None = Rows()
        self.track_dead = True
        self.projecting = False  # projection mode: stop at empty, skip dose-only boundaries

    # ------------------------------------------------------------------ copying

    def clone(self) -> Engine:
        """A copy that can run on without touching this one (no rows; its own alarm book,
        holding copies of the alarms active now)."""
        other = Engine.__new__(Engine)
        other.__dict__.update(self.__dict__)
        other.dead = self.dead.clone()
        other.faults = list(self.faults)
        other.timers = list(self.timers)
        other.csf_impulses = list(self.csf_impulses)
        other.tissue_impulses = list(self.tissue_impulses)
        other.alarms = self.alarms.clone()
        other.rows = None
        return other

    # ------------------------------------------------------------------ helpers

    def _timer(self, t_h: float, kind: str, token: object) -> None:
        self._seq += 1
        heapq.heappush(self.timers, (t_h, self._seq, kind, token))

    def next_timer_h(self) -> float:
        return self.timers[0][0] if self.timers else _INF

    def _err(self, index: int, fieldname: str, message: str, fix: str) -> TimelineError:
        return TimelineError(message, where=f"events[{index}].{fieldname}", fix=fix)

    def stalled(self) -> bool:
        return bool(self.faults) and any(f.kind == "motor-stall" for f in self.faults)

    def mri_stalled(self, t_h: float) -> bool:
        return self.mri_stall_until_h is not None and t_h < self.mri_stall_until_h

    def delivering_possible(self, t_h: float) -> bool:
        """The pump is in place and nothing but the reservoir or program stops it."""
        return (self.pump is not None and not self.end_of_service and not self.stalled()
                and not self.mri_stalled(t_h) and not self.valve_closed)

    def basal(self, t_h: float) -> tuple[float, float, float]:
        """``(rate_ml_per_h, daily_dose_mcg, next_change_h)`` of the programmed basal."""
        pump = self.pump
        if pump is None:
            return 0.0, 0.0, _INF
        if not pump.programmable:
            rate_day = pump.constant_rate_ml_per_day or 0.0
            dose = rate_day * (self.programmed_conc or 0.0)
            return rate_day / _H_PER_DAY, dose, _INF
        prog = self.program
        if prog.mode == "stopped":
            return 0.0, 0.0, _INF
        if prog.mode == "flex":
            assert prog.flex is not None
            dose, nxt = prog.flex.at(t_h)
        else:
            dose, nxt = prog.daily_dose_mcg, _INF
        conc = self.programmed_conc
        if not conc:
            return 0.0, dose, nxt
        return dose / conc / _H_PER_DAY, dose, nxt

    def flow(self, t_h: float) -> tuple[float, float, float]:
        """``(actual_ml_per_h, programmed_daily_dose_mcg, next_change_h)`` at ``t_h``."""
        q, _, dose, nxt = self.flows(t_h)
        return q, dose, nxt

    def flows(self, t_h: float) -> tuple[float, float, float, float]:
        """``(actual_ml_per_h, nominal_ml_per_h, daily_dose_mcg, next_change_h)`` at ``t_h``.

        The nominal flow is what the pump is set to deliver (boluses and a battery reset
        included, stops known to the pump included) with no injected fault and whatever the
        physical reservoir holds: the pump-calculated volume and the estimate drain at it.
        """
        if self.bolus is not None and t_h >= self.bolus.end_h:
            self.bolus = None
        rate, dose, nxt = self.basal(t_h)
        bolus = self.bolus
        if bolus is not None:
            nxt = min(nxt, bolus.end_h)
            rate = bolus.rate_ml_per_h if bolus.replaces_basal else rate + bolus.rate_ml_per_h
        faults = self.faults
        for f in faults:
            if f.kind == "battery-reset" and self.pump is not None \
                    and self.pump.battery_reset_rate_ml_per_day is not None:
                rate = self.pump.battery_reset_rate_ml_per_day / _H_PER_DAY
                break
        # delivering_possible(t_h), inlined: this runs once per schedule step
        if (self.pump is None or self.end_of_service or self.valve_closed
                or (self.mri_stall_until_h is not None and t_h < self.mri_stall_until_h)
                or (faults and any(f.kind == "motor-stall" for f in faults))):
            return 0.0, 0.0, dose, (_INF if self.projecting else nxt)
        if self.reservoir_ml <= 0.0:
            return 0.0, rate, dose, nxt
        return (rate * flow_factor(faults) if faults else rate), rate, dose, nxt

    def pump_state(self, t_h: float) -> str:
        if self.pump is None:
            return "explanted" if self.ever_implanted else "not-implanted"
        if self.end_of_service:
            return "end-of-service"
        if self.mri_stalled(t_h):
            return "mri-stalled"
        if self.valve_closed:
            return "mri-valve-closed"
        if self.stalled():
            return "stalled"
        if self.reservoir_ml <= 0.0:
            return "empty"
        rate, _, _ = self.basal(t_h)
        if rate <= 0.0 and self.bolus is None:
            return "stopped"
        return "running"

    # ------------------------------------------------------------------ fluid movement

    def _record(self, t_h: float, q: float, c_exit: float, f: float, dose: float,
                qn: float = 0.0, vcalc: float | None = None, vest: float | None = None,
                vsince: float | None = None) -> None:
        rows = self.rows
        if rows is None:
            return
        rows.data.append((
            t_h, q, self.reservoir_ml, self.reservoir_conc, self.dead.drug_mcg, c_exit, f, dose,
            self.added_mcg, self.withdrawn_mcg, self.csf_mcg, self.tissue_mcg, self.removed_mcg,
            qn, self.calc_ml if vcalc is None else vcalc, self.est_ml if vest is None else vest,
            self.unaccounted_mcg, self.anchor_ml,
            self.since_anchor_ml if vsince is None else vsince))

    def advance(self, t_stop: float) -> None:
        """Move fluid from ``self.t_h`` to ``t_stop`` with no event in between."""
        while self.t_h < t_stop:
            if self._plain_flow():
                self._advance_plain(t_stop)
                if self.t_h >= t_stop:
                    return
            t = self.t_h
            q, qn, dose, nxt = self.flows(t)
            seg_stop = min(t_stop, nxt)
            if seg_stop <= t:  # a boundary rounding onto t: take the smallest step forward
                seg_stop = t_stop
            self._move(t, seg_stop, q, dose, qn)

    def _plain_flow(self) -> bool:
        """The usual state between events: a programmed basal the pump delivers as set (no
        fault, bolus, stop or stall), drug in the reservoir, and the tubing and catheter full
        of the reservoir's drug, so the step rate is the programme's and nothing but the
        programme's clock or an emptying reservoir ends a step."""
        pump = self.pump
        bolus = self.bolus
        t = self.t_h
        return (pump is not None and pump.programmable and not self.faults
                and not self.end_of_service and not self.valve_closed and self.track_dead
                and not self.projecting and self.program.mode != "stopped"
                and bool(self.programmed_conc) and self.reservoir_ml > 0.0
                and (bolus is None or t >= bolus.end_h)
                and (self.mri_stall_until_h is None or t >= self.mri_stall_until_h)
                and self.dead.uniform_at(self.reservoir_conc))

    def _advance_plain(self, t_stop: float) -> None:
        """:meth:`advance` in the plain state (:meth:`_plain_flow`): one step per programme
        boundary, with the arithmetic of the general path (:meth:`_move`) on local variables.
        It stops before a step in which the reservoir would run dry or a view of it would
        cross the alarm volume or zero; the general path takes that step."""
        self.bolus = None
        prog = self.program
        conc = self.programmed_conc
        assert conc
        steps = (prog.flex.steps_from(self.t_h) if prog.flex is not None
                 else repeat((prog.daily_dose_mcg, _INF)))
        c_res = self.reservoir_conc
        # The dead volume holds the reservoir's drug throughout: what the pump pushes in at the
        # inlet leaves at the tip at the same concentration, and its contents do not change.
        dead_mcg = self.dead.drug_mcg
        rows = self.rows
        append = rows.data.append if rows is not None else None
        low = -_INF if self.low_alarm_ml is None else self.low_alarm_ml
        t = self.t_h
        vol, calc, est, csf = self.reservoir_ml, self.calc_ml, self.est_ml, self.csf_mcg
        added, withdrawn, tissue = self.added_mcg, self.withdrawn_mcg, self.tissue_mcg
        removed, unaccounted = self.removed_mcg, self.unaccounted_mcg
        anchor, since = self.anchor_ml, self.since_anchor_ml
        for dose, nxt in steps:
            if t >= t_stop:
                break
            q = dose / conc / _H_PER_DAY
            seg_stop = t_stop if nxt > t_stop else nxt
            if seg_stop <= t:
                seg_stop = t_stop
            dv = q * (seg_stop - t)
            if q <= 0.0 or vol <= dv or (calc > low and calc - dv <= low) \
                    or (calc > 0.0 and calc - dv <= 0.0) or (est > 0.0 and est - dv <= 0.0):
                break
            if append is not None:
                append((t, q, vol, c_res, dead_mcg, c_res, 1.0, dose, added, withdrawn,
                        csf, tissue, removed, q, calc, est, unaccounted, anchor, since))
            calc = calc - dv if calc - dv > 0.0 else 0.0
            est = est - dv if est - dv > 0.0 else 0.0
            vol = vol - dv
            since += dv
            csf += dv * c_res
            t = seg_stop
        self.t_h = t
        self.reservoir_ml, self.calc_ml, self.est_ml, self.csf_mcg = vol, calc, est, csf
        self.since_anchor_ml = since

    def _drain_nominal(self, t: float, seg_stop: float, qn: float) -> None:
        """The pump-calculated volume and the estimate fall at the nominal flow ``qn``; the
        pump's own low-reservoir and empty alarms sound when its calculated volume crosses."""
        if qn <= 0.0 or seg_stop <= t:
            return
        dv = qn * (seg_stop - t)
        calc = self.calc_ml
        low = self.low_alarm_ml
        battery = self.pump is not None and self.pump.has_battery
        if low is not None and calc > low and calc - dv <= low:
            self.low_crossed_h = t + (calc - low) / qn
            if battery:
                self.alarms.raise_(al.LOW_RESERVOIR, self.low_crossed_h)
        if calc > 0.0 and calc - dv <= 0.0 and battery:
            self.alarms.raise_(al.EMPTY_RESERVOIR, t + calc / qn)
        est = self.est_ml
        if est > 0.0 and est - dv <= 0.0:
            self.est_empty_h = t + est / qn
        self.calc_ml = max(calc - dv, 0.0)
        self.est_ml = max(est - dv, 0.0)
        self.since_anchor_ml += dv

    def _move(self, t: float, seg_stop: float, q: float, dose: float, qn: float = 0.0) -> None:
        """Flow at constant ``q`` (mL/h) from ``t`` to ``seg_stop``, splitting as needed."""
        f = csf_fraction(self.faults) if self.faults else 1.0
        t_start, calc0, est0, since0 = t, self.calc_ml, self.est_ml, self.since_anchor_ml
        if qn > 0.0:
            self._drain_nominal(t, seg_stop, qn)
        rows = self.rows

        def record(t_rec: float, q_rec: float, c_exit: float) -> None:
            if rows is not None:
                gone = qn * (t_rec - t_start)
                self._record(t_rec, q_rec, c_exit, f, dose, qn, max(calc0 - gone, 0.0),
                             max(est0 - gone, 0.0), since0 + gone)

        while t < seg_stop:
            vol = self.reservoir_ml
            c_res = self.reservoir_conc
            if q <= 0.0 or vol <= 0.0:
                record(t, 0.0, c_res)
                self.t_h = seg_stop
                return
            dv = q * (seg_stop - t)
            binding = ""
            if vol <= dv:
                dv, binding = vol, "empty"
            c_exit = c_res
            if self.track_dead:
                tip = self.dead.tip()
                if tip is not None:
                    c_exit = tip[1]
                    boundary = self.dead.exit_boundary_ml(c_res)
                    if boundary <= dv:
                        dv, binding = boundary, ("parcel" if boundary < vol else "empty")
            t_end = seg_stop if not binding else min(seg_stop, t + dv / q)
            if t_end > t:
                record(t, q, c_exit)
            if binding == "empty":
                self.reservoir_ml = 0.0
            else:
                self.reservoir_ml = vol - dv
            exited = self.dead.flow(dv, c_res) if self.track_dead else dv * c_exit
            self.csf_mcg += exited * f
            self.tissue_mcg += exited * (1.0 - f)
            t = t_end
            self.t_h = t
            if binding == "empty" or self.reservoir_ml <= 0.0:
                self.reservoir_ml = 0.0
                self.empty_h = t
                # the rest of the step has no flow
                if t < seg_stop:
                    record(t, 0.0, c_res)
                self.t_h = seg_stop
                return
        self.t_h = seg_stop

    def _discharge(self, t_h: float, cause: str) -> float:
        """Push the whole reservoir through the dead volume at once; return mcg to spinal fluid."""
        vol = self.reservoir_ml
        if vol <= 0.0:
            return 0.0
        f = csf_fraction(self.faults)
        exited = self.dead.flow(vol, self.reservoir_conc)
        self.reservoir_ml = 0.0
        self.empty_h = t_h
        to_csf, to_tissue = exited * f, exited * (1.0 - f)
        self.csf_mcg += to_csf
        self.tissue_mcg += to_tissue
        if to_csf > 0:
            self.csf_impulses.append(Impulse(t_h, to_csf, cause))
        if to_tissue > 0:
            self.tissue_impulses.append(Impulse(t_h, to_tissue, cause))
        return to_csf

    def _valve_pulse(self, t_h: float) -> None:
        """What passes a flow-activated valve before it shuts (at most 10 µL, PROM)."""
        vol = min(self.reservoir_ml, VALVE_SHUTOFF_ML)
        if vol <= 0.0:
            return
        f = csf_fraction(self.faults)
        exited = self.dead.flow(vol, self.reservoir_conc)
        self.reservoir_ml -= vol
        to_csf, to_tissue = exited * f, exited * (1.0 - f)
        self.csf_mcg += to_csf
        self.tissue_mcg += to_tissue
        if to_csf > 0:
            self.csf_impulses.append(Impulse(t_h, to_csf, "mri-valve"))
        if to_tissue > 0:
            self.tissue_impulses.append(Impulse(t_h, to_tissue, "mri-valve"))

    # ------------------------------------------------------------------ timers

    def fire_timers(self, t_h: float) -> None:
        while self.timers and self.timers[0][0] <= t_h:
            when, _, kind, token = heapq.heappop(self.timers)
            if kind == "fault-end":
                if token in self.faults or token is self.pocket_fill:
                    self._end_fault(token, when)  # type: ignore[arg-type]
            elif kind == "mri-resume":
                if token == self.mri_generation:
                    self.mri_stall_until_h = None
                    self._maybe_clear_stall(when)
            elif token != self.pump_generation or self.pump is None:
                continue  # a timer of a pump since replaced or removed
            elif kind == "eri":
                self.alarms.raise_(al.ELECTIVE_REPLACEMENT, when)
            elif kind == "eos":
                self.end_of_service = True
                self.bolus = None
                self.alarms.raise_(al.END_OF_SERVICE, when)

    def _end_fault(self, fault: ActiveFault, t_h: float) -> None:
        if fault is self.pocket_fill:
            self.pocket_fill = None
            return
        self.faults = [f for f in self.faults if f is not fault]
        if fault.kind == "motor-stall":
            self._maybe_clear_stall(t_h)
        if fault.kind == "battery-reset" and not any(f.kind == "battery-reset"
                                                     for f in self.faults):
            self.alarms.clear(al.BATTERY_RESET, t_h)

    def _maybe_clear_stall(self, t_h: float) -> None:
        if not self.stalled() and not self.mri_stalled(t_h):
            self.alarms.clear(al.MOTOR_STALL, t_h)

    # ------------------------------------------------------------------ events

    def apply(self, index: int, event: Event, t_h: float) -> Observation:
        obs = Observation(reservoir_before_ml=self.reservoir_ml,
                          concentration_before_mcg_per_ml=self.programmed_conc,
                          pump_calculated_before_ml=self.calc_ml, estimate_before_ml=self.est_ml)
        check_device_event(event, self.pump, f"events[{index}]", self.pump_lookup)
        handler = HANDLERS.get(type(event))
        if handler is not None:
            handler(self, index, event, t_h, obs)
        obs.pump_calculated_after_ml = self.calc_ml
        obs.estimate_after_ml = self.est_ml
        obs.reservoir_after_ml = self.reservoir_ml
        obs.concentration_after_mcg_per_ml = self.programmed_conc
        return obs

    def _start_battery(self, t_h: float) -> None:
        self.pump_generation += 1
        self.end_of_service = False
        self.eri_h = self.eos_h = None
        pump = self.pump
        if pump is None or pump.service_life_days is None:
            return
        self.eos_h = t_h + pump.service_life_days * _H_PER_DAY
        self._timer(self.eos_h, "eos", self.pump_generation)
        if pump.eri_to_eos_days is not None:
            self.eri_h = self.eos_h - pump.eri_to_eos_days * _H_PER_DAY
            self._timer(self.eri_h, "eri", self.pump_generation)

    def _measured(self, t_h: float, volume_ml: float) -> None:
        """The reservoir's volume is known at ``t_h`` (a refill drains and fills it; a new pump
        is empty): the pump-calculated volume and the estimate start from it, and so does
        the estimate's uncertainty."""
        self.calc_ml = self.est_ml = self.anchor_ml = volume_ml
        self.since_anchor_ml = 0.0
        self.anchor_h = t_h
        if volume_ml > 0:
            self.est_empty_h = None

    def _remove_reservoir(self, t_h: float) -> None:
        self.removed_mcg += self.reservoir_ml * self.reservoir_conc
        self.reservoir_ml = 0.0
        self.reservoir_conc = 0.0
        self._measured(t_h, 0.0)
        self.valve_closed = False
        self.est_empty_h = None

    def _implant(self, index: int, ev: Implant, t_h: float, obs: Observation) -> None:
        assert ev.catheter is not None  # a required field
        pump = self.pump_lookup(ev.pump)
        catheter = self.catheter_lookup(ev.catheter.model)
        self.pump = pump
        self.pump_serial = ev.serial
        self.ever_implanted = True
        self.catheter_model = catheter.id
        self.catheter_length_cm = float(ev.catheter.length_cm)
        self.dead = DeadVolume(pump.tubing_volume_ml, catheter.volume_ml(ev.catheter.length_cm))
        self.low_alarm_ml = (ev.low_reservoir_alarm_ml if ev.low_reservoir_alarm_ml is not None
                             else pump.low_reservoir_alarm_ml)
        self.reservoir_ml = 0.0
        self._measured(t_h, 0.0)
        self.valve_closed = False
        self.est_empty_h = None
        self.reservoir_conc = 0.0
        self.programmed_conc = self.previous_programmed_conc = None
        self.program = ProgramState("stopped")
        self.bolus = None
        self.faults = []
        self.pocket_fill = None
        self.mri_stall_until_h = None
        self.implanted_h = t_h
        self.low_crossed_h = self.empty_h = None
        self._start_battery(t_h)
        obs.dead_volume_ml = self.dead.volume_ml

    def _replace_pump(self, index: int, ev: ReplacePump, t_h: float, obs: Observation) -> None:
        pump = self.pump_lookup(ev.pump)
        self._remove_reservoir(t_h)
        self.removed_mcg += self.dead.replace_tubing(pump.tubing_volume_ml)
        self.pump = pump
        self.pump_serial = ev.serial
        self.low_alarm_ml = (ev.low_reservoir_alarm_ml if ev.low_reservoir_alarm_ml is not None
                             else pump.low_reservoir_alarm_ml)
        self.previous_programmed_conc = self.programmed_conc
        self.programmed_conc = None
        self.program = ProgramState("stopped")
        self.bolus = None
        self.faults = [f for f in self.faults if f.kind not in PUMP_FAULTS]
        self.mri_stall_until_h = None
        self.mri_generation += 1
        self.alarms.clear_all(t_h)
        self.implanted_h = t_h
        self.low_crossed_h = self.empty_h = None
        self._start_battery(t_h)
        obs.dead_volume_ml = self.dead.volume_ml
        obs.notes.append("new pump: reservoir empty and tubing full of saline until filled "
                         "and primed; program stopped until programmed")

    def _explant(self, index: int, ev: Explant, t_h: float, obs: Observation) -> None:
        self._remove_reservoir(t_h)
        self.removed_mcg += self.dead.empty()
        self.pump = None
        self.catheter_model = None
        self.catheter_length_cm = None
        self.programmed_conc = self.previous_programmed_conc = None
        self.program = ProgramState("stopped")
        self.bolus = None
        self.faults = []
        self.pocket_fill = None
        self.mri_stall_until_h = None
        self.mri_generation += 1
        self.pump_generation += 1
        self.end_of_service = False
        self.eri_h = self.eos_h = None
        self.low_alarm_ml = None
        self.alarms.clear_all(t_h)

    def _catheter_revision(self, index: int, ev: CatheterRevision, t_h: float, obs: Observation) -> None:
        if ev.catheter is not None:
            catheter = self.catheter_lookup(ev.catheter.model)
            length = float(ev.catheter.length_cm)
        else:
            assert self.catheter_model is not None and self.catheter_length_cm is not None
            catheter = self.catheter_lookup(self.catheter_model)
            length = self.catheter_length_cm
        self.catheter_model = catheter.id
        self.catheter_length_cm = length
        self.removed_mcg += self.dead.replace_catheter(catheter.volume_ml(length))
        self.faults = [f for f in self.faults if f.kind not in CATHETER_FAULTS]
        self.last_revision_h = t_h
        obs.dead_volume_ml = self.dead.volume_ml
        obs.notes.append("new catheter full of saline: it delivers no drug until primed")

    def _check_rate(self, index: int, fieldname: str, dose_mcg: float, conc: float) -> None:
        pump = self.pump
        assert pump is not None
        if dose_mcg <= 0 or conc <= 0 or not pump.programmable:
            return
        rate = dose_mcg / conc
        lo, hi = pump.min_rate_ml_per_day, pump.max_rate_ml_per_day
        if rate < lo * (1 - _REL_TOL) or rate > hi * (1 + _REL_TOL):
            raise self._err(index, fieldname,
                            f"{dose_mcg:g} mcg/day at {conc:g} mcg/mL needs {rate:.4g} mL/day, "
                            f"outside the {pump.name}'s {lo:g}–{hi:g} mL/day",
                            "choose a dose or concentration the pump can deliver")

    def _program_doses(self) -> list[float]:
        prog = self.program
        if prog.mode == "continuous":
            return [prog.daily_dose_mcg]
        if prog.mode == "flex" and prog.flex is not None:
            return [s.daily_dose_mcg for s in prog.flex.steps]
        return []

    def _refill(self, index: int, ev: Refill, t_h: float, obs: Observation) -> None:
        # The expected residual is what the pump and its programmer calculate (clinical-facts
        # 9.1); it knows no injected fault. The drained volume is the measurement.
        expected = self.calc_ml
        physical = self.reservoir_ml
        withdrawn = float(ev.withdrawn_ml)
        kept = float(ev.kept_residual_ml)
        added = float(ev.added_ml)
        obs.expected_residual_ml = expected
        obs.withdrawn_discrepancy_ml = withdrawn - expected
        obs.physical_residual_ml = physical
        obs.kept_residual_ml = kept
        c_old = self.reservoir_conc
        unaccounted_ml = physical - withdrawn - kept
        obs.unaccounted_ml = unaccounted_ml
        self.withdrawn_mcg += withdrawn * c_old
        self.unaccounted_mcg += unaccounted_ml * c_old
        self.reservoir_ml = kept
        if abs(withdrawn - expected) > 1e-9:
            obs.notes.append(f"withdrew {withdrawn:.3g} mL where the pump calculated "
                             f"{expected:.3g} mL ({withdrawn - expected:+.3g} mL): the twin takes "
                             "the drained volume as the measurement")
        remaining = kept
        conc = float(ev.concentration_mcg_per_ml)
        into_reservoir = added
        if self.pocket_fill is not None and added > 0:
            lost = added * self.pocket_fill.severity
            into_reservoir = added - lost
            self.added_mcg += lost * conc
            self.tissue_mcg += lost * conc
            self.tissue_impulses.append(Impulse(t_h, lost * conc, "pocket-fill"))
            obs.notes.append(f"pocket fill: {lost:.3g} mL ({lost * conc:.4g} mcg) into tissue")
            self.pocket_fill = None
        if into_reservoir > 0:
            self.reservoir_conc = mixed_concentration(remaining, self.reservoir_conc,
                                                      into_reservoir, conc)
            self.reservoir_ml = remaining + into_reservoir
            self.added_mcg += into_reservoir * conc
        # The programmer is told the new reservoir volume (clinical-facts 9.1).
        self._measured(t_h, kept + added)
        if added > 0:
            if (self.programmed_conc is not None
                    and not same_concentration(conc, self.programmed_conc)):
                self.previous_programmed_conc = self.programmed_conc
                self.conc_changed_h = t_h
                obs.notes.append("concentration changed: the old drug in the dead volume "
                                 "reaches the spinal fluid first (bridge bolus, B-DOSE)")
            elif self.programmed_conc is None:
                self.previous_programmed_conc = None
            self.programmed_conc = conc
            for dose in self._program_doses():
                self._check_rate(index, "concentration", dose, conc)
        self.last_refill_h = t_h
        if self.reservoir_ml > 0:
            self.empty_h = None
        self._pump_volume_alarms(t_h)

    def _pump_volume_alarms(self, t_h: float) -> None:
        """After the pump-calculated volume is set (refill, interrogation): its alarms."""
        low = self.low_alarm_ml
        pump = self.pump
        if self.calc_ml > 0:
            self.alarms.clear(al.EMPTY_RESERVOIR, t_h)
            self.alarms.clear(al.MRI_DISCHARGE, t_h)
        if low is None or self.calc_ml > low:
            self.alarms.clear(al.LOW_RESERVOIR, t_h)
            self.low_crossed_h = None
        elif self.calc_ml > 0 and pump is not None and pump.has_battery:
            if not self.alarms.is_active(al.LOW_RESERVOIR):
                self.low_crossed_h = t_h
            self.alarms.raise_(al.LOW_RESERVOIR, t_h)

    def _program(self, index: int, ev: Program, t_h: float, obs: Observation) -> None:
        if ev.mode == "continuous":
            assert ev.daily_dose_mcg is not None  # required with the mode
            self.program = ProgramState("continuous", float(ev.daily_dose_mcg))
        elif ev.mode == "flex":
            self.program = ProgramState("flex", flex=FlexClock(ev.steps, self.zone, self.epoch))
        else:
            self.program = ProgramState("stopped")
        if self.programmed_conc is not None:
            for dose in self._program_doses():
                self._check_rate(index, "daily_dose" if ev.mode == "continuous" else "steps",
                                 dose, self.programmed_conc)
        elif ev.mode != "stopped":
            obs.notes.append("no drug concentration known yet (no refill): the pump cannot "
                             "compute a rate and delivers nothing until one is recorded")
        if self.bolus is not None:
            obs.notes.append(f"the running {self.bolus.kind} bolus was cancelled")
        self.bolus = None
        self.last_program_h = t_h
        self._reset_valve(t_h, obs)

    def _reset_valve(self, t_h: float, obs: Observation) -> None:
        """The clinician's programmer resets a valve shut at MRI (PROM)."""
        if self.valve_closed:
            self.valve_closed = False
            self.alarms.clear(al.MRI_VALVE_CLOSED, t_h)
            obs.notes.append("the pump was reset: delivery resumes after the valve shut-off")

    def _bolus(self, index: int, ev: Bolus, t_h: float, obs: Observation) -> None:
        pump = self.pump
        assert pump is not None  # check_device_event: a bolus needs a pump in place
        kind = ev.kind
        conc = self.programmed_conc
        duration = ev.duration_h
        replaces = kind in ("bridge", "priming")
        if kind in ("clinician", "patient"):
            if ev.volume_ml is not None:
                volume = float(ev.volume_ml)
            else:
                if not conc:
                    raise self._err(index, "dose", f"a {kind} bolus before any refill: the "
                                    "drug concentration is unknown", "record the refill first")
                assert ev.dose_mcg is not None  # required for the kind (timeline)
                volume = float(ev.dose_mcg) / conc
            if duration is None:
                duration = volume / pump.max_rate_ml_per_day * _H_PER_DAY
        else:
            volume = float(ev.volume_ml) if ev.volume_ml is not None else self.dead.volume_ml
            if duration is None:
                if kind == "priming":
                    duration = volume / pump.priming_rate_ml_per_day * _H_PER_DAY
                else:
                    old = self.previous_programmed_conc or conc
                    _, dose, _ = self.basal(t_h)
                    if not old or dose <= 0:
                        raise self._err(index, "kind", "a bridge bolus needs a running program "
                                        "and a known concentration",
                                        "program the daily dose before the bridge bolus, or "
                                        "give the bolus a duration")
                    # At the old drug's rate-equivalent: the old drug in the dead volume
                    # reaches the tip at the programmed daily dose (B-DOSE).
                    duration = volume / (dose / old) * _H_PER_DAY
        if self.bolus is not None:
            obs.notes.append(f"the running {self.bolus.kind} bolus was cancelled")
        if volume <= 0 or duration <= 0:
            self.bolus = None
        else:
            self.bolus = ActiveBolus(kind, volume, volume / duration, replaces, t_h,
                                     t_h + duration)
        obs.bolus_volume_ml = volume
        obs.bolus_duration_h = duration
        obs.dead_volume_ml = self.dead.volume_ml

    def _interrogation(self, index: int, ev: Interrogation, t_h: float, obs: Observation) -> None:
        """The pump's readings are a measurement: its reported volume is what it calculates;
        the estimate plans from the lower of the two (the conservative one)."""
        reported = ev.reservoir_ml
        if reported is not None and self.pump is not None:
            if abs(reported - self.calc_ml) > 1e-9:
                obs.notes.append(f"pump reports {reported:g} mL; the twin expected "
                                 f"{self.calc_ml:.3g} mL")
            self.calc_ml = float(reported)
            if reported < self.est_ml:
                self.est_ml = float(reported)
                # the reading moves the estimate, not its uncertainty: the pump's volume is its
                # own arithmetic since the refill, not a measurement of the fluid (9.1)
                self.anchor_ml = self.est_ml + self.since_anchor_ml
                if self.est_ml <= 0:
                    self.est_empty_h = t_h
            self._pump_volume_alarms(t_h)
        if ev.pump_state == "running":
            # TGA-MRI: after an MRI the infusion resumes at the post-MRI interrogation; a
            # valve shut at MRI is reset with the programmer (PROM).
            if self.mri_stall_until_h is not None and t_h < self.mri_stall_until_h:
                self.mri_stall_until_h = None
                self.mri_generation += 1
                self._maybe_clear_stall(t_h)
                obs.notes.append("the interrogation shows the pump running after the MRI")
            self._reset_valve(t_h, obs)

    def _acknowledge(self, index: int, ev: AlarmAcknowledged, t_h: float, obs: Observation) -> None:
        if not self.alarms.acknowledge(ev.alarm, t_h):
            obs.notes.append(f"no active {ev.alarm!r} alarm to acknowledge")
        elif ev.alarm == al.MRI_DISCHARGE:
            self.alarms.clear(al.MRI_DISCHARGE, t_h)

    def _mri(self, index: int, ev: Mri, t_h: float, obs: Observation) -> None:
        self.last_mri_h = t_h
        pump = self.pump
        if pump is None:
            return
        behaviour = pump.mri_behaviour
        if behaviour == "motor-stall":
            delay = (self.mri_resume_delay_override_h if self.mri_resume_delay_override_h
                     is not None else pump.mri_resume_delay_h)
            until = t_h + float(ev.duration_h) + delay
            self.mri_generation += 1
            self.mri_stall_until_h = max(until, self.mri_stall_until_h or until)
            self._timer(self.mri_stall_until_h, "mri-resume", self.mri_generation)
            if not self.end_of_service:
                self.alarms.raise_(al.MOTOR_STALL, t_h)
            obs.notes.append(f"MRI stops the motor; delivery resumes {delay:g} h after the scan "
                             "(M-MRI); interrogate the pump afterwards")
        elif behaviour == "valve-shutoff" and self.reservoir_ml > 0.0:
            self._valve_pulse(t_h)
            self.valve_closed = True
            self.bolus = None
            self.alarms.raise_(al.MRI_VALVE_CLOSED, t_h)
            obs.notes.append("the pump was not emptied before the MRI: the flow-activated valve "
                             f"shuts flow after at most {VALVE_SHUTOFF_ML * 1000:g} µL and delivery "
                             "stays stopped until the pump is reset (PROM): withdrawal risk")
        elif behaviour == "empty-first" and self.reservoir_ml > 0.0:
            dumped = self._discharge(t_h, "mri-discharge")
            self.alarms.raise_(al.MRI_DISCHARGE, t_h)
            obs.notes.append(f"the pump was not emptied before the MRI: the field may open "
                             f"the valves (PROM-MRI); modelled as discharging the reservoir "
                             f"at once ({dumped:.4g} mcg to the spinal fluid)")

    def _fault(self, index: int, ev: Fault, t_h: float, obs: Observation) -> None:
        kind = ev.kind
        severity = 1.0 if ev.severity is None else float(ev.severity)
        end = None if ev.duration_h is None else t_h + float(ev.duration_h)
        fault = ActiveFault(kind, severity, t_h, end, index)
        if kind == "pocket-fill":
            self.pocket_fill = fault
        else:
            if kind == "battery-reset" and (self.pump is None or not self.pump.has_battery):
                obs.notes.append("the pump has no battery: a battery reset has no effect")
                return
            self.faults.append(fault)
            if kind == "motor-stall" and self.pump is not None and self.pump.has_battery \
                    and not self.end_of_service:
                self.alarms.raise_(al.MOTOR_STALL, t_h)
            if kind == "battery-reset" and not self.end_of_service:
                self.alarms.raise_(al.BATTERY_RESET, t_h)  # M-ADV: "a pump alarm will sound"
        if end is not None:
            self._timer(end, "fault-end", fault)


E = TypeVar("E", bound=Event)


class HandlerRegistry:
    """The engine's handler of each event class, typed by that class: :meth:`register` only
    accepts a handler whose event parameter takes the class it is registered for (mypy checks
    it), and :meth:`get` finds the handler of an event's exact class."""

    def __init__(self) -> None:
        self._handlers: dict[type[Event], Callable[[Engine, int, Any, float, Observation],
                                                   None]] = {}

    def register(self, cls: type[E],
                 handler: Callable[[Engine, int, E, float, Observation], None]) -> None:
        if cls in self._handlers:
            raise ValueError(f"{cls.__name__} already has a handler")
        self._handlers[cls] = handler

    def get(self, cls: type[Event]) -> Callable[[Engine, int, Any, float, Observation],
                                                None] | None:
        return self._handlers.get(cls)

    def __contains__(self, cls: object) -> bool:
        return cls in self._handlers

    def __iter__(self) -> Iterator[type[Event]]:
        return iter(self._handlers)


HANDLERS = HandlerRegistry()
HANDLERS.register(Implant, Engine._implant)
HANDLERS.register(ReplacePump, Engine._replace_pump)
HANDLERS.register(Explant, Engine._explant)
HANDLERS.register(CatheterRevision, Engine._catheter_revision)
HANDLERS.register(Refill, Engine._refill)
HANDLERS.register(Program, Engine._program)
HANDLERS.register(Bolus, Engine._bolus)
HANDLERS.register(Interrogation, Engine._interrogation)
HANDLERS.register(AlarmAcknowledged, Engine._acknowledge)
HANDLERS.register(Mri, Engine._mri)
HANDLERS.register(Fault, Engine._fault)
# Event classes the twin replays without a device effect: records about the patient that the
# rules of thecal.clinical read (a correction replaces the event it corrects before replay).
NO_DEVICE_EFFECT: frozenset[type[Event]] = frozenset({
    Assessment, Symptoms, Diathermy, OralBaclofen, ScreeningDose, Note, Correction,
})


def run_to(engine: Engine, t_stop: float,
           events: Sequence[tuple[int, Event, float]] = (),
           on_event: Callable[[int, Event, float, Observation], None] | None = None,
           on_instant: Callable[[float], None] | None = None) -> None:
    """Apply ``events`` (index, event, t_h; time order) and timers, moving fluid between them."""
    i = 0
    n = len(events)
    while True:
        t = engine.t_h
        engine.fire_timers(t)
        while i < n and events[i][2] <= t:
            index, event, t_ev = events[i]
            obs = engine.apply(index, event, t)
            if on_event is not None:
                on_event(index, event, t_ev, obs)
            i += 1
            engine.fire_timers(t)
        if on_instant is not None:
            on_instant(t)
        if t >= t_stop:
            return
        nxt = min(t_stop, engine.next_timer_h(), events[i][2] if i < n else _INF)
        engine.advance(nxt)
