"""A refill proposal's suggested fill volume (never overfilled) and the mixing check."""

from __future__ import annotations

import math

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
    assert "never more than the capacity" in str(result.as_dict()["suggested_added"])
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
