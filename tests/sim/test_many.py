"""The many-patient engine agrees with the one-patient engine and keeps memory per patient."""

from __future__ import annotations

import numpy as np
import pytest

from thecal.errors import InputError
from thecal.physiology import ParameterArrays, Parameters, readouts, sample
from thecal.schedule import Schedule
from thecal.sim.engine import simulate
from thecal.sim.many import Cohort, simulate_many


def _policy() -> Schedule:
    return Schedule.from_segments([(0.0, 200.0, 10.0), (200.0, 200.5, 110.0),
                                   (200.5, 400.0, 12.0), (400.0, 436.0, 0.0),
                                   (436.0, 700.0, 12.0)])


def test_many_matches_single_patient_engine() -> None:
    pop = sample("adult-spinal", 25, seed=3)
    scale = np.linspace(0.5, 2.0, pop.n)
    oral = Schedule.from_segments([(0.0, 100.0, 30.0)])
    res = simulate_many(pop, _policy(), end_h=700.0, every_h=0.5, csf_scale=scale,
                        oral_mg_per_day=oral, record=("effect", "withdrawal_score"))
    t = res.t_h
    for i in (0, 7, 24):
        p = pop.patient(i)
        sched = Schedule(_policy().edges, _policy().values * scale[i])
        x = simulate(p, sched, t, oral_mg_per_day=oral, start_h=0.0).states
        r = readouts(p, x)
        assert res.series["effect"][i] == pytest.approx(r.effect, rel=1e-8, abs=1e-10)
        assert res.stats["effect"].max[i] == pytest.approx(r.effect.max(), rel=1e-8)
        assert res.stats["mas"].mean[i] == pytest.approx(r.mas.mean(), rel=1e-8)
        assert res.hours_in_withdrawal[i] == pytest.approx(
            0.5 * np.sum(r.withdrawal_score >= 0.2))
        assert res.final_states[i] == pytest.approx(x[-1], rel=1e-8, abs=1e-8)


def test_summaries_only_keep_no_series() -> None:
    pop = sample("adult-cerebral", 10, seed=1)
    res = simulate_many(pop, _policy(), end_h=700.0, every_h=1.0)
    assert res.series == {} and res.t_h.size == 0
    assert res.n_samples == 701
    assert res.stats["effect"].min.shape == (10,)


def test_cohort_steps_exactly() -> None:
    pop = sample("child-spinal", 5, seed=9)
    cohort = Cohort(pop)
    for _ in range(10):
        cohort.advance(24.0, 5.0)
    p = pop.patient(2)
    x = simulate(p, Schedule(np.array([0.0, 240.0]), np.array([5.0])), np.array([240.0]),
                 start_h=0.0).states[0]
    assert cohort.states()[2] == pytest.approx(x, rel=1e-9, abs=1e-9)


def test_coinciding_rates_are_refused_with_advice() -> None:
    p = Parameters(effect_slow_rate_per_h=1 / 30.0, deprivation_time_h=30.0)
    with pytest.raises(InputError, match="nearly coincide"):
        Cohort(ParameterArrays.stack([p]))
