"""Closed-form (modal) solution of the patient model, for one or many patients.

``A`` is lower triangular with distinct diagonal (minus the six rates), so ``A = V Λ V⁻¹``
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

from thecal.physiology.model import N_STATES, system_matrices
from thecal.physiology.parameters import FloatArray, ParameterArrays, Parameters

#: Above this (‖V‖·‖V⁻¹‖, max-norm) the modal form loses more than ~1e-8 relative accuracy.
MAX_CONDITION = 1e7


@dataclass(frozen=True)
class Modal:
    """Eigen-decomposition of ``n`` patients' systems."""

    lam: FloatArray  # (n, 6) eigenvalues (negative)
    v: FloatArray  # (n, 6, 6) eigenvectors as columns
    v_inv: FloatArray  # (n, 6, 6)
    w: FloatArray  # (n, 6, 2) = V⁻¹ B
    condition: FloatArray  # (n,)

    @property
    def well_conditioned(self) -> np.ndarray:
        return np.asarray(self.condition <= MAX_CONDITION)


def decompose(params: Parameters | ParameterArrays) -> Modal:
    """Eigenvalues and eigenvectors of the lower-triangular ``A`` of every patient."""
    a, b = system_matrices(params)
    n = a.shape[0]
    lam = np.diagonal(a, axis1=1, axis2=2).copy()
    v = np.zeros_like(a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j in range(N_STATES):
            v[:, j, j] = 1.0
            for i in range(j + 1, N_STATES):
                acc = np.einsum("nl,nl->n", a[:, i, j:i], v[:, j:i, j])
                v[:, i, j] = acc / (lam[:, j] - lam[:, i])
        bad = ~np.all(np.isfinite(v), axis=(1, 2))
        v[bad] = np.eye(N_STATES)
        v_inv = np.asarray(np.linalg.inv(v), dtype=np.float64)
        cond = np.abs(v).max(axis=(1, 2)) * np.abs(v_inv).max(axis=(1, 2))
    cond[bad] = np.inf
    cond[~np.isfinite(cond)] = np.inf
    w = np.einsum("nij,njk->nik", v_inv, b)
    del n
    return Modal(lam=lam, v=v, v_inv=v_inv, w=w, condition=cond)


def decay(lam: FloatArray, h: FloatArray | float) -> tuple[FloatArray, FloatArray]:
    """``e^{λh}`` and ``(e^{λh} − 1)/λ`` (broadcast), both exact to rounding."""
    lh = lam * h
    return np.exp(lh), np.expm1(lh) / lam
