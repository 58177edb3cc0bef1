"""Dose ⇄ rate ⇄ concentration, exactly.

``rate_ml_per_day = daily_dose_mcg / concentration_mcg_per_ml`` (safety-requirements DM-2).
The arithmetic goes through :class:`decimal.Decimal` built from the shortest decimal text of
each float, so converting a dose to a rate and back returns the dose that was entered.
"""

from __future__ import annotations

from decimal import Decimal, getcontext

from thecal.errors import InputError

getcontext().prec = 34


def _dec(value: float, what: str, *, positive: bool = False) -> Decimal:
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(f"{what} must be a finite number")
    if value < 0 or (positive and value == 0):
        raise InputError(f"{what} must be {'greater than' if positive else 'at least'} zero")
    return Decimal(repr(float(value)))


def rate_ml_per_day(daily_dose_mcg: float, concentration_mcg_per_ml: float) -> float:
    """Flow rate that delivers ``daily_dose_mcg`` from drug at ``concentration_mcg_per_ml``."""
    return float(_dec(daily_dose_mcg, "daily dose")
                 / _dec(concentration_mcg_per_ml, "concentration", positive=True))


def daily_dose_mcg(rate_ml_per_day: float, concentration_mcg_per_ml: float) -> float:
    """Daily dose delivered by a flow rate of drug at a concentration."""
    return float(_dec(rate_ml_per_day, "rate") * _dec(concentration_mcg_per_ml, "concentration",
                                                      positive=True))


def concentration_mcg_per_ml(daily_dose_mcg: float, rate_ml_per_day: float) -> float:
    """Concentration needed to deliver a daily dose at a given flow rate."""
    return float(_dec(daily_dose_mcg, "daily dose") / _dec(rate_ml_per_day, "rate", positive=True))
