"""Loads the catalog data files once and answers lookups by id."""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from thecal.catalog.models import CatheterModel, Figure, Formulation, PumpModel
from thecal.errors import CatalogError
from thecal.units import same_concentration

_PUMP_FIGURES = (
    "reservoir_ml", "low_reservoir_alarm_ml", "min_rate_ml_per_day", "max_rate_ml_per_day",
    "max_flex_steps_per_day", "tubing_volume_ml", "priming_rate_ml_per_day", "accuracy_fraction",
    "service_life_days", "eri_to_eos_days", "battery_reset_rate_ml_per_day", "mri_behaviour",
    "mri_resume_delay_h", "max_depth_cm", "constant_rate_ml_per_day", "mri_resume_delay_worst_h",
)
_OPTIONAL_FIGURES = ("constant_rate_ml_per_day", "mri_resume_delay_worst_h")


def _read(name: str) -> dict[str, Any]:
    text = resources.files("thecal.catalog").joinpath("data", name).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise CatalogError(f"catalog file {name} is not a mapping")
    return data


def _figure(entry: dict[str, Any], key: str, where: str) -> Figure:
    raw = entry.get(key)
    if not isinstance(raw, dict) or "source" not in raw or "status" not in raw:
        raise CatalogError(f"{where}.{key} needs value, source and status")
    if raw["status"] not in ("verified", "assumed"):
        raise CatalogError(f"{where}.{key}.status must be verified or assumed")
    value = raw.get("value")
    try:
        return Figure(value=value, source=raw["source"], verified=raw["status"] == "verified",
                      note=str(raw.get("note", "")))
    except KeyError as exc:
        raise CatalogError(f"{where}.{key}: {exc}") from exc


def _num(fig: Figure, where: str) -> float:
    if fig.value is None or isinstance(fig.value, bool):
        raise CatalogError(f"{where} must be a number")
    value = float(fig.value)
    if not math.isfinite(value) or value < 0:
        raise CatalogError(f"{where} must be a finite non-negative number")
    return value


def _opt(fig: Figure, where: str) -> float | None:
    return None if fig.value is None else _num(fig, where)


@lru_cache(maxsize=1)
def _pumps() -> dict[str, PumpModel]:
    out: dict[str, PumpModel] = {}
    for entry in _read("pumps.yaml")["pumps"]:
        where = f"pumps.yaml:{entry['id']}"
        figs = {k: _figure(entry, k, where) for k in _PUMP_FIGURES if k in entry}
        missing = [k for k in _PUMP_FIGURES if k not in figs and k not in _OPTIONAL_FIGURES]
        if missing:
            raise CatalogError(f"{where} is missing {', '.join(missing)}")
        const = figs.get("constant_rate_ml_per_day")
        pump = PumpModel(
            id=entry["id"], name=entry["name"], manufacturer=entry["manufacturer"],
            family=entry["family"], programmable=bool(entry["programmable"]),
            reservoir_ml=_num(figs["reservoir_ml"], where),
            low_reservoir_alarm_ml=_num(figs["low_reservoir_alarm_ml"], where),
            min_rate_ml_per_day=_num(figs["min_rate_ml_per_day"], where),
            max_rate_ml_per_day=_num(figs["max_rate_ml_per_day"], where),
            max_flex_steps_per_day=int(_num(figs["max_flex_steps_per_day"], where)),
            tubing_volume_ml=_num(figs["tubing_volume_ml"], where),
            priming_rate_ml_per_day=_num(figs["priming_rate_ml_per_day"], where),
            accuracy_fraction=_num(figs["accuracy_fraction"], where),
            service_life_days=_opt(figs["service_life_days"], where),
            eri_to_eos_days=_opt(figs["eri_to_eos_days"], where),
            battery_reset_rate_ml_per_day=_opt(figs["battery_reset_rate_ml_per_day"], where),
            mri_behaviour=figs["mri_behaviour"].value,  # type: ignore[arg-type]
            mri_resume_delay_h=_num(figs["mri_resume_delay_h"], where),
            max_depth_cm=_num(figs["max_depth_cm"], where),
            constant_rate_ml_per_day=None if const is None else _opt(const, where),
            mri_resume_delay_worst_h=(None if "mri_resume_delay_worst_h" not in figs
                                      else _opt(figs["mri_resume_delay_worst_h"], where)),
            figures=figs,
        )
        if pump.family not in ("synchromed", "prometra", "constant-flow"):
            raise CatalogError(f"{where}: unknown family {pump.family!r}")
        if pump.mri_behaviour not in ("motor-stall", "valve-shutoff", "empty-first", "none"):
            raise CatalogError(f"{where}: unknown mri_behaviour {pump.mri_behaviour!r}")
        if not pump.programmable and pump.constant_rate_ml_per_day is None:
            raise CatalogError(f"{where}: a non-programmable pump needs constant_rate_ml_per_day")
        out[pump.id] = pump
    return out


