"""The fused cohort kernel: many patients, summaries only, one compiled loop (numba).

:func:`thecal.sim.many.simulate_many` uses it when no full series is recorded (the population
runs, ``thecal population``, the benchmarks). It takes the patients a chunk at a time
(:data:`CHUNK`) and walks the samples in order; every loop inside runs over the chunk's
patients, so the compiler turns it into vector instructions (eight patients an instruction
with AVX-512). Between two samples inside an input segment each mode moves by one
multiplication, ``z ← zss + (z − zss)·e^{λΔ}`` (the exact solution; ``e^{λΔ}`` computed once
per patient), and across an input edge by the exact step to the edge and on (``e^{λh}``
remembered for the chunk's recent step lengths). Between two input edges the samples go
:data:`BLOCK` at a time: each mode, weight and accumulator is loaded once for them, every
sample's arithmetic unchanged. Rounding grows by about one unit in the last place per step
(≈ 1e-12 relative over a year of hourly samples), far inside the engine's 1e-9 agreement with
the single-patient engine.

*Generic in the model's modes.* The caller (``many._kernel_modes``) passes the modes that can
move — a mode that starts at zero and is never forced (the blood's baclofen without oral doses
or tissue input) stays exactly zero and is left out — and, for each of the five linear
readouts (spinal-fluid concentration, systemic amount ``P``, drive, adaptation ``T``,
withdrawal index ``W``), the modes it weighs and their weights (the rows of ``L·V`` from the
model's own matrices; the structural zeros of ``V`` skipped). Nothing here knows the number
of states or the time constants.

*Where the nonlinear readouts are evaluated.* Every readout is a monotone function of one
*linear* readout, or of the ratio ``z`` = drive / adapted EC50 (one division), so its minimum
and maximum are the readout of the extreme argument, and a threshold on it is a threshold on
the argument (the thresholds are mapped back once per patient, ``many._readout_parameters``):

* effect and side effects: monotone in ``z``; withdrawal: in ``W``; sedation: in ``P``;
  adapted EC50: in ``T``;
* overdose: monotone in ``z`` while ``P = 0`` (no oral or tissue baclofen), else evaluated
  (integer powers only);
* MAS and Penn: monotone (decreasing) in ``z`` while ``W`` is at most 1e-9 of its
  half-maximal value or the drive is at or above the adaptation (their withdrawal term is
  then below 4e-18, or zero); at a sample where a patient of the chunk is in withdrawal,
  they are evaluated for the chunk.

Only a *mean* needs the nonlinear value at every sample, and only the means asked for are
summed (the population asks for the mean effect alone). The effect's power
``z^−h = e^{−h·ln z}`` uses the logarithm and exponential below (fdlibm's algorithms in plain
arithmetic, so they vectorise; :func:`vlog` and :func:`vexp` within 1 ulp, and trimmed to the
range that matters in :func:`_effect_v`), once a sample for the mean and the withdrawal MAS
together.

*Why it vectorises, and stays exact.* Compiled without ``fastmath`` and with numpy's error
model (numba's default zero-division checks keep a loop scalar); ``min``/``max`` written as
selects (Python's are calls); the chunk's per-sample rows in one flat buffer (separate arrays
would need a run-time overlap check per pair — more than LLVM allows, and it then leaves the
loop scalar), indexed unsigned where a row is chosen at run time (numba wraps negative indices
around, a select that keeps a loop scalar); rows :data:`CHUNK` + 8 floats apart (never a
multiple of 4 KiB, which stalls loads behind unrelated stores). Every patient's arithmetic is
the same IEEE sequence in a vector lane or alone, so the results do not depend on the chunk,
the block size or the thread, bit for bit. ``cache=True``: the first call in a fresh
environment compiles for ≈ 20 s of CPU (one signature; ``many`` always passes the same
types), later processes load the cache (≈ 0.4 s). Everything the kernel compiles is in this
file: numba's cache notices a change only in the compiled function's own file.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

# readout order of the summary arrays
CSF, DRIVE, EC50A, EFFECT, MAS, PENN, SIDE, WITHDRAWAL, OVERDOSE, SEDATION = range(10)
READOUT_ORDER = ("csf_conc_ng_per_ml", "drive_ng_per_ml", "ec50_adapted_ng_per_ml", "effect",
                 "mas", "penn_frequency", "side_effect_score", "withdrawal_score",
                 "overdose_score", "sedation_score")
# the linear readouts (rows of ``coef``), in this order
L_CSF, L_SYSTEMIC, L_DRIVE, L_ADAPT, L_WITHDRAWAL = range(5)
N_LINEAR = 5
# rows of the per-patient readout parameters
(P_EC50, P_TOL, P_EC50_TOL, P_EC50_SQ, P_HILL, P_EMAX, P_BASE_MAS, P_REST_MAS, P_BASE_PENN,
 P_REST_PENN, P_WD2, P_SIDE4, P_OVER4, P_SED2, P_SYS4, P_W_EARLY, P_W_SEVERE,
 P_Z_OVERDOSE, P_W_LOUD) = range(19)
N_PARAMS = 19
# which extremes beyond z and W to track (``need``): concentration, drive, adaptation, P
NEED_CSF, NEED_DRIVE, NEED_ADAPT, NEED_SYSTEMIC = range(4)

#: Patients a chunk: each per-sample loop runs over them (vector instructions).
CHUNK = 128
#: Samples taken together while no input edge falls among them: each mode, weight and
#: accumulator is loaded once for all of them (every sample's arithmetic is unchanged).
#: ``_sample`` spells out four.
BLOCK = 4
_S = CHUNK + 8  # row stride: rows 1088 bytes apart, never a multiple of 4 KiB (no aliasing stalls)
_STEPS = 16  # step lengths remembered per chunk (edges often fall at a few offsets)
_FLUSH = 1e-250  # modes below this are set to 0 every 64 samples (no subnormal arithmetic)
# accumulator rows: extremes of the arguments
(A_LO_CSF, A_HI_CSF, A_LO_DRIVE, A_HI_DRIVE, A_LO_T, A_HI_T, A_LO_Z, A_HI_Z, A_LO_W, A_HI_W,
 A_LO_P, A_HI_P, A_LO_ZQ, A_HI_ZQ, A_LO_MAS, A_HI_MAS, A_LO_PENN, A_HI_PENN, A_LO_OV,
 A_HI_OV) = range(20)
N_ACC = 20
# Rows of the chunk's work buffer ``wk``, one flat array: a per-sample loop reads and writes
# rows of this one array, so it vectorises with at most a few run-time overlap checks
# (arrays of their own would need a check per pair: more than LLVM allows, and it then leaves
# the loop scalar). Sample ``b`` of a block has rows ``R_Y + 5b + r``, ``R_VZ + b``, ...
R_Y = 0  # the five linear readouts
R_VZ = R_Y + BLOCK * N_LINEAR  # z = drive / adapted EC50
R_VW = R_VZ + BLOCK  # the withdrawal index, 0 where the drive is at or above the adaptation
R_EFF = R_VW + BLOCK  # the effect (when a mean or withdrawal needs it)
R_ACC = R_EFF + BLOCK
R_CNT = R_ACC + N_ACC  # samples in early, severe withdrawal, with overdose signs (exact floats)
R_SUM = R_CNT + 3
R_PC = R_SUM + 10  # the chunk's readout parameters
N_ROWS = R_PC + N_PARAMS


@njit(cache=True, inline="always", error_model="numpy")
def _o(row: int) -> int:
    """Offset of a row of the work buffer."""
    return row * _S


@njit(cache=True, inline="always", error_model="numpy")
def _u(index: int) -> np.uint64:
    """An index the compiler knows is not negative: numba wraps negative indices around,
    a select that keeps a loop with a run-time row offset scalar."""
    return np.uint64(index)


@njit(cache=True, inline="always", error_model="numpy")
def _min(a: float, b: float) -> float:
    """``min(a, b)`` as a select (Python's ``min`` is a call that keeps a loop scalar)."""
    return b if b < a else a


@njit(cache=True, inline="always", error_model="numpy")
def _max(a: float, b: float) -> float:
    """``max(a, b)`` as a select."""
    return b if b > a else a


# --------------------------------------------------------------------------- exp and log
# ``exp`` and ``log`` in plain arithmetic, so that a loop of them vectorises: a call to the C
# library's inside a loop keeps it scalar (there is no vector math library here), and the mean
# effect needs one power ``z^−h = e^{−h·ln z}`` per patient and sample. The classic fdlibm
# algorithms (``e_exp.c``, ``e_log.c``: reduction by powers of two, a short polynomial on the
# remainder) with bit operations, arithmetic and explicit fused multiply-adds (rounded once
# everywhere, so a value has the same bits in a vector lane or alone): within one unit in the
# last place over the whole range (tests/sim/test_kernel_math.py). Kept in this file: numba's
# cache notices a change only in the file of the function it compiled.


def _bits_typer(typingctx: Any, x: Any) -> Any:
    """The IEEE-754 bits of a float64 as an int64 (a bit cast, no conversion)."""
    sig = types.int64(types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


def _from_bits_typer(typingctx: Any, b: Any) -> Any:
    """The float64 whose IEEE-754 bits are the int64 ``b``."""
    sig = types.float64(types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


def _fma_typer(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """``a·b + c`` rounded once (LLVM's ``fma``: one instruction where the CPU has it, else the
    C library's exact ``fma``): the same bits in a vector lane or alone, on every machine."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)

    return sig, codegen


# (typed Any: mypy reads a numba intrinsic's own signature, typing context first)
_bits: Any = intrinsic(_bits_typer)  # float64 → its bits as int64
_from_bits: Any = intrinsic(_from_bits_typer)  # int64 bits → float64
fma: Any = intrinsic(_fma_typer)  # a·b + c, rounded once


# fdlibm constants (e_exp.c, e_log.c)
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_P1 = 1.66666666666666019037e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_TINY = 2.2250738585072014e-308  # smallest normal float64
_TWO54 = 18014398509481984.0
_MANTISSA = 0x000FFFFFFFFFFFFF
_SQRT2_MANTISSA = 0x6A09E667F3BCD  # mantissa bits of √2
_ONE_BITS = 0x3FF0000000000000  # exponent field of [1, 2)
_HALF_BITS = 0x3FE0000000000000  # exponent field of [0.5, 1)


@njit(cache=True, inline="always", error_model="numpy")
def _ln(x: float, k_offset: int) -> float:
    """``ln x − k_offset·ln 2`` for a positive *normal* ``x``: ``x = 2^k·m`` with ``m`` in
    [√½, √2); ``ln m`` from ``s = (m−1)/(m+1)`` by fdlibm's degree-14 polynomial in ``s``."""
    b = _bits(x)
    k = (b >> 52) - 1023 - k_offset
    mb = b & _MANTISSA
    big = mb >= _SQRT2_MANTISSA  # m ≥ √2: use m/2 and k + 1
    k = k + 1 if big else k
    f = _from_bits(mb | (_HALF_BITS if big else _ONE_BITS)) - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * fma(w, fma(w, _LG6, _LG4), _LG2)
    t2 = z * fma(w, fma(w, fma(w, _LG7, _LG5), _LG3), _LG1)
    r = t2 + t1
    hfsq = 0.5 * f * f
    dk = float(k)
    return dk * _LN2_HI - ((hfsq - fma(s, hfsq + r, dk * _LN2_LO)) - f)


@njit(cache=True, inline="always", error_model="numpy")
def vlog(x: float) -> float:
    """Natural logarithm of a positive finite ``x`` (subnormals included), < 1 ulp."""
    small = x < _TINY
    return _ln(x * _TWO54 if small else x, 54 if small else 0)


@njit(cache=True, inline="always", error_model="numpy")
def _exp_parts(x: float) -> tuple[float, int]:
    """``e^x = y·2^k`` for ``x`` in [−746, 710]: ``x = k·ln 2 + r`` with |r| ≤ ½ ln 2 and
    ``y = e^r`` by fdlibm's rational form."""
    kf = float(int(x * _INV_LN2 + (0.5 if x >= 0.0 else -0.5)))  # nearest integer
    hi = fma(-kf, _LN2_HI, x)  # exact: k·ln2_hi has trailing zero bits
    lo = kf * _LN2_LO
    r = hi - lo
    t = r * r
    c = fma(-t, fma(t, fma(t, fma(t, fma(t, _P5, _P4), _P3), _P2), _P1), r)
    return 1.0 - ((lo - (r * c) / (2.0 - c)) - hi), int(kf)


@njit(cache=True, inline="always", error_model="numpy")
def vexp(x: float) -> float:
    """``e^x`` for any finite ``x`` (0 below −745.2, inf above 709.8), < 1 ulp: scaled by
    ``2^k`` in two exact halves so that subnormal and overflowing results round once."""
    y, k = _exp_parts(-746.0 if x < -746.0 else (710.0 if x > 710.0 else x))  # (min/max: calls)
    k1 = k >> 1
    k2 = k - k1
    return (y * _from_bits((k1 + 1023) << 52)) * _from_bits((k2 + 1023) << 52)


@njit(cache=True, inline="always", error_model="numpy")
def _effect_v(z: float, hill: float, emax: float) -> float:
    """``Emax/(1 + z^−h)``, 0 for ``z ≤ 0``: :func:`vlog` and :func:`vexp` trimmed to the
    range that matters, so it costs less at every sample of a mean. Below ``z = 1e-300`` it
    takes 1e-300 (the effect there is under 1e-150 whatever the Hill exponent, 0.5 to 8);
    the exponent is held to ±708, where ``2^k`` is one normal number (beyond it the effect is
    ``Emax`` to rounding, or under 1e-307)."""
    x = -hill * _ln(z if z > 1e-300 else 1e-300, 0)
    y, k = _exp_parts(-708.0 if x < -708.0 else (708.0 if x > 708.0 else x))
    e = emax / (1.0 + y * _from_bits((k + 1023) << 52))
    return e if z > 0.0 else 0.0


# --------------------------------------------------------------------------- the kernel

@njit(cache=True, nogil=True, error_model="numpy")
def _effect(z: float, hill: float, emax: float) -> float:
    """``Emax·zʰ/(1+zʰ)`` with the C library (once per patient, at the end)."""
    if z <= 0.0:
        return 0.0
    return emax / (1.0 + math.exp(-hill * math.log(z)))


@njit(cache=True, nogil=True, error_model="numpy")
def _set_forcing(zss, g_csf, g_sys, bio, m, nb, u_csf, oral, direct):
    """The modal steady state of the new inputs: ``zss = g_csf·u_csf + g_sys·u_sys`` with
    ``g = −w/λ`` (the spinal input's already scaled by the patient's dose factor)."""
    u_sys = bio * oral / 24.0 + direct / 1000.0  # (the tail beyond the chunk: unused)
    for j in range(m):
        for i in range(nb):
            zss[j, i] = g_csf[j, i] * u_csf + g_sys[j, i] * u_sys[i]


@njit(cache=True, nogil=True, error_model="numpy")
def _move(z, zss, lam, m, nb, h, steps_h, steps_e, used):
    """Exact step of ``h`` hours; ``e^{λh}`` looked up among the chunk's recent lengths."""
    if h <= 0.0:
        return used
    slot = -1
    for c in range(used):
        if steps_h[c] == h:
            slot = c
            break
    if slot < 0:
        slot = used if used < _STEPS else (used % _STEPS)
        steps_h[slot] = h
        for j in range(m):
            for i in range(nb):
                steps_e[slot, j, i] = vexp(lam[j, i] * h)
        if used < _STEPS:
            used += 1
    e = steps_e[slot]
    for j in range(m):
        for i in range(nb):
            z[j, i] = zss[j, i] + (z[j, i] - zss[j, i]) * e[j, i]
    return used


@njit(cache=True, inline="always", error_model="numpy")
def _advance(z, zss, e, zb, m, nb, nbs):
    """``nbs`` sample intervals inside one input segment: ``z ← zss + (z − zss)·e^{λΔ}``
    each, every intermediate state kept in ``zb[b]`` (each mode loaded once for all)."""
    for j in range(m):
        for i in range(nb):
            x = z[j, i]
            ss = zss[j, i]
            f = e[j, i]
            for b in range(nbs):
                x = ss + (x - ss) * f
                zb[b, j, i] = x
            z[j, i] = x


@njit(cache=True, inline="always", error_model="numpy")
def _linear(wk, r, cr, zb, idx, count, nb, nbs):
    """Linear readout ``r`` of ``nbs`` samples: ``Σ_q cr[q]·zb[b, idx[q]]`` over
    ``q < count``, summed left to right, up to four terms a pass (each weight loaded once for
    the samples; the same rounding as one term at a time)."""
    q = 0
    while q < count:
        left = count - q
        j0 = idx[q]
        c0 = cr[q]
        if left >= 4:
            j1, j2, j3 = idx[q + 1], idx[q + 2], idx[q + 3]
            c1, c2, c3 = cr[q + 1], cr[q + 2], cr[q + 3]
            for i in range(nb):
                for b in range(nbs):
                    y = _u(_o(R_Y + N_LINEAR * b + r) + i)
                    acc = 0.0 if q == 0 else wk[y]
                    wk[y] = (acc + c0[i] * zb[b, j0, i] + c1[i] * zb[b, j1, i]
                             + c2[i] * zb[b, j2, i] + c3[i] * zb[b, j3, i])
            q += 4
        elif left >= 2:
            j1 = idx[q + 1]
            c1 = cr[q + 1]
            for i in range(nb):
                for b in range(nbs):
                    y = _u(_o(R_Y + N_LINEAR * b + r) + i)
                    acc = 0.0 if q == 0 else wk[y]
                    wk[y] = acc + c0[i] * zb[b, j0, i] + c1[i] * zb[b, j1, i]
            q += 2
        else:
            for i in range(nb):
                for b in range(nbs):
                    y = _u(_o(R_Y + N_LINEAR * b + r) + i)
                    acc = 0.0 if q == 0 else wk[y]
                    wk[y] = acc + c0[i] * zb[b, j0, i]
            q += 1


@njit(cache=True, nogil=True, error_model="numpy")
def cohort_kernel(lam, g_csf, g_sys, bio, z0, coef, ridx, rcnt,
                  seg_t, seg_csf, seg_oral, seg_direct, start_h, every_h, n_samples, final_h,
                  pr, need, want_mean, overdose_threshold, mins, maxs, sums, counts, z_final):
    """Summaries of every patient (see the module docstring), written in place.

    Arrays hold the patients last. ``lam``, ``g_csf``, ``g_sys``, ``z0``, ``z_final``:
    (m, n) for the ``m`` modes that move (``g = −w/λ``, the spinal one times the patient's
    dose factor); ``coef`` (5, m, n) and ``ridx`` (5, m), ``rcnt`` (5): linear readout ``r``
    is ``Σ_q coef[r, q]·z[ridx[r, q]]`` over ``q < rcnt[r]`` (``rcnt[L_CSF] = 0`` when the
    concentration is not summarised; ``rcnt[L_SYSTEMIC] = 0`` when no patient ever has
    baclofen in the blood: then overdose follows ``z`` alone). ``pr``: (19, n) readout
    parameters (``P_*`` rows). ``need`` (4 booleans, ``NEED_*``): the extremes to track beyond
    those of z and W. Outputs: ``mins``/``maxs``/``sums`` (10, n), ``counts`` (3, n): samples
    in early and severe withdrawal and with overdose signs. ``want_mean`` (10 booleans) names
    the means to sum (the others' sums stay 0; extremes not tracked come out meaningless).
    """
    m, n = lam.shape
    n_seg = seg_t.shape[0]
    systemic = rcnt[L_SYSTEMIC] > 0
    any_mean = False
    for r in range(10):
        any_mean = any_mean or want_mean[r]
    mean_effect = want_mean[EFFECT] or want_mean[MAS] or want_mean[PENN]
    wk = np.zeros(N_ROWS * _S)
    z = np.zeros((m, _S))
    zb = np.zeros((BLOCK, m, _S))  # the states of a block's samples
    zss = np.zeros((m, _S))
    e_step = np.zeros((m, _S))
    lam_c = np.zeros((m, _S))
    gc = np.zeros((m, _S))
    gs = np.zeros((m, _S))
    cc = np.zeros((N_LINEAR, m, _S))
    bio_c = np.zeros(_S)
    steps_h = np.empty(_STEPS)
    steps_e = np.empty((_STEPS, m, _S))
    for a in range(0, n, CHUNK):
        nb = min(CHUNK, n - a)
        used = 0
        # this chunk's constants, contiguous
        for j in range(m):
            for i in range(nb):
                z[j, i] = z0[j, a + i]
                lam_c[j, i] = lam[j, a + i]
                gc[j, i] = g_csf[j, a + i]
                gs[j, i] = g_sys[j, a + i]
                e_step[j, i] = vexp(lam[j, a + i] * every_h)
        for r in range(N_LINEAR):
            for q in range(rcnt[r]):
                for i in range(nb):
                    cc[r, q, i] = coef[r, q, a + i]
        for p in range(N_PARAMS):
            for i in range(nb):
                wk[_o(R_PC + p) + i] = pr[p, a + i]
        if systemic:  # overdose is evaluated: no count on z alone
            for i in range(nb):
                wk[_o(R_PC + P_Z_OVERDOSE) + i] = np.inf
        for i in range(nb):
            bio_c[i] = bio[a + i]
        for q in range(0, N_ACC, 2):
            for i in range(nb):
                wk[_o(R_ACC + q) + i] = np.inf
                wk[_o(R_ACC + q + 1) + i] = -np.inf
        for q in range(BLOCK * N_LINEAR):  # readouts over no mode stay 0
            for i in range(nb):
                wk[_o(R_Y + q) + i] = 0.0
        for q in range(3 + 10):  # counts and sums
            for i in range(nb):
                wk[_o(R_CNT + q) + i] = 0.0
        k = 0
        while k + 1 < n_seg and seg_t[k + 1] <= start_h:
            k += 1
        _set_forcing(zss, gc, gs, bio_c, m, nb, seg_csf[k], seg_oral[k], seg_direct[k])
        t = start_h
        s = 0
        while s < n_samples:
            ts = start_h + s * every_h
            last = start_h + (s + BLOCK - 1) * every_h
            if s > 0 and s + BLOCK <= n_samples and (k + 1 >= n_seg or seg_t[k + 1] > last):
                nbs = BLOCK  # no input edge up to the block's last sample
                _advance(z, zss, e_step, zb, m, nb, BLOCK)
            else:
                nbs = 1
                if s > 0 and (k + 1 >= n_seg or seg_t[k + 1] > ts):
                    _advance(z, zss, e_step, zb, m, nb, 1)
                else:
                    while s > 0 and k + 1 < n_seg and seg_t[k + 1] <= ts:
                        used = _move(z, zss, lam_c, m, nb, seg_t[k + 1] - t, steps_h, steps_e,
                                     used)
                        t = seg_t[k + 1]
                        k += 1
                        _set_forcing(zss, gc, gs, bio_c, m, nb, seg_csf[k], seg_oral[k],
                                     seg_direct[k])
                    if s > 0:
                        used = _move(z, zss, lam_c, m, nb, ts - t, steps_h, steps_e, used)
                    for j in range(m):
                        for i in range(nb):
                            zb[0, j, i] = z[j, i]
            t = start_h + (s + nbs - 1) * every_h
            # the linear readouts, each over the modes it depends on
            for r in range(N_LINEAR):
                if rcnt[r] > 0:
                    if nbs == BLOCK:
                        _linear(wk, r, cc[r], zb, ridx[r], rcnt[r], nb, BLOCK)
                    else:
                        _linear(wk, r, cc[r], zb, ridx[r], rcnt[r], nb, 1)
            n_loud = _sample(wk, nb, BLOCK) if nbs == BLOCK else _sample(wk, nb, 1)
            for b in range(nbs):
                if need[NEED_CSF]:
                    _extremes(wk, R_ACC + A_LO_CSF, R_Y + N_LINEAR * b + L_CSF, False, nb)
                if need[NEED_DRIVE]:
                    _extremes(wk, R_ACC + A_LO_DRIVE, R_Y + N_LINEAR * b + L_DRIVE, True, nb)
                if need[NEED_ADAPT]:
                    _extremes(wk, R_ACC + A_LO_T, R_Y + N_LINEAR * b + L_ADAPT, True, nb)
                if need[NEED_SYSTEMIC]:
                    _extremes(wk, R_ACC + A_LO_P, R_Y + N_LINEAR * b + L_SYSTEMIC, True, nb)
                if systemic:
                    _overdose(wk, b, overdose_threshold, nb)
                if mean_effect or n_loud > 0:  # the power function, once for both
                    _effect_row(wk, b, nb, want_mean[EFFECT])
                if n_loud > 0:  # samples with withdrawal: MAS and Penn evaluated
                    _withdrawal_mas(wk, b, nb)
                if any_mean:
                    _add_means(wk, b, want_mean, nb)
            if (s + nbs - 1) // 64 > (s - 1) // 64:  # decayed modes to zero (no subnormals)
                _flush(z, m, nb)
            s += nbs
        # to the final instant (the last sample, or a later input edge)
        while k + 1 < n_seg and seg_t[k + 1] <= final_h:
            used = _move(z, zss, lam_c, m, nb, seg_t[k + 1] - t, steps_h, steps_e, used)
            t = seg_t[k + 1]
            k += 1
            _set_forcing(zss, gc, gs, bio_c, m, nb, seg_csf[k], seg_oral[k], seg_direct[k])
        used = _move(z, zss, lam_c, m, nb, final_h - t, steps_h, steps_e, used)
        for j in range(m):
            for i in range(nb):
                z_final[j, a + i] = z[j, i]
        _finish(wk, pr, systemic, a, nb, mins, maxs, sums, counts)


@njit(cache=True, nogil=True, error_model="numpy")
def _flush(z, m, nb):
    """Modes that have decayed below 1e-250 to zero (the readouts move by < 1e-240)."""
    for j in range(m):
        for i in range(nb):
            z[j, i] = z[j, i] if abs(z[j, i]) >= _FLUSH else 0.0


@njit(cache=True, inline="always", error_model="numpy")
def _extremes(wk, lo_row, value_row, clip, nb):
    """Running min and max (rows ``lo_row``, ``lo_row + 1``) of a row, clipped at 0 if asked."""
    lo = _o(lo_row)
    hi = _o(lo_row + 1)
    v = _o(value_row)
    for i in range(nb):
        x = _max(wk[_u(v + i)], 0.0) if clip else wk[_u(v + i)]
        wk[lo + i] = _min(wk[lo + i], x)
        wk[hi + i] = _max(wk[hi + i], x)


@njit(cache=True, inline="always", error_model="numpy")
def _sample_one(wk, i, b, par, acc):
    """Sample ``b`` of patient ``i``: z and W from the linear readouts (stored for the later
    passes), and the accumulators ``acc`` moved on (extremes of z, W and of z without
    withdrawal; counts; patients in withdrawal)."""
    ec50, ec50_tol, ec50_sq, w_early, w_severe, z_over, w_loud = par
    lo_z, hi_z, lo_w, hi_w, lo_zq, hi_zq, early, severe, over, n_loud = acc
    yd = wk[_o(R_Y + N_LINEAR * b + L_DRIVE) + i]
    yt = wk[_o(R_Y + N_LINEAR * b + L_ADAPT) + i]
    drive = _max(yd, 0.0)
    adapt = _max(yt, 0.0)
    # withdrawal only while the drive is below the adaptation (raw values)
    wd = _max(wk[_o(R_Y + N_LINEAR * b + L_WITHDRAWAL) + i], 0.0) if yt > yd else 0.0
    zr = drive * (adapt + ec50) / (adapt * ec50_tol + ec50_sq)
    wk[_o(R_VZ + b) + i] = zr
    wk[_o(R_VW + b) + i] = wd
    loud = wd > w_loud
    # (MAS and Penn follow z where there is no withdrawal: the extremes of z there)
    return (_min(lo_z, zr), _max(hi_z, zr), _min(lo_w, wd), _max(hi_w, wd),
            lo_zq if loud else _min(lo_zq, zr), hi_zq if loud else _max(hi_zq, zr),
            early + (1.0 if wd >= w_early else 0.0), severe + (1.0 if wd >= w_severe else 0.0),
            over + (1.0 if zr >= z_over else 0.0), n_loud + (1 if loud else 0))


@njit(cache=True, inline="always", error_model="numpy")
def _sample(wk, nb, nbs):
    """``nbs`` (1 or :data:`BLOCK`) samples of the chunk through :func:`_sample_one`, the
    accumulators loaded once for them (written out in full: LLVM does not unroll a loop of
    this size, and a loop inside would keep the loop over the patients scalar); returns how
    many (patient, sample) pairs are in withdrawal."""
    n_loud = 0
    for i in range(nb):
        par = (wk[_o(R_PC + P_EC50) + i], wk[_o(R_PC + P_EC50_TOL) + i],
               wk[_o(R_PC + P_EC50_SQ) + i], wk[_o(R_PC + P_W_EARLY) + i],
               wk[_o(R_PC + P_W_SEVERE) + i],
               wk[_o(R_PC + P_Z_OVERDOSE) + i],  # +inf when overdose is evaluated
               wk[_o(R_PC + P_W_LOUD) + i])
        acc = (wk[_o(R_ACC + A_LO_Z) + i], wk[_o(R_ACC + A_HI_Z) + i],
               wk[_o(R_ACC + A_LO_W) + i], wk[_o(R_ACC + A_HI_W) + i],
               wk[_o(R_ACC + A_LO_ZQ) + i], wk[_o(R_ACC + A_HI_ZQ) + i],
               wk[_o(R_CNT) + i], wk[_o(R_CNT + 1) + i], wk[_o(R_CNT + 2) + i], 0)
        acc = _sample_one(wk, i, 0, par, acc)
        if nbs == BLOCK:
            acc = _sample_one(wk, i, 1, par, acc)
            acc = _sample_one(wk, i, 2, par, acc)
            acc = _sample_one(wk, i, 3, par, acc)
        lo_z, hi_z, lo_w, hi_w, lo_zq, hi_zq, early, severe, over, loud = acc
        wk[_o(R_ACC + A_LO_Z) + i] = lo_z
        wk[_o(R_ACC + A_HI_Z) + i] = hi_z
        wk[_o(R_ACC + A_LO_W) + i] = lo_w
        wk[_o(R_ACC + A_HI_W) + i] = hi_w
        wk[_o(R_ACC + A_LO_ZQ) + i] = lo_zq
        wk[_o(R_ACC + A_HI_ZQ) + i] = hi_zq
        wk[_o(R_CNT) + i] = early
        wk[_o(R_CNT + 1) + i] = severe
        wk[_o(R_CNT + 2) + i] = over
        n_loud += loud
    return n_loud


@njit(cache=True, nogil=True, error_model="numpy")
def _overdose(wk, b, threshold, nb):
    """Overdose of sample ``b`` evaluated (z and the systemic amount P): extremes and count."""
    vz = _o(R_VZ + b)
    ys = _o(R_Y + N_LINEAR * b + L_SYSTEMIC)
    for i in range(nb):
        zr = wk[_u(vz + i)]
        p = _max(wk[_u(ys + i)], 0.0)
        z4 = zr * zr
        z4 *= z4
        p4 = p * p
        p4 *= p4
        ov = 1.0 - (1.0 - z4 / (z4 + wk[_o(R_PC + P_OVER4) + i])) * (
            1.0 - p4 / (p4 + wk[_o(R_PC + P_SYS4) + i]))
        wk[_o(R_ACC + A_LO_OV) + i] = _min(wk[_o(R_ACC + A_LO_OV) + i], ov)
        wk[_o(R_ACC + A_HI_OV) + i] = _max(wk[_o(R_ACC + A_HI_OV) + i], ov)
        wk[_o(R_CNT + 2) + i] += 1.0 if ov >= threshold else 0.0


@njit(cache=True, inline="always", error_model="numpy")
def _effect_at(wk, vz, i):
    """The effect of patient ``i`` from row ``vz``."""
    return _effect_v(wk[_u(vz + i)], wk[_o(R_PC + P_HILL) + i], wk[_o(R_PC + P_EMAX) + i])


@njit(cache=True, nogil=True, error_model="numpy")
def _effect_row(wk, b, nb, add):
    """The effect of every patient at sample ``b`` (the vectorisable ``exp``/``log``), kept
    for MAS and Penn and added to its sum if ``add``."""
    vz = _o(R_VZ + b)
    eff = _o(R_EFF + b)
    if add:
        for i in range(nb):
            e = _effect_at(wk, vz, i)
            wk[_u(eff + i)] = e
            wk[_o(R_SUM + EFFECT) + i] += e
    else:
        for i in range(nb):
            wk[_u(eff + i)] = _effect_at(wk, vz, i)


@njit(cache=True, inline="always", error_model="numpy")
def _mas_penn(wk, b, i):
    """MAS and Penn of patient ``i`` at sample ``b``, from the effect row and W."""
    wd = wk[_u(_o(R_VW + b) + i)]
    w2 = wd * wd
    wscore = w2 / (w2 + wk[_o(R_PC + P_WD2) + i])
    rest = 1.0 - wk[_u(_o(R_EFF + b) + i)]
    mas = _min(wk[_o(R_PC + P_BASE_MAS) + i] * rest + wk[_o(R_PC + P_REST_MAS) + i] * wscore,
               4.0)
    penn = _min(wk[_o(R_PC + P_BASE_PENN) + i] * rest
                + wk[_o(R_PC + P_REST_PENN) + i] * wscore, 4.0)
    return mas, penn


@njit(cache=True, nogil=True, error_model="numpy")
def _withdrawal_mas(wk, b, nb):
    """MAS and Penn extremes of the patients in withdrawal at sample ``b``."""
    for i in range(nb):
        mas, penn = _mas_penn(wk, b, i)
        loud = wk[_u(_o(R_VW + b) + i)] > wk[_o(R_PC + P_W_LOUD) + i]
        lo = wk[_o(R_ACC + A_LO_MAS) + i]
        hi = wk[_o(R_ACC + A_HI_MAS) + i]
        wk[_o(R_ACC + A_LO_MAS) + i] = _min(lo, mas) if loud else lo
        wk[_o(R_ACC + A_HI_MAS) + i] = _max(hi, mas) if loud else hi
        lo = wk[_o(R_ACC + A_LO_PENN) + i]
        hi = wk[_o(R_ACC + A_HI_PENN) + i]
        wk[_o(R_ACC + A_LO_PENN) + i] = _min(lo, penn) if loud else lo
        wk[_o(R_ACC + A_HI_PENN) + i] = _max(hi, penn) if loud else hi


@njit(cache=True, nogil=True, error_model="numpy")
def _add_means(wk, b, want, nb):
    """Add sample ``b``'s readouts to the sums of the means asked for (one pass each)."""
    y = _o(R_Y + N_LINEAR * b)
    vz = _o(R_VZ + b)
    vw = _o(R_VW + b)
    if want[CSF]:
        for i in range(nb):
            wk[_o(R_SUM + CSF) + i] += wk[_u(y + _o(L_CSF) + i)]
    if want[DRIVE]:
        for i in range(nb):
            wk[_o(R_SUM + DRIVE) + i] += _max(wk[_u(y + _o(L_DRIVE) + i)], 0.0)
    if want[EC50A]:
        for i in range(nb):
            adapt = _max(wk[_u(y + _o(L_ADAPT) + i)], 0.0)
            ec50 = wk[_o(R_PC + P_EC50) + i]
            wk[_o(R_SUM + EC50A) + i] += ec50 * (
                1.0 + wk[_o(R_PC + P_TOL) + i] * adapt / (adapt + ec50))
    if want[MAS] or want[PENN]:
        for i in range(nb):
            mas, penn = _mas_penn(wk, b, i)
            wk[_o(R_SUM + MAS) + i] += mas
            wk[_o(R_SUM + PENN) + i] += penn
    if want[SIDE]:
        for i in range(nb):
            zr = wk[_u(vz + i)]
            z4 = zr * zr
            z4 *= z4
            wk[_o(R_SUM + SIDE) + i] += z4 / (z4 + wk[_o(R_PC + P_SIDE4) + i])
    if want[WITHDRAWAL]:
        for i in range(nb):
            wd = wk[_u(vw + i)]
            w2 = wd * wd
            wk[_o(R_SUM + WITHDRAWAL) + i] += w2 / (w2 + wk[_o(R_PC + P_WD2) + i])
    if want[OVERDOSE]:
        for i in range(nb):
            zr = wk[_u(vz + i)]
            p = _max(wk[_u(y + _o(L_SYSTEMIC) + i)], 0.0)
            z4 = zr * zr
            z4 *= z4
            p4 = p * p
            p4 *= p4
            wk[_o(R_SUM + OVERDOSE) + i] += 1.0 - (
                1.0 - z4 / (z4 + wk[_o(R_PC + P_OVER4) + i])) * (
                1.0 - p4 / (p4 + wk[_o(R_PC + P_SYS4) + i]))
    if want[SEDATION]:
        for i in range(nb):
            p = _max(wk[_u(y + _o(L_SYSTEMIC) + i)], 0.0)
            p2 = p * p
            wk[_o(R_SUM + SEDATION) + i] += p2 / (p2 + wk[_o(R_PC + P_SED2) + i])


@njit(cache=True, nogil=True, error_model="numpy")
def _finish(wk, pr, systemic, a, nb, mins, maxs, sums, counts):
    """The chunk's summaries: readouts of the extreme arguments, sums and counts."""
    for i in range(nb):
        g = a + i
        ec50 = pr[P_EC50, g]
        tol = pr[P_TOL, g]
        hill = pr[P_HILL, g]
        emax = pr[P_EMAX, g]
        mins[CSF, g] = wk[_o(R_ACC + A_LO_CSF) + i]
        maxs[CSF, g] = wk[_o(R_ACC + A_HI_CSF) + i]
        mins[DRIVE, g] = wk[_o(R_ACC + A_LO_DRIVE) + i]
        maxs[DRIVE, g] = wk[_o(R_ACC + A_HI_DRIVE) + i]
        lo_t = wk[_o(R_ACC + A_LO_T) + i]
        hi_t = wk[_o(R_ACC + A_HI_T) + i]
        mins[EC50A, g] = ec50 * (1.0 + tol * lo_t / (lo_t + ec50))
        maxs[EC50A, g] = ec50 * (1.0 + tol * hi_t / (hi_t + ec50))
        lo_z = wk[_o(R_ACC + A_LO_Z) + i]
        hi_z = wk[_o(R_ACC + A_HI_Z) + i]
        mins[EFFECT, g] = _effect(lo_z, hill, emax)
        maxs[EFFECT, g] = _effect(hi_z, hill, emax)
        z4 = lo_z * lo_z
        z4 *= z4
        mins[SIDE, g] = z4 / (z4 + pr[P_SIDE4, g])
        z4 = hi_z * hi_z
        z4 *= z4
        maxs[SIDE, g] = z4 / (z4 + pr[P_SIDE4, g])
        w2 = wk[_o(R_ACC + A_LO_W) + i] ** 2
        mins[WITHDRAWAL, g] = w2 / (w2 + pr[P_WD2, g])
        w2 = wk[_o(R_ACC + A_HI_W) + i] ** 2
        maxs[WITHDRAWAL, g] = w2 / (w2 + pr[P_WD2, g])
        p2 = wk[_o(R_ACC + A_LO_P) + i] ** 2
        mins[SEDATION, g] = p2 / (p2 + pr[P_SED2, g])
        p2 = wk[_o(R_ACC + A_HI_P) + i] ** 2
        maxs[SEDATION, g] = p2 / (p2 + pr[P_SED2, g])
        if systemic:
            mins[OVERDOSE, g] = wk[_o(R_ACC + A_LO_OV) + i]
            maxs[OVERDOSE, g] = wk[_o(R_ACC + A_HI_OV) + i]
        else:  # the same formula as the readout, at the extremes of z (P = 0)
            z4 = lo_z * lo_z
            z4 *= z4
            mins[OVERDOSE, g] = 1.0 - (1.0 - z4 / (z4 + pr[P_OVER4, g]))
            z4 = hi_z * hi_z
            z4 *= z4
            maxs[OVERDOSE, g] = 1.0 - (1.0 - z4 / (z4 + pr[P_OVER4, g]))
        lo_mas = wk[_o(R_ACC + A_LO_MAS) + i]
        hi_mas = wk[_o(R_ACC + A_HI_MAS) + i]
        lo_penn = wk[_o(R_ACC + A_LO_PENN) + i]
        hi_penn = wk[_o(R_ACC + A_HI_PENN) + i]
        if wk[_o(R_ACC + A_HI_ZQ) + i] >= wk[_o(R_ACC + A_LO_ZQ) + i]:  # without withdrawal: falls as z rises
            e_lo = _effect(wk[_o(R_ACC + A_LO_ZQ) + i], hill, emax)
            e_hi = _effect(wk[_o(R_ACC + A_HI_ZQ) + i], hill, emax)
            hi_mas = max(hi_mas, min(pr[P_BASE_MAS, g] * (1.0 - e_lo), 4.0))
            lo_mas = min(lo_mas, min(pr[P_BASE_MAS, g] * (1.0 - e_hi), 4.0))
            hi_penn = max(hi_penn, min(pr[P_BASE_PENN, g] * (1.0 - e_lo), 4.0))
            lo_penn = min(lo_penn, min(pr[P_BASE_PENN, g] * (1.0 - e_hi), 4.0))
        mins[MAS, g] = lo_mas
        maxs[MAS, g] = hi_mas
        mins[PENN, g] = lo_penn
        maxs[PENN, g] = hi_penn
        for q in range(10):
            sums[q, g] = wk[_o(R_SUM + q) + i]
        for q in range(3):
            counts[q, g] = int(wk[_o(R_CNT + q) + i])
