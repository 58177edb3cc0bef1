"""Executable contracts of the extension points (in the spirit of Gymnasium's ``check_env``).

Adding an event type means: its field table in ``thecal.timeline.EVENT_FIELDS`` (with an event
class), a handler in ``thecal.device.engine.HANDLERS`` typed by that class or a place in
``NO_DEVICE_EFFECT``, an entry in the JSON Schema (generated from the field table), a row in
``docs/events.md``, and an example below that loads and saves unchanged. Adding a triage or
worklist rule means: one record, with a registered source key, that some input can fire
(``tests/clinical``). Each test here fails until the new piece is there.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import pytest

from thecal.clinical import triage
from thecal.device import engine
from thecal.sources import SOURCES
from thecal.timeline import EVENT_FIELDS, Event, event_to_dict, json_schema, parse_event

DOCS = Path(__file__).resolve().parents[1] / "docs" / "events.md"
AT = "2026-03-01T09:00:00+01:00"

# one event of every type, as a file writes it
EXAMPLES: dict[str, dict[str, Any]] = {
    "implant": {"pump": "synchromed-ii-40", "catheter": {"model": "ascenda", "length_cm": 52},
                "depth_cm": 1.5},
    "replace-pump": {"pump": "synchromed-ii-20"},
    "explant": {},
    "catheter-revision": {"catheter": {"model": "ascenda", "length_cm": 40}},
    "refill": {"withdrawn": "11.8 mL", "added": "38 mL", "concentration": "2000 mcg/mL"},
    "program": {"mode": "continuous", "daily_dose": "300 mcg/day"},
    "bolus": {"kind": "clinician", "dose": "50 mcg", "duration": "30 min"},
    "interrogation": {"reservoir": "12 mL"},
    "alarm-acknowledged": {"alarm": "low-reservoir"},
    "assessment": {"mas": "1+", "penn_frequency": 2},
    "symptoms": {"codes": ["itching", "increased-spasticity"]},
    "mri": {"duration": "40 min"},
    "diathermy": {"duration": "20 min"},
    "oral-baclofen": {"daily_dose": "30 mg/day"},
    "screening-dose": {"dose": "50 mcg", "responded": True},
    "note": {"text": "phone call"},
    "correction": {"corrects": "ev-1"},
    "fault": {"kind": "catheter-kink", "severity": 0.7},
}


def test_every_event_type_has_its_pieces() -> None:
    types = set(EVENT_FIELDS)
    classes = {cls for cls, _ in EVENT_FIELDS.values()}
    handled = set(engine.HANDLERS)
    assert handled.isdisjoint(engine.NO_DEVICE_EFFECT)
    assert handled | engine.NO_DEVICE_EFFECT == classes, "a handler or a declared no-device-effect"
    assert set(EXAMPLES) == types, "an example event for the round trip"
    schema_types = {v["title"] for v in json_schema()["$defs"]["event"]["oneOf"]}
    assert schema_types == types
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", DOCS.read_text(encoding="utf-8"), re.M))
    assert documented == types, "a row in docs/events.md"


@pytest.mark.parametrize("etype", sorted(EVENT_FIELDS))
def test_each_handler_takes_the_event_class_it_is_registered_for(etype: str) -> None:
    cls = EVENT_FIELDS[etype][0]
    handler = engine.HANDLERS.get(cls)
    if handler is None:
        assert cls in engine.NO_DEVICE_EFFECT
        return
    hints = typing.get_type_hints(handler)
    assert hints["ev"] is cls, f"{handler.__name__} is typed for {hints['ev']}, not {cls}"


@pytest.mark.parametrize("etype", sorted(EVENT_FIELDS))
def test_fields_schema_and_docs_agree(etype: str) -> None:
    cls, specs = EVENT_FIELDS[etype]
    assert issubclass(cls, Event)
    variant = next(v for v in json_schema()["$defs"]["event"]["oneOf"] if v["title"] == etype)
    assert {s.key for s in specs} <= set(variant["properties"])
    assert {s.key for s in specs if s.required} <= set(variant["required"])
    row = next(line for line in DOCS.read_text(encoding="utf-8").splitlines()
               if line.startswith(f"| `{etype}` |"))
    for spec in specs:
        assert f"`{spec.key}`" in row, f"docs/events.md does not name {etype}.{spec.key}"


@pytest.mark.parametrize("etype", sorted(EVENT_FIELDS))
def test_every_event_type_loads_and_saves_unchanged(etype: str) -> None:
    data = {"at": AT, "type": etype, "id": "ev-9", **EXAMPLES[etype]}
    if etype == "correction":
        data["event"] = {"at": AT, "type": "note", "text": "corrected"}
    event = parse_event(data)
    assert isinstance(event, EVENT_FIELDS[etype][0])
    again = parse_event(event_to_dict(event))
    assert again == event
    assert event_to_dict(again) == event_to_dict(event)


def test_every_triage_rule_has_a_source_and_an_urgency() -> None:
    for rule in triage.RULES.values():
        assert rule.source in SOURCES, rule.id
        assert isinstance(rule.urgency, triage.Urgency), rule.id
