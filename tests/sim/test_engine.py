"""The exact engine: agreement with solve_ivp, linearity, non-negativity, the two methods."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.physiology import Parameters, patient, steady_state
from thecal.physiology.model import ADAPT, CSF, DEPRIV, FAST, SLOW, SYSTEMIC
from thecal.schedule import Schedule
from thecal.sim.engine import reference_simulate, simulate


def realistic_year() -> tuple[Schedule, Schedule]:
    """Titration, dose changes, flex steps, boluses, refills (no flow for 20 min), and a
    36-hour interruption; oral baclofen weaned in the first month."""
    segs: list[tuple[float, float, float]] = []
    t = 0.0
    daily = 100.0
    day = 0
    while t < 8760.0:
        if day == 200:  # a two-day interruption (catheter kink)
            segs.append((t, t + 48.0, 0.0))
            day += 2
            t = 24.0 * day
            continue
        if day < 10:
            daily *= 1.2
        elif day % 45 == 0:
            daily *= 1.1
        if day % 60 == 30:  # refill: 20 min without flow, then a 50-mcg bolus over 30 min
            segs.append((t, t + 1 / 3, 0.0))
            segs.append((t + 1 / 3, t + 1 / 3 + 0.5, daily / 24.0 + 100.0))
            segs.append((t + 1 / 3 + 0.5, t + 7.0, daily / 24.0))
            segs.append((t + 7.0, t + 24.0, 1.3 * daily / 24.0))
        else:
            segs.append((t, t + 7.0, 0.8 * daily / 24.0))  # flex: night then day
            segs.append((t + 7.0, t + 24.0, 1.1 * daily / 24.0))
        day += 1
        t = 24.0 * day
    oral = Schedule.from_segments([(0.0, 240.0, 60.0), (240.0, 480.0, 30.0),
                                   (480.0, 720.0, 15.0)])
    return Schedule.from_segments(segs), oral


def test_exact_engine_matches_solve_ivp_over_a_year() -> None:
    csf, oral = realistic_year()
    p = patient("adult-spinal", seed=4)
    t = np.arange(0.0, 8760.0, 6.0) + 0.37  # off the edges, too
    exact = simulate(p, csf, t, oral_mg_per_day=oral, start_h=0.0)
    ref = reference_simulate(p, csf, t, oral_mg_per_day=oral, start_h=0.0, rtol=1e-10,
                             atol=1e-10)
    scale = np.maximum(np.abs(ref.states).max(axis=0), 1e-6 * np.abs(ref.states).max())
    rel = np.abs(exact.states - ref.states) / scale
    assert rel.max() <= 1e-6


def test_modal_and_expm_agree() -> None:
    csf, oral = realistic_year()
    t = np.linspace(0.0, 2000.0, 701)
    p = Parameters()
    a = simulate(p, csf, t, oral_mg_per_day=oral, start_h=0.0, method="modal").states
    b = simulate(p, csf, t, oral_mg_per_day=oral, start_h=0.0, method="expm").states
    assert np.max(np.abs(a - b) / (np.abs(b).max(axis=0) + 1e-300)) <= 1e-9


def test_bolus_golden_values() -> None:
    # 50 mcg into V = 216.4 mL over 1 s: C(0⁺) ≈ 1000·50/216.4 = 231.05 ng/mL, then
    # C(t) = C0·2^(−t/5): at 5 h half, at 10 h a quarter.
    p = Parameters()
    sec = 1 / 3600
    sched = Schedule(np.array([0.0, sec]), np.array([50.0 / sec]))
    c = simulate(p, sched, np.array([sec, 5 + sec, 10 + sec]), start_h=0.0).state(
        "csf_conc_ng_per_ml")
    c0 = 1000 * 50 / p.csf_volume_ml
    assert c == pytest.approx([c0, c0 / 2, c0 / 4], rel=1e-4)


def test_constant_infusion_reaches_steady_state() -> None:
    p = Parameters()
    sched = Schedule(np.array([0.0, 1e6]), np.array([20.0]))
    x = simulate(p, sched, np.array([2e5]), start_h=0.0).states[0]
    assert x == pytest.approx(steady_state(p, 20.0), rel=1e-9, abs=1e-9)


def test_starting_from_a_state_continues_the_same_trajectory() -> None:
    csf, oral = realistic_year()
    p = Parameters()
    whole = simulate(p, csf, np.array([500.0, 900.0]), oral_mg_per_day=oral, start_h=0.0)
    mid = simulate(p, csf, np.array([500.0]), oral_mg_per_day=oral, start_h=0.0).states[0]
    rest = simulate(p, csf, np.array([900.0]), oral_mg_per_day=oral, start_h=500.0, x0=mid)
    assert rest.states[0] == pytest.approx(whole.states[1], rel=1e-10, abs=1e-10)


segment = st.tuples(st.floats(0.01, 200.0), st.floats(0.0, 400.0))


def _schedule(pieces: list[tuple[float, float]]) -> Schedule:
    t = 0.0
    segs = []
    for length, rate in pieces:
        segs.append((t, t + length, rate))
        t += length
    return Schedule.from_segments(segs)


@settings(max_examples=40, deadline=None)
@given(st.lists(segment, min_size=1, max_size=12), st.lists(segment, min_size=1, max_size=12))
def test_superposition(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> None:
    sa, sb = _schedule(a), _schedule(b)
    edges = np.unique(np.concatenate([sa.edges, sb.edges]))
    both = Schedule(edges, sa.value_at(edges[:-1]) + sb.value_at(edges[:-1]))
    t = np.linspace(0.0, float(edges[-1]) + 48.0, 97)
    p = Parameters()
    xa = simulate(p, sa, t, start_h=0.0).states
    xb = simulate(p, sb, t, start_h=0.0).states
    xab = simulate(p, both, t, start_h=0.0).states
    scale = np.abs(xab).max() + 1.0
    assert np.max(np.abs(xab - xa - xb)) <= 1e-9 * scale


@settings(max_examples=40, deadline=None)
@given(st.lists(segment, min_size=1, max_size=12), st.integers(0, 10_000))
def test_amounts_never_negative(pieces: list[tuple[float, float]], seed: int) -> None:
    p = patient("adult-spinal", seed)
    s = _schedule(pieces)
    t = np.linspace(0.0, float(s.edges[-1]) + 100.0, 151)
    x = simulate(p, s, t, start_h=0.0).states
    tol = 1e-9 * (np.abs(x).max() + 1.0)
    for col in (CSF, FAST, SLOW, SYSTEMIC, ADAPT):
        assert x[:, col].min() >= -tol
    assert np.isfinite(x[:, DEPRIV]).all()


@settings(max_examples=10, deadline=None)
@given(st.lists(st.tuples(st.floats(0.01, 48.0), st.floats(0.0, 400.0)), min_size=1,
                max_size=5), st.integers(0, 10_000))
def test_exact_matches_reference_for_random_inputs(pieces: list[tuple[float, float]],
                                                   seed: int) -> None:
    p = patient("adult-cerebral", seed)
    s = _schedule(pieces)
    t = np.linspace(0.0, float(s.edges[-1]) + 24.0, 40)
    exact = simulate(p, s, t, start_h=0.0).states
    ref = reference_simulate(p, s, t, start_h=0.0).states
    # per state, relative to its largest value (a state never driven is compared with the
    # largest state, so rounding at 1e-17 in an all-zero column is not a relative error);
    # the floor (1e-9 absolute) keeps the reference's own absolute error (atol 1e-12 per
    # step, ~1e-11 after a few hundred) from failing the comparison when hypothesis picks a
    # tiny rate such as 1e-11 or 2e-16 mcg/h
    scale = np.maximum(np.abs(ref).max(axis=0), 1e-6 * np.abs(ref).max() + 1e-3)
    assert np.max(np.abs(exact - ref) / scale) <= 1e-6
