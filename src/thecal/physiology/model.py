"""The intrathecal baclofen PK/PD model: linear states, nonlinear readouts.

Between two events the model is a linear time-invariant system ``dx/dt = A x + B u`` with
piecewise-constant input ``u = (csf_delivery_mcg_per_h, systemic_mg_per_h)``, so the
simulator propagates it exactly (``thecal.sim.engine``). Every nonlinearity (Emax curve,
tolerance, scores, symptoms) is a *readout* applied to the states at sample times.

States (index, name, unit) — model v2:

0. ``csf_conc_ng_per_ml`` lumbar spinal-fluid concentration (the bulk); input/volume,
   first-order clearance. Half-life ≈ 5 h (PENN87) and volume ≈ 150 mL (the adult
   spinal-fluid space, ASSUMED) give clearance V·ln2/t½ ≈ 20.8 mL/h, inside the measured
   13–80 mL/h (EJCP): the three agree by construction (``csf_volume_ml``).
1. ``tip_excess_ng_per_ml`` the excess of the level near the catheter tip over the bulk:
   delivered drug first spreads in a small space around the tip (``tip_volume_ml``) and
   disperses from there at ``tip_dispersion_rate_per_h`` (baclofen stays near the tip,
   HEETLA; a steep gradient along the spinal fluid, KROIN93). It is a concentration
   difference, not a second store of drug: the bulk receives the whole dose and alone
   clears it. The excess decays faster than the bulk, which lets a bolus peak at ≈ 4 h and
   still wear off in 4–8 h (CLUSTER) while a dose step is half-way in 6–8 h (M-UK-QA).
2. ``transit_ng_per_ml`` a transit step from the local level near the tip (bulk + excess)
   towards the cord.
3. ``effect_fast_ng_per_ml`` fast effect site, fed by the transit step.
4. ``effect_slow_ng_per_ml`` slow effect site, fed by the transit step too; with weight
   1 − f it carries a dose step to its maximum in 1–2 days (M-UK-QA; CLUSTER: a continuous
   infusion's maximum at 24–48 h).
   The *drive* is ``f·(a·transit + (1−a)·fast) + (1−f)·slow + potency·systemic``: ``a``
   (``effect_transit_share``) reads a little of the transit step itself, for an onset of
   0.5–1 h (CLUSTER).
5. ``systemic_mg`` baclofen in the body from oral doses (or a pocket fill), half-life ≈ 4 h.
6. ``adaptation_ng_per_ml`` slow tracker of the drive over months: tolerance. The effective
   EC50 rises with it (saturating), so the dose needed rises over the first year (SPAIN2000).
7. ``deprivation_ng_per_ml`` low-pass of the deficit ``adaptation − drive`` (a day or two).
8. ``readaptation_ng_per_ml`` low-pass of the deprivation (days): the body re-adapting to
   the lower level, so an untreated withdrawal passes its worst within 1–3 days (COFFEY02).

The withdrawal index is one linear readout, ``W = δ + g·D − (1+g)·R`` with the deficit
``δ = T − drive``: it rises with the lost effect itself within hours of a stop (the early
signs: return of spasticity, itching, low blood pressure), keeps rising as the deprivation
builds over the first day or two (severe signs: fever, changed mental status, rigidity) and
falls as re-adaptation catches up. It scales with what the body had adapted to, so the risk
of severe signs rises with the dose that stopped (STET15: withdrawal at 90–420 mcg/day).

The matrix ``A`` is lower triangular: its eigenvalues are minus the nine rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from thecal.physiology.parameters import FloatArray, ParameterArrays, Parameters

N_STATES: Final = 9
N_INPUTS: Final = 2
STATE_NAMES: Final = (
    "csf_conc_ng_per_ml",
    "tip_excess_ng_per_ml",
    "transit_ng_per_ml",
    "effect_fast_ng_per_ml",
    "effect_slow_ng_per_ml",
    "systemic_mg",
    "adaptation_ng_per_ml",
    "deprivation_ng_per_ml",
    "readaptation_ng_per_ml",
)
INPUT_NAMES: Final = ("csf_delivery_mcg_per_h", "systemic_mg_per_h")
CSF, TIP, TRANSIT, FAST, SLOW, SYSTEMIC, ADAPT, DEPRIV, READAPT = range(N_STATES)

_LN2: Final = math.log(2.0)


def _as_arrays(params: Parameters | ParameterArrays) -> ParameterArrays:
    return params.to_arrays() if isinstance(params, Parameters) else params


def rates_per_h(params: Parameters | ParameterArrays) -> FloatArray:
    """The nine first-order rates (1/h), shape ``(n, 9)``; the eigenvalues of A are minus these."""
    p = _as_arrays(params)
    return np.stack([
        _LN2 / p.csf_half_life_h,
        p.tip_dispersion_rate_per_h,
        p.transit_rate_per_h,
        p.effect_fast_rate_per_h,
        p.effect_slow_rate_per_h,
        _LN2 / p.oral_half_life_h,
        1.0 / p.tolerance_time_h,
        1.0 / p.deprivation_time_h,
        1.0 / p.readaptation_time_h,
    ], axis=-1)


def drive_weights(params: Parameters | ParameterArrays) -> FloatArray:
    """Row vectors ``c`` with ``drive = c · x``, shape ``(n, 9)``."""
    p = _as_arrays(params)
    c = np.zeros((p.n, N_STATES))
    c[:, TRANSIT] = p.effect_fast_fraction * p.effect_transit_share
    c[:, FAST] = p.effect_fast_fraction * (1.0 - p.effect_transit_share)
    c[:, SLOW] = 1.0 - p.effect_fast_fraction
    c[:, SYSTEMIC] = p.oral_spinal_potency_ng_per_ml_per_mg
    return c


def system_matrices(params: Parameters | ParameterArrays) -> tuple[FloatArray, FloatArray]:
    """``A`` of shape ``(n, 9, 9)`` and ``B`` of shape ``(n, 9, 2)`` for ``dx/dt = A x + B u``.

    ``u[0]`` is baclofen reaching the spinal fluid in mcg/h; ``u[1]`` is baclofen reaching the
    blood in mg/h (already multiplied by bioavailability where it comes from an oral dose).
    """
    p = _as_arrays(params)
    n = p.n
    k = rates_per_h(p)
    c = drive_weights(p)
    a = np.zeros((n, N_STATES, N_STATES))
    b = np.zeros((n, N_STATES, N_INPUTS))
    a[:, CSF, CSF] = -k[:, CSF]
    b[:, CSF, 0] = 1000.0 / p.csf_volume_ml  # mcg/h into mL → ng/mL/h
    # the excess near the tip: the same dose in the small tip space, dispersing
    b[:, TIP, 0] = 1000.0 / p.tip_volume_ml
    a[:, TIP, TIP] = -k[:, TIP]
    # transit from the local level near the tip, bulk + excess
    a[:, TRANSIT, CSF] = k[:, TRANSIT]
    a[:, TRANSIT, TIP] = k[:, TRANSIT]
    a[:, TRANSIT, TRANSIT] = -k[:, TRANSIT]
    a[:, FAST, TRANSIT] = k[:, FAST]
    a[:, FAST, FAST] = -k[:, FAST]
    a[:, SLOW, TRANSIT] = k[:, SLOW]
    a[:, SLOW, SLOW] = -k[:, SLOW]
    a[:, SYSTEMIC, SYSTEMIC] = -k[:, SYSTEMIC]
    b[:, SYSTEMIC, 1] = 1.0
    # adaptation: dT/dt = (drive − T)/τ_tol
    a[:, ADAPT, :] = c * k[:, ADAPT, None]
    a[:, ADAPT, ADAPT] = -k[:, ADAPT]
    # deprivation: dD/dt = ((T − drive) − D)/τ_dep
    a[:, DEPRIV, :] = -c * k[:, DEPRIV, None]
    a[:, DEPRIV, ADAPT] = k[:, DEPRIV]
    a[:, DEPRIV, DEPRIV] = -k[:, DEPRIV]
    # re-adaptation: dR/dt = (D − R)/τ_re
    a[:, READAPT, DEPRIV] = k[:, READAPT]
    a[:, READAPT, READAPT] = -k[:, READAPT]
    return a, b


def withdrawal_weights(params: Parameters | ParameterArrays) -> FloatArray:
    """Row vectors ``w`` with the withdrawal index ``W = w · x = (T − drive) + g·D − (1+g)·R``,
    shape ``(n, 9)`` (ng/mL)."""
    p = _as_arrays(params)
    w = -drive_weights(p)
    g = p.deprivation_weight
    w[:, ADAPT] += 1.0
    w[:, DEPRIV] += g
    w[:, READAPT] -= 1.0 + g
    return w


def systemic_input_mg_per_h(params: Parameters | ParameterArrays,
                            oral_mg_per_day: float | FloatArray,
                            systemic_mcg_per_h: float | FloatArray = 0.0) -> FloatArray:
    """Baclofen entering the blood (mg/h) from an oral daily dose and a direct systemic input."""
    p = _as_arrays(params)
    return np.asarray(p.oral_bioavailability * np.asarray(oral_mg_per_day) / 24.0
                      + np.asarray(systemic_mcg_per_h) / 1000.0, dtype=float)


def steady_state(params: Parameters, csf_delivery_mcg_per_h: float,
                 systemic_mg_per_h: float = 0.0) -> FloatArray:
    """The state after a very long constant input (adapted patient, no deprivation)."""
    a, b = system_matrices(params)
    u = np.array([csf_delivery_mcg_per_h, systemic_mg_per_h])
    return np.asarray(-np.linalg.solve(a[0], b[0] @ u), dtype=float)


# --------------------------------------------------------------------------- readouts

MAS_CATEGORIES: Final = ("0", "1", "1+", "2", "3", "4")
_MAS_CUTS: Final = np.array([0.5, 1.25, 1.75, 2.5, 3.5])
#: Hill exponent of the side-effect, overdose and withdrawal curves (shape only; ASSUMED).
SCORE_HILL: Final = 4.0
WITHDRAWAL_HILL: Final = 2.0


def mas_category(mas: float | npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Continuous Modified Ashworth 0–4 → grade ("0", "1", "1+", "2", "3", "4"); 1+ ≈ 1.5."""
    idx = np.searchsorted(_MAS_CUTS, np.asarray(mas, dtype=float), side="right")
    return np.asarray(MAS_CATEGORIES)[idx]


