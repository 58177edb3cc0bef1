"""Timeline v1: parsing, validation messages that name the event and field, round trips."""

from __future__ import annotations

import copy
import json
from datetime import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from device_rule_cases import CASES, timeline
from thecal.device.replay import replay
from thecal.errors import TimelineError
from thecal.timeline import (
    Program,
    Refill,
    Timeline,
    dumps,
    json_schema,
    load_timeline,
    loads,
    parse_event,
    parse_timeline,
    save_timeline,
    timeline_to_dict,
)

EXAMPLE = Path(__file__).parents[1] / "src/thecal/examples/demo-017.yaml"


def base() -> dict[str, Any]:
    return {
        "format": "thecal.timeline/1",
        "patient": {"id": "p1", "timezone": "Europe/Berlin", "etiology": "multiple-sclerosis"},
        "events": [
            {"at": "2026-01-05T09:00:00+01:00", "type": "implant", "pump": "synchromed-ii-20",
             "catheter": {"model": "ascenda", "length_cm": 52}},
            {"at": "2026-01-05T10:30:00+01:00", "type": "refill", "withdrawn": "0 mL",
             "added": "20 mL", "concentration": "500 mcg/mL"},
            {"at": "2026-01-05T11:00:00+01:00", "type": "program", "mode": "continuous",
             "daily_dose": "100 mcg/day"},
        ],
    }


def with_event(event: dict[str, Any]) -> dict[str, Any]:
    data = base()
    data["events"].append(event)
    return data


def test_example_loads_and_round_trips(tmp_path: Path) -> None:
    timeline = load_timeline(EXAMPLE)
    assert timeline.patient.id == "demo-017"
    flex = next(e for e in timeline.events if isinstance(e, Program) and e.mode == "flex")
    assert flex.steps[1].start == time(7, 0) and flex.steps[1].daily_dose_mcg == 300
    refill = [e for e in timeline.events if isinstance(e, Refill)][-1]
    assert refill.withdrawn_ml == 11.8 and refill.concentration_mcg_per_ml == 2000
    for suffix in (".json", ".yaml"):
        path = tmp_path / f"t{suffix}"
        save_timeline(timeline, path)
        assert load_timeline(path) == timeline


def test_written_timeline_validates_against_the_json_schema() -> None:
    timeline = load_timeline(EXAMPLE)
    jsonschema.Draft202012Validator.check_schema(json_schema())
    jsonschema.validate(timeline_to_dict(timeline), json_schema())


def test_schema_rejects_what_the_parser_rejects() -> None:
    bad = with_event({"at": "2026-01-06T09:00:00+01:00", "type": "teleport"})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, json_schema())


def _error(data: dict[str, Any]) -> TimelineError:
    with pytest.raises(TimelineError) as err:
        parse_timeline(data)
    return err.value


@pytest.mark.parametrize(("event", "where", "words"), [
    ({"at": "2026-01-06T09:00:00+01:00", "type": "refill", "withdrawn": "1 mL", "added": "25 mL",
      "concentration": "500 mcg/mL"}, "events[3].added", "overfills"),
    ({"at": "2026-01-06T09:00:00+01:00", "type": "refill", "withdrawn": "1 mL", "added": "5",
      "concentration": "500 mcg/mL"}, "events[3].added", "no unit"),
    ({"at": "2026-01-06T09:00:00+01:00", "type": "refill", "withdrawn": "1 mL", "added": "5 mL",
      "concentration": "750 mcg/mL"}, "events[3].concentration", "approved"),
    ({"at": "2026-01-06T09:00:00", "type": "program", "mode": "stopped"}, "events[3].at",
     "offset"),
    ({"at": "2026-01-06T09:00:00+01:00", "type": "program", "mode": "continuous"},
     "events[3].daily_dose", "daily_dose"),
    ({"at": "2026-01-06T09:00:00+01:00", "type": "program", "mode": "continuous",
      "daily_dose": ".5 mg/day"}, "events[3].daily_dose", "plain decimal"),
    ({"at": "2026-01-06T09:00:00+01:00", "type": "bolus", "kind": "clinician", "dose": "50 mcg"},
     "events[3].duration", "duration"),
    ({"at": "2026-01-06T09:00:00+01:00", "type": "fault", "kind": "catheter-kink"},
     "events[3].severity", "severity"),
    ({"at": "2026-01-06T09:00:00+01:00", "type": "assessment", "mas": "5"}, "events[3].mas",
     "not allowed"),
    ({"at": "2026-01-06T09:00:00+01:00", "type": "refill", "withdrawn": "1 mL", "added": "5 mL",
      "concentration": "500 mcg/mL", "colour": "blue"}, "events[3].colour", "unknown field"),
])
def test_bad_events_name_index_and_field(event: dict[str, Any], where: str, words: str) -> None:
    err = _error(with_event(event))
    assert err.where == where
    assert words in err.one_line()


