"""The refill's suggested fill volume, one care-team vocabulary (thecal.clinical.care_team),
the site's time zone for display, and the virtual patient a clinic patient stands for."""

from __future__ import annotations

import math

import pytest

from thecal import service
from thecal.clinical.care_team import ROLES as CLINICAL_ROLES
from thecal.errors import InputError, NotFoundError
from thecal.service import admin
from thecal.service.actors import SYSTEM
from thecal.service.testing import World
from thecal.service.views import physiology_preset, virtual_patient
from thecal.store import records


@pytest.mark.parametrize("shortfall", [0.0, 3.0, -2.0])
def test_refill_suggests_filling_to_capacity(world: World, shortfall: float) -> None:
    nurse = world.actor("nurse")
    first = service.propose_refill(world.clinic, nurse, world.patient_a, withdrawn="0.1 mL",
                                   added="0 mL", concentration="500 mcg/mL")
    expected = first.expected_residual_ml
    withdrawn = max(0.0, round(expected - shortfall, 1))
    result = service.propose_refill(world.clinic, nurse, world.patient_a,
                                    withdrawn=f"{withdrawn:g} mL", added="0 mL",
                                    concentration="500 mcg/mL")
    capacity = result.capacity_ml
    # A refill is a measurement (issue 9): the reservoir was drained, whatever the shortfall,
    # so nothing stays and the suggestion fills it to capacity.
    remaining = 0.0
    assert result.filling.remaining_ml == pytest.approx(remaining)
    assert result.filling.suggested_added_ml == pytest.approx(
        math.floor((capacity - remaining) * 10 + 1e-9) / 10)
    assert 0 <= result.filling.suggested_added_ml <= capacity
    assert "never more than the capacity" in str(result.as_dict()["suggested_added"])
    # the suggestion, recorded, fills the reservoir without overfilling it
    check = service.propose_refill(world.clinic, nurse, world.patient_a,
                                   withdrawn=f"{withdrawn:g} mL",
                                   added=f"{result.filling.suggested_added_ml:g} mL",
                                   concentration="500 mcg/mL")
    assert (check.reservoir_after_ml or 0.0) <= capacity + 1e-9


def test_care_team_roles_are_the_clinical_vocabulary(world: World) -> None:
    assert set(admin.TEAM_ROLES) <= set(CLINICAL_ROLES)
    assert "itb-nurse" in admin.TEAM_ROLES and "nurse" not in admin.TEAM_ROLES
    assert not {"patient", "caregiver", "administrator"} & set(admin.TEAM_ROLES)
    nurse_id = int(world.users["nurse"]["id"])
    with pytest.raises(InputError) as caught:
        service.add_care_team_member(world.clinic, SYSTEM, world.patient_a, nurse_id, "nurse")
    assert "itb-nurse" in (caught.value.fix or "")
    service.add_care_team_member(world.clinic, SYSTEM, world.patient_a, nurse_id, "itb-nurse")
    team = service.patient_care_team(world.clinic, world.actor("clinician"), world.patient_a)
    assert team[0]["team_role"] == "itb-nurse" and team[0]["title"] == "ITB nurse"


def test_legacy_team_role_shown_in_the_clinical_vocabulary(world: World) -> None:
    with world.clinic.transaction() as conn:  # a row stored before the vocabularies were one
        records.add_care_team(conn, world.patient_a, int(world.users["nurse"]["id"]), "nurse",
                              world.clinic.now())
    team = service.patient_care_team(world.clinic, world.actor("clinician"), world.patient_a)
    assert team[0]["team_role"] == "itb-nurse" and team[0]["title"] == "ITB nurse"


def test_display_timezone(world: World) -> None:
    clinic = world.clinic
    assert service.display_timezone(clinic, world.actor("nurse")) == "UTC"  # default
    admin.update_site_settings(clinic, SYSTEM, world.site_a, {"timezone": "Europe/Vienna"})
    assert service.display_timezone(clinic, world.actor("nurse")) == "Europe/Vienna"
    own = service.get_patient(clinic, SYSTEM, world.patient_a)["timezone"]
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


def test_refill_proposal_warns_when_the_residual_mixes_with_a_new_strength(world: World) -> None:
    nurse = world.actor("nurse")
    first = service.propose_refill(world.clinic, nurse, world.patient_a, withdrawn="0.1 mL",
                                   added="0 mL", concentration="500 mcg/mL")
    expected = first.expected_residual_ml
    assert expected > 1.0
    # an aspiration said to be incomplete, the whole expected residual left, a stronger drug
    # added: the pump, told 2000, holds a weaker mixture
    mixed = service.propose_refill(world.clinic, nurse, world.patient_a, withdrawn="0 mL",
                                   added="5 mL", concentration="2000 mcg/mL",
                                   aspiration="incomplete",
                                   estimated_residual=f"{expected:.3f} mL")
    mixing = mixed.mixing
    left = round(expected, 3)
    want = (left * 500 + 5 * 2000) / (left + 5)
    assert mixing is not None
    assert mixing.mixed_concentration_mcg_per_ml == pytest.approx(want)
    assert mixing.flagged and mixing.reasons[0].code == "refill-concentration-mixed"
    # a drained reservoir (a refill is a measurement) leaves nothing to mix
    clean = service.propose_refill(world.clinic, nurse, world.patient_a,
                                   withdrawn="0 mL", added="5 mL", concentration="2000 mcg/mL")
    assert clean.mixing is None