@dataclass(frozen=True)
class Readouts:
    """What the patient shows at each sample (arrays of the same shape)."""

    csf_conc_ng_per_ml: FloatArray
    drive_ng_per_ml: FloatArray
    ec50_adapted_ng_per_ml: FloatArray
    effect: FloatArray  # 0–1 fraction of spasticity removed
    mas: FloatArray  # continuous Modified Ashworth 0–4
    penn_frequency: FloatArray  # continuous Penn spasm frequency 0–4
    side_effect_score: FloatArray  # 0–1
    withdrawal_score: FloatArray  # 0–1, Hill of the withdrawal index W
    overdose_score: FloatArray  # 0–1
    sedation_score: FloatArray  # 0–1, systemic (oral / pocket fill)

    @property
    def mas_category(self) -> npt.NDArray[np.str_]:
        return mas_category(self.mas)


def _hill(x: FloatArray, half: FloatArray | float, h: FloatArray | float) -> FloatArray:
    xh = np.power(np.maximum(x, 0.0) / half, h)
    return np.asarray(xh / (1.0 + xh), dtype=float)


def readouts(params: Parameters | ParameterArrays, states: FloatArray) -> Readouts:
    """Nonlinear readouts of states.

    ``states`` has shape ``(..., 9)``; with :class:`Parameters` any leading shape works, with
    :class:`ParameterArrays` of ``n`` patients the leading axis must be ``n``
    (``(n, 9)`` or ``(n, samples, 9)``).
    """
    x = np.asarray(states, dtype=float)
    p = _as_arrays(params)
    extra = x.ndim - 2  # sample axes after the patient axis

    def col(arr: FloatArray) -> FloatArray:
        if isinstance(params, Parameters):
            return np.asarray(arr[0], dtype=float)
        return arr.reshape(arr.shape + (1,) * max(extra, 0))

    c = drive_weights(p)
    drive_raw = np.asarray(x @ c[0] if isinstance(params, Parameters)
                           else np.einsum("n...j,nj->n...", x, c), dtype=float)
    drive = np.maximum(drive_raw, 0.0)
    ec50 = col(p.ec50_ng_per_ml)
    adapt = np.maximum(x[..., ADAPT], 0.0)
    ec50_adapted = ec50 * (1.0 + col(p.tolerance_max) * adapt / (adapt + ec50))
    z = drive / ec50_adapted
    effect = col(p.emax) * _hill(z, 1.0, col(p.hill))
    g = col(p.deprivation_weight)
    deficit = x[..., ADAPT] - drive_raw
    index = deficit + g * x[..., DEPRIV] - (1.0 + g) * x[..., READAPT]
    # no withdrawal while the drive is at or above what the body has adapted to (restoring
    # delivery ends it; a rising adaptation alone never reads as withdrawal)
    index = np.where(deficit > 0.0, np.maximum(index, 0.0), 0.0)
    withdrawal = _hill(index / ec50, col(p.withdrawal_half_ratio), WITHDRAWAL_HILL)
    base_mas = col(p.baseline_mas)
    base_penn = col(p.baseline_penn)
    # Withdrawal brings spasticity back and beyond baseline (rebound, rigidity).
    mas = np.clip(base_mas * (1.0 - effect) + (4.0 - base_mas) * withdrawal, 0.0, 4.0)
    penn = np.clip(base_penn * (1.0 - effect) + (4.0 - base_penn) * withdrawal, 0.0, 4.0)
    side = _hill(z, col(p.side_effect_ratio), SCORE_HILL)
    sedation = _hill(np.maximum(x[..., SYSTEMIC], 0.0), col(p.systemic_sedation_mg), 2.0)
    overdose_spinal = _hill(z, col(p.overdose_ratio), SCORE_HILL)
    overdose_systemic = _hill(np.maximum(x[..., SYSTEMIC], 0.0),
                              4.0 * col(p.systemic_sedation_mg), SCORE_HILL)
    overdose = 1.0 - (1.0 - overdose_spinal) * (1.0 - overdose_systemic)
    return Readouts(
        csf_conc_ng_per_ml=np.asarray(x[..., CSF], dtype=float),
        drive_ng_per_ml=np.asarray(drive, dtype=float),
        ec50_adapted_ng_per_ml=np.asarray(ec50_adapted * np.ones_like(drive), dtype=float),
        effect=np.asarray(effect, dtype=float),
        mas=np.asarray(mas, dtype=float),
        penn_frequency=np.asarray(penn, dtype=float),
        side_effect_score=np.asarray(side, dtype=float),
        withdrawal_score=np.asarray(withdrawal, dtype=float),
        overdose_score=np.asarray(overdose, dtype=float),
        sedation_score=np.asarray(sedation, dtype=float),
    )


