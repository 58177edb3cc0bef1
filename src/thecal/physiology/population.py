"""Virtual populations: named presets with between-patient variability, reproducible by seed.

A preset is a typical patient plus, for each varying parameter, the standard deviation ω of
its logarithm (log-normal variability). Parameters bounded in (0, 1) (``emax``, fractions,
bioavailability) and the 0–4 baseline scores vary on the logit scale instead, so they stay
inside their range. Sampling uses a ``numpy.random.Generator`` seeded by the caller: the same
preset, size and seed always give the same patients.

Base presets: ``adult-spinal``, ``adult-cerebral``, ``child-spinal``, ``child-cerebral``.
Etiology presets (``multiple-sclerosis``, ``spinal-cord-injury``, ``cerebral-palsy``,
``stroke``, ``brain-injury``, ``other-spinal``, ``other-cerebral``) map to a base one.

Calibration (tests/sim/test_calibration.py, docs/simulation.md): spinal screening
response ≈ 97 % and cerebral ≈ 94 % with 50/75/100 mcg boluses (LIO-SCR, PENN92);
maintenance doses mostly 300–800 mcg/day spinal and 90–703 cerebral (MEDSCAPE2, GAB-SUM);
children a mean near 274 mcg/day (MEDSCAPE2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Final

import numpy as np

from thecal.errors import InputError
from thecal.physiology.model import rates_per_h
from thecal.physiology.parameters import (
    PARAMETER_INFO,
    PARAMETER_NAMES,
    ParameterArrays,
    Parameters,
)

#: Parameters that vary on the logit scale of value/upper (bounded in (0, upper)).
LOGIT_SCALED: Final = frozenset({
    "emax", "effect_fast_fraction", "effect_transit_share", "oral_bioavailability", "baseline_mas", "baseline_penn",
})
#: Rates closer than this (relative) are pushed apart so the modal propagation of the
#: many-patient engine stays well conditioned (the model is unchanged in any visible way).
MIN_RATE_SEPARATION: Final = 0.02

_COMMON_OMEGA: Final[dict[str, float]] = {
    "csf_half_life_h": 0.15,  # EJCP: 0.9–5 h in 4 patients; PENN87 ≈ 5 h
    "csf_clearance_ml_per_h": 0.25,  # EJCP: 13–80 mL/h
    "tip_volume_ml": 0.25,
    "tip_dispersion_rate_per_h": 0.2,
    "transit_rate_per_h": 0.2,
    "effect_fast_rate_per_h": 0.2,
    "effect_transit_share": 0.3,
    "effect_slow_rate_per_h": 0.2,
    "effect_fast_fraction": 0.3,
    "ec50_ng_per_ml": 0.3,
    "hill": 0.15,
    "emax": 0.5,
    "tolerance_max": 0.5,
    "tolerance_time_h": 0.3,
    "deprivation_time_h": 0.25,
    "readaptation_time_h": 0.25,
    "deprivation_weight": 0.2,
    "withdrawal_half_ratio": 0.2,
    "baseline_mas": 0.4,
    "baseline_penn": 0.4,
    "oral_half_life_h": 0.2,
    "oral_bioavailability": 0.3,
    "oral_spinal_potency_ng_per_ml_per_mg": 0.3,
    "systemic_sedation_mg": 0.3,
    "side_effect_ratio": 0.2,
    "overdose_ratio": 0.2,
}


@dataclass(frozen=True)
class Preset:
    """A named virtual population: typical patient, variability, and what it stands for."""

    name: str
    description: str
    typical: Parameters
    omega: Mapping[str, float] = field(default_factory=lambda: dict(_COMMON_OMEGA))
    base: str | None = None  # for etiology presets: the base preset they use


_ADULT_SPINAL = Parameters()
_ADULT_CEREBRAL = replace(
    _ADULT_SPINAL,
    ec50_ng_per_ml=413.8,  # 85 × 30/20.8 × 3.170 × 1.065 (as spinal): lower maintenance doses
    emax=0.92,  # fewer screening responders (LIO-SCR 94 % vs 97 %)
    tolerance_max=3.25,  # 3.5 before the tip excess: the same maintenance doses (MEDSCAPE2)
    baseline_mas=3.3,  # tone more than spasms
    baseline_penn=2.0,
)
_CEREBRAL_OMEGA: Final[dict[str, float]] = {**_COMMON_OMEGA, "emax": 0.9, "baseline_mas": 0.5}
# Children: a smaller spinal-fluid space, tip space and clearance (ASSUMED scaling), same
# half-life;
# mean maintenance dose < 12 y ≈ 274 mcg/day (MEDSCAPE2).
_CHILD_CEREBRAL = replace(_ADULT_CEREBRAL, csf_clearance_ml_per_h=14.6, tip_volume_ml=13.9)  # 0.7×
_CHILD_SPINAL = replace(_ADULT_SPINAL, csf_clearance_ml_per_h=14.6, tip_volume_ml=13.9)

BASE_PRESETS: Final[dict[str, Preset]] = {
    "adult-spinal": Preset("adult-spinal", "adult, spasticity of spinal origin (MS, SCI)",
                           _ADULT_SPINAL),
    "adult-cerebral": Preset("adult-cerebral",
                             "adult, spasticity of cerebral origin (stroke, brain injury, CP)",
                             _ADULT_CEREBRAL, _CEREBRAL_OMEGA),
    "child-cerebral": Preset("child-cerebral", "child, cerebral palsy or brain injury",
                             _CHILD_CEREBRAL, _CEREBRAL_OMEGA),
    "child-spinal": Preset("child-spinal", "child, spasticity of spinal origin",
                           _CHILD_SPINAL),
}

ETIOLOGY_BASE: Final[dict[str, str]] = {
    "multiple-sclerosis": "adult-spinal",
    "spinal-cord-injury": "adult-spinal",
    "other-spinal": "adult-spinal",
    "cerebral-palsy": "child-cerebral",
    "stroke": "adult-cerebral",
    "brain-injury": "adult-cerebral",
    "other-cerebral": "adult-cerebral",
}

PRESETS: Final[dict[str, Preset]] = {
    **BASE_PRESETS,
    **{name: replace(BASE_PRESETS[base], name=name, base=base,
                     description=f"{name.replace('-', ' ')} (as {base})")
       for name, base in ETIOLOGY_BASE.items()},
}


def preset_names() -> tuple[str, ...]:
    return tuple(PRESETS)


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown physiology preset {name!r}",
                         fix=f"use one of: {', '.join(PRESETS)}") from None


def _separate_rates(arrays: dict[str, np.ndarray]) -> None:
    """Push apart rates closer than MIN_RATE_SEPARATION (in place), lowest first."""
    keys = ("csf_half_life_h", "tip_dispersion_rate_per_h", "transit_rate_per_h",
            "effect_fast_rate_per_h", "effect_slow_rate_per_h", "oral_half_life_h",
            "tolerance_time_h", "deprivation_time_h", "readaptation_time_h")
    probe = ParameterArrays(**arrays)
    rates = rates_per_h(probe)  # (n, 9), in the order of ``keys``
    order = np.argsort(rates, axis=1)
    sorted_rates = np.take_along_axis(rates, order, axis=1)
    for j in range(1, sorted_rates.shape[1]):
        floor = sorted_rates[:, j - 1] * (1.0 + MIN_RATE_SEPARATION)
        sorted_rates[:, j] = np.maximum(sorted_rates[:, j], floor)
    np.put_along_axis(rates, order, sorted_rates, axis=1)
    ln2 = math.log(2.0)
    arrays[keys[0]] = ln2 / rates[:, 0]
    for j in (1, 2, 3, 4):  # rates as they are
        arrays[keys[j]] = rates[:, j]
    arrays[keys[5]] = ln2 / rates[:, 5]
    for j in (6, 7, 8):  # time constants
        arrays[keys[j]] = 1.0 / rates[:, j]


def sample(preset: str, n: int, seed: int | None = None,
           overrides: Mapping[str, float] | None = None) -> ParameterArrays:
    """``n`` virtual patients of ``preset``, reproducible from ``seed``.

    ``overrides`` fix parameters to a value for everyone (no variability).
    """
    if n < 1:
        raise InputError("a population needs at least one patient")
    rng = np.random.default_rng(seed)
    eta = rng.standard_normal((len(PARAMETER_NAMES), n))
    return _from_eta(preset, eta, overrides)


def patient_stream(seed: int, index: int) -> np.random.Generator:
    """Patient ``index``'s own random stream: child ``index`` of ``SeedSequence(seed).spawn``
    (``spawn_key=(index,)``, the same object ``spawn`` makes), so a patient's draw depends on
    the seed and its index only — not on how many patients are drawn, in which blocks, by how
    many threads or workers."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index,))))


