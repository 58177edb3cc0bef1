"""Care teams in the clinical vocabulary, the display time zone, and the virtual patient that
stands for a clinic patient."""

from __future__ import annotations

import pytest

from thecal import service
from thecal.clinical.care_team import ROLES as CLINICAL_ROLES
from thecal.errors import InputError, NotFoundError
from thecal.service import admin
from thecal.service.actors import SYSTEM
from thecal.service.testing import World
from thecal.service.views import physiology_preset, virtual_patient
from thecal.store import records


def test_care_team_roles_are_the_clinical_vocabulary(world: World) -> None:
    assert set(admin.TEAM_ROLES) <= set(CLINICAL_ROLES)
    assert "itb-nurse" in admin.TEAM_ROLES and "nurse" not in admin.TEAM_ROLES
    assert not {"patient", "caregiver", "administrator"} & set(admin.TEAM_ROLES)
    nurse_id = int(world.users["nurse"].id)
    with pytest.raises(InputError) as caught:
        service.add_care_team_member(world.clinic, SYSTEM, world.patient_a, nurse_id, "nurse")
    assert "itb-nurse" in (caught.value.fix or "")
    service.add_care_team_member(world.clinic, SYSTEM, world.patient_a, nurse_id, "itb-nurse")
    team = service.patient_care_team(world.clinic, world.actor("clinician"), world.patient_a)
    assert team[0].team_role == "itb-nurse" and team[0].title == "ITB nurse"


def test_legacy_team_role_shown_in_the_clinical_vocabulary(world: World) -> None:
    with world.clinic.transaction() as conn:  # a row stored before the vocabularies were one
        records.add_care_team(conn, world.patient_a, int(world.users["nurse"].id), "nurse",
                              world.clinic.now())
    team = service.patient_care_team(world.clinic, world.actor("clinician"), world.patient_a)
    assert team[0].team_role == "itb-nurse" and team[0].title == "ITB nurse"


def test_display_timezone(world: World) -> None:
    clinic = world.clinic
    assert service.display_timezone(clinic, world.actor("nurse")) == "UTC"  # default
    admin.update_site_settings(clinic, SYSTEM, world.site_a, {"timezone": "Europe/Vienna"})
    assert service.display_timezone(clinic, world.actor("nurse")) == "Europe/Vienna"
    own = service.get_patient(clinic, SYSTEM, world.patient_a).timezone
    assert service.display_timezone(clinic, world.actor("patient")) == own
    assert service.display_timezone(clinic, world.actor("caregiver"), world.patient_a) == own
    with pytest.raises(NotFoundError):
        service.display_timezone(clinic, world.actor("caregiver"), world.patient_b)


def test_virtual_patient_for_a_clinic_patient() -> None:
    assert physiology_preset("cerebral-palsy", 9) == "child-cerebral"
    assert physiology_preset("cerebral-palsy", 30) == "adult-cerebral"
    assert physiology_preset("spinal-cord-injury", 12) == "child-spinal"
    assert physiology_preset("multiple-sclerosis", 50) == "multiple-sclerosis"
    assert physiology_preset("stroke", None) == "stroke"
    a, b = virtual_patient("stroke", 60, "MRN-1"), virtual_patient("stroke", 60, "MRN-2")
    assert a == virtual_patient("stroke", 60, "MRN-1") and a.seed != b.seed
