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
    """Flow rate that delivers ``daily_dose_mcg`` from drug at ``concentration_mcg_per_ml``.

    >>> rate_ml_per_day(300, 500)  # 300 mcg/day ÷ 500 mcg/mL
    0.6
    >>> rate_ml_per_day(100, 2000)  # a strong drug: a small flow
    0.05
    """
    return float(_dec(daily_dose_mcg, "daily dose")
                 / _dec(concentration_mcg_per_ml, "concentration", positive=True))


def daily_dose_mcg(rate_ml_per_day: float, concentration_mcg_per_ml: float) -> float:
    """Daily dose delivered by a flow rate of drug at a concentration.

    >>> daily_dose_mcg(0.6, 500)  # 0.6 mL/day × 500 mcg/mL, exactly (float: 300.00000000000006)
    300.0
    >>> daily_dose_mcg(rate_ml_per_day(175, 2000), 2000)  # there and back returns the entry
    175.0
    """
    return float(_dec(rate_ml_per_day, "rate") * _dec(concentration_mcg_per_ml, "concentration",
                                                      positive=True))


def concentration_mcg_per_ml(daily_dose_mcg: float, rate_ml_per_day: float) -> float:
    """Concentration needed to deliver a daily dose at a given flow rate.

    >>> concentration_mcg_per_ml(300, 0.15)  # 300 mcg/day ÷ 0.15 mL/day
    2000.0
    >>> concentration_mcg_per_ml(300, 0)
    Traceback (most recent call last):
    ...
    thecal.errors.InputError: rate must be greater than zero
    """
    return float(_dec(daily_dose_mcg, "daily dose") / _dec(rate_ml_per_day, "rate", positive=True))
