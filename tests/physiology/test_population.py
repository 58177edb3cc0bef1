"""Populations: presets, reproducibility, variability, etiology mapping."""

from __future__ import annotations

import numpy as np
import pytest

from thecal.errors import InputError
from thecal.physiology import PRESETS, Parameters, patient, sample
from thecal.physiology.model import rates_per_h
from thecal.physiology.population import ETIOLOGY_BASE, MIN_RATE_SEPARATION


def test_named_presets_exist() -> None:
    for name in ("adult-spinal", "adult-cerebral", "child-cerebral", "child-spinal",
                 "multiple-sclerosis", "spinal-cord-injury", "cerebral-palsy", "stroke",
                 "brain-injury"):
        assert name in PRESETS


def test_etiology_presets_map_to_their_base() -> None:
    assert ETIOLOGY_BASE["multiple-sclerosis"] == "adult-spinal"
    assert ETIOLOGY_BASE["spinal-cord-injury"] == "adult-spinal"
    assert ETIOLOGY_BASE["cerebral-palsy"] == "child-cerebral"
    assert ETIOLOGY_BASE["stroke"] == "adult-cerebral"
    assert patient("stroke") == PRESETS["adult-cerebral"].typical


def test_same_seed_same_patients() -> None:
    a = sample("adult-spinal", 50, seed=7)
    b = sample("adult-spinal", 50, seed=7)
    c = sample("adult-spinal", 50, seed=8)
    assert np.array_equal(a.ec50_ng_per_ml, b.ec50_ng_per_ml)
    assert not np.array_equal(a.ec50_ng_per_ml, c.ec50_ng_per_ml)
    assert patient("adult-spinal", 3) == patient("adult-spinal", 3)


def test_log_normal_spread_around_typical() -> None:
    s = sample("adult-spinal", 4000, seed=1)
    typical = Parameters().csf_clearance_ml_per_h
    logs = np.log(s.csf_clearance_ml_per_h / typical)
    assert abs(np.median(logs)) < 0.03
    assert 0.2 < logs.std() < 0.3  # ω = 0.25


def test_bounded_parameters_stay_in_range() -> None:
    s = sample("adult-cerebral", 2000, seed=2)
    assert np.all((s.emax > 0) & (s.emax < 1))
    assert np.all((s.baseline_mas > 0) & (s.baseline_mas < 4))


def test_rates_kept_apart() -> None:
    rates = np.sort(rates_per_h(sample("child-spinal", 3000, seed=3)), axis=1)
    assert np.all(rates[:, 1:] >= rates[:, :-1] * (1 + MIN_RATE_SEPARATION) * (1 - 1e-12))


def test_unknown_preset_is_refused_with_the_list() -> None:
    with pytest.raises(InputError, match="adult-spinal"):
        sample("martian", 3)


def test_overrides_fix_a_parameter_for_everyone() -> None:
    s = sample("adult-spinal", 20, seed=1, overrides={"hill": 2.0})
    assert np.all(s.hill == 2.0)