def test_event_before_implant_is_refused() -> None:
    data = base()
    data["events"].insert(0, {"at": "2026-01-01T09:00:00+01:00", "type": "refill",
                              "withdrawn": "0 mL", "added": "5 mL", "concentration": "500 mcg/mL"})
    err = _error(data)
    assert "before the implant" in err.message and err.where == "events[0].at"


def test_screening_before_implant_is_fine() -> None:
    data = base()
    data["events"].insert(0, {"at": "2025-12-01T09:00:00+01:00", "type": "screening-dose",
                              "dose": "50 mcg", "responded": True})
    assert parse_timeline(data).events[0].type == "screening-dose"


def test_program_for_a_constant_flow_pump_is_refused() -> None:
    data = base()
    data["events"][0]["pump"] = "constant-flow-20"
    err = _error(data)
    assert "not programmable" in err.message and err.where == "events[2].mode"


def test_flex_steps_over_the_pump_limit_are_refused() -> None:
    steps = [{"start": f"{h:02d}:00", "daily_dose": "100 mcg/day"} for h in range(14)]
    err = _error(with_event({"at": "2026-01-06T09:00:00+01:00", "type": "program",
                             "mode": "flex", "steps": steps}))
    assert "13" in err.message and err.where == "events[3].steps"


@pytest.mark.parametrize(("events", "where", "words", "fix"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_device_rule_refuses_in_one_wording_at_load_and_in_the_twin(
        events: list[dict[str, Any]], where: str, words: str, fix: str) -> None:
    # One checker per device rule (timeline.check_device_event): the loader refuses the file,
    # and the twin, handed the same events without validation, refuses them the same way.
    loaded = _error(timeline(events))
    assert loaded.where == where and words in loaded.message and fix in (loaded.fix or "")
    unvalidated = Timeline(parse_timeline(timeline([])).patient,
                           tuple(parse_event(e, i) for i, e in enumerate(events)))
    with pytest.raises(TimelineError) as twin:
        replay(unvalidated, unvalidated.events[-1].at)
    assert twin.value.one_line() == loaded.one_line()


def test_corrections_replace_the_corrected_event() -> None:
    data = base()
    data["events"][2]["id"] = "prog-1"
    data["events"].append({"at": "2026-01-06T09:00:00+01:00", "type": "correction",
                           "corrects": "prog-1", "reason": "typo",
                           "event": {"at": "2026-01-05T11:00:00+01:00", "type": "program",
                                     "mode": "continuous", "daily_dose": "90 mcg/day"}})
    timeline = parse_timeline(data)
    effective = [e for _, e in timeline.effective_events()]
    programs = [e for e in effective if isinstance(e, Program)]
    assert [p.daily_dose_mcg for p in programs] == [90.0]
    assert programs[0].id == "prog-1"
    assert len(timeline.events) == 4  # append-only: the original is still there


def test_correction_of_unknown_id_is_refused() -> None:
    err = _error(with_event({"at": "2026-01-06T09:00:00+01:00", "type": "correction",
                             "corrects": "nope", "event": {"at": "2026-01-05T11:00:00+01:00",
                                                           "type": "note", "text": "x"}}))
    assert err.where == "events[3].corrects"


def test_events_sort_by_time_keeping_file_order_for_ties() -> None:
    data = base()
    data["events"].append({"at": "2026-01-05T10:00:00+01:00", "type": "note", "text": "a"})
    timeline = parse_timeline(data)
    assert [e.type for e in timeline.events] == ["implant", "note", "refill", "program"]


@pytest.mark.parametrize("text", ["format: [", "{\"format\": 1", "- 1\n- 2\n"])
def test_syntax_errors_are_one_clear_error(text: str) -> None:
    with pytest.raises(TimelineError):
        loads(text, suffix=".json" if text.startswith("{") else ".yaml")


def test_yaml_unquoted_clock_time_is_understood() -> None:
    text = dumps(parse_timeline(base())) + (
        "- at: '2026-01-06T09:00:00+01:00'\n  type: program\n  mode: flex\n  steps:\n"
        "  - {start: 00:00, daily_dose: 100 mcg/day}\n  - {start: 07:30, daily_dose: 120 mcg/day}\n")
    timeline = loads(text)
    assert timeline.events[-1].steps[1].start == time(7, 30)  # type: ignore[attr-defined]


def test_json_and_yaml_dumps_agree() -> None:
    timeline = parse_timeline(base())
    assert json.loads(dumps(timeline, fmt="json")) == copy.deepcopy(timeline_to_dict(timeline))