# --------------------------------------------------------------------------- symptoms

#: (score, threshold, symptom code) in the order the signs appear as the score rises.
WITHDRAWAL_SIGNS: Final = (
    ("withdrawal", 0.10, "increased-spasticity"),
    ("withdrawal", 0.20, "itching"),
    ("withdrawal", 0.25, "tingling"),
    ("withdrawal", 0.30, "low-blood-pressure"),
    ("withdrawal", 0.35, "lightheadedness"),
    ("withdrawal", 0.60, "high-fever"),
    ("withdrawal", 0.62, "changed-mental-status"),
    ("withdrawal", 0.64, "muscle-rigidity"),
)
EARLY_WITHDRAWAL_CODES: Final = ("increased-spasticity", "itching", "tingling",
                                 "low-blood-pressure", "lightheadedness")
SEVERE_WITHDRAWAL_CODES: Final = ("high-fever", "changed-mental-status", "muscle-rigidity")
SEVERE_WITHDRAWAL_SCORE: Final = 0.60
EARLY_WITHDRAWAL_SCORE: Final = 0.20
SIDE_EFFECT_SIGNS: Final = (
    ("side", 0.30, "loose-muscles"),
    ("side", 0.40, "sleepiness"),
    ("side", 0.50, "dizziness"),
    ("side", 0.60, "upset-stomach"),
    ("side", 0.70, "headache"),
    ("sedation", 0.30, "sleepiness"),
    ("sedation", 0.50, "dizziness"),
)
OVERDOSE_SIGNS: Final = (
    ("overdose", 0.15, "drowsiness"),
    ("overdose", 0.25, "dizziness"),
    ("overdose", 0.25, "lightheadedness"),
    ("overdose", 0.40, "low-body-temperature"),
    ("overdose", 0.50, "breathing-difficulty"),
    ("overdose", 0.65, "seizures"),
    ("overdose", 0.80, "loss-of-consciousness"),
    ("overdose", 0.90, "coma"),
)


