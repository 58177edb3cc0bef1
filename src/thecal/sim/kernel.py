"""The fused cohort kernel: many patients, summaries only, one compiled loop (numba).

:func:`thecal.sim.many.simulate_many` uses it when no full series is recorded. Per patient it
walks the samples in order; between two samples inside an input segment each mode moves by
one multiplication, ``z ← zss + (z − zss)·e^{λΔ}`` (the exact solution, ``e^{λΔ}`` computed
once per patient), and across an input edge by the exact step to the edge and on. Rounding
grows by about one unit in the last place per step (≈ 1e-12 relative over a year of hourly
samples), far inside the engine's 1e-9 agreement with the single-patient engine.

The speed comes from where the nonlinear readouts are evaluated. Every readout is a monotone
function of one *linear* readout of the state, or of the ratio ``z`` = drive / adapted EC50
(one division), so its minimum and maximum are the readout of the extreme argument, and a
threshold on it is a threshold on the argument:

* effect and side effects: monotone in ``z``; withdrawal: in the withdrawal index ``W``;
  sedation: in the systemic amount ``P``; adapted EC50: in the adaptation ``T``;
* overdose: monotone in ``z`` while ``P = 0`` (no oral or tissue baclofen), else evaluated
  (integer powers only);
* MAS and Penn: monotone (decreasing) in ``z`` while ``W`` is at most 1e-9·EC50 or the drive
  is at or above the adaptation (their withdrawal term is then below 1e-19, or zero); only
  the samples with real withdrawal evaluate the effect's power function.

Only a *mean* needs the nonlinear value at every sample; means are computed when asked.
Compiled with ``cache=True`` (the first call in a fresh environment compiles for a few
seconds; later processes load the cache).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# readout order of the summary arrays
CSF, DRIVE, EC50A, EFFECT, MAS, PENN, SIDE, WITHDRAWAL, OVERDOSE, SEDATION = range(10)
READOUT_ORDER = ("csf_conc_ng_per_ml", "drive_ng_per_ml", "ec50_adapted_ng_per_ml", "effect",
                 "mas", "penn_frequency", "side_effect_score", "withdrawal_score",
                 "overdose_score", "sedation_score")
# columns of the per-patient readout parameters
(P_EC50, P_TOL, P_EC50_TOL, P_EC50_SQ, P_HILL, P_EMAX, P_BASE_MAS, P_REST_MAS, P_BASE_PENN,
 P_REST_PENN, P_WD2, P_SIDE4, P_OVER4, P_SED2, P_SYS4, P_W_EARLY, P_W_SEVERE,
 P_Z_OVERDOSE) = range(18)
N_PARAMS = 18
_INF = np.inf


@njit(cache=True, nogil=True, fastmath=False)
def _effect(z: float, hill: float, emax: float) -> float:
    if z <= 0.0:
        return 0.0
    return emax / (1.0 + math.exp(-hill * math.log(z)))


_NB = 64  # patients a chunk: the chunk's arrays stay in the CPU caches
# accumulator rows: extremes of the arguments
(A_LO_CSF, A_HI_CSF, A_LO_DRIVE, A_HI_DRIVE, A_LO_T, A_HI_T, A_LO_Z, A_HI_Z, A_LO_W, A_HI_W,
 A_LO_P, A_HI_P, A_LO_ZQ, A_HI_ZQ, A_LO_MAS, A_HI_MAS, A_LO_PENN, A_HI_PENN, A_LO_OV,
 A_HI_OV) = range(20)
N_ACC = 20


@njit(cache=True, nogil=True, fastmath=False)
def _set_forcing(zss, g_csf, g_sys, bio, nb, u_csf, oral, direct):
    """The modal steady state of the new inputs: ``zss = g_csf·u_csf + g_sys·u_sys`` with the
    chunk's ``g = −w/λ`` (scaled by the patient's dose factor for the spinal input)."""
    m = g_csf.shape[0]
    for j in range(m):
        for i in range(nb):
            u_sys = bio[i] * oral / 24.0 + direct / 1000.0
            zss[j, i] = g_csf[j, i] * u_csf + g_sys[j, i] * u_sys


_CACHE = 16  # step lengths remembered per chunk (edges often fall at a few offsets)


@njit(cache=True, nogil=True, fastmath=False)
def _move(z, zss, lam, a, nb, h, cache_h, cache_e, used):
    """Exact step of ``h`` hours; ``e^{λh}`` looked up among the chunk's recent lengths."""
    if h <= 0.0:
        return used
    m = lam.shape[0]
    slot = -1
    for c in range(used):
        if cache_h[c] == h:
            slot = c
            break
    if slot < 0:
        slot = used if used < _CACHE else (used % _CACHE)
        cache_h[slot] = h
        for j in range(m):
            for i in range(nb):
                cache_e[slot, j, i] = math.exp(lam[j, a + i] * h)
        if used < _CACHE:
            used += 1
    for j in range(m):
        for i in range(nb):
            z[j, i] = zss[j, i] + (z[j, i] - zss[j, i]) * cache_e[slot, j, i]
    return used


