"""A refill proposal's suggested fill volume (never overfilled) and the mixing check."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from thecal import service
from thecal.service.testing import World


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
    remaining = 0.0  # a refill drains the reservoir: what was withdrawn was all that was left
    assert result.filling.remaining_ml == pytest.approx(remaining)
    assert result.filling.suggested_added_ml == pytest.approx(
        math.floor((capacity - remaining) * 10 + 1e-9) / 10)
    assert 0 <= result.filling.suggested_added_ml <= capacity
    assert "never more than the capacity" in result.suggested_added
    # the suggestion, recorded, fills the reservoir without overfilling it
    check = service.propose_refill(world.clinic, nurse, world.patient_a,
                                   withdrawn=f"{withdrawn:g} mL",
                                   added=f"{result.filling.suggested_added_ml:g} mL",
                                   concentration="500 mcg/mL")
    assert (check.reservoir_after_ml or 0.0) <= capacity + 1e-9


def test_refill_proposal_warns_when_the_residual_mixes_with_a_new_strength(world: World) -> None:
    nurse = world.actor("nurse")
    first = service.propose_refill(world.clinic, nurse, world.patient_a, withdrawn="0.1 mL",
                                   added="0 mL", concentration="500 mcg/mL")
    expected = first.expected_residual_ml
    assert expected > 1.0
    # an incomplete aspiration leaves the residual in the reservoir; a stronger drug added:
    # the pump, told 2000, holds a weaker mixture
    kept = round(expected, 3)
    mixed = service.propose_refill(world.clinic, nurse, world.patient_a, withdrawn="0 mL",
                                   added="5 mL", concentration="2000 mcg/mL",
                                   aspiration="incomplete", estimated_residual=f"{kept} mL")
    mixing = mixed.mixing
    want = (kept * 500 + 5 * 2000) / (kept + 5)
    assert mixing is not None
    assert mixing.mixed_concentration_mcg_per_ml == pytest.approx(want)
    assert mixing.flagged and mixing.reasons[0].code == "refill-concentration-mixed"
    # a complete aspiration drains the old drug: nothing mixes
    clean = service.propose_refill(world.clinic, nurse, world.patient_a,
                                   withdrawn=f"{expected:.3f} mL", added="5 mL",
                                   concentration="2000 mcg/mL")
    assert clean.mixing is None


def test_a_refill_at_the_pumps_own_strength_is_no_concentration_change(
        clinic: service.Clinic, clock: service.FrozenClock) -> None:
    """Golden: 19.4 mL of 1 mg/mL into an empty 40 mL reservoir. Mass over volume, written the
    textbook way, is (0 + 19.4 × 1000) / 19.4 = 1000.0000000000001 mcg/mL: the float noise that
    made the demo's "change to 1000" no change at all. The pump's strength is 1000 exactly, a
    refill at 1000 mcg/mL is no change (no bridge bolus, no second signature), and 500 is one."""
    from thecal.service import admin, patients, therapy
    from thecal.service.actors import SYSTEM
    from thecal.service.testing import START, build_world, program_as_system

    assert (0 + 19.4 * 1000) / 19.4 == 1000.0000000000001  # the noise, reproduced
    world = build_world(clinic, clock, second_clinician=True)
    pid = admin.bootstrap_patient(clinic, world.site_a, {
        "mrn": "A-019", "display_name": "Nina Noise", "born": "1980-05-06",
        "timezone": "Europe/Berlin", "etiology": "spinal-cord-injury"}).id
    clock.set(START)
    patients.append_event(clinic, SYSTEM, pid, {
        "at": START.isoformat(), "type": "implant", "pump": "synchromed-ii-40",
        "catheter": {"model": "ascenda", "length_cm": 52}, "serial": "SN-0019"}, 0)
    therapy.record_refill(clinic, SYSTEM, pid, withdrawn="0 mL", added="19.4 mL",
                          concentration="1 mg/mL", expected_version=1,
                          drug=therapy.DrugDetails(lot="LOT-0019", expiry="2030-12-31"))
    program_as_system(clinic, clock, pid, "100 mcg/day", 2)
    clock.set(START + timedelta(days=30))
    nurse = world.actor("nurse")
    same = service.propose_refill(clinic, nurse, pid, withdrawn="0 mL", added="1 mL",
                                  concentration="1000 mcg/mL")
    assert same.old_concentration_mcg_per_ml == 1000.0  # exactly
    assert same.bridge_bolus is None and not same.needs_second_clinician
    changed = service.propose_refill(clinic, nurse, pid, withdrawn="0 mL", added="1 mL",
                                     concentration="500 mcg/mL")
    assert changed.bridge_bolus is not None and changed.needs_second_clinician