def symptom_codes(side_effect_score: float, withdrawal_score: float, overdose_score: float,
                  sedation_score: float = 0.0) -> tuple[str, ...]:
    """The DESIGN.md symptom codes a patient with these scores shows, without duplicates.

    Withdrawal signs first (early then severe), then side effects, then overdose signs.
    """
    scores = {"withdrawal": withdrawal_score, "side": side_effect_score,
              "overdose": overdose_score, "sedation": sedation_score}
    out: list[str] = []
    for table in (WITHDRAWAL_SIGNS, SIDE_EFFECT_SIGNS, OVERDOSE_SIGNS):
        for score, threshold, code in table:
            if scores[score] >= threshold and code not in out:
                out.append(code)
    return tuple(out)


def symptoms_at(r: Readouts, i: int | tuple[int, ...]) -> tuple[str, ...]:
    """Symptom codes of sample ``i`` of a :class:`Readouts`."""
    return symptom_codes(float(r.side_effect_score[i]), float(r.withdrawal_score[i]),
                         float(r.overdose_score[i]), float(r.sedation_score[i]))


# --------------------------------------------------------------------------- analytic doses

def effect_ratio_for(params: Parameters | ParameterArrays, target_effect: float) -> FloatArray:
    """Drive / adapted EC50 that gives ``target_effect`` (inf where emax cannot reach it)."""
    p = _as_arrays(params)
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = target_effect / (p.emax - target_effect)
        r = np.where(odds > 0, np.power(np.abs(odds), 1.0 / p.hill), np.inf)
    return np.asarray(r, dtype=float)


