"""The triage knows there is a pump (issue 11, item 3): a symptom report is triaged on the
twin's projection of the record (refill overdue, reservoir low, alarms sounding), and the
triage inbox, which replays the rules on the record as it stood, shows the same answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from thecal import service
from thecal.clinical.triage import Urgency
from thecal.service.testing import World


def _report_and_inbox(world: World, codes: list[str]) -> tuple[set[str], Urgency]:
    """The rules the report fired, after checking the inbox shows the same answer."""
    report = service.report_symptoms(world.clinic, world.actor("patient"), world.patient_a,
                                     codes)
    fired = {r.id for r in report.triage.rules}
    item = next(i for i in service.triage_inbox(world.clinic, world.actor("nurse"))
                if i.report_id == report.event.event.id)
    assert item.answer.urgency is report.triage.urgency
    assert {r.code for r in item.answer.reasons} == fired
    return fired, report.triage.urgency


def _chart(world: World) -> service.Chart:
    return service.patient_chart(world.clinic, world.actor("clinician"), world.patient_a)


def test_fever_with_the_refill_overdue_is_an_emergency(world: World) -> None:
    # Patient A: 40 mL at 0.2 mL/day from 5 Jan 2026; the refill is due by the earliest
    # low-reservoir alarm the pump's accuracy allows (2 mL left, the pump 14.5 % fast:
    # 38 / (0.2 × 1.145) ≈ 166 days, mid-June). A day after it nothing sounds yet and about
    # 7 mL are left (not low): only the overdue refill tells the triage the pump may run dry.
    plan = _chart(world).twin.refill_plan  # type: ignore[union-attr]
    assert plan is not None
    assert datetime(2026, 6, 10, tzinfo=UTC) < plan.refill_due_by < datetime(2026, 6, 25,
                                                                             tzinfo=UTC)
    world.clock.set(plan.refill_due_by + timedelta(days=1))
    twin = _chart(world).twin
    assert twin is not None and not twin.state.alarms
    assert twin.state.estimate_ml > twin.state.low_reservoir_alarm_ml
    fired, urgency = _report_and_inbox(world, ["fever"])
    assert "TR-W-FEVER-PUMP" in fired and urgency is Urgency.EMERGENCY


def test_a_low_reservoir_with_its_alarm_sounding_reaches_the_triage(world: World) -> None:
    # 20 Jul 2026 is 196 days on: 40 − 0.2 × 196 ≈ 0.8 mL left, below the 2 mL alarm volume
    # (the low-reservoir alarm sounds; the reservoir is not empty yet).
    world.clock.set(datetime(2026, 7, 20, 10, 0, tzinfo=UTC))
    twin = _chart(world).twin
    assert twin is not None
    assert 0 < twin.state.estimate_ml < twin.state.low_reservoir_alarm_ml
    assert "low-reservoir" in {a.code for a in twin.state.alarms}
    fired, urgency = _report_and_inbox(world, ["itching"])
    assert {"TR-W-LOW-RESERVOIR", "TR-C-LOW-RESERVOIR"} <= fired
    assert urgency is Urgency.URGENT


@pytest.mark.parametrize("codes", [["increased-spasticity"], ["fever"]])
def test_an_empty_pump_reaches_the_triage(world: World, codes: list[str]) -> None:
    # 400 days on the reservoir has been empty for about 200 days: the empty-reservoir alarm
    # sounds and therapy has stopped (withdrawal will follow).
    world.clock.advance(timedelta(days=400))
    fired, urgency = _report_and_inbox(world, codes)
    assert "TR-C-THERAPY-AT-RISK" in fired
    assert urgency.rank >= Urgency.URGENT.rank
