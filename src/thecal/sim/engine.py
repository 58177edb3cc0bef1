"""Exact simulation of one virtual patient under piecewise-constant inputs.

Between input edges the model (``thecal.physiology.model``) is ``dx/dt = A x + B u`` with
constant ``u``. By default (``method="auto"``/``"modal"``) the engine uses the closed-form
modal solution of ``thecal.sim.modal``: one eigen-decomposition per patient (remembered, see
:func:`decomposition`), the states at all segment ends from one compiled solve of the
first-order recurrence ``z_{k+1} = e^{λh_k} z_k + f_k w_k`` (:func:`thecal.sim.modal.recurrence`),
then every sample at once, ``τ`` hours into segment ``k``:
``z = z_k + (e^{λτ} − 1)(z_k − zss_k)``, ``x = V z``.

Where two rates nearly coincide (or with ``method="expm"``) it uses the matrix exponential of
the augmented system

    M = [[A, B], [0, 0]],   expm(M·h) = [[Φ(h), Γ(h)], [0, I]],   x(t+h) = Φ x + Γ u,

segment by segment (one ``expm`` per distinct segment length, computed in one batched call),
then every sample from the start of its segment, ``expm(M·r)·expm(M·H)^q·[x_k; u_k]`` with
``τ = q·H + r``, where the powers of ``expm(M·H)`` come from a small table. Nothing is
integrated numerically; the only error is floating point. :func:`reference_simulate`
integrates the same model with ``scipy.integrate.solve_ivp`` at tight tolerances, to prove
the agreement.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm

from thecal.physiology.model import N_INPUTS, N_STATES, STATE_NAMES, system_matrices
from thecal.physiology.parameters import FloatArray, Parameters
from thecal.schedule import Schedule
from thecal.sim.modal import Modal, decay, decompose, recurrence

#: Interval lengths are keyed to this resolution (hours, ≈ 4 µs) when caching exponentials.
KEY_RESOLUTION_H = 1e-9
_BLOCK = 64


@dataclass(frozen=True)
class Inputs:
    """The patient's inputs as one piecewise-constant signal.

    ``values[k] = (csf_delivery_mcg_per_h, systemic_mg_per_h)`` on ``[edges[k], edges[k+1])``,
    zero before ``edges[0]`` and from ``edges[-1]`` on.
    """

    edges: FloatArray  # (K+1,)
    values: FloatArray  # (K, 2)

    @classmethod
    def build(cls, params: Parameters, csf_delivery: Schedule,
              oral_mg_per_day: Schedule | None = None,
              systemic_mcg_per_h: Schedule | None = None) -> Inputs:
        """Merge the spinal-fluid delivery, oral doses and direct systemic input."""
        schedules = [s for s in (csf_delivery, oral_mg_per_day, systemic_mcg_per_h)
                     if s is not None and s.values.size]
        if not schedules:
            return cls(np.zeros(1), np.zeros((0, N_INPUTS)))
        edges = np.unique(np.concatenate([s.edges for s in schedules]))
        starts = edges[:-1]
        csf = csf_delivery.value_at(starts) if csf_delivery.values.size else np.zeros_like(starts)
        sys_mg_h = np.zeros_like(starts)
        if oral_mg_per_day is not None and oral_mg_per_day.values.size:
            sys_mg_h += params.oral_bioavailability * oral_mg_per_day.value_at(starts) / 24.0
        if systemic_mcg_per_h is not None and systemic_mcg_per_h.values.size:
            sys_mg_h += systemic_mcg_per_h.value_at(starts) / 1000.0
        return cls(edges, np.stack([csf, sys_mg_h], axis=1))

    def value_at(self, t_h: FloatArray) -> FloatArray:
        """Input holding at each time, shape ``(len(t_h), 2)``."""
        t = np.atleast_1d(np.asarray(t_h, dtype=float))
        idx = np.searchsorted(self.edges, t, side="right") - 1
        inside = (idx >= 0) & (idx < self.values.shape[0])
        out = np.zeros((t.size, N_INPUTS))
        out[inside] = self.values[idx[inside]]
        return out


@functools.lru_cache(maxsize=256)
def decomposition(params: Parameters) -> Modal:
    """The modal decomposition of one patient, remembered for the last few hundred patients
    (``Parameters`` is frozen, so equal parameters share it): simulating the same patient
    again skips the setup. The arrays are shared, hence read-only."""
    modal = decompose(params)
    for arr in (modal.lam, modal.v, modal.v_inv, modal.w, modal.condition):
        arr.flags.writeable = False
    return modal


@dataclass(frozen=True)
class StateTrace:
    """States of one patient at sample times: ``states[i]`` at ``t_h[i]``."""

    t_h: FloatArray  # (S,)
    states: FloatArray  # (S, 8)

    def state(self, name: str) -> FloatArray:
        return np.asarray(self.states[:, STATE_NAMES.index(name)], dtype=float)


class Propagator:
    """Exact propagation for one patient.

    Uses the closed-form modal solution (``thecal.sim.modal``) when the patient's rates are
    well separated, else (or with ``method="expm"``) matrix exponentials of the augmented
    system, cached by interval length.
    """

    def __init__(self, params: Parameters, method: str = "auto") -> None:
        if method not in ("auto", "modal", "expm"):
            raise ValueError("method must be auto, modal or expm")
        modal = decomposition(params)
        use_modal = method == "modal" or (method == "auto" and bool(modal.well_conditioned[0]))
        self.method = "modal" if use_modal else "expm"
        self._lam = modal.lam[0]
        self._v = modal.v[0]
        self._v_inv = modal.v_inv[0]
        self._w = modal.w[0]
        self.params = params
        self._augmented: FloatArray | None = None
        self._cache: dict[int, FloatArray] = {}

    @property
    def augmented(self) -> FloatArray:
        """``[[A, B], [0, 0]]`` of this patient (states + inputs square)."""
        if self._augmented is None:
            a, b = system_matrices(self.params)
            n, m = N_STATES, N_INPUTS
            aug = np.zeros((n + m, n + m))
            aug[:n, :n] = a[0]
            aug[:n, n:] = b[0]
            self._augmented = aug
        return self._augmented

    @staticmethod
    def key(h: float) -> int:
        return round(h / KEY_RESOLUTION_H)

    def exponentials(self, lengths_h: FloatArray) -> FloatArray:
        """``expm(M·h)`` for each length, shape ``(len, 8, 8)``; misses computed in one batch."""
        keys = np.rint(np.asarray(lengths_h, dtype=float) / KEY_RESOLUTION_H).astype(np.int64)
        uniq = np.unique(keys)
        missing = [int(k) for k in uniq if int(k) not in self._cache]
        if missing:
            hs = np.array(missing, dtype=float) * KEY_RESOLUTION_H
            mats = expm(self.augmented[None, :, :] * hs[:, None, None])
            for k, mat in zip(missing, mats, strict=True):
                self._cache[k] = mat
        table = np.stack([self._cache[int(k)] for k in uniq]) if uniq.size else np.zeros(
            (0, *self.augmented.shape))
        return np.asarray(table[np.searchsorted(uniq, keys)], dtype=float)

    def step(self, x: FloatArray, u: FloatArray, h: float) -> FloatArray:
        """The state ``h`` hours later under constant input ``u``."""
        if h == 0:
            return np.asarray(x, dtype=float)
        e = self.exponentials(np.array([h]))[0]
        return np.asarray(e[:N_STATES, :N_STATES] @ x + e[:N_STATES, N_STATES:] @ u, dtype=float)

    def run(self, inputs: Inputs, t_h: FloatArray, *, start_h: float | None = None,
            x0: FloatArray | None = None) -> StateTrace:
        """States at the sorted sample times ``t_h`` (all ≥ ``start_h``)."""
        t = np.asarray(t_h, dtype=float)
        if t.ndim != 1:
            raise ValueError("sample times must be one-dimensional")
        if t.size and np.any(np.diff(t) < 0):
            raise ValueError("sample times must be sorted")
        first_edge = float(inputs.edges[0]) if inputs.values.shape[0] else 0.0
        start = float(start_h) if start_h is not None else min(
            first_edge, float(t[0]) if t.size else first_edge)
        if t.size and t[0] < start:
            raise ValueError("sample times must not precede the start")
        x_start = np.zeros(N_STATES) if x0 is None else np.asarray(x0, dtype=float)
        if not t.size:
            return StateTrace(t, np.zeros((0, N_STATES)))
        end = float(t[-1])
        edges = inputs.edges
        lo = int(np.searchsorted(edges, start, side="right"))
        hi = int(np.searchsorted(edges, end, side="right"))
        bounds = np.concatenate(([start], edges[lo:hi]))
        # input on [bounds[k], bounds[k+1]): the value after each edge (zero past the last)
        n_val = inputs.values.shape[0]
        u_seg = np.zeros((bounds.size, N_INPUTS))
        if n_val:
            if 0 < lo <= n_val:
                u_seg[0] = inputs.values[lo - 1]
            stop = min(hi, n_val)
            if stop > lo:
                u_seg[1:1 + stop - lo] = inputs.values[lo:stop]
        if self.method == "modal":
            return StateTrace(t, self._run_modal(bounds, u_seg, t, x_start))
        # 1. state at each segment start
        x_seg = np.empty((bounds.size, N_STATES))
        x_seg[0] = x_start
        if bounds.size > 1:
            lengths = np.diff(bounds)
            mats = self.exponentials(lengths)
            phi = mats[:, :N_STATES, :N_STATES]
            gam = mats[:, :N_STATES, N_STATES:]
            x = x_start
            for k in range(lengths.size):
                x = phi[k] @ x + gam[k] @ u_seg[k]
                x_seg[k + 1] = x
        # 2. every sample from the start of its segment, all at once
        k_s = np.searchsorted(bounds, t, side="right") - 1
        tau = t - bounds[k_s]
        v = np.concatenate([x_seg[k_s], u_seg[k_s]], axis=1)  # (S, 8)
        states = self._apply(tau, v)
        return StateTrace(t, states[:, :N_STATES])

    def _run_modal(self, bounds: FloatArray, u_seg: FloatArray, t: FloatArray,
                   x_start: FloatArray) -> FloatArray:
        """Closed-form modal solution; arrays are mode-major ``(n, ·)`` so that every
        elementwise operation runs over one long contiguous axis."""
        lam = self._lam[:, None]  # (n, 1)
        w_seg = self._w @ u_seg.T  # (n, K) modal forcing per segment
        z0 = self._v_inv @ x_start
        z_seg = np.empty((bounds.size, N_STATES))  # (K, 8): segment-start states
        z_seg[0] = z0
        if bounds.size > 1:
            # segment ends: z_{k+1} = e^{λh_k} z_k + f_k w_k, all k in one compiled solve
            ea, fa = decay(lam, np.diff(bounds)[None, :])  # (n, K−1)
            fa *= w_seg[:, :-1]
            z_seg[1:] = recurrence(ea.T, fa.T, z0)
        # samples in segment k are t[first[k]:first[k+1]] (both sorted); repeat, not gather
        first = np.searchsorted(t, bounds, side="left")
        counts = np.diff(first, append=t.size)
        # z(τ) = z_k + (e^{λτ} − 1)(z_k − zss_k), zss = −w/λ: exact to rounding for small and
        # large λτ alike (no cancellation), one transcendental per mode and sample
        gap = z_seg.T + w_seg / lam  # (n, K) z_k − zss_k
        m = np.expm1(lam * (t - np.repeat(bounds, counts))[None, :])  # (6, S)
        m *= np.repeat(gap, counts, axis=1)
        z_s = np.add(m, np.repeat(z_seg.T, counts, axis=1), out=m)
        return np.asarray(z_s.T @ self._v.T, dtype=float)

    def _apply(self, tau: FloatArray, v: FloatArray) -> FloatArray:
        """``expm(M·τ_i) v_i`` for every sample, with τ = q·H + r."""
        tau = np.maximum(tau, 0.0)
        span = float(tau.max()) if tau.size else 0.0
        big_h = max(1.0, span / 1e6)
        q = np.floor(tau / big_h).astype(np.int64)
        r = tau - q * big_h
        if np.any(q > 0):
            step = self.exponentials(np.array([big_h]))[0]
            small = np.empty((_BLOCK, *step.shape))
            small[0] = np.eye(step.shape[0])
            for j in range(1, _BLOCK):
                small[j] = small[j - 1] @ step
            big_step = small[-1] @ step
            n_big = int(q.max()) // _BLOCK + 1
            big = np.empty((n_big, *step.shape))
            big[0] = np.eye(step.shape[0])
            for j in range(1, n_big):
                big[j] = big[j - 1] @ big_step
            v = np.einsum("sij,sj->si", small[q % _BLOCK], v)
            v = np.einsum("sij,sj->si", big[q // _BLOCK], v)
        rest = self.exponentials(r)
        return np.asarray(np.einsum("sij,sj->si", rest, v), dtype=float)


def simulate(params: Parameters, csf_delivery: Schedule, t_h: FloatArray, *,
             oral_mg_per_day: Schedule | None = None,
             systemic_mcg_per_h: Schedule | None = None,
             start_h: float | None = None, x0: FloatArray | None = None,
             method: str = "auto") -> StateTrace:
    """Exact states of one patient at the sorted sample times ``t_h`` (hours).

    ``csf_delivery`` is baclofen reaching the spinal fluid (mcg/h), ``oral_mg_per_day`` the
    oral daily dose (mg/day), ``systemic_mcg_per_h`` baclofen entering the blood directly
    (a pocket fill). The state is ``x0`` (default: drug-naive, all zero) at ``start_h``
    (default: the first input edge or sample, whichever is earlier). ``method`` picks the
    closed-form modal solution or ``expm`` (``auto``: modal unless rates nearly coincide).
    """
    inputs = Inputs.build(params, csf_delivery, oral_mg_per_day, systemic_mcg_per_h)
    return Propagator(params, method).run(inputs, np.asarray(t_h, dtype=float), start_h=start_h,
                                          x0=x0)


def reference_simulate(params: Parameters, csf_delivery: Schedule, t_h: FloatArray, *,
                       oral_mg_per_day: Schedule | None = None,
                       systemic_mcg_per_h: Schedule | None = None,
                       start_h: float | None = None, x0: FloatArray | None = None,
                       rtol: float = 1e-11, atol: float = 1e-12) -> StateTrace:
    """The same as :func:`simulate` by numerical integration (``solve_ivp``, DOP853).

    Each constant-input segment is integrated on its own, so no step crosses an input edge.
    Slow; for tests and benchmarks only.
    """
    from scipy.integrate import solve_ivp

    inputs = Inputs.build(params, csf_delivery, oral_mg_per_day, systemic_mcg_per_h)
    a, b = system_matrices(params)
    a0, b0 = a[0], b[0]
    t = np.asarray(t_h, dtype=float)
    first_edge = float(inputs.edges[0]) if inputs.values.shape[0] else 0.0
    start = float(start_h) if start_h is not None else min(first_edge, float(t[0]))
    end = float(t[-1])
    inner = inputs.edges[(inputs.edges > start) & (inputs.edges < end)]
    bounds = np.concatenate(([start], inner, [end]))
    x = np.zeros(N_STATES) if x0 is None else np.asarray(x0, dtype=float)
    out = np.empty((t.size, N_STATES))
    for k in range(bounds.size - 1):
        lo, hi = float(bounds[k]), float(bounds[k + 1])
        u = inputs.value_at(np.array([lo]))[0]
        forcing = b0 @ u
        last = k == bounds.size - 2
        mask = (t >= lo) & ((t <= hi) if last else (t < hi))
        if hi <= lo:
            out[mask] = x
            continue

        def rhs(_t: float, y: FloatArray, f: FloatArray = forcing) -> FloatArray:
            return np.asarray(a0 @ y + f, dtype=float)

        samples = t[mask]
        t_eval = np.append(samples[samples < hi], hi)
        sol = solve_ivp(rhs, (lo, hi), x, method="DOP853", rtol=rtol, atol=atol,
                        t_eval=t_eval)
        if not sol.success:  # pragma: no cover - solver failure is a bug in the test setup
            raise RuntimeError(sol.message)
        ys = sol.y.T
        out[mask] = ys[: samples.size]  # a sample exactly at ``hi`` is the last point
        x = ys[-1]
    return StateTrace(t, out)