def drive_per_delivery(params: Parameters | ParameterArrays) -> FloatArray:
    """Steady drive (ng/mL) per mcg/h delivered, without oral baclofen.

    Both sites settle at the local level near the tip, bulk + excess:
    ``1000·(1/CL + 1/(V_tip·k_disp))`` — the bulk ``u/CL`` and the excess ``u/(V_tip·k_disp)``.
    """
    p = _as_arrays(params)
    return np.asarray(1000.0 / p.csf_clearance_ml_per_h
                      + 1000.0 / (p.tip_volume_ml * p.tip_dispersion_rate_per_h), dtype=float)


def daily_dose_for_drive(params: Parameters | ParameterArrays,
                         drive_ng_per_ml: FloatArray | float) -> FloatArray:
    """Continuous daily dose (mcg/day) giving a steady drive: 24 · drive / drive_per_delivery."""
    return np.asarray(24.0 * np.asarray(drive_ng_per_ml) / drive_per_delivery(params),
                      dtype=float)


def naive_dose_mcg_per_day(params: Parameters | ParameterArrays,
                           target_effect: float) -> FloatArray:
    """Continuous dose reaching ``target_effect`` before any adaptation (first days)."""
    p = _as_arrays(params)
    return daily_dose_for_drive(p, effect_ratio_for(p, target_effect) * p.ec50_ng_per_ml)


def adapted_dose_mcg_per_day(params: Parameters | ParameterArrays,
                             target_effect: float) -> FloatArray:
    """Continuous dose reaching ``target_effect`` once adaptation has settled (maintenance).

    At steady state the drive and the adaptation both equal ``c·EC50``:
    ``c = r·(1 + m·c/(c+1))`` → ``c² + (1 − r − r·m)c − r = 0``.
    """
    p = _as_arrays(params)
    r = effect_ratio_for(p, target_effect)
    m = p.tolerance_max
    with np.errstate(invalid="ignore"):
        bq = r + r * m - 1.0
        c = 0.5 * (bq + np.sqrt(bq * bq + 4.0 * r))
    c = np.where(np.isfinite(r), c, np.inf)
    return daily_dose_for_drive(p, c * p.ec50_ng_per_ml)
