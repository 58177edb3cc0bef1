"""Calibration experiments: the published observations the virtual patient is fitted to.

Each function runs one experiment on the model and returns the figure that the literature
reports, so tests (tests/sim/test_calibration.py) and docs can compare the two:

* :func:`step_response_times` — after a dose change at steady state, hours to half and to
  95 % of the change in effect (M-UK-QA: effect in 6–8 h, maximum in 1–2 days).
* :func:`bolus_profile` — onset, peak and duration of a bolus (CLUSTER, NSN: onset 0.5–1 h,
  peak ≈ 4 h, lasts 4–8 h).
* :func:`screening_responders` — 50/75/100 mcg screening, ≥ 2-point fall in Ashworth or spasm
  score (PENN92; LIO-SCR 97 % spinal, 94 % cerebral).
* :func:`withdrawal_onset` — hours from stopping delivery to early and to severe signs
  (COFFEY02: evolves over 1–3 days).
* :func:`titrate` — daily titration to a target effect over a year (B-DOSE steps; SPAIN2000
  dose rises over the first year).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thecal.physiology.model import (
    EARLY_WITHDRAWAL_SCORE,
    SEVERE_WITHDRAWAL_SCORE,
    readouts,
    steady_state,
)
from thecal.physiology.parameters import FloatArray, ParameterArrays, Parameters
from thecal.schedule import Schedule
from thecal.sim.engine import simulate
from thecal.sim.many import Cohort, simulate_many

BOLUS_MINUTES = 1.0  # screening bolus by barbotage over ≥ 1 min (DRUGS-DOSE)


@dataclass(frozen=True)
class StepTimes:
    half_h: float
    ninety_five_h: float


def step_response_times(params: Parameters, daily_dose_mcg: float = 400.0,
                        step_factor: float = 1.2, resolution_h: float = 0.05) -> StepTimes:
    """Hours for the effect to cover 50 % and 95 % of its change after a dose step.

    The patient is adapted to ``daily_dose_mcg``; at t = 0 the dose is multiplied by
    ``step_factor``. Adaptation (months) barely moves in two days, as in the clinic.
    """
    rate = daily_dose_mcg / 24.0
    x0 = steady_state(params, rate)
    horizon = 96.0
    t = np.arange(0.0, horizon + resolution_h, resolution_h)
    sched = Schedule(np.array([0.0, horizon + 1.0]), np.array([rate * step_factor]))
    trace = simulate(params, sched, t, start_h=0.0, x0=x0)
    effect = readouts(params, trace.states).effect
    # the change that the step makes at the end of the horizon (adaptation drift excluded)
    change = effect - effect[0]
    final = change[-1]
    frac = change / final
    return StepTimes(half_h=float(t[np.argmax(frac >= 0.5)]),
                     ninety_five_h=float(t[np.argmax(frac >= 0.95)]))


@dataclass(frozen=True)
class BolusProfile:
    onset_h: float  # effect first reaches 10 % of its peak
    peak_h: float
    duration_h: float  # time with effect ≥ half its peak
    peak_effect: float


def bolus_profile(params: Parameters, dose_mcg: float = 50.0,
                  resolution_h: float = 0.05) -> BolusProfile:
    """Effect over time after a bolus given to a drug-naive patient."""
    minutes = BOLUS_MINUTES / 60.0
    sched = Schedule(np.array([0.0, minutes]), np.array([dose_mcg / minutes]))
    t = np.arange(0.0, 48.0, resolution_h)
    effect = readouts(params, simulate(params, sched, t, start_h=0.0).states).effect
    peak = float(effect.max())
    above = t[effect >= 0.5 * peak]
    return BolusProfile(onset_h=float(t[np.argmax(effect >= 0.1 * peak)]),
                        peak_h=float(t[np.argmax(effect)]),
                        duration_h=float(above[-1] - above[0]) if above.size else 0.0,
                        peak_effect=peak)


def screening_responders(params: ParameterArrays,
                         doses_mcg: tuple[float, ...] = (50.0, 75.0, 100.0),
                         gap_h: float = 24.0, every_h: float = 0.25) -> FloatArray:
    """For each patient, the first screening dose with a ≥ 2-point fall (0 if none).

    Boluses of ``doses_mcg`` are given ``gap_h`` apart (LIO-SCR, B-SCREEN); a response is a
    fall of at least 2 points in the Modified Ashworth or Penn spasm score (PENN92) within
    that day's observation.
    """
    minutes = BOLUS_MINUTES / 60.0
    segs = [(i * gap_h, i * gap_h + minutes, d / minutes) for i, d in enumerate(doses_mcg)]
    sched = Schedule.from_segments(segs)
    end = gap_h * len(doses_mcg)
    result = simulate_many(params, sched, start_h=0.0, end_h=end - every_h, every_h=every_h,
                           summarise=(), record=("mas", "penn_frequency"))
    mas, penn = result.series["mas"], result.series["penn_frequency"]
    responded_with = np.zeros(params.n)
    per_day = round(gap_h / every_h)
    for i, dose in reversed(list(enumerate(doses_mcg))):
        window = slice(i * per_day, (i + 1) * per_day)
        fall = np.maximum(params.baseline_mas - mas[:, window].min(axis=1),
                          params.baseline_penn - penn[:, window].min(axis=1))
        responded_with = np.where(fall >= 2.0, dose, responded_with)
    return responded_with


@dataclass(frozen=True)
class WithdrawalTimes:
    early_h: float  # withdrawal score first ≥ EARLY_WITHDRAWAL_SCORE (nan if never)
    severe_h: float  # ≥ SEVERE_WITHDRAWAL_SCORE (nan if never)


def withdrawal_onset(params: Parameters, daily_dose_mcg: float,
                     resolution_h: float = 0.25) -> WithdrawalTimes:
    """Hours from an abrupt stop (adapted patient at ``daily_dose_mcg``) to signs."""
    x0 = steady_state(params, daily_dose_mcg / 24.0)
    t = np.arange(0.0, 14 * 24.0, resolution_h)
    trace = simulate(params, Schedule.empty(), t, start_h=0.0, x0=x0)
    score = readouts(params, trace.states).withdrawal_score

    def first(threshold: float) -> float:
        hit = np.flatnonzero(score >= threshold)
        return float(t[hit[0]]) if hit.size else float("nan")

    return WithdrawalTimes(first(EARLY_WITHDRAWAL_SCORE), first(SEVERE_WITHDRAWAL_SCORE))


def titrate(params: ParameterArrays, days: int = 365, *, start_mcg_per_day: FloatArray,
            target_effect: float = 0.6, max_step_up: float = 0.2, max_step_down: float = 0.1,
            band: float = 0.05, cap_mcg_per_day: float = 2000.0) -> FloatArray:
    """Daily titration towards ``target_effect``; returns doses (n, days+1) in mcg/day.

    Once a day the effect is read (steady continuous infusion); below the target minus
    ``band`` the dose rises by up to ``max_step_up`` (B-DOSE: 10–30 %/24 h spinal, 5–15 %
    cerebral), above the target plus ``band`` it falls by up to ``max_step_down``.
    """
    cohort = Cohort(params)
    dose = np.asarray(start_mcg_per_day, dtype=float) * np.ones(params.n)
    out = np.empty((params.n, days + 1))
    out[:, 0] = dose
    for day in range(1, days + 1):
        cohort.advance(24.0, dose / 24.0)
        effect = cohort.readouts().effect
        wanted = np.where(effect > 1e-9, target_effect / np.maximum(effect, 1e-9), 1e9)
        up = effect < target_effect - band
        down = effect > target_effect + band
        factor = np.where(up, np.minimum(wanted, 1.0 + max_step_up), 1.0)
        factor = np.where(down, np.maximum(wanted, 1.0 - max_step_down), factor)
        dose = np.minimum(dose * factor, cap_mcg_per_day)
        out[:, day] = dose
    return out
