"""A Gymnasium environment of intrathecal baclofen therapy: ``thecal/ITB-v0``.

Importing this module registers the environment::

    import gymnasium
    import thecal.sim.gym  # noqa: F401
    env = gymnasium.make("thecal/ITB-v0")

One step is one day in the clinic after the implant. The agent sees what a clinic sees and
does what a clinic does:

* **Observation** (``Box`` of 11 floats): the day's Modified Ashworth and Penn scores as
  assessed (rounded to the half point), four symptom groups the patient reports (early
  withdrawal, severe withdrawal, side effects, overdose signs: 0/1), the programmed daily dose
  (mcg/day ÷ 1000), the reservoir volume as the pump calculates it (mL ÷ capacity), the days
  until that volume is empty at this dose (÷ 180), the pump's low-reservoir alarm (0/1, on the
  pump-calculated volume) and the day (÷ horizon). No physiological state and no physical
  reservoir volume is shown: like the twin's views (``thecal.device``: pump-calculated,
  estimate, physical), the clinic sees what the pump calculates, while the patient receives
  what the physical reservoir delivers.
* **Action** (``MultiDiscrete([5, 2])``): a change of the daily dose — −20 %, −10 %, none,
  +10 %, +20 % — and whether to refill the pump today. Increases stay inside the B-DOSE
  titration limits (adults of spinal origin 10–30 % per 24 h, :data:`MAX_STEP_UP`); the daily
  dose stays within :data:`DOSE_BOUNDS_MCG_PER_DAY`. ``sim/`` sits beside ``clinical/`` in
  DESIGN.md's layers and does not import it, so the limits are restated here and a test checks
  them against ``thecal.clinical.titration.step_limit``.
* **Reward** per day: spasticity control, ``1 − mean MAS / 4``, less penalties for side
  effects (1 × the day's worst side-effect score), withdrawal (3 ×), overdose (6 ×) and a
  small cost per refill visit (0.05). An episode ends early when the overdose score reaches
  0.8 (loss of consciousness) and is truncated at the horizon.

The patient is a virtual patient (``thecal.physiology``) drawn from the environment's seeded
random generator, drug-naive at the implant, moved exactly hour by hour
(:class:`thecal.sim.many.Cohort`). The pump is a reservoir at a fixed concentration (ASSUMED:
20 mL, 2000 mcg/mL) whose real flow differs from the programmed one by a factor drawn per
episode within ±:data:`PUMP_ACCURACY` (the twin's assumed 14.5 %); the physical reservoir
runs dry when the pump-calculated one still shows drug, or the other way round. It is not the
full twin of ``thecal.device``. Everything is deterministic under ``reset(seed=...)``.

:func:`rule_based_policy` is a baseline a clinic might follow; :func:`score_policy` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from thecal.physiology.model import (
    EARLY_WITHDRAWAL_SCORE,
    SEVERE_WITHDRAWAL_SCORE,
)
from thecal.physiology.parameters import PARAMETER_NAMES
from thecal.physiology.population import _from_eta
from thecal.sim.many import OVERDOSE_SIGN_SCORE, Cohort

ENV_ID: Final = "thecal/ITB-v0"
#: Dose changes the agent may make per day (fractions of the current daily dose).
DOSE_STEPS: Final = (-0.20, -0.10, 0.0, 0.10, 0.20)
#: B-DOSE (clinical-facts 3.6): adults of spinal origin, at most +30 % per 24 h; the steps above
#: keep within it (the same figure as ``thecal.clinical.titration.step_limit``).
MAX_STEP_UP: Final = 0.30
#: Daily-dose range the pump is programmed within (mcg/day; ASSUMED envelope of the
#: maintenance doses, MEDSCAPE2 24–1199, with room above).
DOSE_BOUNDS_MCG_PER_DAY: Final = (20.0, 1500.0)
RESERVOIR_ML: Final = 20.0  # ASSUMED pump (a 20 mL reservoir)
CONCENTRATION_MCG_PER_ML: Final = 2000.0  # ASSUMED (Lioresal 2000 mcg/mL, LIO-AMP)
LOW_RESERVOIR_ALARM_ML: Final = 2.0  # NSURG04: manufacturer-recommended alarm residual
PUMP_ACCURACY: Final = 0.145  # ASSUMED, as the twin's catalog (ANZCA implies ±14.5 %)
SIDE_EFFECT_SIGN_SCORE: Final = 0.30  # the first side-effect sign (loose muscles)
OBS_NAMES: Final = ("mas", "penn", "early_withdrawal", "severe_withdrawal", "side_effects",
                    "overdose_signs", "daily_dose", "reservoir", "days_to_empty",
                    "low_reservoir_alarm", "day")


class ITBEnv(gym.Env[np.ndarray, np.ndarray]):
    """One virtual patient after the implant, one day a step (see the module docstring)."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - Gymnasium's convention

    def __init__(self, preset: str = "adult-spinal", horizon_days: int = 90,
                 start_dose_mcg_per_day: float = 100.0,
                 reservoir_ml: float = RESERVOIR_ML) -> None:
        super().__init__()
        self.preset = preset
        self.capacity_ml = float(reservoir_ml)
        self.horizon = int(horizon_days)
        self.start_dose = float(start_dose_mcg_per_day)
        self.action_space = spaces.MultiDiscrete([len(DOSE_STEPS), 2])
        high = np.array([4, 4, 1, 1, 1, 1, 2, 1, 1, 1, 1], dtype=np.float32)
        self._high = high
        self.observation_space = spaces.Box(np.zeros(11, dtype=np.float32), high,
                                            dtype=np.float32)
        self._cohort: Cohort | None = None
        self.dose = self.start_dose
        self.reservoir_ml = self.capacity_ml  # physical: what the patient gets comes from here
        self.pump_calculated_ml = self.capacity_ml  # what the pump and programmer believe
        self.flow_factor = 1.0
        self.day = 0
        self._last: dict[str, float] = {}

    # ---------------------------------------------------------------- gymnasium API

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        eta = self.np_random.standard_normal(len(PARAMETER_NAMES))
        params = _from_eta(self.preset, eta[:, None], None)
        self.flow_factor = float(1.0 + self.np_random.uniform(-PUMP_ACCURACY, PUMP_ACCURACY))
        self._cohort = Cohort(params)
        self.dose = self.start_dose
        self.reservoir_ml = self.capacity_ml
        self.pump_calculated_ml = self.capacity_ml
        self.day = 0
        self._last = {"mas": float(params.baseline_mas[0]),
                      "penn": float(params.baseline_penn[0]), "withdrawal": 0.0, "side": 0.0,
                      "overdose": 0.0, "mean_mas": float(params.baseline_mas[0])}
        return self._observation(), self._info()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._cohort is None:
            raise RuntimeError("call reset() before step()")
        change_index, refill = (int(a) for a in np.asarray(action).reshape(-1)[:2])
        if not self.action_space.contains(np.array([change_index, refill])):
            raise ValueError(f"action {action!r} is outside {self.action_space}")
        change = DOSE_STEPS[change_index]
        assert change <= MAX_STEP_UP  # the action set never exceeds the titration limit
        lo, hi = DOSE_BOUNDS_MCG_PER_DAY
        self.dose = float(min(max(self.dose * (1.0 + change), lo), hi))
        if refill:  # drained and filled to capacity: both views full again
            self.reservoir_ml = self.capacity_ml
            self.pump_calculated_ml = self.capacity_ml
        day = self._simulate_day()
        self.day += 1
        reward = (1.0 - day["mean_mas"] / 4.0 - 1.0 * day["side"] - 3.0 * day["withdrawal"]
                  - 6.0 * day["overdose"] - (0.05 if refill else 0.0))
        terminated = day["overdose"] >= 0.8
        truncated = self.day >= self.horizon
        return self._observation(), float(reward), terminated, truncated, self._info()

    # ---------------------------------------------------------------- internals

    def _simulate_day(self) -> dict[str, float]:
        cohort = self._cohort
        assert cohort is not None
        worst = {"withdrawal": 0.0, "side": 0.0, "overdose": 0.0}
        mas_sum = 0.0
        r = None
        for _ in range(24):
            ml_per_h = self.dose / CONCENTRATION_MCG_PER_ML / 24.0
            self.pump_calculated_ml = max(self.pump_calculated_ml - ml_per_h, 0.0)
            # the physical reservoir empties at the real flow; nothing comes once it is dry
            delivered_ml = min(ml_per_h * self.flow_factor, self.reservoir_ml)
            self.reservoir_ml -= delivered_ml
            cohort.advance(1.0, delivered_ml * CONCENTRATION_MCG_PER_ML)
            r = cohort.readouts()
            worst["withdrawal"] = max(worst["withdrawal"], float(r.withdrawal_score[0]))
            worst["side"] = max(worst["side"], float(r.side_effect_score[0]))
            worst["overdose"] = max(worst["overdose"], float(r.overdose_score[0]))
            mas_sum += float(r.mas[0])
        assert r is not None
        self._last = {"mas": float(r.mas[0]), "penn": float(r.penn_frequency[0]),
                      "mean_mas": mas_sum / 24.0, **worst}
        return self._last

    def _observation(self) -> np.ndarray:
        last = self._last
        ml_per_day = self.dose / CONCENTRATION_MCG_PER_ML
        days_left = self.pump_calculated_ml / ml_per_day if ml_per_day > 0 else 180.0
        obs = np.array([
            round(last["mas"] * 2.0) / 2.0,  # assessed to the half point
            round(last["penn"] * 2.0) / 2.0,
            float(EARLY_WITHDRAWAL_SCORE <= last["withdrawal"] < SEVERE_WITHDRAWAL_SCORE),
            float(last["withdrawal"] >= SEVERE_WITHDRAWAL_SCORE),
            float(last["side"] >= SIDE_EFFECT_SIGN_SCORE),
            float(last["overdose"] >= OVERDOSE_SIGN_SCORE),
            self.dose / 1000.0,
            self.pump_calculated_ml / self.capacity_ml,
            min(days_left, 180.0) / 180.0,
            float(self.pump_calculated_ml <= LOW_RESERVOIR_ALARM_ML),
            min(self.day / self.horizon, 1.0),
        ], dtype=np.float32)
        return np.clip(obs, 0.0, self._high)

    def _info(self) -> dict[str, Any]:
        return {"day": self.day, "daily_dose_mcg": self.dose, "reservoir_ml": self.reservoir_ml,
                "pump_calculated_ml": self.pump_calculated_ml, "flow_factor": self.flow_factor,
                **{f"worst_{k}": v for k, v in self._last.items()
                   if k in ("withdrawal", "side", "overdose")}}


