"""Value objects of the catalog: a sourced figure, a pump model, a catheter, a formulation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from thecal.sources import check_source

PumpFamily = Literal["synchromed", "prometra", "constant-flow"]
MriBehaviour = Literal["motor-stall", "valve-shutoff", "empty-first", "none"]


@dataclass(frozen=True)
class Figure:
    """One catalog number with where it comes from."""

    value: float | None
    source: str
    verified: bool
    note: str = ""

    def __post_init__(self) -> None:
        check_source(self.source)

    def as_dict(self) -> dict[str, object]:
        return {"value": self.value, "source": self.source,
                "status": "verified" if self.verified else "assumed", "note": self.note}


@dataclass(frozen=True)
class PumpModel:
    """An implantable pump model. Plain-float attributes mirror the sourced ``figures``."""

    id: str
    name: str
    manufacturer: str
    family: PumpFamily
    programmable: bool
    reservoir_ml: float
    low_reservoir_alarm_ml: float
    min_rate_ml_per_day: float
    max_rate_ml_per_day: float
    max_flex_steps_per_day: int
    tubing_volume_ml: float
    priming_rate_ml_per_day: float
    accuracy_fraction: float
    service_life_days: float | None
    eri_to_eos_days: float | None
    battery_reset_rate_ml_per_day: float | None
    mri_behaviour: MriBehaviour
    mri_resume_delay_h: float
    max_depth_cm: float
    constant_rate_ml_per_day: float | None = None
    mri_resume_delay_worst_h: float | None = None  # the longest delay reported (M-MRI)
    figures: dict[str, Figure] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_battery(self) -> bool:
        return self.service_life_days is not None


@dataclass(frozen=True)
class CatheterModel:
    id: str
    name: str
    manufacturer: str
    volume_ml_per_cm: float
    max_length_cm: float
    figures: dict[str, Figure] = field(default_factory=dict, compare=False, repr=False)

    def volume_ml(self, length_cm: float) -> float:
        """Internal volume of a catheter of this model cut to ``length_cm``."""
        return self.volume_ml_per_cm * length_cm


@dataclass(frozen=True)
class Formulation:
    """A drug formulation on the formulary (or a flagged compounded preparation)."""

    id: str
    brand: str
    concentration_mcg_per_ml: float
    source: str
    verified: bool
    use: str = "maintenance"  # or "screening"
    compounded: bool = False

    def __post_init__(self) -> None:
        check_source(self.source)
