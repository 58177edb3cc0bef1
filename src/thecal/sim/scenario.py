"""Run a timeline through the twin, then through the virtual patient: a scenario trace.

The timeline's ``patient.physiology`` block names the virtual patient (preset, seed,
overrides); without one the patient's etiology picks the preset and the typical patient is
used. ``fault`` events act in the twin (``thecal.device``). What reaches the spinal fluid
drives the patient; drug lost to tissue (a leaking catheter, a pocket fill) enters the blood;
``oral-baclofen`` events set the oral daily dose. The patient starts drug-naive at the epoch.

Bundled scenarios live in ``thecal/scenarios/*.yaml``; :func:`load_scenario` accepts a
bundled name or a path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from thecal.errors import InputError, TimelineError
from thecal.physiology.model import STATE_NAMES, readouts, symptom_codes
from thecal.physiology.parameters import FloatArray, Parameters
from thecal.physiology.population import get_preset, patient
from thecal.schedule import Schedule
from thecal.sim.engine import Inputs, Propagator
from thecal.timeline import Timeline, load_timeline

#: Instant transfers (valve discharge, pocket fill) are spread over this long (1 s).
IMPULSE_H = 1.0 / 3600.0

#: Columns of a trace, in order (``time`` is added by the writers).
COLUMNS = ("reservoir_ml", "rate_ml_per_day", "csf_delivery_mcg_per_h", "csf_conc_ng_per_ml",
           "effect", "mas", "penn_frequency", "side_effect_score", "withdrawal_score",
           "overdose_score", "oral_mg_per_day", "tolerance_fold")


@dataclass(frozen=True)
class TraceEvent:
    t_h: float
    type: str
    label: str


@dataclass(frozen=True)
class Trace:
    """What the simulated patient and pump did, sampled at ``t_h`` (hours since ``epoch``)."""

    epoch: datetime
    timezone: str
    t_h: FloatArray
    columns: dict[str, FloatArray]
    mas_category: tuple[str, ...]
    symptoms: tuple[tuple[str, ...], ...]
    events: tuple[TraceEvent, ...] = ()
    parameters: Parameters = field(default_factory=Parameters)
    states: FloatArray = field(default_factory=lambda: np.zeros((0, len(STATE_NAMES))))

    def times(self) -> list[datetime]:
        """Sample instants in the patient's time zone."""
        zone = ZoneInfo(self.timezone)
        return [(self.epoch + timedelta(hours=float(t))).astimezone(zone) for t in self.t_h]

    def __len__(self) -> int:
        return int(self.t_h.size)


