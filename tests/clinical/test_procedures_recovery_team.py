"""MRI/diathermy checklists, implant card, recovery checklist, care team, decision aid."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from thecal.clinical.care_team import PERMISSIONS, ROLES, may, permissions_for
from thecal.clinical.decision_aid import DECISION_AID, decision_aid
from thecal.clinical.procedures import (
    diathermy_checklist,
    implant_card_text,
    mri_checklist,
    pump_family,
)
from thecal.clinical.recovery import recovery_checklist
from thecal.errors import InputError
from thecal.sources import SOURCES


@pytest.mark.parametrize(("pump", "family"), [
    ("synchromed-ii-20", "synchromed"), ("synchromed-ii-40", "synchromed"),
    ("prometra-ii-20", "prometra"), ("prometra-ii-40", "prometra"),
    ("constant-flow-codman-3000", "constant-flow"),
])
def test_pump_family(pump: str, family: str) -> None:
    assert pump_family(pump) == family


def test_unknown_pump_refused() -> None:
    with pytest.raises(InputError, match="synchromed-ii-40"):
        mri_checklist("isomed")


def test_synchromed_mri() -> None:
    items = {i.code: i for i in mri_checklist("synchromed-ii-40").items}
    assert {"interrogate-before", "do-not-stop", "motor-stops", "interrogate-after",
            "resume-delay"} <= set(items)
    assert "stopped pump" in items["do-not-stop"].clinician
    assert "2–24 h" in items["resume-delay"].clinician
    assert items["interrogate-after"].source == "TGA-MRI"
    assert [i.phase for i in mri_checklist("synchromed-ii-40").items] == sorted(
        (i.phase for i in mri_checklist("synchromed-ii-40").items),
        key=["before", "during", "after"].index)


def test_prometra_mri_empties_first() -> None:
    items = {i.code: i for i in mri_checklist("prometra-ii-20").items}
    assert items["empty-pump"].phase == "before" and items["empty-pump"].source == "PROM-MRI"
    assert "do-not-stop" not in items


def test_diathermy_is_marked_unverified() -> None:
    checklist = diathermy_checklist("synchromed-ii-20")
    assert any(not i.verified for i in checklist.items)


def test_implant_card() -> None:
    text = implant_card_text("prometra-ii-40", implant_date=date(2026, 1, 5),
                             concentration="500 mcg/mL", clinic_phone="+49 30 1234")
    assert "intrathecal baclofen" in text and "emptied first" in text and "+49 30 1234" in text
    assert "emptied" not in implant_card_text("synchromed-ii-40")


def test_recovery_checklist_dates() -> None:
    d0 = date(2026, 1, 5)
    items = {i.code: i for i in recovery_checklist(d0)}
    assert items["activity-restrictions"].ends == d0 + timedelta(weeks=8)
    assert items["call-at-once"].call_at_once
    assert "fever" in items["call-at-once"].patient
    assert items["oral-baclofen-plan"].source == "B-DOSE"
    assert all(i.source in SOURCES for i in items.values())
    assert [i.starts for i in recovery_checklist(d0)] == sorted(i.starts for i in items.values())


def test_care_team() -> None:
    assert set(ROLES) == {"patient", "caregiver", "physician", "surgeon", "itb-nurse",
                          "pharmacist", "administrator"}
    assert may("physician", "program.sign")
    assert not may("physician", "program.sign", specialty="gp")
    assert not may("itb-nurse", "program.sign")
    assert not may("administrator", "record.read-clinic")
    assert not may("patient", "record.read-clinic")
    assert may("caregiver", "symptoms.report")
    assert all(role.permissions <= PERMISSIONS.keys() for role in ROLES.values())
    with pytest.raises(InputError):
        permissions_for("janitor")
    with pytest.raises(InputError):
        may("physician", "program.delete")


def test_decision_aid() -> None:
    kinds = {p.kind for p in DECISION_AID}
    assert {"benefit", "risk-surgical", "risk-drug", "risk-device", "question"} <= kinds
    assert all(p.source in SOURCES for p in DECISION_AID)
    assert all(p.kind == "question" for p in decision_aid("question"))
