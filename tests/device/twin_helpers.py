"""Helpers for the twin's tests: build timelines from short event lists in UTC hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from thecal.timeline import Timeline, parse_timeline

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # t_h = 0 in every timeline built here


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


def dt(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def build(events: list[dict[str, Any]], timezone: str = "Europe/Berlin") -> Timeline:
    """A timeline from events whose ``at`` is given as hours after T0 (``h``)."""
    raw = []
    for ev in events:
        ev = dict(ev)
        if "h" in ev:
            ev["at"] = at(ev.pop("h"))
        raw.append(ev)
    return parse_timeline({"format": "thecal.timeline/1",
                           "patient": {"id": "t", "timezone": timezone,
                                       "etiology": "spinal-cord-injury"},
                           "events": raw})


def implanted(pump: str = "synchromed-ii-20", *, added: str = "20 mL",
              concentration: str = "500 mcg/mL", dose: str | None = "100 mcg/day",
              length_cm: int = 50) -> list[dict[str, Any]]:
    """Implant at 0 h (ascenda, 50 cm: dead volume 0.14 + 0.0022 × 50 = 0.25 mL), fill at 1 h,
    prime at 1 h (0.25 mL at 24 mL/day = 0.25 h), program at 2 h."""
    events: list[dict[str, Any]] = [
        {"h": 0, "type": "implant", "pump": pump,
         "catheter": {"model": "ascenda", "length_cm": length_cm}},
        {"h": 1, "type": "refill", "withdrawn": "0 mL", "added": added,
         "concentration": concentration},
        {"h": 1, "type": "bolus", "kind": "priming"},
    ]
    if dose is not None:
        events.append({"h": 2, "type": "program", "mode": "continuous", "daily_dose": dose})
    return events
