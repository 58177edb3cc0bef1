"""The patient model: structure, steady states worked by hand, readouts, symptoms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.errors import InputError
from thecal.physiology import (
    PARAMETER_INFO,
    Parameters,
    adapted_dose_mcg_per_day,
    mas_category,
    naive_dose_mcg_per_day,
    readouts,
    steady_state,
    symptom_codes,
    system_matrices,
)
from thecal.physiology.model import (
    ADAPT,
    CSF,
    DEPRIV,
    EARLY_WITHDRAWAL_CODES,
    FAST,
    N_STATES,
    READAPT,
    SEVERE_WITHDRAWAL_CODES,
    SLOW,
    TIP,
    TRANSIT,
    withdrawal_weights,
)
from thecal.sources import SOURCES


def test_every_parameter_names_a_known_source_and_basis() -> None:
    for name, info in PARAMETER_INFO.items():
        assert info.source in SOURCES, name
        assert info.basis in ("verified", "fitted", "assumed")
        assert info.lower <= getattr(Parameters(), name) <= info.upper


def test_csf_volume_from_clearance_and_half_life() -> None:
    # V = CL · t½ / ln 2 = 20.8 · 5 / 0.6931 = 150.04 mL (v1: 30 mL/h gave 216 mL, more than
    # the whole spinal fluid)
    assert Parameters().csf_volume_ml == pytest.approx(150.040, abs=1e-3)


def test_a_is_lower_triangular_with_minus_rates_on_the_diagonal() -> None:
    a, b = system_matrices(Parameters())
    assert np.allclose(np.triu(a[0], 1), 0.0)
    assert a[0, CSF, CSF] == pytest.approx(-math.log(2) / 5.0)
    assert b[0, CSF, 0] == pytest.approx(1000.0 / Parameters().csf_volume_ml)


def test_steady_state_by_hand() -> None:
    # 480 mcg/day = 20 mcg/h; bulk C = 1000·u/CL = 1000·20/20.8 = 961.54 ng/mL; tip excess
    # S = 1000·u/(V_tip·k_disp) = 20000/(19.8·0.484) = 20000/9.5832 = 2086.99 ng/mL; transit
    # and both sites settle at the local level C + S = 3048.52, and so does the drive
    # (weights 0.714·0.16 + 0.714·0.84 + 0.286 = 1); adaptation equals the drive; no
    # deprivation, no re-adaptation, so the withdrawal index W = (T − drive) + 2·0 − 3·0 = 0.
    x = steady_state(Parameters(), 20.0)
    c = 20000.0 / 20.8
    excess = 20000.0 / (19.8 * 0.484)
    assert x[CSF] == pytest.approx(c, rel=1e-12)
    assert x[TIP] == pytest.approx(excess, rel=1e-12)
    for i in (TRANSIT, FAST, SLOW, ADAPT):
        assert x[i] == pytest.approx(c + excess, rel=1e-12)
    assert x[DEPRIV] == pytest.approx(0.0, abs=1e-9)
    assert x[READAPT] == pytest.approx(0.0, abs=1e-9)
    assert float(withdrawal_weights(Parameters())[0] @ x) == pytest.approx(0.0, abs=1e-9)


def test_withdrawal_index_by_hand() -> None:
    # T = 2000, drive 800 (transit, fast and slow sites all 800), D = 400, R = 160:
    # W = (2000 − 800) + 2·400 − 3·160 = 1520; score = 1520²/(1520² + (5.8·535.6)²)
    # = 1520²/(1520² + 3106.48²) = 0.1932
    x = np.zeros((1, N_STATES))
    x[0, TRANSIT] = x[0, FAST] = x[0, SLOW] = 800.0
    x[0, ADAPT], x[0, DEPRIV], x[0, READAPT] = 2000.0, 400.0, 160.0
    half = 5.8 * 535.6
    assert readouts(Parameters(), x).withdrawal_score[0] == pytest.approx(
        1520.0**2 / (1520.0**2 + half**2), rel=1e-12)


def test_naive_dose_by_hand() -> None:
    # target 0.6 with emax 0.95, hill 3: r = (0.6/0.35)^(1/3) = 1.1968
    # drive = r·EC50 = 1.1968·535.6 = 641.02 ng/mL; steady drive per mcg/h
    # = 1000·(1/20.8 + 1/(19.8·0.484)) = 48.08 + 104.35 = 152.43 → dose = 24·641.02/152.43
    # = 100.93 mcg/day (v2 before the tip excess 94.82: EC50 now keeps the screening bolus's
    # response, and tolerance_max the maintenance dose)
    p = Parameters()
    assert naive_dose_mcg_per_day(p, 0.6)[0] == pytest.approx(100.93, abs=0.05)


def test_adapted_dose_exceeds_naive_dose() -> None:
    p = Parameters()
    assert adapted_dose_mcg_per_day(p, 0.6)[0] > 3 * naive_dose_mcg_per_day(p, 0.6)[0]
    assert np.isinf(adapted_dose_mcg_per_day(p.with_overrides({"emax": 0.5}), 0.6)[0])


def test_parameters_refuse_out_of_range_and_unknown_names() -> None:
    with pytest.raises(InputError):
        Parameters(csf_half_life_h=-1.0)
    with pytest.raises(InputError):
        Parameters().with_overrides({"nonsense": 1.0})


def test_naive_untreated_patient_reads_baseline() -> None:
    p = Parameters()
    r = readouts(p, np.zeros((1, N_STATES)))
    assert r.effect[0] == 0.0
    assert r.mas[0] == pytest.approx(p.baseline_mas)
    assert r.penn_frequency[0] == pytest.approx(p.baseline_penn)
    assert r.withdrawal_score[0] == 0.0 and r.overdose_score[0] == 0.0


def test_mas_categories() -> None:
    assert list(mas_category([0.1, 1.0, 1.5, 2.2, 3.1, 3.9])) == ["0", "1", "1+", "2", "3", "4"]


def test_symptoms_early_withdrawal_before_severe() -> None:
    mild = symptom_codes(0.0, 0.3, 0.0)
    assert set(mild) <= set(EARLY_WITHDRAWAL_CODES)
    assert "increased-spasticity" in mild
    severe = symptom_codes(0.0, 0.9, 0.0)
    assert set(SEVERE_WITHDRAWAL_CODES) <= set(severe)
    assert severe.index("increased-spasticity") < severe.index("high-fever")


def test_symptoms_overdose_escalates() -> None:
    assert symptom_codes(0.0, 0.0, 0.2) == ("drowsiness",)
    assert "coma" in symptom_codes(0.0, 0.0, 0.95)
    assert symptom_codes(0.0, 0.0, 0.0) == ()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e4, 1e5, allow_nan=False), min_size=N_STATES, max_size=N_STATES))
def test_readouts_stay_in_range(state: list[float]) -> None:
    r = readouts(Parameters(), np.array([state]))
    for name in ("effect", "withdrawal_score", "overdose_score", "side_effect_score"):
        value = getattr(r, name)[0]
        assert 0.0 <= value <= 1.0
    assert 0.0 <= r.mas[0] <= 4.0 and 0.0 <= r.penn_frequency[0] <= 4.0


@settings(max_examples=40, deadline=None)
@given(st.floats(0.0, 5000.0), st.floats(0.0, 5000.0))
def test_effect_rises_with_drive(c1: float, c2: float) -> None:
    lo, hi = sorted((c1, c2))
    x = np.zeros((2, N_STATES))
    x[0, TRANSIT] = x[0, FAST] = x[0, SLOW] = lo
    x[1, TRANSIT] = x[1, FAST] = x[1, SLOW] = hi
    e = readouts(Parameters(), x).effect
    assert e[0] <= e[1] + 1e-15
