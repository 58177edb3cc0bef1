"""The pump and catheter digital twin.

:func:`thecal.device.replay.replay` replays a timeline through the pump and catheter model,
event-driven and in closed form between events: programs (continuous, flex on the patient's
local clock, stopped) become a rate schedule; the reservoir mixes, drains and empties at the
exact instant; the pump tubing and catheter carry the drug as plug flow, so after a
concentration change the old drug arrives first; injected faults divert or slow the drug;
MRI, battery life and alarms follow the catalog's figures. The result answers what reached
the spinal fluid, what is where (an exact mass balance), which alarms were raised when, and
what the pump will do next. See docs/twin.md.

Modules: ``flex`` (local-clock step boundaries), ``catheter`` (the dead volume as plug flow),
``faults``, ``alarms``, ``engine`` (internal), ``replay`` (the public API).
"""

from __future__ import annotations

from thecal.device.alarms import ActiveAlarm, AlarmRecord
from thecal.device.replay import MassBalance, Replay, ReplayedEvent, TwinState, replay

__all__ = ["ActiveAlarm", "AlarmRecord", "MassBalance", "Replay", "ReplayedEvent", "TwinState",
           "replay"]