@lru_cache(maxsize=1)
def _catheters() -> dict[str, CatheterModel]:
    out: dict[str, CatheterModel] = {}
    for entry in _read("catheters.yaml")["catheters"]:
        where = f"catheters.yaml:{entry['id']}"
        per_cm = _figure(entry, "volume_ml_per_cm", where)
        max_len = _figure(entry, "max_length_cm", where)
        out[entry["id"]] = CatheterModel(
            id=entry["id"], name=entry["name"], manufacturer=entry["manufacturer"],
            volume_ml_per_cm=_num(per_cm, where), max_length_cm=_num(max_len, where),
            figures={"volume_ml_per_cm": per_cm, "max_length_cm": max_len},
        )
    return out


@lru_cache(maxsize=1)
def _drugs() -> tuple[dict[str, Formulation], Figure]:
    data = _read("drugs.yaml")
    interval = _figure(data, "default_max_refill_interval_days", "drugs.yaml")
    out: dict[str, Formulation] = {}
    for entry in data["formulations"]:
        out[entry["id"]] = Formulation(
            id=entry["id"], brand=entry["brand"],
            concentration_mcg_per_ml=float(entry["concentration_mcg_per_ml"]),
            source=entry["source"], verified=entry["status"] == "verified",
            use=entry.get("use", "maintenance"),
        )
    return out, interval


PUMPS: tuple[str, ...] = tuple(_pumps())
CATHETERS: tuple[str, ...] = tuple(_catheters())
FORMULATIONS: tuple[str, ...] = tuple(_drugs()[0])


def pump_model(pump_id: str) -> PumpModel:
    """The pump model with this id; unknown ids are refused with the list of known ones."""
    try:
        return _pumps()[pump_id]
    except KeyError:
        raise CatalogError(f"unknown pump {pump_id!r}",
                           fix=f"use one of: {', '.join(PUMPS)}") from None


def catheter_model(catheter_id: str) -> CatheterModel:
    try:
        return _catheters()[catheter_id]
    except KeyError:
        raise CatalogError(f"unknown catheter {catheter_id!r}",
                           fix=f"use one of: {', '.join(CATHETERS)}") from None


def formulation(formulation_id: str) -> Formulation:
    try:
        return _drugs()[0][formulation_id]
    except KeyError:
        raise CatalogError(f"unknown formulation {formulation_id!r}",
                           fix=f"use one of: {', '.join(FORMULATIONS)}") from None


def formulation_for(concentration_mcg_per_ml: float, *, compounded: bool = False) -> Formulation:
    """The formulary entry for a concentration, or a flagged compounded preparation.

    A concentration that no approved product has is refused unless ``compounded`` is set
    (safety-requirements DM-2: unapproved preparations carry dosing and pump-failure risk).
    """
    for item in _drugs()[0].values():
        if same_concentration(item.concentration_mcg_per_ml, concentration_mcg_per_ml):
            return item
    if not compounded:
        known = sorted({f.concentration_mcg_per_ml for f in _drugs()[0].values()})
        raise CatalogError(
            f"{concentration_mcg_per_ml:g} mcg/mL is not an approved intrathecal baclofen strength",
            fix=f"use one of {', '.join(f'{c:g}' for c in known)} mcg/mL, or mark the refill "
            "'compounded: true' for a compounded preparation")
    return Formulation(id=f"compounded-{concentration_mcg_per_ml:g}", brand="compounded preparation",
                       concentration_mcg_per_ml=concentration_mcg_per_ml, source="FDA-LAB",
                       verified=False, compounded=True)


def default_max_refill_interval_days() -> Figure:
    """The default maximum time between refills for the drug (GAB-PT, assumed), overridable."""
    return _drugs()[1]
