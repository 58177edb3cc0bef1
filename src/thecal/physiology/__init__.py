"""The virtual patient: intrathecal baclofen PK/PD model, parameters and populations.

``physiology`` knows nothing of pumps: its input is baclofen reaching the spinal fluid
(mcg/h) and baclofen reaching the blood (mg/h). ``thecal.sim`` joins it to the device twin.
"""

from thecal.physiology.model import (
    INPUT_NAMES,
    N_INPUTS,
    N_STATES,
    STATE_NAMES,
    Readouts,
    adapted_dose_mcg_per_day,
    mas_category,
    naive_dose_mcg_per_day,
    readouts,
    steady_state,
    symptom_codes,
    symptoms_at,
    system_matrices,
)
from thecal.physiology.parameters import PARAMETER_INFO, ParameterArrays, Parameters
from thecal.physiology.population import PRESETS, get_preset, patient, preset_names, sample

__all__ = [
    "INPUT_NAMES",
    "N_INPUTS",
    "N_STATES",
    "PARAMETER_INFO",
    "PRESETS",
    "STATE_NAMES",
    "ParameterArrays",
    "Parameters",
    "Readouts",
    "adapted_dose_mcg_per_day",
    "get_preset",
    "mas_category",
    "naive_dose_mcg_per_day",
    "patient",
    "preset_names",
    "readouts",
    "sample",
    "steady_state",
    "symptom_codes",
    "symptoms_at",
    "system_matrices",
]
