"""Alarm meanings and the assessment vocabulary (texts and the overall-grade rule)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from thecal.clinical.alarms import ALARM_MEANINGS
from thecal.clinical.assessment import (
    MUSCLE_WORDS,
    SIDES,
    group_words,
    mas_value,
    muscle_grades,
    overall_mas,
)
from thecal.clinical.symptoms import GROUP_PATIENT_WORDS, GROUPS, SYMPTOMS
from thecal.errors import InputError
from thecal.timeline import MAS_MUSCLE_GROUPS, MAS_MUSCLES, Assessment


def test_alarm_meanings_match_symptom_codes() -> None:
    assert [a.sound for a in ALARM_MEANINGS] == ["single tone", "two-tone"]
    for alarm in ALARM_MEANINGS:
        assert alarm.symptom_code in SYMPTOMS and alarm.means and alarm.what_to_do


def test_overall_mas_is_the_highest_group_grade() -> None:
    assert overall_mas({"hip-flexors-left": "1+", "knee-extensors-right": "1"}) == "1+"
    assert overall_mas({"hip-flexors-left": "2", "hip-flexors-right": "1+"}) == "2"
    assert overall_mas({}) is None
    assert mas_value("1+") == 1.5
    for bad in ({"toes-left": "1"}, {"hip-flexors": "1"}, {"hip-flexors-left": "5"}):
        with pytest.raises(InputError) as refused:
            overall_mas(bad)
        assert refused.value.where == f"mas_by_muscle.{next(iter(bad))}"
    with pytest.raises(InputError):
        mas_value("5")


def test_one_vocabulary_the_timelines() -> None:
    """The assessment's words cover exactly the timeline's muscles, each with both sides."""
    assert list(MUSCLE_WORDS) == list(MAS_MUSCLES)
    assert {f"{m}-{side}" for m in MUSCLE_WORDS for side in SIDES} == set(MAS_MUSCLE_GROUPS)
    assert group_words("knee-flexors-left") == "knee flexors (hamstrings), left"


def test_muscle_grades_of_the_last_assessments() -> None:
    """Side by side, oldest first, the last three assessments that graded muscles; one row per
    group examined in any of them, in the vocabulary's order."""
    def at(day: int) -> datetime:
        return datetime(2026, 3, day, 9, tzinfo=UTC)

    def graded(day: int, mas: str | None, **grades: str) -> Assessment:
        by = tuple((g.replace("_", "-"), v) for g, v in grades.items())
        return Assessment(at=at(day), mas=mas, mas_by_muscle=by or None)

    history = [graded(1, "3", hip_adductors_left="3"),
               graded(2, "2", knee_extensors_right="2", hip_adductors_left="1+"),
               graded(3, "1"),  # overall grade only: not a column
               graded(4, "1+", hip_adductors_left="1+"),
               graded(5, "1", hip_adductors_left="1", ankle_plantarflexors_left="0")]
    grid = muscle_grades(list(reversed(history)))
    assert grid.at == (at(2), at(4), at(5)) and grid.mas == ("2", "1+", "1")
    assert [(r.group, r.grades) for r in grid.rows] == [
        ("hip-adductors-left", ("1+", "1+", "1")),
        ("knee-extensors-right", ("2", None, None)),
        ("ankle-plantarflexors-left", (None, None, "0"))]
    assert muscle_grades([graded(3, "1")]).rows == ()


def test_every_symptom_group_has_patient_words() -> None:
    assert set(GROUP_PATIENT_WORDS) == set(GROUPS)