def sample_streams(preset: str, seed: int, start: int, stop: int,
                   overrides: Mapping[str, float] | None = None) -> ParameterArrays:
    """Patients ``start … stop−1`` of the population of ``preset`` drawn from ``seed`` with one
    random stream each (:func:`patient_stream`); ``sample_streams(p, s, 0, n)`` is the whole
    population and any split of the range gives the same patients (costs ≈ 25 µs a patient)."""
    if not 0 <= start < stop:
        raise InputError("a population needs at least one patient")
    k = len(PARAMETER_NAMES)
    eta = np.empty((k, stop - start))
    for j, index in enumerate(range(start, stop)):
        eta[:, j] = patient_stream(seed, index).standard_normal(k)
    return _from_eta(preset, eta, overrides)


def _from_eta(preset: str, eta: np.ndarray,
              overrides: Mapping[str, float] | None) -> ParameterArrays:
    """Parameters from standard normal deviates ``eta`` (one row per parameter)."""
    spec = get_preset(preset)
    typical = spec.typical.with_overrides(overrides or {})
    arrays: dict[str, np.ndarray] = {}
    for row, name in enumerate(PARAMETER_NAMES):
        mu = getattr(typical, name)
        omega = 0.0 if overrides and name in overrides else spec.omega.get(name, 0.0)
        info = PARAMETER_INFO[name]
        if name in LOGIT_SCALED:
            frac = min(max(mu / info.upper, 1e-6), 1.0 - 1e-6)
            logit = math.log(frac / (1.0 - frac)) + omega * eta[row]
            values = info.upper / (1.0 + np.exp(-logit))
        else:
            values = mu * np.exp(omega * eta[row])
        arrays[name] = np.clip(values, info.lower, info.upper)
    _separate_rates(arrays)
    return ParameterArrays(**arrays)


def patient(preset: str, seed: int | None = None,
            overrides: Mapping[str, float] | None = None) -> Parameters:
    """One virtual patient: the typical patient of ``preset`` if ``seed`` is None, else a
    random member drawn reproducibly from ``seed``. ``overrides`` replace parameters last."""
    base = get_preset(preset).typical if seed is None else sample(preset, 1, seed).patient(0)
    return base.with_overrides(overrides or {})


def parameter_table() -> list[dict[str, object]]:
    """Every parameter with unit, source, basis and the typical value of each base preset."""
    rows: list[dict[str, object]] = []
    for f in fields(Parameters):
        info = PARAMETER_INFO[f.name]
        row: dict[str, object] = {"name": f.name, "unit": info.unit, "source": info.source,
                                  "basis": info.basis, "note": info.note}
        for name, spec in BASE_PRESETS.items():
            row[name] = getattr(spec.typical, f.name)
        row["omega"] = _COMMON_OMEGA.get(f.name, 0.0)
        rows.append(row)
    return rows
