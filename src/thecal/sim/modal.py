"""Closed-form (modal) solution of the patient model, for one or many patients.

``A`` is lower triangular with distinct diagonal (minus the eight rates), so ``A = V Λ V⁻¹``
with ``V`` unit lower triangular, computed here by forward substitution. In modal
coordinates ``z = V⁻¹ x`` each mode is a scalar first-order system and moves exactly over
``h`` hours of constant input ``u``:

    z(h) = e^{λh} z + (e^{λh} − 1)/λ · (V⁻¹ B u)

This is the matrix exponential in closed form, computed elementwise (fast, vectorised over
patients and samples). Where two rates nearly coincide ``V`` becomes ill-conditioned;
:func:`decompose` reports the condition so callers fall back to ``scipy.linalg.expm``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg.lapack import dtbtrs

from thecal.physiology.model import N_STATES, system_matrices
from thecal.physiology.parameters import FloatArray, ParameterArrays, Parameters

#: Above this (‖V‖·‖V⁻¹‖, max-norm) the modal form loses more than ~1e-8 relative accuracy.
MAX_CONDITION = 1e7


@dataclass(frozen=True)
class Modal:
    """Eigen-decomposition of ``n`` patients' systems."""

    lam: FloatArray  # (n, 8) eigenvalues (negative)
    v: FloatArray  # (n, 8, 8) eigenvectors as columns
    v_inv: FloatArray  # (n, 8, 8)
    w: FloatArray  # (n, 6, 2) = V⁻¹ B
    condition: FloatArray  # (n,)

    @property
    def well_conditioned(self) -> np.ndarray:
        return np.asarray(self.condition <= MAX_CONDITION)


def decompose(params: Parameters | ParameterArrays) -> Modal:
    """Eigenvalues and eigenvectors of the lower-triangular ``A`` of every patient.

    Row ``i`` of ``V`` below the diagonal is ``A[i, :i] V[:i, :i] / (λ_j − λ_i)`` (forward
    substitution), and ``V⁻¹`` likewise, one column at a time; a patient whose rates coincide
    gets ``V = I`` and an infinite condition. Computed with the patients on the last axis, so
    every operation runs over all of them at once; the arrays returned are views in the
    patients-first shapes of :class:`Modal`.
    """
    a_n, b_n = system_matrices(params)
    n = a_n.shape[0]
    lam = np.ascontiguousarray(np.diagonal(a_n, axis1=1, axis2=2).T)  # (8, n)
    # the strictly lower part of A, patients last: a[i, j] for j < i (the rest is unused)
    a = np.zeros((N_STATES, N_STATES, n))
    for i in range(1, N_STATES):
        a[i, :i] = a_n[:, i, :i].T
    v = np.zeros_like(a)
    v_inv = np.zeros_like(a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        v[0, 0] = 1.0
        for i in range(1, N_STATES):
            acc = np.einsum("ln,ljn->jn", a[i, :i], v[:i, :i])
            v[i, :i] = acc / (lam[:i] - lam[i])
            v[i, i] = 1.0
        # V⁻¹ (the left eigenvectors) is unit lower triangular too: U A = Λ U, column by
        # column from the right, U[i, j] = U[i, j+1:i+1] A[j+1:i+1, j] / (λ_i − λ_j)
        v_inv[N_STATES - 1, N_STATES - 1] = 1.0
        for j in range(N_STATES - 2, -1, -1):
            acc = np.einsum("iln,ln->in", v_inv[j + 1:, j + 1:], a[j + 1:, j])
            v_inv[j + 1:, j] = acc / (lam[j + 1:] - lam[j])
            v_inv[j, j] = 1.0
        bad = ~(np.all(np.isfinite(v), axis=(0, 1)) & np.all(np.isfinite(v_inv), axis=(0, 1)))
        v[:, :, bad] = np.eye(N_STATES)[:, :, None]
        v_inv[:, :, bad] = np.eye(N_STATES)[:, :, None]
        cond = np.abs(v).max(axis=(0, 1)) * np.abs(v_inv).max(axis=(0, 1))
    cond[bad] = np.inf
    cond[~np.isfinite(cond)] = np.inf
    w = np.einsum("ijn,jkn->ikn", v_inv, np.ascontiguousarray(b_n.transpose(1, 2, 0)))
    # views with the patients first again (no copies of the large arrays)
    return Modal(lam=lam.T, v=v.transpose(2, 0, 1), v_inv=v_inv.transpose(2, 0, 1),
                 w=w.transpose(2, 0, 1), condition=cond)


def decay(lam: FloatArray, h: FloatArray | float) -> tuple[FloatArray, FloatArray]:
    """``e^{λh}`` and ``(e^{λh} − 1)/λ`` (broadcast), both exact to rounding."""
    lh = lam * h
    return np.exp(lh), np.expm1(lh) / lam


def recurrence(a: FloatArray, b: FloatArray, z0: FloatArray) -> FloatArray:
    """``z[k]`` for ``k = 1 … K`` of ``z[k] = a[k−1]·z[k−1] + b[k−1]`` from ``z[0] = z0``.

    ``a`` and ``b`` have shape ``(K, m)``: ``m`` independent first-order recurrences, e.g.
    the modes of one patient from one input edge to the next. They are one unit lower
    bidiagonal linear system (``z[k] − a[k−1]·z[k−1] = b[k−1]``, the ``m`` chains one after
    another, uncoupled), solved by LAPACK's banded triangular solver ``dtbtrs``: the same
    forward substitution as a loop, with the same rounding, but compiled. Returns ``(K, m)``.
    """
    k, m = a.shape
    rhs = np.array(b, dtype=np.float64, order="F", copy=True)  # (K, m), chains contiguous
    if k == 0:
        return rhs
    rhs[0] += a[0] * np.asarray(z0, dtype=np.float64)
    band = np.empty((2, m * k))
    band[0] = 1.0  # the unit diagonal (not referenced with diag="U")
    sub = band[1].reshape(m, k)
    sub[:, :-1] = -a[1:].T  # −a[j] couples z[j] to z[j+1] within a chain
    sub[:, -1] = 0.0  # no coupling from one chain to the next
    x, info = dtbtrs(band, rhs.reshape(m * k, 1, order="F"), uplo="L", diag="U")
    if info != 0:  # pragma: no cover - a unit triangular system is never singular
        raise RuntimeError(f"dtbtrs failed with info={info}")
    return np.asarray(x.reshape(k, m, order="F"), dtype=np.float64)
