"""The many-patient engine agrees with the one-patient engine and keeps memory per patient."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from thecal.errors import InputError
from thecal.physiology import ParameterArrays, Parameters, readouts, sample
from thecal.physiology.model import N_STATES
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


ALL_READOUTS = ("csf_conc_ng_per_ml", "drive_ng_per_ml", "ec50_adapted_ng_per_ml", "effect",
                "mas", "penn_frequency", "side_effect_score", "withdrawal_score",
                "overdose_score", "sedation_score")


def _close(fast: np.ndarray, exact: np.ndarray) -> bool:
    """Equal within 1e-9 relative; values below 1e-12 (rounding-level scores and states near
    zero) within 1e-12 absolute."""
    return bool(np.all(np.abs(fast - exact) <= 1e-9 * np.abs(exact) + 1e-12))


def test_fast_path_matches_exact_single_patient_engine_for_every_readout() -> None:
    # irregular edges (some on samples, some between), a bolus, a stop, oral and direct
    # systemic input, a non-zero start state, sampling every 20 min from a non-zero start
    policy = Schedule.from_segments([(0.0, 7.0, 8.0), (7.0, 31.25, 11.0), (31.25, 31.75, 90.0),
                                     (31.75, 80.0, 11.0), (80.0, 128.0, 0.0),
                                     (128.0, 300.0, 14.0)])
    oral = Schedule.from_segments([(10.0, 130.0, 40.0), (130.0, 200.0, 20.0)])
    direct = Schedule.from_segments([(150.0, 150.5, 2000.0)])
    pop = sample("adult-spinal", 7, seed=11)
    scale = np.linspace(0.6, 1.8, pop.n)
    x0 = np.array([5.0, 1.5, 4.5, 4.0, 3.0, 0.5, 20.0, 1.0, 0.4])  # one per state (model.py)
    start, end, every = 3.0, 290.0, 1.0 / 3.0
    res = simulate_many(pop, policy, start_h=start, end_h=end, every_h=every, csf_scale=scale,
                        oral_mg_per_day=oral, systemic_mcg_per_h=direct, x0=x0,
                        summarise=ALL_READOUTS, record=ALL_READOUTS)
    assert res.n_samples == res.t_h.size == int(np.floor((end - start) / every + 1e-9)) + 1
    for i in range(pop.n):
        p = pop.patient(i)
        sched = Schedule(policy.edges, policy.values * scale[i])
        x = simulate(p, sched, res.t_h, oral_mg_per_day=oral, systemic_mcg_per_h=direct,
                     start_h=start, x0=x0).states
        r = readouts(p, x)
        for name in ALL_READOUTS:
            exact = getattr(r, name)
            assert _close(res.series[name][i], exact), name
            assert _close(res.stats[name].min[i], exact.min()), name
            assert _close(res.stats[name].max[i], exact.max()), name
            assert _close(res.stats[name].mean[i], exact.mean()), name
        assert res.hours_in_withdrawal[i] == every * np.sum(r.withdrawal_score >= 0.2)
        assert res.hours_in_severe_withdrawal[i] == every * np.sum(r.withdrawal_score >= 0.6)
        assert res.hours_with_overdose_signs[i] == every * np.sum(r.overdose_score >= 0.15)
        assert _close(res.final_states[i], x[-1])


def test_blocks_chunks_and_threads_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    import thecal.sim.many as many

    pop = sample("adult-cerebral", 37, seed=5)
    oral = Schedule.from_segments([(0.0, 100.0, 30.0)])
    kwargs = dict(end_h=500.0, every_h=0.5, oral_mg_per_day=oral, record=("mas",),
                  summarise=("effect", "overdose_score"))
    base = simulate_many(pop, _policy(), **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(many, "BLOCK_PATIENTS", 8)
    monkeypatch.setattr(many, "CHUNK_ELEMENTS", 40)  # 5 rows: pieces cut by chunks and edges
    # samples are evaluated from the first sample of each piece (chunk ∩ input segment), so
    # other chunk sizes differ by rounding only; threads change nothing at all
    one = simulate_many(pop, _policy(), **kwargs)  # type: ignore[arg-type]
    np.testing.assert_allclose(one.series["mas"], base.series["mas"], rtol=1e-12)
    for name in ("effect", "overdose_score"):
        np.testing.assert_allclose(one.stats[name].mean, base.stats[name].mean, rtol=1e-12)
        np.testing.assert_allclose(one.stats[name].max, base.stats[name].max, rtol=1e-12)
    np.testing.assert_array_equal(one.hours_with_overdose_signs, base.hours_with_overdose_signs)
    np.testing.assert_allclose(one.final_states, base.final_states, rtol=1e-12, atol=1e-12)
    threaded = simulate_many(pop, _policy(), workers=3, **kwargs)  # type: ignore[arg-type]
    np.testing.assert_array_equal(threaded.series["mas"], one.series["mas"])
    for name in ("effect", "overdose_score"):
        np.testing.assert_array_equal(threaded.stats[name].mean, one.stats[name].mean)
        np.testing.assert_array_equal(threaded.stats[name].min, one.stats[name].min)
    np.testing.assert_array_equal(threaded.hours_in_withdrawal, one.hours_in_withdrawal)
    np.testing.assert_array_equal(threaded.final_states, one.final_states)


def test_progress_reaches_one_and_only_rises() -> None:
    seen: list[float] = []
    pop = sample("adult-spinal", 20, seed=2)
    simulate_many(pop, _policy(), end_h=700.0, progress=seen.append, workers=2)
    assert seen and seen[-1] == 1.0
    assert all(b >= a for a, b in itertools.pairwise(seen))


def test_final_state_is_at_the_last_edge_before_the_end() -> None:
    # the old engine's convention: an input edge after the last sample moves the end state
    pop = sample("adult-spinal", 3, seed=1)
    sched = Schedule.from_segments([(0.0, 10.3, 20.0)])
    res = simulate_many(pop, sched, end_h=10.5, every_h=1.0)
    x = simulate(pop.patient(1), sched, np.array([10.3]), start_h=0.0).states[0]
    # both engines go through the modal transform, which mixes every state into every mode:
    # their rounding is relative to the state vector's size (~550 here), not to each entry's
    # (the re-adaptation state is ~10), so the bound is 1e-12 of the largest entry
    np.testing.assert_allclose(res.final_states[1], x, rtol=1e-12, atol=1e-12 * np.abs(x).max())


def test_compiled_kernel_matches_exact_single_patient_engine() -> None:
    # the same irregular history as above, summaries only (the compiled kernel): extremes from
    # the extremes of the linear readouts, counts from thresholds on them, means evaluated
    policy = Schedule.from_segments([(0.0, 7.0, 8.0), (7.0, 31.25, 11.0), (31.25, 31.75, 90.0),
                                     (31.75, 80.0, 11.0), (80.0, 128.0, 0.0),
                                     (128.0, 300.0, 14.0)])
    oral = Schedule.from_segments([(10.0, 130.0, 40.0), (130.0, 200.0, 20.0)])
    direct = Schedule.from_segments([(150.0, 150.5, 2000.0)])
    pop = sample("adult-spinal", 7, seed=11)
    scale = np.linspace(0.6, 1.8, pop.n)
    x0 = np.array([5.0, 1.5, 4.5, 4.0, 3.0, 0.5, 20.0, 1.0, 0.4])  # one per state (model.py)
    start, end, every = 3.0, 290.0, 1.0 / 3.0
    res = simulate_many(pop, policy, start_h=start, end_h=end, every_h=every, csf_scale=scale,
                        oral_mg_per_day=oral, systemic_mcg_per_h=direct, x0=x0,
                        summarise=ALL_READOUTS, engine="kernel")
    t = start + every * np.arange(res.n_samples)
    for i in range(pop.n):
        p = pop.patient(i)
        sched = Schedule(policy.edges, policy.values * scale[i])
        x = simulate(p, sched, t, oral_mg_per_day=oral, systemic_mcg_per_h=direct,
                     start_h=start, x0=x0).states
        r = readouts(p, x)
        for name in ALL_READOUTS:
            exact = getattr(r, name)
            assert _close(res.stats[name].min[i], exact.min()), name
            assert _close(res.stats[name].max[i], exact.max()), name
            assert _close(res.stats[name].mean[i], exact.mean()), name
        assert res.hours_in_withdrawal[i] == every * np.sum(r.withdrawal_score >= 0.2)
        assert res.hours_in_severe_withdrawal[i] == every * np.sum(r.withdrawal_score >= 0.6)
        assert res.hours_with_overdose_signs[i] == every * np.sum(r.overdose_score >= 0.15)
        assert _close(res.final_states[i], x[-1])
    # and the numpy engine agrees; asking for fewer means leaves the others out (nan)
    slow = simulate_many(pop, policy, start_h=start, end_h=end, every_h=every, csf_scale=scale,
                         oral_mg_per_day=oral, systemic_mcg_per_h=direct, x0=x0,
                         summarise=ALL_READOUTS, engine="numpy")
    for name in ALL_READOUTS:
        assert _close(res.stats[name].max, slow.stats[name].max), name
    few = simulate_many(pop, policy, end_h=end, every_h=every, summarise=("effect", "mas"),
                        means=("effect",))
    assert np.isfinite(few.stats["effect"].mean).all() and np.isnan(few.stats["mas"].mean).all()


def test_kernel_withdrawal_after_a_stop_counts_hours_like_the_exact_engine() -> None:
    # adapted at 400 mcg/day, then a stop: W > 0 for days, so MAS is evaluated sample by sample
    from thecal.sim.calibration import steady_state_many

    pop = sample("adult-spinal", 5, seed=3)
    x0 = steady_state_many(pop, 400.0 / 24.0)
    res = simulate_many(pop, Schedule.empty(), end_h=200.0, every_h=0.5, x0=x0,
                        summarise=("mas", "withdrawal_score"))
    t = 0.5 * np.arange(res.n_samples)
    for i in range(pop.n):
        p = pop.patient(i)
        r = readouts(p, simulate(p, Schedule.empty(), t, start_h=0.0, x0=x0[i]).states)
        assert _close(res.stats["mas"].max[i], r.mas.max())
        assert _close(res.stats["mas"].min[i], r.mas.min())
        assert res.hours_in_withdrawal[i] == 0.5 * np.sum(r.withdrawal_score >= 0.2)


def test_a_patient_gets_the_same_bits_alone_and_among_others() -> None:
    # the kernel runs a chunk of patients through vector instructions, the rest one by one:
    # each patient's arithmetic is the same either way (no fast-math, no fused multiply-add),
    # so a patient's summaries do not depend on the chunk, the block or the thread
    from thecal.sim.kernel import CHUNK

    policy = Schedule.from_segments([(0.0, 7.0, 8.0), (7.0, 31.25, 11.0), (31.25, 31.75, 90.0),
                                     (31.75, 80.0, 11.0), (140.0, 200.0, 14.0)])  # a stop
    oral = Schedule.from_segments([(10.0, 130.0, 40.0)])
    direct = Schedule.from_segments([(150.0, 150.5, 2000.0)])
    pop = sample("adult-spinal", CHUNK + 3, seed=4)
    kwargs = dict(end_h=200.0, every_h=0.5, oral_mg_per_day=oral, systemic_mcg_per_h=direct,
                  summarise=ALL_READOUTS, engine="kernel")
    together = simulate_many(pop, policy, **kwargs)  # type: ignore[arg-type]
    assert together.hours_in_withdrawal.max() > 0  # the withdrawal path is exercised
    for i in (0, 5, CHUNK - 1, CHUNK, CHUNK + 2):
        alone = simulate_many(pop.take(np.array([i])), policy, **kwargs)  # type: ignore[arg-type]
        for name in ALL_READOUTS:
            for part in ("min", "max", "mean"):
                assert getattr(alone.stats[name], part)[0] == getattr(
                    together.stats[name], part)[i], (name, part, i)
        assert alone.hours_in_withdrawal[0] == together.hours_in_withdrawal[i]
        assert alone.hours_with_overdose_signs[0] == together.hours_with_overdose_signs[i]
        np.testing.assert_array_equal(alone.final_states[0], together.final_states[i])


def test_the_kernel_moves_only_the_modes_the_inputs_reach() -> None:
    # without oral or tissue baclofen the blood's mode stays exactly zero: left out, and
    # overdose follows z alone; with it, moved and evaluated — the same answers as the exact
    # engine either way (test_compiled_kernel_matches_exact_single_patient_engine)
    from thecal.physiology.model import SYSTEMIC
    from thecal.sim import kernel as kn
    from thecal.sim.many import _kernel_modes
    from thecal.sim.modal import decompose

    pop = sample("adult-spinal", 4, seed=2)
    modal = decompose(pop)
    zero = np.zeros((N_STATES, pop.n))
    spinal_only = _kernel_modes(pop, modal, zero, csf_on=True, systemic_on=False,
                                want_csf=False)
    assert SYSTEMIC not in spinal_only.modes and spinal_only.rcnt[kn.L_SYSTEMIC] == 0
    assert spinal_only.rcnt[kn.L_CSF] == 0  # not summarised: not computed
    with_oral = _kernel_modes(pop, modal, zero, csf_on=True, systemic_on=True, want_csf=True)
    assert SYSTEMIC in with_oral.modes and with_oral.rcnt[kn.L_SYSTEMIC] == 1
    # the withdrawal index weighs every mode that moves; the drive never the adaptation's
    assert with_oral.rcnt[kn.L_WITHDRAWAL] == with_oral.modes.size
    assert with_oral.rcnt[kn.L_DRIVE] < with_oral.rcnt[kn.L_ADAPT]
