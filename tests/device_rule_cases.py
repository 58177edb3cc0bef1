"""Timelines that break one device rule each (``timeline.check_device_event``), with the event
index, field, words and fix every face must refuse them with: the loader (``parse_timeline``,
the API's path), the twin replaying a timeline nobody validated, and ``thecal twin``."""

from __future__ import annotations

from typing import Any

AT = "2026-01-05T09:00:00+01:00"
PATIENT = {"id": "rules", "timezone": "Europe/Berlin", "etiology": "spinal-cord-injury"}


def _at(hours: int) -> str:
    return f"2026-01-{5 + hours // 24:02d}T{9 + hours % 24:02d}:00:00+01:00"


def implant(pump: str = "synchromed-ii-20", **extra: Any) -> dict[str, Any]:
    return {"at": _at(0), "type": "implant", "pump": pump,
            "catheter": {"model": "ascenda", "length_cm": 50}, **extra}


def refill(hours: int, withdrawn: str = "0 mL", added: str = "20 mL") -> dict[str, Any]:
    return {"at": _at(hours), "type": "refill", "withdrawn": withdrawn, "added": added,
            "concentration": "500 mcg/mL"}


def timeline(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": "thecal.timeline/1", "patient": dict(PATIENT), "events": events}


# (case id, events, where, words in the message, words in the fix)
CASES: list[tuple[str, list[dict[str, Any]], str, str, str]] = [
    ("second-implant", [implant(), {**implant(), "at": _at(1)}],
     "events[1].type", "a second implant while a pump is in place", "replace-pump"),
    ("refill-before-implant", [refill(0), {**implant(), "at": _at(1)}],
     "events[0].at", "refill with no pump in place", "record the implant first"),
    ("replace-without-pump", [{"at": _at(0), "type": "replace-pump", "pump": "synchromed-ii-20"}],
     "events[0].at", "replace-pump with no pump in place", "record the implant first"),
    ("program-after-explant", [implant(), {"at": _at(1), "type": "explant"},
                               {"at": _at(2), "type": "program", "mode": "stopped"}],
     "events[2].at", "program with no pump in place", "check the date"),
    ("program-constant-flow", [implant("constant-flow-20"), refill(1),
                               {"at": _at(2), "type": "program", "mode": "continuous",
                                "daily_dose": "100 mcg/day"}],
     "events[2].mode", "is not programmable: its flow is fixed", "change the dose by concentration"),
    ("stop-constant-flow", [implant("constant-flow-20"),
                            {"at": _at(2), "type": "program", "mode": "stopped"}],
     "events[1].mode", "is not programmable: its flow is fixed", "remove the program event"),
    ("bolus-constant-flow", [implant("constant-flow-20"), refill(1),
                             {"at": _at(1), "type": "bolus", "kind": "priming"}],
     "events[2].kind", "cannot give a bolus", "remove the bolus event"),
    ("flex-too-many-steps", [implant(), refill(1),
                             {"at": _at(2), "type": "program", "mode": "flex", "steps": [
                                 {"start": f"{h:02d}:00", "daily_dose": "100 mcg/day"}
                                 for h in range(14)]}],
     "events[2].steps", "allows at most 13 flex steps a day", "merge steps"),
    ("overfill", [implant(), refill(1, added="25 mL")],
     "events[1].added", "adding 25 mL overfills the 20 mL reservoir", "add at most 20 mL"),
    ("withdrawn-beyond-reservoir", [implant(), refill(1), refill(30, withdrawn="21.5 mL")],
     "events[2].withdrawn", "the syringe has probably drawn spinal or pocket fluid",
     "check the needle placement"),
    ("alarm-volume", [implant(low_reservoir_alarm="25 mL")],
     "events[0].low_reservoir_alarm", "the low-reservoir alarm must be above 0 and below",
     "alarm volume"),
    ("implant-too-deep", [implant(depth_cm=3.5)],
     "events[0].depth_cm", "no deeper than 2.5 cm", "check the depth"),
]
