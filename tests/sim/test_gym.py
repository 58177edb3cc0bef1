"""The Gymnasium environment thecal/ITB-v0: API contract, determinism, clinic-shaped actions."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import thecal.sim.gym as itb
from thecal.clinical.titration import step_limit


def test_registered_by_import_and_passes_check_env() -> None:
    env = gymnasium.make(itb.ENV_ID, horizon_days=5)
    check_env(env.unwrapped)
    assert env.observation_space.shape == (len(itb.OBS_NAMES),)


def _run(seed: int, days: int = 6) -> tuple[list[np.ndarray], list[float]]:
    env = itb.ITBEnv(horizon_days=days)
    obs, _ = env.reset(seed=seed)
    seen, rewards = [obs], []
    done = False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(itb.rule_based_policy(obs))
        seen.append(obs)
        rewards.append(reward)
        done = terminated or truncated
    return seen, rewards


def test_deterministic_under_a_seed_and_patients_differ_between_seeds() -> None:
    a_obs, a_rew = _run(3)
    b_obs, b_rew = _run(3)
    assert a_rew == b_rew
    assert all(np.array_equal(x, y) for x, y in zip(a_obs, b_obs, strict=True))
    _, c_rew = _run(4)
    assert c_rew != a_rew


def test_dose_steps_keep_to_the_clinical_titration_limit() -> None:
    # sim/ may not import clinical/ (DESIGN.md layers); the restated limit must agree with it
    adult_spinal = step_limit("spinal-cord-injury", 40.0)
    assert adult_spinal.max_fraction == itb.MAX_STEP_UP
    assert max(itb.DOSE_STEPS) <= adult_spinal.max_fraction
    env = itb.ITBEnv(horizon_days=3, start_dose_mcg_per_day=100.0)
    env.reset(seed=1)
    env.step(np.array([4, 0]))  # +20 %
    assert env.dose == 120.0


def test_an_empty_pump_raises_the_alarm_and_a_refill_restores_it() -> None:
    # 1 mL at 400 mcg/day of 2000 mcg/mL = 0.2 mL/day: the alarm (≤ 2 mL) is on at once,
    # the pump is empty after 5 days and delivers nothing more until the refill
    env = itb.ITBEnv(horizon_days=10, start_dose_mcg_per_day=400.0, reservoir_ml=1.0)
    obs, _ = env.reset(seed=2)
    for _ in range(6):
        obs, *_ = env.step(np.array([2, 0]))
    alarm = itb.OBS_NAMES.index("low_reservoir_alarm")
    assert obs[alarm] == 1.0 and env.reservoir_ml == 0.0
    # the clinic sees the pump-calculated volume; the patient got the physical one
    assert env.pump_calculated_ml == 0.0
    obs, *_ = env.step(np.array([2, 1]))
    assert env.reservoir_ml > 0.7 and obs[alarm] == 1.0  # 1 mL capacity is still ≤ 2 mL


def test_a_fast_pump_runs_dry_before_the_pump_calculated_volume_says_so() -> None:
    env = itb.ITBEnv(horizon_days=30, start_dose_mcg_per_day=400.0, reservoir_ml=4.0)
    env.reset(seed=0)
    env.flow_factor = 1.1  # 10 % fast: 0.22 mL/day really, 0.2 mL/day calculated
    days = 0
    while env.reservoir_ml > 0.0:
        env.step(np.array([2, 0]))
        days += 1
    assert days == 19  # 4 / 0.22 = 18.2 days
    assert env.pump_calculated_ml == pytest.approx(4.0 - 0.2 * 19, abs=1e-9)


def test_rule_based_baseline_beats_doing_nothing() -> None:
    base = itb.score_policy(itb.rule_based_policy, range(2), horizon_days=20)
    idle = itb.score_policy(itb.no_change_policy, range(2), horizon_days=20)
    assert base["mean_return"] > idle["mean_return"]
