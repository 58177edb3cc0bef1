"""Calibration experiments: the published observations the virtual patient is fitted to.

Each function runs one experiment on the model and returns the figure that the literature
reports, so tests (tests/sim/test_calibration.py) and docs can compare the two:

* :func:`step_response_times` — after a dose change at steady state, hours to half and to
  95 % of the change in effect (M-UK-QA: effect in 6–8 h, maximum in 1–2 days).
* :func:`naive_start` — a continuous infusion started in a drug-naive patient: hours to 95 %
  of the effect's maximum and to the maximum (CLUSTER, NSN: maximum at 24–48 h).
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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from thecal.physiology.model import (
    EARLY_WITHDRAWAL_SCORE,
    SEVERE_WITHDRAWAL_SCORE,
    Readouts,
    readouts,
    steady_state,
)
from thecal.physiology.parameters import FloatArray, ParameterArrays, Parameters
from thecal.schedule import Schedule
from thecal.sim.engine import simulate
from thecal.sim.many import Cohort

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


def cohort_readouts(params: ParameterArrays, csf_delivery: Schedule, t_h: FloatArray,
                    x0: FloatArray | None = None) -> list[Readouts]:
    """The readouts of every patient at each time of ``t_h`` (increasing, from 0), moved by
    the exact modal steps of :class:`~thecal.sim.many.Cohort` from input edge to edge.

    The calibration experiments use it rather than the fast cohort engine: they are the
    reference the engines are checked against, and this path knows nothing of the model's
    shape beyond its matrices.
    """
    cohort = Cohort(params, x0=x0)
    edges = csf_delivery.edges[(csf_delivery.edges > 0.0) & (csf_delivery.edges < t_h[-1])]
    out: list[Readouts] = []
    for t in t_h:
        for edge in edges[(edges > cohort.t_h) & (edges <= t)]:
            cohort.advance(edge - cohort.t_h, float(csf_delivery.value_at(cohort.t_h)[0]))
        cohort.advance(t - cohort.t_h, float(csf_delivery.value_at(cohort.t_h)[0]))
        out.append(cohort.readouts())
    return out


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
    t = np.arange(0.0, end - every_h / 2, every_h)
    series = cohort_readouts(params, sched, t)
    mas = np.stack([r.mas for r in series], axis=1)
    penn = np.stack([r.penn_frequency for r in series], axis=1)
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


def steady_state_many(params: ParameterArrays, csf_delivery_mcg_per_h: float) -> FloatArray:
    """Every patient adapted to a constant delivery (no deprivation), shape ``(n, 9)``."""
    from thecal.physiology.model import N_INPUTS, system_matrices

    a, b = system_matrices(params)
    u = np.zeros(N_INPUTS)
    u[0] = csf_delivery_mcg_per_h
    return np.asarray(-np.linalg.solve(a, (b @ u)[..., None])[..., 0], dtype=float)


@dataclass(frozen=True)
class WithdrawalCourse:
    """The withdrawal score after an abrupt stop, for one adapted patient."""

    t_h: FloatArray
    score: FloatArray
    early_h: float  # first ≥ EARLY_WITHDRAWAL_SCORE (nan if never)
    severe_h: float  # first ≥ SEVERE_WITHDRAWAL_SCORE (nan if never)
    peak_h: float
    peak_score: float

    def score_at(self, hours: float) -> float:
        return float(np.interp(hours, self.t_h, self.score))


def withdrawal_course(params: Parameters, daily_dose_mcg: float, *, factor: float = 0.0,
                      resolution_h: float = 0.25, days: float = 14.0) -> WithdrawalCourse:
    """The withdrawal score of a patient adapted to ``daily_dose_mcg`` whose delivery drops to
    ``factor`` × that dose at t = 0 (0: an abrupt stop)."""
    rate = daily_dose_mcg / 24.0
    x0 = steady_state(params, rate)
    t = np.arange(0.0, days * 24.0, resolution_h)
    sched = (Schedule.empty() if factor == 0.0
             else Schedule(np.array([0.0, t[-1] + 1.0]), np.array([rate * factor])))
    score = readouts(params, simulate(params, sched, t, start_h=0.0, x0=x0).states).withdrawal_score

    def first(threshold: float) -> float:
        hit = np.flatnonzero(score >= threshold)
        return float(t[hit[0]]) if hit.size else float("nan")

    return WithdrawalCourse(t, score, first(EARLY_WITHDRAWAL_SCORE),
                            first(SEVERE_WITHDRAWAL_SCORE), float(t[np.argmax(score)]),
                            float(score.max()))


@dataclass(frozen=True)
class StopShares:
    """Shares of a population with withdrawal signs after an abrupt stop."""

    early: float
    severe: float


def stop_shares(params: ParameterArrays, daily_dose_mcg: float, days: float = 7.0) -> StopShares:
    """Everyone adapted to ``daily_dose_mcg``, then delivery stops: who shows early and who
    severe withdrawal signs within ``days`` (hourly samples)."""
    x0 = steady_state_many(params, daily_dose_mcg / 24.0)
    t = np.arange(0.0, days * 24.0 + 0.5, 1.0)
    top = np.max([r.withdrawal_score for r in cohort_readouts(params, Schedule.empty(), t, x0)],
                 axis=0)
    return StopShares(float(np.mean(top >= EARLY_WITHDRAWAL_SCORE)),
                      float(np.mean(top >= SEVERE_WITHDRAWAL_SCORE)))


@dataclass(frozen=True)
class NaiveStart:
    """A continuous infusion started in a drug-naive patient (CLUSTER/NSN: effect first at
    6–8 h, maximum at 24–48 h)."""

    effect_95_h: float  # the effect first ≥ 95 % of its largest value over the first 4 days
    effect_peak_h: float  # the effect at its largest (tolerance then slowly erodes it)
    drive_95_h: float  # the drive first ≥ 95 % of its largest (linear: any dose)


def naive_start(params: Parameters, daily_dose_mcg: float,
                resolution_h: float = 0.1) -> NaiveStart:
    """The first four days of a continuous ``daily_dose_mcg`` in a drug-naive patient."""
    t = np.arange(0.0, 96.0, resolution_h)
    sched = Schedule(np.array([0.0, 97.0]), np.array([daily_dose_mcg / 24.0]))
    r = readouts(params, simulate(params, sched, t, start_h=0.0).states)

    def first_95(x: FloatArray) -> float:
        return float(t[np.argmax(x >= 0.95 * x.max())])

    return NaiveStart(first_95(r.effect), float(t[np.argmax(r.effect)]),
                      first_95(r.drive_ng_per_ml))


def typical_dose(params: Parameters, target_effect: float = 0.6) -> float:
    """The adapted maintenance dose (mcg/day) at which ``params`` has ``target_effect``."""
    from thecal.physiology.model import adapted_dose_mcg_per_day

    return float(adapted_dose_mcg_per_day(params, target_effect)[0])


# --------------------------------------------------------------------------- the table

@dataclass(frozen=True)
class Target:
    """One calibration target: what is measured, the published range and its source."""

    key: str
    what: str
    source: str
    published: str
    low: float
    high: float
    unit: str
    measure: Callable[[], float]

    def row(self, value: float) -> str:
        ok = "yes" if self.low <= value <= self.high else "**no**"
        return (f"| {self.what} | {self.published} | {self.source} | "
                f"{self.low:g}–{self.high:g} | {f'{value:.3g} {self.unit}'.strip()} | {ok} |")


#: clinical-facts 3.15 (M-UK-QA): after a dose change, "effect in 6–8 h"; the half-change is
#: tested a quarter hour inside that range, so that it does not sit on its edge.
HALF_CHANGE = "effect in 6–8 h"
HALF_CHANGE_RANGE = (6.25, 7.75)
#: clinical-facts 3.14 (CLUSTER, NSN): a bolus peaks at "≈ 4 h": tested within a quarter hour.
BOLUS_PEAK_RANGE = (3.75, 4.25)

TABLE_BEGIN = "<!-- calibration-table:begin (generated by scripts/calibration-table) -->"
TABLE_END = "<!-- calibration-table:end -->"
TABLE_HEADER = ("| target | published | source | test range | model v2 | in range |\n"
                "|---|---|---|---|---|---|")


def targets() -> tuple[Target, ...]:
    """Every calibration target of model v2, in the order of the table in docs/simulation.md.

    Each is one test (tests/sim/test_calibration.py) and one row of the table
    (``scripts/calibration-table`` writes it; a test checks the docs hold the same rows).
    """
    import functools
    import math

    from thecal.physiology.population import PRESETS, sample

    p = Parameters()
    cerebral = PRESETS["adult-cerebral"].typical

    @functools.cache
    def step(preset: str, factor: float) -> StepTimes:
        typical = PRESETS[preset].typical
        return step_response_times(typical, typical_dose(typical), factor)

    @functools.cache
    def bolus() -> BolusProfile:
        return bolus_profile(p, 50.0)

    @functools.cache
    def naive() -> NaiveStart:
        return naive_start(p, 100.0)

    @functools.cache
    def stop(dose: float) -> WithdrawalCourse:
        return withdrawal_course(p, dose)

    @functools.cache
    def shares(dose: float) -> StopShares:
        return stop_shares(sample("adult-spinal", 2000, seed=7), dose)

    def nan_to(value: float, fill: float) -> float:
        return fill if math.isnan(value) else value

    return (
        Target("csf-half-life", "CSF elimination half-life", "PENN87", "≈ 5 h", 4.5, 5.5, "h",
               lambda: p.csf_half_life_h),
        Target("csf-clearance", "CSF clearance", "EJCP", "13–80 mL/h", 13.0, 80.0, "mL/h",
               lambda: p.csf_clearance_ml_per_h),
        Target("csf-volume", "CSF volume implied (CL·t½/ln 2)", "ASSUMED",
               "≈ 150 mL (adult spinal fluid; assumed)", 120.0, 180.0, "mL",
               lambda: p.csf_volume_ml),
        Target("step-up-half", "dose +20 %: half of the change (spinal)", "M-UK-QA",
               HALF_CHANGE, *HALF_CHANGE_RANGE, "h", lambda: step("adult-spinal", 1.2).half_h),
        Target("step-up-95", "dose +20 %: 95 % of the change (spinal)", "M-UK-QA",
               "maximum in 1–2 days", 24.0, 48.0, "h",
               lambda: step("adult-spinal", 1.2).ninety_five_h),
        Target("step-down-half", "dose −20 %: half of the change (spinal)", "M-UK-QA",
               HALF_CHANGE, *HALF_CHANGE_RANGE, "h", lambda: step("adult-spinal", 0.8).half_h),
        Target("step-down-95", "dose −20 %: 95 % of the change (spinal)", "M-UK-QA",
               "maximum in 1–2 days", 24.0, 48.0, "h",
               lambda: step("adult-spinal", 0.8).ninety_five_h),
        Target("step-up-half-cerebral", "dose +20 %: half of the change (cerebral)", "M-UK-QA",
               HALF_CHANGE, *HALF_CHANGE_RANGE, "h",
               lambda: step("adult-cerebral", 1.2).half_h),
        Target("step-down-half-cerebral", "dose −20 %: half of the change (cerebral)", "M-UK-QA",
               HALF_CHANGE, *HALF_CHANGE_RANGE, "h",
               lambda: step("adult-cerebral", 0.8).half_h),
        Target("bolus-onset", "50 mcg bolus: onset (10 % of peak)", "CLUSTER",
               "0.5–1 h", 0.5, 1.0, "h", lambda: bolus().onset_h),
        Target("bolus-peak", "50 mcg bolus: peak", "CLUSTER", "≈ 4 h (NSN)", *BOLUS_PEAK_RANGE,
               "h", lambda: bolus().peak_h),
        Target("bolus-duration", "50 mcg bolus: effect ≥ ½ peak", "CLUSTER", "lasts 4–8 h",
               4.0, 8.0, "h", lambda: bolus().duration_h),
        Target("naive-effect-95", "naive start, 100 mcg/day: effect at 95 % of its maximum",
               "CLUSTER", "continuous infusion: maximum at 24–48 h (NSN)", 24.0, 48.0, "h",
               lambda: naive().effect_95_h),
        Target("naive-effect-peak", "naive start, 100 mcg/day: effect at its maximum",
               "CLUSTER", "continuous infusion: maximum at 24–48 h (NSN)", 24.0, 48.0, "h",
               lambda: naive().effect_peak_h),
        Target("naive-drive-95", "naive start: drive (effect-site level) at 95 %", "CLUSTER",
               "continuous infusion: maximum at 24–48 h (NSN)", 24.0, 48.0, "h",
               lambda: naive().drive_95_h),
        Target("stop400-6h", "stop from 400 mcg/day: score at 6 h (early signs ≥ 0.10)",
               "NSWIKI", "early signs within hours", 0.10, 0.35, "",
               lambda: stop(400.0).score_at(6.0)),
        Target("stop400-early", "stop from 400 mcg/day: early signs (score ≥ 0.2)", "COFFEY02",
               "early signs first, within a day", 2.0, 24.0, "h",
               lambda: nan_to(stop(400.0).early_h, 1e9)),
        Target("stop400-severe", "stop from 400 mcg/day: severe signs (score ≥ 0.6)", "COFFEY02",
               "evolves over 1–3 days", 24.0, 72.0, "h",
               lambda: nan_to(stop(400.0).severe_h, 1e9)),
        Target("stop400-peak", "stop from 400 mcg/day: worst withdrawal", "COFFEY02",
               "evolves over 1–3 days", 24.0, 72.0, "h", lambda: stop(400.0).peak_h),
        Target("stop150-early", "stop from 150 mcg/day: early signs", "STET15",
               "withdrawal reported at 90–420 mcg/day", 2.0, 48.0, "h",
               lambda: nan_to(stop(150.0).early_h, 1e9)),
        Target("cut10-none", "10 % cut from 400 mcg/day: worst score (no signs < 0.10)",
               "M-UK-QA", "routine titration step", 0.0, 0.10, "",
               lambda: withdrawal_course(p, 400.0, factor=0.9, days=7.0).peak_score),
        Target("severe-share-150", "population: share severe after a stop from 150",
               "STET15", "dose-dependent risk; severe est. 3–5 % (NSWIKI)", 0.005, 0.10, "",
               lambda: shares(150.0).severe),
        Target("severe-share-200", "population: share severe after a stop from 200",
               "STET15", "dose-dependent risk", 0.05, 0.40, "", lambda: shares(200.0).severe),
        Target("severe-share-400", "population: share severe after a stop from 400",
               "STET15", "dose-dependent risk", 0.40, 0.95, "", lambda: shares(400.0).severe),
        Target("early-share-150", "population: share with early signs after a stop from 150",
               "STET15", "withdrawal reported at 90–420 mcg/day", 0.10, 0.80, "",
               lambda: shares(150.0).early),
        Target("cerebral-typical-dose", "typical cerebral maintenance dose", "MEDSCAPE2",
               "most 90–703 mcg/day", 90.0, 703.0, "mcg/day", lambda: typical_dose(cerebral)),
    )


def calibration_table(measured: dict[str, float] | None = None) -> str:
    """The markdown table of :func:`targets` with the model's values (measured here unless
    given), between the markers that docs/simulation.md holds."""
    rows = []
    for target in targets():
        value = measured[target.key] if measured is not None else target.measure()
        rows.append(target.row(value))
    return "\n".join([TABLE_BEGIN, TABLE_HEADER, *rows, TABLE_END])


def replace_table(text: str, table: str) -> str:
    """``text`` with the part between the markers replaced by ``table``."""
    start = text.index(TABLE_BEGIN)
    end = text.index(TABLE_END) + len(TABLE_END)
    return text[:start] + table + text[end:]
