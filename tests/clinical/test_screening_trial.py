"""Screening trial: plan, observations, response rule, start dose (B-SCREEN, PENN92, B-DOSE)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from thecal.clinical.screening import (
    assess_screening_response,
    next_screening_dose,
    observation_schedule,
    post_implant_start_dose,
    screening_plan,
)
from thecal.errors import InputError

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_plan_standard_and_small() -> None:
    plan = screening_plan(first_dose_at=T0)
    assert [d.dose_mcg for d in plan.doses] == [50, 75, 100]
    assert [d.volume_ml for d in plan.doses] == [1, 1.5, 2]  # at 50 mcg/mL
    assert plan.doses[2].not_before == T0 + timedelta(hours=48)
    small = screening_plan(small_patient=True)
    assert small.doses[0].dose_mcg == 25
    assert "screening-small-patient" in [r.code for r in small.reasons]
    with pytest.raises(InputError):
        screening_plan(first_dose_at=datetime(2026, 1, 5, 9))


def test_observation_schedule() -> None:
    obs = observation_schedule(T0)
    first_two_hours = [o for o in obs if 0 < o.at_h <= 2]
    assert len(first_two_hours) == 8  # every 15 min
    tone = [o.at_h for o in obs if any("Ashworth" in w for w in o.what)]
    assert len([h for h in tone if 0 < h <= 4]) >= 2
    assert max(o.at_h for o in obs) == 8
    assert obs[-1].at == T0 + timedelta(hours=8)


@pytest.mark.parametrize(("kwargs", "positive"), [
    ({"mas_before": "3", "mas_after": "1"}, True),
    ({"mas_before": "3", "mas_after": "1+"}, False),  # fall 1.5
    ({"spasm_before": 4, "spasm_after": 2}, True),
    ({"spasm_before": 4, "spasm_after": 3, "mas_before": "2", "mas_after": "0"}, True),
    ({"spasm_before": 3, "spasm_after": 2}, False),
    ({"mas_before": "4", "mas_after": "3", "required_fall": 1}, True),
])
def test_response_rule(kwargs: dict[str, object], positive: bool) -> None:
    assert assess_screening_response(**kwargs).positive is positive  # type: ignore[arg-type]


def test_response_needs_pairs() -> None:
    with pytest.raises(InputError):
        assess_screening_response(mas_before="3")
    with pytest.raises(InputError):
        assess_screening_response()
    with pytest.raises(InputError):
        assess_screening_response(mas_before="5+", mas_after="1")


def test_next_dose() -> None:
    assert next_screening_dose([50], responded=False).value == 75
    assert next_screening_dose([50, 75], responded=False).value == 100
    end = next_screening_dose([50, 75, 100], responded=False)
    assert end.value is None and end.codes == ("screening-non-responder",)
    assert next_screening_dose([50], responded=True).value is None
    assert next_screening_dose([25], responded=False, small_patient=True).value == 50


def test_start_dose() -> None:
    # 50 mcg worked for 6 h → 100 mcg/day; for 10 h → 50 mcg/day.
    assert post_implant_start_dose(50, 6).value == 100
    assert post_implant_start_dose(50, 10).value == 50
    assert post_implant_start_dose(75, 4, adverse_reaction=True).value == 75
    with pytest.raises(InputError):
        post_implant_start_dose(150, 4)
