"""The bridge bolus of a concentration change, recorded with the refill (issue 11's walk-through:
the web wizard asked "I will program this bridge bolus" and recorded nothing, so every change
left a ``missing-bridge-bolus`` finding on the chart)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from thecal import service
from thecal.errors import InputError
from thecal.service import therapy
from thecal.service.testing import PASSWORD, World
from thecal.timeline import Bolus, Refill

DRUG = therapy.DrugDetails(lot="L-1", expiry="2030-12-31")


def _version(world: World) -> int:
    return service.projection(world.clinic, world.actor("nurse"), world.patient_a).version


def _findings(world: World) -> set[str]:
    twin = service.projection(world.clinic, world.actor("nurse"), world.patient_a).twin
    assert twin is not None
    return {f.code for f in twin.findings}


def _refill(world: World, concentration: str, **kwargs: object) -> therapy.RefillOutcome:
    nurse = world.actor("nurse")
    expected = service.propose_refill(world.clinic, nurse, world.patient_a, withdrawn="0.1 mL",
                                      added="0 mL", concentration="500 mcg/mL",
                                      at=kwargs.get("at")).expected_residual_ml  # type: ignore[arg-type]
    return therapy.record_refill(world.clinic, nurse, world.patient_a,
                                 withdrawn=f"{expected:.2f} mL", added="10 mL",
                                 concentration=concentration, expected_version=_version(world),
                                 password=PASSWORD, drug=DRUG, **kwargs)  # type: ignore[arg-type]


def test_the_bridge_bolus_is_recorded_with_the_refill(world: World) -> None:
    before = _version(world)
    outcome = _refill(world, "2000 mcg/mL", bridge_bolus=True)
    assert outcome.event is not None and outcome.bridge_bolus_event is not None
    refill, bolus = outcome.event.event, outcome.bridge_bolus_event.event
    assert isinstance(refill, Refill) and isinstance(bolus, Bolus)
    # right after the refill, at its time, by the same person, in the same write
    assert (outcome.event.seq, outcome.bridge_bolus_event.seq) == (before + 1, before + 2)
    assert bolus.kind == "bridge" and bolus.at == refill.at and bolus.by == "nurse"
    assert _version(world) == before + 2
    assert "missing-bridge-bolus" not in _findings(world)


def test_without_it_the_finding_stays_because_it_is_true(world: World) -> None:
    outcome = _refill(world, "2000 mcg/mL")
    assert outcome.bridge_bolus_event is None
    assert "missing-bridge-bolus" in _findings(world)


def test_a_late_entry_puts_the_bolus_at_the_procedure_time(world: World) -> None:
    """Entered three hours late: the bolus goes with the refill, not with the entry (at the
    entry time it would fall outside the finding's window and the finding would stay)."""
    done = world.clinic.now() - timedelta(hours=3)
    outcome = _refill(world, "2000 mcg/mL", bridge_bolus=True, at=done)
    assert outcome.bridge_bolus_event is not None
    assert outcome.bridge_bolus_event.event.at == done
    assert "missing-bridge-bolus" not in _findings(world)


def test_a_refill_that_keeps_the_strength_is_refused_a_bridge_bolus(world: World) -> None:
    before = _version(world)
    with pytest.raises(InputError) as refused:
        _refill(world, "500 mcg/mL", bridge_bolus=True)
    assert refused.value.where == "bridge_bolus"
    assert _version(world) == before  # nothing half-written


def test_the_bolus_is_recorded_while_the_strength_awaits_a_second_signature(
        clinic: service.Clinic, clock: service.FrozenClock) -> None:
    from thecal.service.testing import build_world

    world = build_world(clinic, clock, second_clinician=True)
    outcome = _refill(world, "2000 mcg/mL", bridge_bolus=True)
    assert outcome.status == "awaiting-confirmation" and outcome.pending_id is not None
    assert outcome.bridge_bolus_event is not None
    assert "missing-bridge-bolus" not in _findings(world)
