"""Injected device faults (simulation only): what each does to the flow and where drug goes.

A ``fault`` event starts at its time and lasts ``duration_h`` (or, without one, until the part
is replaced: a catheter revision ends catheter faults, a pump replacement ends pump faults, an
explant ends all). ``severity`` is a fraction 0–1.

How each is modelled (choices marked *assumed* where the public record is silent):

``catheter-kink``
    Flow reduced to ``1 − severity`` of the programmed flow; what is not delivered stays in the
    reservoir. *Assumed*: the SynchroMed's peristaltic rotor keeps turning against a partial
    occlusion and it has no occlusion sensor, so the reservoir drains more slowly and **no
    alarm** sounds (catheter problems present as withdrawal, B-TROUBLE). Severity 1 is a
    complete, silent occlusion.
``catheter-leak``
    A fraction ``severity`` of what leaves the pump goes to tissue instead of the spinal fluid.
``catheter-disconnection``
    Everything that leaves goes to tissue. The break is treated as if at the tip (plug flow
    through the whole dead volume is kept); only where the drug ends up changes.
``catheter-migration``
    A fraction ``severity`` goes to tissue (subdural or subcutaneous tip position).
``pump-overinfusion`` / ``pump-underinfusion``
    Actual flow = programmed × (1 ± severity) (ANZCA: over-infusion > 14.5 % reported).
``motor-stall``
    No flow; HIGH ``motor-stall`` alarm while it lasts (AL-5, M-HCP).
``battery-reset``
    The pump's program is reset and flow falls "to a very low level" (M-ADV, DDB): the catalog's
    ``battery_reset_rate_ml_per_day``, boluses included, until the fault ends or the pump is
    replaced. No alarm (the advisory describes a silent reset). A pump without a battery
    ignores it.
``pocket-fill``
    At the next refill while it holds, a fraction ``severity`` of ``added_ml`` goes into the
    tissue pocket instead of the reservoir (M-POCKET, TGA-POCKET): a tissue deposit at that
    instant. The fault is used up by that refill.

Several faults at once combine multiplicatively (two leaks of 0.5 leave 0.25 for the spinal
fluid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

CATHETER_FAULTS: Final = frozenset(
    {"catheter-kink", "catheter-leak", "catheter-disconnection", "catheter-migration"})
PUMP_FAULTS: Final = frozenset(
    {"pump-overinfusion", "pump-underinfusion", "motor-stall", "battery-reset"})
PROCEDURE_FAULTS: Final = frozenset({"pocket-fill"})
FAULT_KINDS: Final = CATHETER_FAULTS | PUMP_FAULTS | PROCEDURE_FAULTS


@dataclass(frozen=True, eq=False)
class ActiveFault:
    """A fault in force: kind, severity (fraction) and its end (hours) if it has one."""

    kind: str
    severity: float
    start_h: float
    end_h: float | None
    event_index: int


def flow_factor(faults: tuple[ActiveFault, ...] | list[ActiveFault]) -> float:
    """The factor on the programmed flow from kinks and over/under-infusion."""
    factor = 1.0
    for f in faults:
        if f.kind == "catheter-kink" or f.kind == "pump-underinfusion":
            factor *= 1.0 - f.severity
        elif f.kind == "pump-overinfusion":
            factor *= 1.0 + f.severity
    return max(factor, 0.0)


def csf_fraction(faults: tuple[ActiveFault, ...] | list[ActiveFault]) -> float:
    """The fraction of what leaves the catheter tip that reaches the spinal fluid."""
    fraction = 1.0
    for f in faults:
        if f.kind == "catheter-disconnection":
            return 0.0
        if f.kind == "catheter-leak" or f.kind == "catheter-migration":
            fraction *= 1.0 - f.severity
    return min(max(fraction, 0.0), 1.0)

