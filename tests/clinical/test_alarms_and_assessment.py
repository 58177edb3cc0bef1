"""Alarm meanings and the assessment vocabulary (texts and the overall-grade rule)."""

from __future__ import annotations

import pytest

from thecal.clinical.alarms import ALARM_MEANINGS
from thecal.clinical.assessment import MUSCLE_GROUPS, mas_value, overall_mas
from thecal.clinical.symptoms import GROUP_PATIENT_WORDS, GROUPS, SYMPTOMS
from thecal.errors import InputError


def test_alarm_meanings_match_symptom_codes() -> None:
    assert [a.sound for a in ALARM_MEANINGS] == ["single tone", "two-tone"]
    for alarm in ALARM_MEANINGS:
        assert alarm.symptom_code in SYMPTOMS and alarm.means and alarm.what_to_do


def test_overall_mas_is_the_highest_group_grade() -> None:
    assert overall_mas({"hip-flexors": "1+", "knee-extensors": "1"}) == "1+"
    assert overall_mas({"hip-flexors": "2", "knee-extensors": "1+"}) == "2"
    assert overall_mas({}) is None
    assert mas_value("1+") == 1.5
    with pytest.raises(InputError):
        overall_mas({"toes": "1"})
    with pytest.raises(InputError):
        mas_value("5")
    assert len(set(MUSCLE_GROUPS)) == len(MUSCLE_GROUPS)


def test_every_symptom_group_has_patient_words() -> None:
    assert set(GROUP_PATIENT_WORDS) == set(GROUPS)
