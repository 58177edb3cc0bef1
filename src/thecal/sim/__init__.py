"""Simulation: the exact engine (one patient, many patients) and scenarios.

``sim`` joins the device twin (``thecal.device``) to the virtual patient
(``thecal.physiology``): a timeline replays through the pump and catheter, and what reaches
the spinal fluid drives the patient's linear model, propagated exactly between events.
"""

from thecal.sim.engine import Inputs, Propagator, StateTrace, reference_simulate, simulate
from thecal.sim.many import Cohort, ManyResult, Stats, simulate_many

__all__ = [
    "Cohort",
    "Inputs",
    "ManyResult",
    "Propagator",
    "StateTrace",
    "Stats",
    "reference_simulate",
    "simulate",
    "simulate_many",
]