@njit(cache=True, nogil=True, fastmath=False)
def _extremes(acc, row, v, nb):
    for i in range(nb):
        acc[row, i] = min(acc[row, i], v[i])
    for i in range(nb):
        acc[row + 1, i] = max(acc[row + 1, i], v[i])


@njit(cache=True, nogil=True, fastmath=False)
def cohort_kernel(lam, coef, w_csf, w_sys, scale, bio, z0,
                  seg_t, seg_csf, seg_oral, seg_direct, start_h, every_h, n_samples, final_h,
                  pr, want_mean, need, overdose_threshold, systemic, mins, maxs, sums,
                  counts, z_final):
    """Summaries of every patient (see the module docstring), written in place.

    ``need`` (6 booleans) says which argument extremes to track: csf, drive, adaptation,
    z, withdrawal index, systemic amount (the others' min/max come out meaningless).
    ``systemic`` is False when no patient ever has baclofen in the blood (no oral dose, no
    tissue loss, none at the start): then P = 0 exactly and overdose follows z alone.

    Arrays are mode-major with the patients last (``lam``, ``w_*``, ``z0``, ``z_final``:
    (8, n); ``coef``: (5, 8, n) for csf, systemic, drive, adaptation, withdrawal index;
    ``pr``: (18, n)); outputs ``mins``/``maxs``/``sums`` (10, n), ``counts`` (3, n). Each
    patient's arithmetic is the same whatever the chunk it is in, so results do not depend
    on how the patients are split.
    """
    m, n = lam.shape
    n_seg = seg_t.shape[0]
    any_mean = False
    for r in range(10):
        if want_mean[r]:
            any_mean = True
    z = np.empty((m, _NB))
    zss = np.empty((m, _NB))
    e_step = np.empty((m, _NB))
    y = np.empty((5, _NB))
    acc = np.empty((N_ACC, _NB))
    cnt = np.zeros((3, _NB), dtype=np.int64)
    sm = np.zeros((10, _NB))
    wd_pos = np.empty(_NB, dtype=np.bool_)
    vp = np.empty(_NB)
    vd = np.empty(_NB)
    vt = np.empty(_NB)
    vw = np.empty(_NB)
    vz = np.empty(_NB)
    pe = np.empty((7, _NB))  # this chunk's constants, contiguous
    ce = np.empty((40, _NB))  # this chunk's readout coefficients, contiguous
    g_csf = np.empty((m, _NB))
    g_sys = np.empty((m, _NB))
    bio_c = np.empty(_NB)
    cache_h = np.empty(_CACHE)
    cache_e = np.empty((_CACHE, m, _NB))
    for a in range(0, n, _NB):
        nb = min(_NB, n - a)
        used = 0
        for r in range(5):
            for j in range(8):
                for i in range(nb):
                    ce[8 * r + j, i] = coef[r, j, a + i]
        for i in range(nb):
            pe[0, i] = pr[P_EC50, a + i]
            pe[1, i] = pr[P_EC50_TOL, a + i]
            pe[2, i] = pr[P_EC50_SQ, a + i]
            pe[3, i] = 1e-9 * pr[P_EC50, a + i]
            pe[4, i] = pr[P_W_EARLY, a + i]
            pe[5, i] = pr[P_W_SEVERE, a + i]
            pe[6, i] = pr[P_Z_OVERDOSE, a + i]
        for j in range(m):
            for i in range(nb):
                z[j, i] = z0[j, a + i]
                e_step[j, i] = math.exp(lam[j, a + i] * every_h)
                g_csf[j, i] = -(w_csf[j, a + i] * scale[a + i]) / lam[j, a + i]
                g_sys[j, i] = -w_sys[j, a + i] / lam[j, a + i]
        for i in range(nb):
            bio_c[i] = bio[a + i]
        for q in range(0, N_ACC, 2):
            for i in range(nb):
                acc[q, i] = np.inf
                acc[q + 1, i] = -np.inf
        for q in range(3):
            for i in range(nb):
                cnt[q, i] = 0
        for q in range(10):
            for i in range(nb):
                sm[q, i] = 0.0
        k = 0
        while k + 1 < n_seg and seg_t[k + 1] <= start_h:
            k += 1
        _set_forcing(zss, g_csf, g_sys, bio_c, nb, seg_csf[k], seg_oral[k], seg_direct[k])
        t = start_h
        for s in range(n_samples):
            ts = start_h + s * every_h
            if s > 0:
                if k + 1 >= n_seg or seg_t[k + 1] > ts:
                    for j in range(m):
                        for i in range(nb):
                            z[j, i] = zss[j, i] + (z[j, i] - zss[j, i]) * e_step[j, i]
                else:
                    while k + 1 < n_seg and seg_t[k + 1] <= ts:
                        used = _move(z, zss, lam, a, nb, seg_t[k + 1] - t, cache_h, cache_e, used)
                        t = seg_t[k + 1]
                        k += 1
                        _set_forcing(zss, g_csf, g_sys, bio_c, nb, seg_csf[k], seg_oral[k],
                                     seg_direct[k])
                    used = _move(z, zss, lam, a, nb, ts - t, cache_h, cache_e, used)
            t = ts
            # the linear readouts, each over the modes it depends on (V is lower triangular:
            # csf on mode 0, systemic and drive on modes 0–4, adaptation 0–5, withdrawal all)
            y0 = y[0]
            for i in range(nb):
                y0[i] = ce[0, i] * z[0, i]
            for r in (1, 2):
                yr = y[r]
                b = 8 * r
                for i in range(nb):
                    yr[i] = (ce[b, i] * z[0, i] + ce[b + 1, i] * z[1, i] + ce[b + 2, i] * z[2, i]
                             + ce[b + 3, i] * z[3, i] + ce[b + 4, i] * z[4, i])
            y3 = y[3]
            for i in range(nb):
                y3[i] = (ce[24, i] * z[0, i] + ce[25, i] * z[1, i] + ce[26, i] * z[2, i]
                         + ce[27, i] * z[3, i] + ce[28, i] * z[4, i] + ce[29, i] * z[5, i])
            y4 = y[4]
            for i in range(nb):
                y4[i] = (ce[32, i] * z[0, i] + ce[33, i] * z[1, i] + ce[34, i] * z[2, i]
                         + ce[35, i] * z[3, i] + ce[36, i] * z[4, i] + ce[37, i] * z[5, i]
                         + ce[38, i] * z[6, i] + ce[39, i] * z[7, i])
            # the arguments (simple loops the compiler vectorises over the patients)
            for i in range(nb):
                vp[i] = max(y[1, i], 0.0)
                vd[i] = max(y[2, i], 0.0)
                vt[i] = max(y[3, i], 0.0)
                # withdrawal only while the drive is below the adaptation (raw values)
                vw[i] = max(y[4, i], 0.0) if y[3, i] > y[2, i] else 0.0
            for i in range(nb):
                vz[i] = vd[i] * (vt[i] + pe[0, i]) / (vt[i] * pe[1, i] + pe[2, i])
            if need[0]:  # only the extremes a summary asks for
                _extremes(acc, A_LO_CSF, y[0], nb)
            if need[1]:
                _extremes(acc, A_LO_DRIVE, vd, nb)
            if need[2]:
                _extremes(acc, A_LO_T, vt, nb)
            if need[3]:
                _extremes(acc, A_LO_Z, vz, nb)
            if need[4]:
                _extremes(acc, A_LO_W, vw, nb)
            if need[5]:
                _extremes(acc, A_LO_P, vp, nb)
            n_loud = 0
            for i in range(nb):
                loud = vw[i] > pe[3, i]
                cnt[0, i] += vw[i] >= pe[4, i]
                cnt[1, i] += vw[i] >= pe[5, i]
                wd_pos[i] = loud
                n_loud += loud
                # extremes of z where there is no withdrawal (MAS, Penn monotone in z)
                zq = vz[i]
                acc[A_LO_ZQ, i] = acc[A_LO_ZQ, i] if loud else min(acc[A_LO_ZQ, i], zq)
                acc[A_HI_ZQ, i] = acc[A_HI_ZQ, i] if loud else max(acc[A_HI_ZQ, i], zq)
            if systemic:  # overdose depends on z and P: evaluated
                for i in range(nb):
                    z4 = vz[i] * vz[i]
                    z4 *= z4
                    p4 = vp[i] * vp[i]
                    p4 *= p4
                    ov = 1.0 - (1.0 - z4 / (z4 + pr[P_OVER4, a + i])) * (
                        1.0 - p4 / (p4 + pr[P_SYS4, a + i]))
                    acc[A_LO_OV, i] = min(acc[A_LO_OV, i], ov)
                    acc[A_HI_OV, i] = max(acc[A_HI_OV, i], ov)
                    cnt[2, i] += ov >= overdose_threshold
            else:  # P = 0 throughout: overdose is monotone in z
                for i in range(nb):
                    cnt[2, i] += vz[i] >= pe[6, i]
            any_wd = n_loud > 0
            if any_wd:  # samples with withdrawal: MAS and Penn evaluated
                for i in range(nb):
                    if wd_pos[i]:
                        wd = vw[i]
                        eff = _effect(vz[i], pr[P_HILL, a + i], pr[P_EMAX, a + i])
                        w2 = wd * wd
                        wscore = w2 / (w2 + pr[P_WD2, a + i])
                        mas = min(pr[P_BASE_MAS, a + i] * (1.0 - eff)
                                  + pr[P_REST_MAS, a + i] * wscore, 4.0)
                        penn = min(pr[P_BASE_PENN, a + i] * (1.0 - eff)
                                   + pr[P_REST_PENN, a + i] * wscore, 4.0)
                        acc[A_LO_MAS, i] = min(acc[A_LO_MAS, i], mas)
                        acc[A_HI_MAS, i] = max(acc[A_HI_MAS, i], mas)
                        acc[A_LO_PENN, i] = min(acc[A_LO_PENN, i], penn)
                        acc[A_HI_PENN, i] = max(acc[A_HI_PENN, i], penn)
            if any_mean:
                for i in range(nb):
                    p = vp[i]
                    drive = vd[i]
                    adapt = vt[i]
                    wd = vw[i]
                    ec50 = pr[P_EC50, a + i]
                    zr = vz[i]
                    w2 = wd * wd
                    wscore = w2 / (w2 + pr[P_WD2, a + i])
                    z4 = zr * zr
                    z4 *= z4
                    p2 = p * p
                    p4 = p2 * p2
                    sm[CSF, i] += y[0, i]
                    sm[DRIVE, i] += drive
                    sm[EC50A, i] += ec50 * (1.0 + pr[P_TOL, a + i] * adapt / (adapt + ec50))
                    if want_mean[EFFECT] or want_mean[MAS] or want_mean[PENN]:
                        eff = _effect(zr, pr[P_HILL, a + i], pr[P_EMAX, a + i])
                        sm[EFFECT, i] += eff
                        sm[MAS, i] += min(pr[P_BASE_MAS, a + i] * (1.0 - eff)
                                          + pr[P_REST_MAS, a + i] * wscore, 4.0)
                        sm[PENN, i] += min(pr[P_BASE_PENN, a + i] * (1.0 - eff)
                                           + pr[P_REST_PENN, a + i] * wscore, 4.0)
                    sm[SIDE, i] += z4 / (z4 + pr[P_SIDE4, a + i])
                    sm[WITHDRAWAL, i] += wscore
                    sm[OVERDOSE, i] += 1.0 - (1.0 - z4 / (z4 + pr[P_OVER4, a + i])) * (
                        1.0 - p4 / (p4 + pr[P_SYS4, a + i]))
                    sm[SEDATION, i] += p2 / (p2 + pr[P_SED2, a + i])
        # to the final instant (the last sample, or a later input edge)
        while k + 1 < n_seg and seg_t[k + 1] <= final_h:
            used = _move(z, zss, lam, a, nb, seg_t[k + 1] - t, cache_h, cache_e, used)
            t = seg_t[k + 1]
            k += 1
            _set_forcing(zss, g_csf, g_sys, bio_c, nb, seg_csf[k], seg_oral[k], seg_direct[k])
        used = _move(z, zss, lam, a, nb, final_h - t, cache_h, cache_e, used)
        for i in range(nb):
            g = a + i
            for j in range(m):
                z_final[j, g] = z[j, i]
            ec50 = pr[P_EC50, g]
            tol = pr[P_TOL, g]
            hill = pr[P_HILL, g]
            emax = pr[P_EMAX, g]
            mins[CSF, g] = acc[A_LO_CSF, i]
            maxs[CSF, g] = acc[A_HI_CSF, i]
            mins[DRIVE, g] = acc[A_LO_DRIVE, i]
            maxs[DRIVE, g] = acc[A_HI_DRIVE, i]
            lo_t = acc[A_LO_T, i]
            hi_t = acc[A_HI_T, i]
            mins[EC50A, g] = ec50 * (1.0 + tol * lo_t / (lo_t + ec50))
            maxs[EC50A, g] = ec50 * (1.0 + tol * hi_t / (hi_t + ec50))
            lo_z = acc[A_LO_Z, i]
            hi_z = acc[A_HI_Z, i]
            mins[EFFECT, g] = _effect(lo_z, hill, emax)
            maxs[EFFECT, g] = _effect(hi_z, hill, emax)
            z4 = lo_z * lo_z
            z4 *= z4
            mins[SIDE, g] = z4 / (z4 + pr[P_SIDE4, g])
            z4 = hi_z * hi_z
            z4 *= z4
            maxs[SIDE, g] = z4 / (z4 + pr[P_SIDE4, g])
            w2 = acc[A_LO_W, i] ** 2
            mins[WITHDRAWAL, g] = w2 / (w2 + pr[P_WD2, g])
            w2 = acc[A_HI_W, i] ** 2
            maxs[WITHDRAWAL, g] = w2 / (w2 + pr[P_WD2, g])
            p2 = acc[A_LO_P, i] ** 2
            mins[SEDATION, g] = p2 / (p2 + pr[P_SED2, g])
            p2 = acc[A_HI_P, i] ** 2
            maxs[SEDATION, g] = p2 / (p2 + pr[P_SED2, g])
            if systemic:
                mins[OVERDOSE, g] = acc[A_LO_OV, i]
                maxs[OVERDOSE, g] = acc[A_HI_OV, i]
            else:  # the same formula as the readout, at the extremes of z (P = 0)
                z4 = lo_z * lo_z
                z4 *= z4
                mins[OVERDOSE, g] = 1.0 - (1.0 - z4 / (z4 + pr[P_OVER4, g]))
                z4 = hi_z * hi_z
                z4 *= z4
                maxs[OVERDOSE, g] = 1.0 - (1.0 - z4 / (z4 + pr[P_OVER4, g]))
            lo_mas = acc[A_LO_MAS, i]
            hi_mas = acc[A_HI_MAS, i]
            lo_penn = acc[A_LO_PENN, i]
            hi_penn = acc[A_HI_PENN, i]
            if acc[A_HI_ZQ, i] >= acc[A_LO_ZQ, i]:  # without withdrawal: falls as z rises
                e_lo = _effect(acc[A_LO_ZQ, i], hill, emax)
                e_hi = _effect(acc[A_HI_ZQ, i], hill, emax)
                hi_mas = max(hi_mas, min(pr[P_BASE_MAS, g] * (1.0 - e_lo), 4.0))
                lo_mas = min(lo_mas, min(pr[P_BASE_MAS, g] * (1.0 - e_hi), 4.0))
                hi_penn = max(hi_penn, min(pr[P_BASE_PENN, g] * (1.0 - e_lo), 4.0))
                lo_penn = min(lo_penn, min(pr[P_BASE_PENN, g] * (1.0 - e_hi), 4.0))
            mins[MAS, g] = lo_mas
            maxs[MAS, g] = hi_mas
            mins[PENN, g] = lo_penn
            maxs[PENN, g] = hi_penn
            for q in range(10):
                sums[q, g] = sm[q, i]
            for q in range(3):
                counts[q, g] = cnt[q, i]
