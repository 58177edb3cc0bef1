"""Many virtual patients at once: exact modal propagation on arrays (patients × states).

All patients share the input edges (a dosing policy); the spinal-fluid delivery may be scaled
per patient (``csf_scale``, e.g. each patient's own dose) or stepped by the caller with
per-patient rates (:class:`Cohort`). Propagation is the closed-form modal solution of
``thecal.sim.modal`` — elementwise, exact to rounding.

Without recorded series (``record=()``; the population runs) :func:`simulate_many` runs the
compiled cohort kernel of :mod:`thecal.sim.kernel` (``engine="auto"`` or ``"kernel"``): the
summaries only, several times faster. The numpy engine below records series too
(``engine="numpy"``, or any ``record``):

:func:`simulate_many` works on blocks of patients and, within a block, on chunks of samples:
every array is (samples in the chunk) × (patients in the block), so numpy runs long loops and
the working set stays in cache. The samples of one input segment are evaluated in closed form
all at once (no loop over samples), directly as the few linear readouts of the state that the
requested summaries need; the nonlinear readouts follow on the whole chunk. Memory is bounded
by patients × chunk, not by samples: readouts are folded into running summaries (min, max,
mean; hours in withdrawal or overdose) and full sample series are kept only for the readouts
named in ``record``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields

import numpy as np

from thecal.errors import InputError
from thecal.physiology.model import (
    ADAPT,
    CSF,
    DEPRIV,
    EARLY_WITHDRAWAL_SCORE,
    FAST,
    N_STATES,
    READAPT,
    SEVERE_WITHDRAWAL_SCORE,
    SLOW,
    SYSTEMIC,
    TIP,
    TRANSIT,
    Readouts,
    drive_weights,
    readouts,
    withdrawal_weights,
)
from thecal.physiology.parameters import FloatArray, ParameterArrays
from thecal.schedule import Schedule
from thecal.sim.modal import Modal, decay, decompose

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
        _check_conditioned(modal.well_conditioned)
        self.params = params
        self.n = params.n
        self.t_h = float(start_h)
        self._lam = modal.lam
        self._v = modal.v
        self._w = modal.w  # (n, 6, 2)
        x = np.zeros((self.n, N_STATES)) if x0 is None else np.broadcast_to(
            np.asarray(x0, dtype=float), (self.n, N_STATES))
        self._z = np.einsum("nij,nj->ni", modal.v_inv, x)
        self._cache: dict[float, tuple[FloatArray, FloatArray]] = {}
        self._cache_limit = max(4, _CACHE_BYTES // max(1, 2 * self._lam.nbytes))

    def _decay(self, h: float) -> tuple[FloatArray, FloatArray]:
        hit = self._cache.get(h)  # keyed by the exact step: no rounding of h
        if hit is None:
            if len(self._cache) >= self._cache_limit:
                self._cache.pop(next(iter(self._cache)))
            hit = decay(self._lam, h)
            self._cache[h] = hit
        return hit

    def forcing(self, csf_mcg_per_h: float | FloatArray,
                systemic_mg_per_h: float | FloatArray = 0.0) -> FloatArray:
        """Modal forcing ``V⁻¹ B u`` for these inputs, shape ``(n, 8)``."""
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
        """States now, shape ``(n, 8)``."""
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


#: Patients simulated together in one block (the columns of every work array).
BLOCK_PATIENTS = 1024
#: Elements (samples × patients) per work array: 2¹⁴ float64 = 128 KiB, so a chunk's two dozen
#: arrays stay in the CPU caches. A block walks through time a chunk of samples at a time.
CHUNK_ELEMENTS = 2**14
#: Kept for compatibility: the patient block size of the earlier implementation.
CHUNK = BLOCK_PATIENTS
#: :func:`simulate_many` starts no more than one thread per this many patients (threads do
#: not pay for small populations).
MIN_PATIENTS_PER_WORKER = 8

# Linear readouts of the state the nonlinear readouts are built from.
_CSF, _SYSTEMIC, _DRIVE, _ADAPT, _DEPRIV = "csf", "systemic", "drive", "adapt", "withdrawal"
#: Which linear readouts each readout needs.
_NEEDS: dict[str, tuple[str, ...]] = {
    "csf_conc_ng_per_ml": (_CSF,),
    "drive_ng_per_ml": (_DRIVE,),
    "ec50_adapted_ng_per_ml": (_ADAPT,),
    "effect": (_DRIVE, _ADAPT),
    "mas": (_DRIVE, _ADAPT, _DEPRIV),
    "penn_frequency": (_DRIVE, _ADAPT, _DEPRIV),
    "side_effect_score": (_DRIVE, _ADAPT),
    "withdrawal_score": (_DRIVE, _ADAPT, _DEPRIV),
    "overdose_score": (_DRIVE, _ADAPT, _SYSTEMIC),
    "sedation_score": (_SYSTEMIC,),
}


def _linear_rows(params: ParameterArrays, v: FloatArray, names: Sequence[str]) -> FloatArray:
    """``L V`` for the named linear readouts ``L x``: shape ``(len(names), n, 8)``.

    Summed over the states each readout weighs (one for the concentration, the systemic
    amount and the adaptation; a few for the drive and the withdrawal index), state by state
    in order: elementwise per patient, so a patient's rows do not depend on the others.
    """
    n = params.n
    out = np.zeros((len(names), n, N_STATES))
    for i, name in enumerate(names):
        if name == _DRIVE:
            weights = drive_weights(params)
        elif name == _DEPRIV:
            weights = withdrawal_weights(params)
        else:
            weights = np.zeros((n, N_STATES))
            weights[:, {_CSF: CSF, _SYSTEMIC: SYSTEMIC, _ADAPT: ADAPT}[name]] = 1.0
        for state in np.flatnonzero(np.any(weights != 0.0, axis=0)):
            out[i] += weights[:, state, None] * v[:, state, :]
    return out


class _Timeline:
    """The shared inputs as segments: segment ``k`` starts at ``start`` (k = 0) or
    ``edges[k−1]``; ``csf``, ``oral`` and ``direct`` hold on it."""

    def __init__(self, schedules: tuple[Schedule, Schedule | None, Schedule | None],
                 start_h: float, final_h: float) -> None:
        present = [s for s in schedules if s is not None]
        all_edges = np.concatenate([s.edges for s in present])
        self.edges = np.unique(all_edges[(all_edges > start_h) & (all_edges <= final_h)])
        starts = np.concatenate(([start_h], self.edges))
        csf, oral, direct = schedules
        zero = np.zeros_like(starts)
        self.csf = csf.value_at(starts)
        self.oral = oral.value_at(starts) if oral is not None else zero
        self.direct = direct.value_at(starts) if direct is not None else zero


#: Mode order inside a block, chosen so that each linear readout uses a leading run of modes
#: (systemic alone; csf after it; drive: the first six, the tip excess among them; adaptation;
#: the withdrawal index).
_ORDER = (SYSTEMIC, CSF, TIP, TRANSIT, FAST, SLOW, ADAPT, DEPRIV, READAPT)


class _Block:
    """One block of patients walking through the samples a chunk at a time.

    The modal state ``z`` (states × patients) is advanced exactly from edge to edge. The samples of
    one input segment inside a chunk are evaluated all at once in closed form,
    ``z(t_a + iΔ) = z(t_a) + (e^{λiΔ} − 1)·(z(t_a) − zss)`` with ``zss = −w/λ`` the segment's
    modal steady state and ``e^{λiΔ} − 1`` (``expm1``: no cancellation for slow modes) a table
    made once per block — folded straight into the few linear readouts ``y = L V z`` that the
    requested readouts need:

        y(t_a + iΔ) = Σ_j c_j z_j(t_a) + Σ_j (e^{λ_j iΔ} − 1) · c_j (z_j(t_a) − zss_j),

    one ``einsum`` per readout and piece (a single pass, no temporaries), skipping the modes a
    readout does not depend on (the structural zeros of ``V``).
    """

    def __init__(self, params: ParameterArrays, lam: FloatArray, v: FloatArray,
                 w: FloatArray, z0: FloatArray, scale: FloatArray, linear: tuple[str, ...],
                 every_h: float, rows: int) -> None:
        nb = params.n
        order = list(_ORDER)
        self.lam = np.ascontiguousarray(lam[:, order].T)  # (states, nb), block mode order
        self.v = v[:, :, order]
        self.w_csf = np.ascontiguousarray(w[:, order, 0].T)  # (states, nb)
        self.w_sys = np.ascontiguousarray(w[:, order, 1].T)
        self.scale = scale
        self.z = np.ascontiguousarray(z0[:, order].T)  # (states, nb)
        coef = _linear_rows(params, self.v, linear)  # (R, nb, 8)
        self.coef = np.ascontiguousarray(coef.transpose(0, 2, 1))  # (R, 6, nb)
        # terms of readout r: the constant and the modes up to the last one it uses
        self.terms = [2 + int(np.flatnonzero(np.any(coef[r] != 0.0, axis=0)).max(initial=0))
                      for r in range(len(linear))]
        # [1, e^{λ·iΔ} − 1 for each mode] for every row of a chunk
        steps = every_h * np.arange(rows, dtype=np.float64)
        self.q = np.empty((1 + N_STATES, rows, nb))
        self.q[0] = 1.0
        np.expm1(self.lam[:, None, :] * steps[None, :, None], out=self.q[1:])
        self.q[np.abs(self.q) < 1e-300] = 0.0  # no subnormals (slow arithmetic)
        self.g = np.empty((len(linear), 1 + N_STATES, nb))  # per piece: [Σ c z, c (z − zss)]
        self.y = np.empty((len(linear), rows, nb))
        self.t_h = 0.0
        self.k = 0  # input segment in force at t_h
        self._decay: dict[float, tuple[FloatArray, FloatArray]] = {}
        self.w = np.zeros((N_STATES, nb))
        self.zss = np.zeros((N_STATES, nb))

    def set_input(self, csf_mcg_per_h: float, systemic_mg_per_h: FloatArray) -> None:
        """Constant input from now on: modal forcing ``w`` and steady state ``−w/λ``."""
        np.multiply(self.w_csf, self.scale * csf_mcg_per_h, out=self.w)
        self.w += self.w_sys * systemic_mg_per_h
        np.divide(self.w, self.lam, out=self.zss)
        np.negative(self.zss, out=self.zss)

    def step(self, h: float) -> None:
        """Advance ``h`` hours under the current input (exact)."""
        if h <= 0.0:
            return
        hit = self._decay.get(h)
        if hit is None:
            if len(self._decay) >= 64:
                self._decay.pop(next(iter(self._decay)))
            hit = decay(self.lam, h)
            self._decay[h] = hit
        e, f = hit
        self.z *= e
        self.z += f * self.w

    def fill(self, first: int, count: int) -> None:
        """Linear readouts of ``count`` samples ``every_h`` apart, the first now, into rows
        ``first:first+count`` of the chunk."""
        g = self.g
        np.einsum("rjn,jn->rn", self.coef, self.z, out=g[:, 0])
        np.multiply(self.coef, self.z - self.zss, out=g[:, 1:])
        q = self.q[:, :count]
        for r, terms in enumerate(self.terms):
            np.einsum("jin,jn->in", q[:terms], g[r, :terms],
                      out=self.y[r, first:first + count])

    def linear(self, count: int) -> list[FloatArray]:
        """The linear readouts of the first ``count`` rows of the chunk."""
        return [self.y[r, :count] for r in range(len(self.terms))]

    def states(self) -> FloatArray:
        """States now, shape ``(nb, 8)``."""
        return np.asarray(np.einsum("nij,jn->ni", self.v, self.z), dtype=np.float64)


class _Readouts:
    """The nonlinear readouts of ``thecal.physiology.model.readouts`` for one block, computed
    on (samples × patients) chunks into reused buffers, only those asked for.

    The formulas are those of ``readouts`` rearranged for speed where only rounding differs
    (≲ 1e-15 relative): with ``z`` = drive / adapted EC50, the effect ``Emax·zʰ/(1+zʰ)`` as
    ``Emax/(1 + exp(−h·log z))``; Hill curves of integer order by multiplication, e.g.
    ``q⁴/(1+q⁴)`` with ``q = z/r`` as ``z⁴/(z⁴ + r⁴)``.
    """

    def __init__(self, params: ParameterArrays, wanted: set[str], rows: int) -> None:
        p = params
        self.wanted = wanted
        self.ec50 = p.ec50_ng_per_ml
        self.tol_max = p.tolerance_max
        self.ec50_tol = p.ec50_ng_per_ml * (1.0 + p.tolerance_max)
        self.ec50_sq = p.ec50_ng_per_ml ** 2
        self.neg_hill = -p.hill
        self.emax = p.emax
        self.wd2 = (p.ec50_ng_per_ml * p.withdrawal_half_ratio) ** 2  # WITHDRAWAL_HILL = 2
        self.base_mas = p.baseline_mas
        self.rest_mas = 4.0 - p.baseline_mas
        self.base_penn = p.baseline_penn
        self.rest_penn = 4.0 - p.baseline_penn
        self.side4 = p.side_effect_ratio ** 4
        self.over4 = p.overdose_ratio ** 4
        self.sed2 = p.systemic_sedation_mg ** 2
        self.sys4 = (4.0 * p.systemic_sedation_mg) ** 4
        self._pool = [np.empty((rows, p.n)) for _ in range(5)]
        self._flags = np.empty((rows, p.n), dtype=np.bool_)

    def compute(self, y: dict[str, FloatArray], count: int,
                emit: Callable[[str, FloatArray], None]) -> None:
        """Readouts of the first ``count`` rows of the linear readouts ``y`` (overwritten);
        ``emit(name, values)`` for each one wanted (values are valid during the call only)."""
        want = self.wanted
        b = [buf[:count] for buf in self._pool]
        if "csf_conc_ng_per_ml" in want:
            emit("csf_conc_ng_per_ml", y[_CSF])
        # withdrawal only while the drive is below the adaptation (raw values, before clipping)
        below = np.greater(y[_ADAPT], y[_DRIVE], out=self._flags[:count])
        drive = np.maximum(y[_DRIVE], 0.0, out=y[_DRIVE])
        if "drive_ng_per_ml" in want:
            emit("drive_ng_per_ml", drive)
        adapt = np.maximum(y[_ADAPT], 0.0, out=y[_ADAPT])
        if "ec50_adapted_ng_per_ml" in want:
            # ec50 · (1 + m·T / (T + ec50))
            ec50a = np.multiply(adapt, self.tol_max, out=b[0])
            ec50a /= np.add(adapt, self.ec50, out=b[1])
            ec50a += 1.0
            ec50a *= self.ec50
            emit("ec50_adapted_ng_per_ml", ec50a)
            z = np.divide(drive, ec50a, out=b[0])
        else:  # the same: drive·(T + ec50) / (ec50·(1 + m)·T + ec50²)
            z = np.multiply(drive, np.add(adapt, self.ec50, out=b[0]), out=b[0])
            den = np.multiply(adapt, self.ec50_tol, out=b[1])
            den += self.ec50_sq
            z /= den
        effect = None
        if {"effect", "mas", "penn_frequency"} & want:
            with np.errstate(divide="ignore", over="ignore"):
                xh = np.log(z, out=b[1])
                xh *= self.neg_hill
                np.exp(xh, out=xh)
            xh += 1.0
            effect = np.divide(self.emax, xh, out=b[1])
            if "effect" in want:
                emit("effect", effect)
        # withdrawal: Hill(max(W, 0)/ec50; ratio, 2) = W² / (W² + (ec50·ratio)²)
        d = np.maximum(y[_DEPRIV], 0.0, out=y[_DEPRIV])
        d *= below
        d2 = np.multiply(d, d, out=b[2])
        withdrawal = np.divide(d2, np.add(d2, self.wd2, out=b[3]), out=b[2])
        emit("withdrawal_score", withdrawal)
        if effect is not None:
            rest = np.subtract(1.0, effect, out=b[1])
            for name, base, top in (("mas", self.base_mas, self.rest_mas),
                                    ("penn_frequency", self.base_penn, self.rest_penn)):
                if name in want:
                    # clip to 0–4 as ``readouts`` does; both terms are ≥ 0, so only the top
                    out = np.multiply(rest, base, out=b[3])
                    out += np.multiply(withdrawal, top, out=b[4])
                    np.minimum(out, 4.0, out=out)
                    emit(name, out)
        z4 = np.multiply(z, z, out=b[0])
        z4 *= z4
        if "side_effect_score" in want:
            side = np.divide(z4, np.add(z4, self.side4, out=b[1]), out=b[1])
            emit("side_effect_score", side)
        p = np.maximum(y[_SYSTEMIC], 0.0, out=y[_SYSTEMIC])
        p2 = np.multiply(p, p, out=b[1])
        if "sedation_score" in want:
            emit("sedation_score", np.divide(p2, np.add(p2, self.sed2, out=b[3]), out=b[3]))
        p4 = np.multiply(p2, p2, out=b[1])
        # 1 − (1 − spinal)(1 − systemic)
        spinal = np.divide(z4, np.add(z4, self.over4, out=b[3]), out=b[3])
        systemic = np.divide(p4, np.add(p4, self.sys4, out=b[4]), out=b[4])
        np.subtract(1.0, spinal, out=spinal)
        np.subtract(1.0, systemic, out=systemic)
        spinal *= systemic
        emit("overdose_score", np.subtract(1.0, spinal, out=spinal))


def simulate_many(params: ParameterArrays, csf_delivery: Schedule, *, end_h: float,
                  start_h: float = 0.0, every_h: float = 1.0,
                  csf_scale: FloatArray | float = 1.0,
                  oral_mg_per_day: Schedule | None = None,
                  systemic_mcg_per_h: Schedule | None = None,
                  x0: FloatArray | None = None,
                  summarise: Sequence[str] = SUMMARY_READOUTS,
                  record: Sequence[str] = (),
                  progress: Callable[[float], None] | None = None,
                  workers: int = 1, means: Sequence[str] | None = None,
                  engine: str = "auto") -> ManyResult:
    """Simulate ``params.n`` patients from ``start_h`` to ``end_h`` under shared inputs.

    Samples every ``every_h`` hours from ``start_h`` (inclusive) to ``end_h`` (inclusive).
    Patient ``i`` receives ``csf_scale[i] × csf_delivery`` (mcg/h) into the spinal fluid,
    plus the oral dose (mg/day, times that patient's bioavailability) and any direct
    systemic input. ``progress`` is called with the fraction done now and then.

    Only the readouts named in ``summarise`` and ``record`` (and the withdrawal and overdose
    scores, for the hour counts) are computed. ``means`` names the summarised readouts whose
    mean is wanted (default: all of them; the others' ``Stats.mean`` is nan): a mean needs the
    nonlinear readout at every sample, minima, maxima and hours do not. ``engine``: ``"auto"``
    (the compiled kernel without ``record``, else numpy), ``"kernel"`` or ``"numpy"``.
    ``workers`` threads share the blocks of patients (numpy and the kernel release the GIL
    inside their loops): on a machine of your own, pass
    ``os.cpu_count()``; on a shared one the default single thread is the better neighbour.
    The results do not depend on it, bit for bit. Memory is bounded by patients × a chunk of
    samples, plus any ``record``ed series.
    """
    if end_h < start_h:
        raise ValueError("end_h before start_h")
    if every_h <= 0:
        raise ValueError("every_h must be positive")
    valid = {f.name for f in fields(Readouts)}
    for name in (*summarise, *record):
        if name not in valid:
            raise ValueError(f"unknown readout {name!r}")
    n = params.n
    modal = decompose(params)
    _check_conditioned(modal.well_conditioned)
    n_samples = int(np.floor((end_h - start_h) / every_h + 1e-9)) + 1
    samples: FloatArray = start_h + every_h * np.arange(n_samples, dtype=np.float64)
    # the final state is at the last sample, or at the last input edge before end_h
    schedules = (csf_delivery, oral_mg_per_day, systemic_mcg_per_h)
    late = np.concatenate([s.edges for s in schedules if s is not None])
    late = late[(late > start_h) & (late < end_h)]
    final_h = max(float(samples[-1]), float(late.max()) if late.size else -np.inf)
    summarise = tuple(dict.fromkeys(summarise))
    record = tuple(dict.fromkeys(record))
    if engine not in ("auto", "kernel", "numpy"):
        raise ValueError("engine must be auto, kernel or numpy")
    if engine == "kernel" and record:
        raise ValueError("the kernel keeps summaries only: record needs engine='numpy'")
    if engine != "numpy" and not record:
        return _simulate_kernel(params, modal, schedules, start_h, final_h, samples, every_h,
                                csf_scale, x0, summarise,
                                summarise if means is None else tuple(means), progress, workers)
    run = _Run(params, modal, _Timeline(schedules, start_h, final_h), samples, every_h,
               final_h, summarise, record)
    scale = np.broadcast_to(np.asarray(csf_scale, dtype=float), (n,))
    x_start = np.zeros((n, N_STATES)) if x0 is None else np.broadcast_to(
        np.asarray(x0, dtype=float), (n, N_STATES))
    z0 = np.einsum("nij,nj->ni", modal.v_inv, x_start)

    workers = max(1, min(int(workers), n // MIN_PATIENTS_PER_WORKER))
    size = min(BLOCK_PATIENTS, -(-n // workers)) if n else 1
    blocks = [slice(lo, min(lo + size, n)) for lo in range(0, n, size)]
    done = np.zeros(len(blocks))
    lock = threading.Lock()
    reported = [0.0]

    def report(block: int, fraction: float) -> None:
        if progress is None:
            return
        with lock:
            done[block] = fraction
            total = float(done.sum()) / len(blocks)
            if total - reported[0] >= 0.005 or total >= 1.0:
                reported[0] = total
                progress(min(total, 1.0))

    def one(b: int) -> None:
        run.block(blocks[b], scale[blocks[b]], z0[blocks[b]], lambda f: report(b, f))

    if workers > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, range(len(blocks))))
    else:
        for b in range(len(blocks)):
            one(b)
    if progress is not None and not blocks:
        progress(1.0)
    stats = {name: Stats(run.mins[name], run.maxs[name], run.sums[name] / n_samples)
             for name in summarise}
    hours = run.counts * every_h
    return ManyResult(n_samples=n_samples, every_h=every_h, stats=stats,
                      hours_in_withdrawal=hours[0], hours_in_severe_withdrawal=hours[1],
                      hours_with_overdose_signs=hours[2], final_states=run.final,
                      t_h=samples if record else np.zeros(0), series=run.series)


class _Run:
    """What all blocks of one :func:`simulate_many` call share, and their outputs (each block
    writes only its own patients' slice)."""

    def __init__(self, params: ParameterArrays, modal: Modal, timeline: _Timeline,
                 samples: FloatArray, every_h: float, final_h: float,
                 summarise: tuple[str, ...], record: tuple[str, ...]) -> None:
        n = params.n
        self.params = params
        self.modal = modal
        self.timeline = timeline
        self.samples = samples
        self.every_h = every_h
        self.final_h = final_h
        # input segment in force at each sample: the number of edges at or before it
        self.seg_of = np.searchsorted(timeline.edges, samples, side="right")
        self.wanted = set(summarise) | set(record) | {"withdrawal_score", "overdose_score"}
        self.linear = tuple(name for name in (_CSF, _SYSTEMIC, _DRIVE, _ADAPT, _DEPRIV)
                            if any(name in _NEEDS[r] for r in self.wanted))
        n_samples = samples.size
        self.sums = {name: np.zeros(n) for name in summarise}
        self.mins = {name: np.full(n, np.inf) for name in summarise}
        self.maxs = {name: np.full(n, -np.inf) for name in summarise}
        self.series = {name: np.empty((n, n_samples)) for name in record}
        self.counts = np.zeros((3, n), dtype=np.int64)  # withdrawal, severe, overdose signs
        self.final = np.empty((n, N_STATES))

    def block(self, sl: slice, scale: FloatArray, z0: FloatArray,
              report: Callable[[float], None]) -> None:
        """Simulate patients ``sl`` from the start to the end."""
        nb = sl.stop - sl.start
        n_samples = self.samples.size
        rows = max(1, min(n_samples, CHUNK_ELEMENTS // nb))
        sub = self.params.take(np.arange(sl.start, sl.stop))
        m = self.modal
        block = _Block(sub, m.lam[sl], m.v[sl], m.w[sl], z0, scale, self.linear,
                       self.every_h, rows)
        ro = _Readouts(sub, self.wanted, rows)
        flags = np.empty((rows, nb), dtype=np.bool_)
        tl = self.timeline
        bio = sub.oral_bioavailability
        samples, seg_of = self.samples, self.seg_of
        sums, mins, maxs, series = self.sums, self.mins, self.maxs, self.series
        counts = self.counts[:, sl]

        def set_segment(k: int) -> None:
            block.set_input(float(tl.csf[k]),
                            bio * float(tl.oral[k]) / 24.0 + float(tl.direct[k]) / 1000.0)

        def advance_to(t: float) -> None:
            edges = tl.edges
            while block.k < edges.size and edges[block.k] <= t:
                block.step(float(edges[block.k]) - block.t_h)
                block.t_h = float(edges[block.k])
                block.k += 1
                set_segment(block.k)
            block.step(t - block.t_h)
            block.t_h = t

        def count(row: int, values: FloatArray, threshold: float) -> None:
            f = np.greater_equal(values, threshold, out=flags[: values.shape[0]])
            counts[row] += np.add.reduce(f.view(np.uint8), axis=0, dtype=np.int64)

        block.t_h = float(samples[0])
        set_segment(0)
        for s0 in range(0, n_samples, rows):
            s1 = min(s0 + rows, n_samples)
            a = s0
            while a < s1:  # pieces of the chunk, each within one input segment
                b = min(int(np.searchsorted(seg_of, seg_of[a], side="right")), s1)
                advance_to(float(samples[a]))
                block.fill(a - s0, b - a)
                a = b

            def emit(name: str, values: FloatArray, s0: int = s0, s1: int = s1) -> None:
                if name in sums:
                    sums[name][sl] += values.sum(axis=0)
                    np.minimum(mins[name][sl], values.min(axis=0), out=mins[name][sl])
                    np.maximum(maxs[name][sl], values.max(axis=0), out=maxs[name][sl])
                if name in series:
                    series[name][sl, s0:s1] = values.T
                if name == "withdrawal_score":
                    count(0, values, EARLY_WITHDRAWAL_SCORE)
                    count(1, values, SEVERE_WITHDRAWAL_SCORE)
                elif name == "overdose_score":
                    count(2, values, OVERDOSE_SIGN_SCORE)

            ro.compute(dict(zip(self.linear, block.linear(s1 - s0), strict=True)), s1 - s0,
                       emit)
            report(s1 / n_samples)
        advance_to(self.final_h)
        self.final[sl] = block.states()
        report(1.0)


def _check_conditioned(ok: np.ndarray) -> None:
    if not np.all(ok):
        bad = int(np.sum(~ok))
        raise InputError(f"{bad} patient(s) have two rates that nearly coincide",
                         fix="sample with thecal.physiology.sample (it keeps rates apart) "
                             "or use thecal.sim.engine.simulate for such a patient")


def _readout_parameters(params: ParameterArrays) -> FloatArray:
    """Per-patient constants of the kernel's readouts (``thecal.sim.kernel`` ``P_*`` rows),
    shape ``(N_PARAMS, n)``."""
    from thecal.sim import kernel as kn

    p = params
    pr = np.empty((kn.N_PARAMS, p.n))
    pr[kn.P_EC50] = p.ec50_ng_per_ml
    pr[kn.P_TOL] = p.tolerance_max
    pr[kn.P_EC50_TOL] = p.ec50_ng_per_ml * (1.0 + p.tolerance_max)
    pr[kn.P_EC50_SQ] = p.ec50_ng_per_ml ** 2
    pr[kn.P_HILL] = p.hill
    pr[kn.P_EMAX] = p.emax
    pr[kn.P_BASE_MAS] = p.baseline_mas
    pr[kn.P_REST_MAS] = 4.0 - p.baseline_mas
    pr[kn.P_BASE_PENN] = p.baseline_penn
    pr[kn.P_REST_PENN] = 4.0 - p.baseline_penn
    wd2 = (p.ec50_ng_per_ml * p.withdrawal_half_ratio) ** 2
    pr[kn.P_WD2] = wd2
    pr[kn.P_SIDE4] = p.side_effect_ratio ** 4
    pr[kn.P_OVER4] = p.overdose_ratio ** 4
    pr[kn.P_SED2] = p.systemic_sedation_mg ** 2
    pr[kn.P_SYS4] = (4.0 * p.systemic_sedation_mg) ** 4
    # score ≥ θ  ⇔  W ≥ √(θ·c/(1 − θ)) with c = (EC50·ratio)²;  Hill4(z/r) ≥ θ ⇔ z ≥ r·(θ/(1−θ))^¼
    pr[kn.P_W_EARLY] = np.sqrt(EARLY_WITHDRAWAL_SCORE * wd2 / (1.0 - EARLY_WITHDRAWAL_SCORE))
    pr[kn.P_W_SEVERE] = np.sqrt(SEVERE_WITHDRAWAL_SCORE * wd2 / (1.0 - SEVERE_WITHDRAWAL_SCORE))
    pr[kn.P_Z_OVERDOSE] = p.overdose_ratio * (
        OVERDOSE_SIGN_SCORE / (1.0 - OVERDOSE_SIGN_SCORE)) ** 0.25
    # below this W the withdrawal term of MAS and Penn, (4 − base)·W²/(W² + (EC50·ratio)²),
    # is under 4e-18: they follow z alone there
    pr[kn.P_W_LOUD] = 1e-9 * p.ec50_ng_per_ml * p.withdrawal_half_ratio
    return pr


@dataclass(frozen=True)
class _KernelModes:
    """The modes the kernel moves and the sparse rows of its five linear readouts."""

    modes: np.ndarray  # indices of the modes that can move
    coef: FloatArray  # (5, m, n): weight q of readout r, on mode ridx[r, q]
    ridx: np.ndarray  # (5, m) int64
    rcnt: np.ndarray  # (5,) int64


def _kernel_modes(params: ParameterArrays, modal: Modal, z0: FloatArray, csf_on: bool,
                  systemic_on: bool, want_csf: bool) -> _KernelModes:
    """Which modes move, and each linear readout over them (generic in the model's modes).

    A mode that starts at zero for every patient and is never forced stays exactly zero: it is
    left out (the blood's baclofen when there is no oral dose, no tissue input and none at the
    start). A readout's weight that is zero for every patient (a structural zero of ``V``)
    is skipped; the concentration is left out when it is not summarised.
    """
    from thecal.sim import kernel as kn

    w = modal.w  # (n, modes, 2)
    forced = (np.any(w[:, :, 0] != 0.0, axis=0) & csf_on) | (
        np.any(w[:, :, 1] != 0.0, axis=0) & systemic_on)
    modes = np.flatnonzero(forced | np.any(z0 != 0.0, axis=1))
    rows = _linear_rows(params, modal.v, (_CSF, _SYSTEMIC, _DRIVE, _ADAPT, _DEPRIV))[:, :, modes]
    m, n = modes.size, params.n
    coef = np.zeros((kn.N_LINEAR, m, n))
    ridx = np.zeros((kn.N_LINEAR, m), dtype=np.int64)
    rcnt = np.zeros(kn.N_LINEAR, dtype=np.int64)
    for r, row in enumerate(rows):  # row: (n, m)
        if r == kn.L_CSF and not want_csf:
            continue
        used = np.flatnonzero(np.any(row != 0.0, axis=0))
        rcnt[r] = used.size
        ridx[r, :used.size] = used
        coef[r, :used.size] = row[:, used].T
    return _KernelModes(modes, coef, ridx, rcnt)


def _times(mat: FloatArray, vec: FloatArray) -> FloatArray:
    """``mat[n] @ vec[n]`` for every patient, shape ``(n, k)``, summed term by term in order:
    elementwise, so a patient's bits do not depend on how many patients are in the call
    (``einsum`` picks its summation by the array sizes)."""
    out = np.zeros(mat.shape[:2])
    for j in range(mat.shape[2]):
        out += mat[:, :, j] * vec[:, j, None]
    return out


def _simulate_kernel(params: ParameterArrays, modal: Modal,
                     schedules: tuple[Schedule, Schedule | None, Schedule | None],
                     start_h: float, final_h: float, samples: FloatArray, every_h: float,
                     csf_scale: FloatArray | float, x0: FloatArray | None,
                     summarise: tuple[str, ...], means: tuple[str, ...],
                     progress: Callable[[float], None] | None, workers: int) -> ManyResult:
    """:func:`simulate_many` without recorded series, on the compiled kernel."""
    from thecal.sim import kernel as kn

    n = params.n
    tl = _Timeline(schedules, start_h, final_h)
    seg_t = np.ascontiguousarray(np.concatenate(([start_h], tl.edges)), dtype=np.float64)
    csf, oral, direct = (np.ascontiguousarray(a, dtype=np.float64)
                         for a in (tl.csf, tl.oral, tl.direct))
    x_start = np.zeros((n, N_STATES)) if x0 is None else np.broadcast_to(
        np.asarray(x0, dtype=float), (n, N_STATES))
    z_all = _times(modal.v_inv, x_start).T  # (modes, n)
    km = _kernel_modes(params, modal, z_all, bool(np.any(csf != 0.0)),
                       bool(np.any(oral != 0.0) or np.any(direct != 0.0)),
                       "csf_conc_ng_per_ml" in summarise)
    sel = km.modes
    scale = np.broadcast_to(np.asarray(csf_scale, dtype=float), (n,))
    lam = np.ascontiguousarray(modal.lam.T[sel])
    g_csf = np.ascontiguousarray(-(modal.w[:, :, 0].T[sel] * scale) / lam)
    g_sys = np.ascontiguousarray(-modal.w[:, :, 1].T[sel] / lam)
    bio = np.ascontiguousarray(params.oral_bioavailability, dtype=np.float64)
    z0 = np.ascontiguousarray(z_all[sel])
    pr = np.ascontiguousarray(_readout_parameters(params))
    want_mean = np.array([name in means for name in kn.READOUT_ORDER], dtype=np.bool_)
    wanted = set(summarise)
    need = np.array(["csf_conc_ng_per_ml" in wanted, "drive_ng_per_ml" in wanted,
                     "ec50_adapted_ng_per_ml" in wanted, "sedation_score" in wanted],
                    dtype=np.bool_)
    mins = np.empty((10, n))
    maxs = np.empty((10, n))
    sums = np.zeros((10, n))
    counts = np.zeros((3, n), dtype=np.int64)
    z_final = np.zeros((N_STATES, n))
    z_moved = np.empty((sel.size, n))
    n_samples = int(samples.size)
    size = max(1, min(BLOCK_PATIENTS, -(-n // max(1, int(workers)))))
    ranges = [(lo, min(lo + size, n)) for lo in range(0, n, size)]
    done = [0]
    lock = threading.Lock()

    def one(r: tuple[int, int]) -> None:
        a, b = r

        def c(x: np.ndarray) -> np.ndarray:  # the kernel is compiled for contiguous arrays
            return np.ascontiguousarray(x[..., a:b])

        out = (np.empty((10, b - a)), np.empty((10, b - a)), np.zeros((10, b - a)),
               np.zeros((3, b - a), dtype=np.int64), np.empty((sel.size, b - a)))
        kn.cohort_kernel(c(lam), c(g_csf), c(g_sys), c(bio), c(z0), c(km.coef), km.ridx,
                         km.rcnt, seg_t, csf, oral, direct, float(start_h), float(every_h),
                         n_samples, float(final_h), c(pr), need, want_mean,
                         float(OVERDOSE_SIGN_SCORE), *out)
        for dest, part in zip((mins, maxs, sums, counts, z_moved), out, strict=True):
            dest[..., a:b] = part
        if progress is not None:
            with lock:
                done[0] += b - a
                progress(done[0] / n)

    if workers > 1 and len(ranges) > 1:
        with ThreadPoolExecutor(max_workers=int(workers)) as pool:
            list(pool.map(one, ranges))
    else:
        for r in ranges:
            one(r)
    if progress is not None and not ranges:
        progress(1.0)
    index = {name: i for i, name in enumerate(kn.READOUT_ORDER)}
    nan = np.full(n, np.nan)
    stats = {name: Stats(mins[index[name]].copy(), maxs[index[name]].copy(),
                         sums[index[name]] / n_samples if name in means else nan)
             for name in summarise}
    hours = counts * every_h
    z_final[sel] = z_moved
    final = _times(modal.v, z_final.T)
    return ManyResult(n_samples=n_samples, every_h=every_h, stats=stats,
                      hours_in_withdrawal=hours[0], hours_in_severe_withdrawal=hours[1],
                      hours_with_overdose_signs=hours[2], final_states=final)
