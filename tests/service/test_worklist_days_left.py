"""The worklist row shows the days of drug left, equal to the projection's at the same instant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import TypeAdapter

from thecal.demo import LOGINS, create_demo
from thecal.service import Clinic, FrozenClock, WorklistItem, login, patient_home, worklist
from thecal.web.rendering import templates


@pytest.mark.parametrize("days_later", [0, 9])
def test_worklist_days_left_equal_the_projection(clinic: Clinic, clock: FrozenClock,
                                                 days_later: int) -> None:
    create_demo(clinic, patients_count=4)
    user, _, password = LOGINS[0]
    actor = login(clinic, user, password).actor
    clock.advance(timedelta(days=days_later))  # the count falls as the days pass
    items = worklist(clinic, actor, limit=10)
    answer = TypeAdapter(WorklistItem)  # the API's answer
    shown = [i for i in items if i.days_of_drug_left is not None]
    assert shown, "the demo patients have pumps with drug in them"
    for item in items:
        expected = patient_home(clinic, actor, item.patient_id).pump.days_of_drug_left
        if expected is None:
            assert item.days_of_drug_left is None
        else:
            assert item.days_of_drug_left == pytest.approx(float(expected), abs=1e-6)
        assert answer.dump_python(item, mode="json", by_alias=True)["days_of_drug_left"] \
            == item.days_of_drug_left
    html = templates.env.get_template("clinic/worklist_rows.html").render(rows=items)
    assert "Days of drug left" in html
    first = shown[0]
    assert f'data-patient="{first.patient_id}"' in html
    row_html = html.split(f'data-patient="{first.patient_id}"')[1].split("</tr>")[0]
    assert f"{int(first.days_of_drug_left or 0)} days" in row_html

