"""The virtual patient's parameters: one patient (:class:`Parameters`) or many (arrays).

Every parameter says where its typical value comes from (:data:`PARAMETER_INFO`): a source
key of ``thecal.sources.SOURCES`` and whether the value was read there (``verified``), fitted
by thecal to a target stated in that source (``fitted``, the target named), or is a thecal
assumption (``assumed``, source ``ASSUMED``). ``docs/simulation.md`` shows the fits.

Units are in the names: ``_h`` hours, ``_per_h`` 1/h, ``_ml_per_h`` mL/h, ``_ng_per_ml``
ng/mL of baclofen in the lumbar spinal fluid, ``_mg`` mg of baclofen in the body.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from thecal.errors import InputError
from thecal.sources import check_source

FloatArray = npt.NDArray[np.float64]
Basis = Literal["verified", "fitted", "assumed"]


@dataclass(frozen=True)
class ParameterInfo:
    """Unit, source key, basis and a short note for one parameter."""

    unit: str
    source: str
    basis: Basis
    note: str
    lower: float
    upper: float

    def __post_init__(self) -> None:
        check_source(self.source)


_FIT: Final = "scripts/fit_kinetics.py"

PARAMETER_INFO: Final[dict[str, ParameterInfo]] = {
    "csf_half_life_h": ParameterInfo(
        "h", "PENN87", "verified", "CSF elimination half-life ≈ 5 h (bolus range 0.9–5 h, EJCP)",
        0.5, 24.0),
    "csf_clearance_ml_per_h": ParameterInfo(
        "mL/h", "EJCP", "verified",
        "CSF clearance 13–80 mL/h (EJCP); typical 20.8 mL/h = V·ln2/t½ with V ≈ 150 mL "
        "(adult spinal-fluid volume, ASSUMED) and t½ 5 h (PENN87)",
        1.0, 200.0),
    "tip_volume_ml": ParameterInfo(
        "mL", "HEETLA", "fitted",
        "space around the catheter tip a dose first spreads in (baclofen stays near the tip, "
        f"HEETLA; steep gradient along the spinal fluid, KROIN93); fitted by {_FIT} with the "
        "dispersion rate to the bolus peak ≈ 4 h (CLUSTER) and the step half-change 6–8 h "
        "(M-UK-QA), the steady excess kept at most 3 × the bulk level (ASSUMED)",
        0.5, 150.0),
    "tip_dispersion_rate_per_h": ParameterInfo(
        "1/h", "HEETLA", "fitted",
        "rate at which the excess near the tip disperses into the bulk spinal fluid; fitted "
        f"by {_FIT} with the tip volume (bolus peak ≈ 4 h, CLUSTER; step half-change 6–8 h, "
        "M-UK-QA)",
        0.01, 20.0),
    "transit_rate_per_h": ParameterInfo(
        "1/h", "CLUSTER", "fitted",
        "transit from the level near the tip (bulk + excess) towards the cord; fitted by "
        f"{_FIT}: bolus peak ≈ 4 h (CLUSTER, NSN) with the step half-change in 6–8 h (M-UK-QA)",
        0.05, 20.0),
    "effect_fast_rate_per_h": ParameterInfo(
        "1/h", "M-UK-QA", "fitted",
        f"fast effect-site rate; fitted by {_FIT}: step half-change 6–8 h (M-UK-QA), "
        "bolus peak ≈ 4 h (CLUSTER)", 0.05, 10.0),
    "effect_transit_share": ParameterInfo(
        "1", "CLUSTER", "fitted",
        "share of the fast part of the drive read at the transit step itself rather than at "
        f"the fast site; fitted by {_FIT}: bolus onset 0.5–1 h (CLUSTER) with the peak ≈ 4 h",
        0.0, 1.0),
    "effect_slow_rate_per_h": ParameterInfo(
        "1/h", "M-UK-QA", "fitted",
        f"slow effect-site rate; fitted by {_FIT}: 95 % of a dose step in 1–2 days (M-UK-QA), "
        "a naive start's maximum at 24–48 h (CLUSTER)", 0.005, 1.0),
    "effect_fast_fraction": ParameterInfo(
        "1", "M-UK-QA", "fitted",
        f"weight of the fast part of the drive; fitted by {_FIT}: the slow rest (0.29) carries "
        "a dose step to its maximum in 1–2 days (M-UK-QA) and keeps the bolus short (CLUSTER "
        "4–8 h)", 0.0, 1.0),
    "ec50_ng_per_ml": ParameterInfo(
        "ng/mL", "LIO-SCR", "fitted",
        "naive drive (level near the tip) for half the maximum effect; fitted to screening "
        "response (LIO-SCR 97 %/94 %) and maintenance doses (MEDSCAPE2); set by "
        f"{_FIT} with the kinetics so that a 50 mcg bolus peaks at the same drive / EC50 as "
        "before the tip excess (the screening response stays)", 1.0, 1e5),
    "hill": ParameterInfo(
        "1", "LIO-SCR", "fitted", "steepness of the dose-response (screening 50/75/100 mcg)",
        0.5, 8.0),
    "emax": ParameterInfo(
        "1", "LIO-SCR", "fitted", "maximum fraction of spasticity that baclofen removes",
        0.0, 1.0),
    "tolerance_max": ParameterInfo(
        "1", "SPAIN2000", "fitted",
        "largest fold rise of EC50 with adaptation (dose 83→270 mcg/day over 12 months); "
        f"set by {_FIT} with EC50 so that the adapted maintenance doses (MEDSCAPE2) stay",
        0.0, 50.0),
    "tolerance_time_h": ParameterInfo(
        "h", "SPAIN2000", "fitted",
        "time constant of adaptation: 120 days, so the dose keeps rising through the first "
        "year (SPAIN2000: 83 → 270 mcg/day over 12 months) and a naive start's effect is not "
        "eroded within its first two days (CLUSTER: maximum at 24–48 h)", 24.0, 1e5),
    "deprivation_time_h": ParameterInfo(
        "h", "COFFEY02", "fitted",
        "withdrawal evolves over 1–3 days after delivery stops: 40 h keeps the severe signs "
        "a day or more after a stop, with the faster fall of the drive the tip excess gives",
        1.0, 1000.0),
    "readaptation_time_h": ParameterInfo(
        "h", "COFFEY02", "fitted",
        "re-adaptation to a lower level: an untreated withdrawal passes its worst in 1–3 days",
        1.0, 5000.0),
    "deprivation_weight": ParameterInfo(
        "1", "COFFEY02", "fitted",
        "how much the deprivation built over a day adds to the lost effect in the withdrawal "
        "index: severe signs follow the early ones by about a day", 0.0, 20.0),
    "withdrawal_half_ratio": ParameterInfo(
        "1", "STET15", "fitted",
        "withdrawal index (in naive EC50 units) for half-maximal withdrawal: a stop from "
        "150 mcg/day gives early signs, from 200 mcg/day and more severe ones (STET15 "
        "90–420 mcg/day; COFFEY02); a 10 % cut gives none; refitted with the kinetics (6.8 → "
        "5.8)", 0.01, 100.0),
    "baseline_mas": ParameterInfo(
        "MAS 0–4", "PENN92", "assumed",
        "untreated Modified Ashworth score of the candidate (severe spasticity)", 0.0, 4.0),
    "baseline_penn": ParameterInfo(
        "Penn 0–4", "PENN92", "assumed", "untreated Penn spasm frequency", 0.0, 4.0),
    "oral_half_life_h": ParameterInfo(
        "h", "ASSUMED", "assumed", "systemic baclofen half-life (oral, or pocket fill)",
        0.5, 48.0),
    "oral_bioavailability": ParameterInfo(
        "1", "ASSUMED", "assumed", "fraction of an oral dose reaching the blood", 0.0, 1.0),
    "oral_spinal_potency_ng_per_ml_per_mg": ParameterInfo(
        "ng/mL per mg", "MEDSCAPE1", "assumed",
        "effect-site equivalent of 1 mg systemic baclofen; small because intrathecal doses "
        "are ~100× lower than oral ones (MEDSCAPE1, DRUGLIB); scaled with the steady drive per "
        "mcg/h", 0.0, 1000.0),
    "systemic_sedation_mg": ParameterInfo(
        "mg", "ASSUMED", "assumed", "systemic baclofen for half-maximal sedation", 0.1, 1e4),
    "side_effect_ratio": ParameterInfo(
        "1", "CLUSTER", "assumed",
        "effect-site level / adapted EC50 at which side effects are half-maximal", 0.1, 100.0),
    "overdose_ratio": ParameterInfo(
        "1", "PILL", "assumed",
        "effect-site level / adapted EC50 at which overdose signs are half-maximal", 0.1, 100.0),
}


@dataclass(frozen=True)
class Parameters:
    """One virtual patient. Defaults are the typical adult with spasticity of spinal origin."""

    csf_half_life_h: float = 5.0
    csf_clearance_ml_per_h: float = 20.8  # V = 20.8 × 5 / ln 2 = 150.0 mL
    transit_rate_per_h: float = 0.537
    effect_fast_rate_per_h: float = 0.568
    effect_slow_rate_per_h: float = 0.0684
    effect_fast_fraction: float = 0.714
    # 158.7 × 3.170 × 1.065 (scripts/fit_kinetics.py): the steady drive per mcg/h is 3.170 ×
    # the bulk's (1 + 20.8/(19.8 × 0.484)), and a 50 mcg bolus peaks 1.065 × higher against it
    # than before the tip excess, so the screening response (LIO-SCR) is the one of 158.7 ng/mL
    # without it; tolerance_max 4.5 → 4.20 keeps the maintenance doses (MEDSCAPE2)
    ec50_ng_per_ml: float = 535.6
    hill: float = 3.0
    emax: float = 0.95
    tolerance_max: float = 4.20
    tolerance_time_h: float = 2880.0
    deprivation_time_h: float = 40.0
    readaptation_time_h: float = 72.0
    deprivation_weight: float = 2.0
    withdrawal_half_ratio: float = 5.8
    baseline_mas: float = 3.5
    baseline_penn: float = 3.2
    oral_half_life_h: float = 4.0
    oral_bioavailability: float = 0.8
    oral_spinal_potency_ng_per_ml_per_mg: float = 13.73  # 3.0 × 30/20.8 × 3.170 (drive per mcg/h)
    systemic_sedation_mg: float = 60.0
    side_effect_ratio: float = 2.5
    overdose_ratio: float = 5.0
    # appended last: a seeded population keeps every earlier parameter's draw (sample() fills
    # one row of deviates per parameter, in this order)
    tip_volume_ml: float = 19.8
    tip_dispersion_rate_per_h: float = 0.484
    effect_transit_share: float = 0.160

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            info = PARAMETER_INFO[f.name]
            if not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise InputError(f"parameter {f.name} must be a finite number, got {value!r}")
            if not info.lower <= value <= info.upper:
                raise InputError(
                    f"parameter {f.name} = {value:g} {info.unit} is outside "
                    f"{info.lower:g}–{info.upper:g}",
                    fix=f"choose {f.name} between {info.lower:g} and {info.upper:g} {info.unit}")
            object.__setattr__(self, f.name, float(value))

    @property
    def csf_volume_ml(self) -> float:
        """Apparent lumbar CSF volume: clearance × half-life / ln 2."""
        return self.csf_clearance_ml_per_h * self.csf_half_life_h / math.log(2.0)

    def with_overrides(self, overrides: Mapping[str, float]) -> Parameters:
        """A copy with some parameters replaced; unknown names are refused."""
        unknown = sorted(set(overrides) - set(PARAMETER_INFO))
        if unknown:
            raise InputError(f"unknown physiology parameter {unknown[0]!r}",
                             fix=f"use one of: {', '.join(PARAMETER_INFO)}")
        return replace(self, **{k: float(v) for k, v in overrides.items()})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def to_arrays(self) -> ParameterArrays:
        """This patient as a population of one."""
        return ParameterArrays(**{name: np.array([getattr(self, name)])
                                  for name in PARAMETER_NAMES})


PARAMETER_NAMES: Final[tuple[str, ...]] = tuple(f.name for f in fields(Parameters))


@dataclass(frozen=True)
class ParameterArrays:
    """Many virtual patients: each field is an array of shape ``(n,)``."""

    csf_half_life_h: FloatArray
    csf_clearance_ml_per_h: FloatArray
    transit_rate_per_h: FloatArray
    effect_fast_rate_per_h: FloatArray
    effect_slow_rate_per_h: FloatArray
    effect_fast_fraction: FloatArray
    ec50_ng_per_ml: FloatArray
    hill: FloatArray
    emax: FloatArray
    tolerance_max: FloatArray
    tolerance_time_h: FloatArray
    deprivation_time_h: FloatArray
    readaptation_time_h: FloatArray
    deprivation_weight: FloatArray
    withdrawal_half_ratio: FloatArray
    baseline_mas: FloatArray
    baseline_penn: FloatArray
    oral_half_life_h: FloatArray
    oral_bioavailability: FloatArray
    oral_spinal_potency_ng_per_ml_per_mg: FloatArray
    systemic_sedation_mg: FloatArray
    side_effect_ratio: FloatArray
    overdose_ratio: FloatArray
    tip_volume_ml: FloatArray
    tip_dispersion_rate_per_h: FloatArray
    effect_transit_share: FloatArray

    def __post_init__(self) -> None:
        sizes = set()
        for f in fields(self):
            arr = np.atleast_1d(np.asarray(getattr(self, f.name), dtype=float))
            if arr.ndim != 1:
                raise ValueError(f"{f.name} must be one-dimensional")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{f.name} must be finite")
            sizes.add(arr.size)
            object.__setattr__(self, f.name, arr)
        if len(sizes) != 1:
            raise ValueError("all parameter arrays must have the same length")

    @property
    def n(self) -> int:
        return int(self.csf_half_life_h.size)

    @property
    def csf_volume_ml(self) -> FloatArray:
        return self.csf_clearance_ml_per_h * self.csf_half_life_h / math.log(2.0)

    def patient(self, i: int) -> Parameters:
        """Patient ``i`` as a :class:`Parameters`."""
        return Parameters(**{f.name: float(getattr(self, f.name)[i]) for f in fields(self)})

    def take(self, index: npt.ArrayLike) -> ParameterArrays:
        """A sub-population (index array or boolean mask)."""
        idx = np.asarray(index)
        return ParameterArrays(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @classmethod
    def stack(cls, patients: list[Parameters]) -> ParameterArrays:
        return cls(**{name: np.array([getattr(p, name) for p in patients])
                      for name in PARAMETER_NAMES})
