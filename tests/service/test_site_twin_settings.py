"""A site's twin settings shape every projection of its records: the chart and the worklist's
stored summary agree for the same patient, before and after the site changes a setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from thecal import service
from thecal.service.testing import START, World, add_history
from thecal.store.tables import audit


def _both(world: World) -> tuple[service.WorklistItem, service.Chart]:
    clinician = world.actor("clinician")
    item = next(i for i in service.worklist(world.clinic, clinician)
                if i.patient_id == world.patient_a)
    return item, service.patient_chart(world.clinic, clinician, world.patient_a)


def _agree(item: service.WorklistItem, chart: service.Chart) -> None:
    twin = chart.twin
    assert twin is not None and twin.refill_plan is not None
    assert item.refill_due_by == twin.refill_plan.refill_due_by
    assert item.low_reservoir_alarm_at is not None
    assert twin.state.low_reservoir_alarm_at is not None
    assert abs(item.low_reservoir_alarm_at - twin.state.low_reservoir_alarm_at) < timedelta(
        seconds=1)


def test_worklist_and_chart_agree_under_delivery_unreliable_below(world: World) -> None:
    # Patient A: 40 mL of 500 mcg/mL at 100 mcg/day = 0.2 mL/day from 5 Jan 2026 10:00 UTC.
    # The SynchroMed II alarm is at 2 mL: (40 − 2) / 0.2 = 190 days, on 14 Jul 2026. A site
    # that treats delivery as unreliable below 10 mL (NSURG04) plans with 10 mL instead:
    # (40 − 10) / 0.2 = 150 days, on 4 Jun 2026 — 40 days earlier, on the worklist as on the
    # chart.
    program_at = START + timedelta(minutes=120)
    before, chart = _both(world)
    _agree(before, chart)
    assert before.low_reservoir_alarm_at is not None
    assert abs(before.low_reservoir_alarm_at - (program_at + timedelta(days=190))) < timedelta(
        hours=1)

    admin = world.actor("administrator")
    service.update_site_settings(world.clinic, admin, world.site_a,
                                 {"delivery_unreliable_below_ml": "10 mL"})
    after, chart = _both(world)
    _agree(after, chart)
    assert after.low_reservoir_alarm_at is not None and after.refill_due_by is not None
    assert abs(after.low_reservoir_alarm_at - datetime(2026, 6, 4, 10, 0, tzinfo=UTC)) < \
        timedelta(hours=1)
    assert before.refill_due_by is not None and after.refill_due_by < before.refill_due_by

    # an append projects the summary again: under the site's settings, as the chart does
    service.append_event(world.clinic, world.actor("nurse"), world.patient_a,
                         {"at": world.clock.now().isoformat(), "type": "note",
                          "text": "phoned the patient"}, 3)
    again, chart = _both(world)
    _agree(again, chart)
    assert again.refill_due_by == after.refill_due_by


def test_a_setting_that_leaves_the_twin_alone_projects_nothing_again(world: World) -> None:
    admin = world.actor("administrator")
    service.update_site_settings(world.clinic, admin, world.site_a, {"clinic_phone": "+49 30 1"})
    with world.clinic.engine.connect() as conn:
        fields = [r["field"] for r in conn.execute(select(audit).where(
            audit.c.action == "site.settings")).mappings()]
    assert fields == ["settings"]
    service.update_site_settings(world.clinic, admin, world.site_a,
                                 {"synchromed_mri_resume_delay_h": "worst"})
    with world.clinic.engine.connect() as conn:
        details = [r["detail"] for r in conn.execute(select(audit).where(
            audit.c.action == "site.settings", audit.c.field == "projections")).mappings()]
    assert details == ["the worklist summaries of 1 patients projected again under the new "
                       "twin settings"]


def test_a_patient_registered_under_the_setting_agrees_from_the_first_event(
        world: World) -> None:
    admin = world.actor("administrator")
    service.update_site_settings(world.clinic, admin, world.site_a,
                                 {"delivery_unreliable_below_ml": "10 mL"})
    pid = service.admin.bootstrap_patient(world.clinic, world.site_a, {
        "mrn": "A-010", "display_name": "Tess Ten", "born": "1980-01-01",
        "timezone": "Europe/Berlin", "etiology": "stroke"}).id
    add_history(world.clinic, world.clock, pid, START, serial="SN-0010")
    world.clock.set(START + timedelta(days=50))
    clinician = world.actor("clinician")
    item = next(i for i in service.worklist(world.clinic, clinician) if i.patient_id == pid)
    chart = service.patient_chart(world.clinic, clinician, pid)
    _agree(item, chart)