def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario names → file paths."""
    folder = resources.files("thecal") / "scenarios"
    out: dict[str, Path] = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".yaml"):
            out[item.name[: -len(".yaml")]] = Path(str(item))
    return out


def load_scenario(name_or_path: str | Path) -> Timeline:
    """A bundled scenario by name, or a timeline file by path."""
    bundled = bundled_scenarios()
    key = str(name_or_path)
    if key in bundled:
        return load_timeline(bundled[key])
    path = Path(name_or_path)
    if not path.exists() and not path.suffix:
        raise InputError(f"no bundled scenario or file named {key!r}",
                         fix=f"use one of: {', '.join(bundled)} — or a path to a timeline")
    return load_timeline(path)


def patient_parameters(timeline: Timeline) -> Parameters:
    """The virtual patient the timeline asks for."""
    spec = timeline.patient.physiology
    try:
        if spec is None:
            get_preset(timeline.patient.etiology)
            return patient(timeline.patient.etiology)
        return patient(spec.preset, spec.seed, dict(spec.overrides))
    except InputError as exc:
        raise TimelineError(exc.message, where="patient.physiology", fix=exc.fix) from None


def _with_impulses(base: Schedule, impulses: list[tuple[float, float]]) -> Schedule:
    """``base`` plus each ``(t_h, dose_mcg)`` spread over IMPULSE_H (exact mass)."""
    if not impulses:
        return base
    cuts = [base.edges] if base.values.size else []
    for t, _ in impulses:
        cuts.append(np.array([t, t + IMPULSE_H]))
    edges = np.unique(np.concatenate(cuts))
    values = base.value_at(edges[:-1]) if base.values.size else np.zeros(edges.size - 1)
    for t, dose in impulses:
        inside = (edges[:-1] >= t) & (edges[:-1] < t + IMPULSE_H)
        values[inside] += dose / IMPULSE_H
    return Schedule(edges, values)


def oral_schedule(timeline: Timeline, epoch: datetime, end_h: float) -> Schedule:
    """Oral baclofen daily dose (mg/day) from ``oral-baclofen`` events."""
    segs: list[tuple[float, float]] = []
    for _, ev in timeline.effective_events():
        if ev.type == "oral-baclofen":
            t = (ev.at - epoch).total_seconds() / 3600.0
            segs.append((t, float(getattr(ev, "daily_dose_mg", 0.0))))
    out: list[tuple[float, float, float]] = []
    for i, (t, dose) in enumerate(segs):
        stop = segs[i + 1][0] if i + 1 < len(segs) else max(end_h, t) + 1.0
        if stop > t:
            out.append((t, stop, dose))
    return Schedule.from_segments(out)


def scenario_inputs(timeline: Timeline, until: datetime) -> tuple[Any, Schedule, Schedule, Schedule]:
    """The twin's replay and what it feeds a patient: spinal-fluid delivery (mcg/h), oral
    baclofen (mg/day) and drug lost to tissue (mcg/h, absorbed systemically)."""
    from thecal.device.replay import replay

    r = replay(timeline, until)
    csf = _with_impulses(r.csf_delivery, [(i.t_h, i.dose_mcg) for i in r.csf_impulses])
    tissue = _with_impulses(r.tissue_loss, [(i.t_h, i.dose_mcg) for i in r.tissue_impulses])
    oral = oral_schedule(timeline, r.epoch, r.end_h)
    return r, csf, oral, tissue


def run_scenario(timeline: Timeline, until: datetime | None = None, *, every_h: float = 0.25,
                 params: Parameters | None = None,
                 progress: Callable[[float], None] | None = None) -> Trace:
    """Replay ``timeline`` to ``until`` (default: 14 days after its last event) and sample the
    pump and the patient every ``every_h`` hours."""
    if not timeline.events:
        raise TimelineError("the scenario has no events", where="events",
                            fix="add at least an implant, a refill and a program")
    if every_h <= 0:
        raise InputError("the sampling interval must be positive", fix="e.g. --every 15min")
    if until is None:
        until = timeline.events[-1].at + timedelta(days=14)
    r, csf, oral, tissue = scenario_inputs(timeline, until)
    p = params if params is not None else patient_parameters(timeline)
    end_h = r.end_h
    n = int(np.floor(end_h / every_h + 1e-9)) + 1
    if n > 2_000_000:
        raise InputError(f"{n} samples is too many", fix="sample less often (--every 1h)")
    t: FloatArray = every_h * np.arange(n, dtype=np.float64)
    if progress is not None:
        progress(0.1)
    inputs = Inputs.build(p, csf, oral, tissue)
    states = Propagator(p).run(inputs, t, start_h=0.0).states
    if progress is not None:
        progress(0.7)
    ro = readouts(p, states)
    ec50 = p.ec50_ng_per_ml
    columns: dict[str, FloatArray] = {
        "reservoir_ml": np.asarray(r.reservoir_ml_at(t), dtype=np.float64),
        "rate_ml_per_day": r.flow_ml_per_day.value_at(t),
        "csf_delivery_mcg_per_h": r.csf_delivery.value_at(t),
        "csf_conc_ng_per_ml": ro.csf_conc_ng_per_ml,
        "effect": ro.effect,
        "mas": ro.mas,
        "penn_frequency": ro.penn_frequency,
        "side_effect_score": ro.side_effect_score,
        "withdrawal_score": ro.withdrawal_score,
        "overdose_score": ro.overdose_score,
        "oral_mg_per_day": oral.value_at(t),
        "tolerance_fold": ro.ec50_adapted_ng_per_ml / ec50,
    }
    symptoms = tuple(symptom_codes(float(a), float(b), float(c), float(d)) for a, b, c, d in zip(
        ro.side_effect_score, ro.withdrawal_score, ro.overdose_score, ro.sedation_score,
        strict=True))
    events = tuple(TraceEvent(e.t_h, e.type, _label(e.event)) for e in r.events)
    if progress is not None:
        progress(1.0)
    return Trace(epoch=r.epoch, timezone=timeline.patient.timezone, t_h=t, columns=columns,
                 mas_category=tuple(str(c) for c in ro.mas_category), symptoms=symptoms,
                 events=events, parameters=p, states=states)


def _label(ev: object) -> str:
    kind = getattr(ev, "kind", None)
    typ = str(getattr(ev, "type", "event"))
    return f"{typ} {kind}" if isinstance(kind, str) and kind else typ
