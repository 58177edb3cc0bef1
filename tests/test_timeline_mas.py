"""Modified Ashworth per muscle group on an assessment: a fixed vocabulary, validated, written in
vocabulary order, in the JSON Schema; the overall grade and the groups are independent."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from thecal.errors import TimelineError
from thecal.timeline import (
    MAS_MUSCLE_GROUPS,
    Assessment,
    event_to_dict,
    json_schema,
    parse_event,
    parse_timeline,
    timeline_to_dict,
)

AT = "2026-02-10T09:00:00+01:00"


def test_groups_parse_and_write_back_in_vocabulary_order() -> None:
    ev = parse_event({"at": AT, "type": "assessment",
                      "mas_by_muscle": {"knee-extensors-right": "1+", "hip-adductors-left": "2"}})
    assert isinstance(ev, Assessment) and ev.mas is None
    # hip-adductors comes before knee-extensors in MAS_MUSCLE_GROUPS
    assert ev.mas_by_muscle == (("hip-adductors-left", "2"), ("knee-extensors-right", "1+"))
    assert event_to_dict(ev)["mas_by_muscle"] == {"hip-adductors-left": "2", "knee-extensors-right": "1+"}
    assert list(event_to_dict(ev)["mas_by_muscle"]) == ["hip-adductors-left", "knee-extensors-right"]


def test_overall_grade_groups_or_both() -> None:
    both = parse_event({"at": AT, "type": "assessment", "mas": "2", "mas_by_muscle": {"elbow-flexors-left": "3"}})
    assert isinstance(both, Assessment) and both.mas == "2" and both.mas_by_muscle == (("elbow-flexors-left", "3"),)
    alone = parse_event({"at": AT, "type": "assessment", "mas": "1+"})
    assert isinstance(alone, Assessment) and alone.mas_by_muscle is None
    assert "mas_by_muscle" not in event_to_dict(alone)


@pytest.mark.parametrize(("value", "words"), [
    ({"hip-adductors": "2"}, "unknown muscle group 'hip-adductors'"),
    ({"hip-adductors-left": 2}, "is not a MAS grade"),
    ({"hip-adductors-left": "1.5"}, "is not a MAS grade"),
    ({}, "expected a mapping"),
    (["hip-adductors-left"], "expected a mapping"),
])
def test_bad_groups_are_refused_naming_the_field(value: Any, words: str) -> None:
    with pytest.raises(TimelineError, match=words) as info:
        parse_event({"at": AT, "type": "assessment", "mas_by_muscle": value}, 4)
    assert info.value.where == "events[4].mas_by_muscle"


def test_every_group_has_both_sides_and_the_schema_agrees() -> None:
    assert len(MAS_MUSCLE_GROUPS) == len(set(MAS_MUSCLE_GROUPS)) == 22
    assert {g.rsplit("-", 1)[1] for g in MAS_MUSCLE_GROUPS} == {"left", "right"}
    doc = {"format": "thecal.timeline/1", "patient": {"id": "x", "timezone": "UTC", "etiology": "stroke"},
           "events": [{"at": AT, "type": "assessment", "mas_by_muscle": {g: "1+" for g in MAS_MUSCLE_GROUPS}}]}
    jsonschema.validate(timeline_to_dict(parse_timeline(doc)), json_schema())
    doc["events"][0]["mas_by_muscle"] = {"tail-left": "1"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, json_schema())