# --------------------------------------------------------------------------- baseline

def rule_based_policy(obs: np.ndarray, target_mas: float = 2.0) -> np.ndarray:
    """What a careful clinic does each day: refill at the low-reservoir alarm (or with under a
    week left); lower the dose 20 % on overdose signs or side effects; raise it 20 % on
    withdrawal signs; otherwise titrate towards the target Ashworth (+20 % above it by a
    point, +10 % above it by half a point, −10 % below it by a point)."""
    o = dict(zip(OBS_NAMES, (float(v) for v in obs), strict=True))
    refill = int(o["low_reservoir_alarm"] > 0.5 or o["days_to_empty"] * 180.0 < 7.0)
    if o["overdose_signs"] or o["side_effects"]:
        change = 0
    elif o["severe_withdrawal"] or o["early_withdrawal"] or o["mas"] >= target_mas + 1.0:
        change = 4
    elif o["mas"] >= target_mas + 0.5:
        change = 3
    elif o["mas"] <= target_mas - 1.0:
        change = 1
    else:
        change = 2
    return np.array([change, refill])


def no_change_policy(obs: np.ndarray) -> np.ndarray:
    """Never change the dose, never refill (a reference point)."""
    return np.array([2, 0])


def score_policy(policy: Callable[[np.ndarray], np.ndarray], seeds: range | list[int],
                 **env_kwargs: Any) -> dict[str, float]:
    """Mean and spread of the episode return of ``policy`` over ``seeds`` (one virtual
    patient each), plus the share of patient-days with withdrawal or overdose signs."""
    returns = []
    bad_days = 0
    days = 0
    for seed in seeds:
        env = ITBEnv(**env_kwargs)
        obs, _ = env.reset(seed=int(seed))
        total = 0.0
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy(obs))
            total += reward
            days += 1
            bad_days += int(info["worst_withdrawal"] >= EARLY_WITHDRAWAL_SCORE
                            or info["worst_overdose"] >= OVERDOSE_SIGN_SCORE)
            done = terminated or truncated
        returns.append(total)
    arr = np.asarray(returns)
    return {"mean_return": round(float(arr.mean()), 3), "sd_return": round(float(arr.std()), 3),
            "episodes": len(returns), "share_days_with_withdrawal_or_overdose_signs":
            round(bad_days / max(days, 1), 4)}


if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="thecal.sim.gym:ITBEnv")
