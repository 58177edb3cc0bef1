"""Many virtual patients at once: exact modal propagation on arrays (patients × states).

All patients share the input edges (a dosing policy); the spinal-fluid delivery may be scaled
per patient (``csf_scale``, e.g. each patient's own dose) or stepped by the caller with
per-patient rates (:class:`Cohort`). Propagation is the closed-form modal solution of
``thecal.sim.modal`` — elementwise on ``(n, 6)`` arrays, exact to rounding.

Memory grows with patients, not samples: :func:`simulate_many` folds each sample's readouts
into running summaries (min, max, mean; hours in withdrawal or overdose) and keeps full
sample series only for the readouts named in ``record``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from thecal.errors import InputError
from thecal.physiology.model import (
    EARLY_WITHDRAWAL_SCORE,
    N_STATES,
    SEVERE_WITHDRAWAL_SCORE,
    Readouts,
    readouts,
)
from thecal.physiology.parameters import FloatArray, ParameterArrays
from thecal.schedule import Schedule
from thecal.sim.modal import decay, decompose

#: Readouts summarised by default.
SUMMARY_READOUTS = ("csf_conc_ng_per_ml", "effect", "mas", "penn_frequency",
                    "withdrawal_score", "overdose_score", "side_effect_score")
#: Overdose score at or above which a sample counts as "in overdose" (first sign: drowsiness).
OVERDOSE_SIGN_SCORE = 0.15
_CACHE_BYTES = 256 * 2**20


class Cohort:
    """``n`` patients moving through time together (a stepping simulation object).

    ``advance(h, csf, systemic)`` moves every patient ``h`` hours under constant inputs
    (scalars or arrays of shape ``(n,)``); ``states()`` and ``readouts()`` look at them now.
    """

    def __init__(self, params: ParameterArrays, x0: FloatArray | None = None,
                 start_h: float = 0.0) -> None:
        modal = decompose(params)
        if not np.all(modal.well_conditioned):
            bad = int(np.sum(~modal.well_conditioned))
            raise InputError(f"{bad} patient(s) have two rates that nearly coincide",
                             fix="sample with thecal.physiology.sample (it keeps rates apart) "
                                 "or use thecal.sim.engine.simulate for such a patient")
        self.params = params
        self.n = params.n
        self.t_h = float(start_h)
        self._lam = modal.lam
        self._v = modal.v
        self._w = modal.w  # (n, 6, 2)
        x = np.zeros((self.n, N_STATES)) if x0 is None else np.broadcast_to(
            np.asarray(x0, dtype=float), (self.n, N_STATES))
        self._z = np.einsum("nij,nj->ni", modal.v_inv, x)
        self._cache: dict[int, tuple[FloatArray, FloatArray]] = {}
        self._cache_limit = max(4, _CACHE_BYTES // max(1, 2 * self._lam.nbytes))

    def _decay(self, h: float) -> tuple[FloatArray, FloatArray]:
        key = round(h * 1e9)
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) >= self._cache_limit:
                self._cache.pop(next(iter(self._cache)))
            hit = decay(self._lam, key * 1e-9)
            self._cache[key] = hit
        return hit

    def forcing(self, csf_mcg_per_h: float | FloatArray,
                systemic_mg_per_h: float | FloatArray = 0.0) -> FloatArray:
        """Modal forcing ``V⁻¹ B u`` for these inputs, shape ``(n, 6)``."""
        csf = np.asarray(csf_mcg_per_h, dtype=float)
        sys_ = np.asarray(systemic_mg_per_h, dtype=float)
        return np.asarray(self._w[:, :, 0] * csf[..., None] + self._w[:, :, 1] * sys_[..., None],
                          dtype=float)

    def advance(self, h: float, csf_mcg_per_h: float | FloatArray = 0.0,
                systemic_mg_per_h: float | FloatArray = 0.0, *,
                forcing: FloatArray | None = None) -> None:
        if h < 0:
            raise ValueError("cannot step back in time")
        if h == 0:
            return
        e, f = self._decay(h)
        w = self.forcing(csf_mcg_per_h, systemic_mg_per_h) if forcing is None else forcing
        self._z = e * self._z + f * w
        self.t_h += h

    def states(self) -> FloatArray:
        """States now, shape ``(n, 6)``."""
        return np.asarray(np.einsum("nij,nj->ni", self._v, self._z), dtype=float)

    def readouts(self) -> Readouts:
        return readouts(self.params, self.states())


@dataclass(frozen=True)
class Stats:
    """Per-patient summary of one readout over the sample times."""

    min: FloatArray
    max: FloatArray
    mean: FloatArray


@dataclass(frozen=True)
class ManyResult:
    """What :func:`simulate_many` returns: summaries, final states, optional series."""

    n_samples: int
    every_h: float
    stats: dict[str, Stats]
    hours_in_withdrawal: FloatArray  # withdrawal score ≥ EARLY_WITHDRAWAL_SCORE
    hours_in_severe_withdrawal: FloatArray  # ≥ SEVERE_WITHDRAWAL_SCORE
    hours_with_overdose_signs: FloatArray  # overdose score ≥ OVERDOSE_SIGN_SCORE
    final_states: FloatArray
    t_h: FloatArray = field(default_factory=lambda: np.zeros(0))
    series: dict[str, FloatArray] = field(default_factory=dict)  # name → (n, samples)


#: Patients simulated together; larger populations run in chunks that stay in cache.
CHUNK = 4096


def simulate_many(params: ParameterArrays, csf_delivery: Schedule, *, end_h: float,
                  start_h: float = 0.0, every_h: float = 1.0,
                  csf_scale: FloatArray | float = 1.0,
                  oral_mg_per_day: Schedule | None = None,
                  systemic_mcg_per_h: Schedule | None = None,
                  x0: FloatArray | None = None,
                  summarise: Sequence[str] = SUMMARY_READOUTS,
                  record: Sequence[str] = (),
                  progress: Callable[[float], None] | None = None) -> ManyResult:
    """Simulate ``params.n`` patients from ``start_h`` to ``end_h`` under shared inputs.

    Samples every ``every_h`` hours from ``start_h`` (inclusive) to ``end_h`` (inclusive).
    Patient ``i`` receives ``csf_scale[i] × csf_delivery`` (mcg/h) into the spinal fluid,
    plus the oral dose (mg/day, times that patient's bioavailability) and any direct
    systemic input. ``progress`` is called with the fraction done now and then.
    """
    if end_h < start_h:
        raise ValueError("end_h before start_h")
    if every_h <= 0:
        raise ValueError("every_h must be positive")
    valid = {f.name for f in fields(Readouts)}
    for name in (*summarise, *record):
        if name not in valid:
            raise ValueError(f"unknown readout {name!r}")
    if params.n > CHUNK:
        scale_all = np.broadcast_to(np.asarray(csf_scale, dtype=float), (params.n,))
        x0_all = None if x0 is None else np.broadcast_to(np.asarray(x0, dtype=float),
                                                         (params.n, N_STATES))
        parts: list[ManyResult] = []
        starts = range(0, params.n, CHUNK)
        for k, lo in enumerate(starts):
            idx = np.arange(lo, min(lo + CHUNK, params.n))
            sub_progress = None if progress is None else (
                lambda f, k=k: progress((k + f) / len(starts)))
            parts.append(simulate_many(
                params.take(idx), csf_delivery, end_h=end_h, start_h=start_h, every_h=every_h,
                csf_scale=scale_all[idx], oral_mg_per_day=oral_mg_per_day,
                systemic_mcg_per_h=systemic_mcg_per_h,
                x0=None if x0_all is None else x0_all[idx], summarise=summarise,
                record=record, progress=sub_progress))
        return _concatenate(parts)
    cohort = Cohort(params, x0, start_h)
    n = params.n
    scale = np.broadcast_to(np.asarray(csf_scale, dtype=float), (n,))
    n_samples = int(np.floor((end_h - start_h) / every_h + 1e-9)) + 1
    samples: FloatArray = start_h + every_h * np.arange(n_samples, dtype=np.float64)
    edges = [csf_delivery.edges]
    for sched in (oral_mg_per_day, systemic_mcg_per_h):
        if sched is not None:
            edges.append(sched.edges)
    all_edges = np.concatenate(edges)
    cuts = np.unique(np.concatenate([samples, all_edges[(all_edges > start_h)
                                                        & (all_edges < end_h)]]))
    is_sample = np.isin(cuts, samples)
    csf_rate = csf_delivery.value_at(cuts)
    oral = oral_mg_per_day.value_at(cuts) if oral_mg_per_day is not None else np.zeros_like(cuts)
    direct = (systemic_mcg_per_h.value_at(cuts) if systemic_mcg_per_h is not None
              else np.zeros_like(cuts))
    sums = {name: np.zeros(n) for name in summarise}
    mins = {name: np.full(n, np.inf) for name in summarise}
    maxs = {name: np.full(n, -np.inf) for name in summarise}
    series = {name: np.empty((n, n_samples)) for name in record}
    h_wd = np.zeros(n)
    h_sev = np.zeros(n)
    h_od = np.zeros(n)
    bio = params.oral_bioavailability
    forcing: FloatArray | None = None
    last_input: tuple[float, float, float] | None = None
    j = 0
    for i, t in enumerate(cuts):
        if i > 0:
            cohort.advance(float(t - cuts[i - 1]), forcing=forcing)
        if is_sample[i]:
            r = cohort.readouts()
            for name in summarise:
                value = getattr(r, name)
                sums[name] += value
                np.minimum(mins[name], value, out=mins[name])
                np.maximum(maxs[name], value, out=maxs[name])
            for name in record:
                series[name][:, j] = getattr(r, name)
            h_wd += (r.withdrawal_score >= EARLY_WITHDRAWAL_SCORE) * every_h
            h_sev += (r.withdrawal_score >= SEVERE_WITHDRAWAL_SCORE) * every_h
            h_od += (r.overdose_score >= OVERDOSE_SIGN_SCORE) * every_h
            j += 1
            if progress is not None and j % 256 == 0:
                progress(j / n_samples)
        current = (float(csf_rate[i]), float(oral[i]), float(direct[i]))
        if current != last_input:
            systemic = bio * current[1] / 24.0 + current[2] / 1000.0
            forcing = cohort.forcing(scale * current[0], systemic)
            last_input = current
    if progress is not None:
        progress(1.0)
    stats = {name: Stats(mins[name], maxs[name], sums[name] / n_samples) for name in summarise}
    return ManyResult(n_samples=n_samples, every_h=every_h, stats=stats,
                      hours_in_withdrawal=h_wd, hours_in_severe_withdrawal=h_sev,
                      hours_with_overdose_signs=h_od, final_states=cohort.states(),
                      t_h=samples if record else np.zeros(0), series=series)


def _concatenate(parts: list[ManyResult]) -> ManyResult:
    first = parts[0]
    cat = np.concatenate
    return ManyResult(
        n_samples=first.n_samples, every_h=first.every_h,
        stats={name: Stats(cat([p.stats[name].min for p in parts]),
                           cat([p.stats[name].max for p in parts]),
                           cat([p.stats[name].mean for p in parts])) for name in first.stats},
        hours_in_withdrawal=cat([p.hours_in_withdrawal for p in parts]),
        hours_in_severe_withdrawal=cat([p.hours_in_severe_withdrawal for p in parts]),
        hours_with_overdose_signs=cat([p.hours_with_overdose_signs for p in parts]),
        final_states=cat([p.final_states for p in parts]),
        t_h=first.t_h,
        series={name: cat([p.series[name] for p in parts]) for name in first.series},
    )
