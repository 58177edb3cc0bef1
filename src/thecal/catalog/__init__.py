"""The catalog: pumps, catheters and drug formulations as data files with their sources.

Each figure in ``data/*.yaml`` carries a value, a source key and whether it was verified in a
source or assumed. Loading checks every source key, so an unsourced number cannot enter.
Lookups raise :class:`thecal.errors.CatalogError` naming the known ids.
"""

from __future__ import annotations

from thecal.catalog.models import (
    CatheterModel,
    Figure,
    Formulation,
    PumpModel,
)
from thecal.catalog.registry import (
    CATHETERS,
    FORMULATIONS,
    PUMPS,
    catheter_model,
    default_max_refill_interval_days,
    formulation,
    formulation_for,
    pump_model,
)

__all__ = [
    "CATHETERS",
    "FORMULATIONS",
    "PUMPS",
    "CatheterModel",
    "Figure",
    "Formulation",
    "PumpModel",
    "catheter_model",
    "default_max_refill_interval_days",
    "formulation",
    "formulation_for",
    "pump_model",
]
