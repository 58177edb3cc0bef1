"""Timeline appends: versions, conflicts, idempotency, audit of reads and writes, corrections."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from thecal.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from thecal.service import (
    append_event,
    get_patient,
    pages,
    patient_chart,
    projection,
    record_assessment,
    report_symptoms,
    timeline,
    worklist,
)
from thecal.service.testing import World
from thecal.service.visit_report import visit_report
from thecal.store import audit as audit_store
from thecal.store.tables import audit, events
from thecal.timeline import Assessment, Correction


def _note(world: World, text: str = "phone call") -> dict[str, str]:
    return {"at": world.clock.now().isoformat(), "type": "note", "text": text}


def test_append_with_stale_version_conflicts_and_writes_nothing(world: World) -> None:
    nurse = world.actor("nurse")
    page = timeline(world.clinic, nurse, world.patient_a)
    assert page.version == 3
    stored = append_event(world.clinic, nurse, world.patient_a, _note(world), 3)
    assert stored.seq == 4 and stored.event.by == "nurse" and str(stored.event.id).startswith("ev-")
    with pytest.raises(ConflictError):
        append_event(world.clinic, nurse, world.patient_a, _note(world, "late"), 3)
    with world.clinic.engine.connect() as conn:
        assert conn.execute(select(events.c.id).where(events.c.patient_id == world.patient_a)
                            ).all().__len__() == 4
        last = conn.execute(select(audit).order_by(audit.c.id.desc()).limit(1)).mappings().one()
    assert last["outcome"] == "conflict" and last["actor"] == "nurse"


def test_idempotency_key_returns_first_result(world: World) -> None:
    nurse = world.actor("nurse")
    first = append_event(world.clinic, nurse, world.patient_a, _note(world), 3,
                         idempotency_key="k-1")
    again = append_event(world.clinic, nurse, world.patient_a, _note(world), 3,
                         idempotency_key="k-1")
    assert again.event.id == first.event.id and again.seq == first.seq
    assert timeline(world.clinic, nurse, world.patient_a).version == 4


def test_bad_event_is_422_with_field(world: World) -> None:
    nurse = world.actor("nurse")
    with pytest.raises(InputError) as caught:
        append_event(world.clinic, nurse, world.patient_a,
                     {"at": world.clock.now().isoformat(), "type": "bolus", "kind": "clinician",
                      "dose": ".5 mcg", "duration": "30 min"}, 3)
    assert caught.value.where == "event.dose"
    with pytest.raises(InputError, match="refill endpoint"):
        append_event(world.clinic, nurse, world.patient_a,
                     {"at": world.clock.now().isoformat(), "type": "refill",
                      "withdrawn": "1 mL", "added": "2 mL", "concentration": "500 mcg/mL"}, 3)


def test_correction_points_at_the_corrected_event(world: World) -> None:
    clinician = world.actor("clinician")
    stored = record_assessment(world.clinic, clinician, world.patient_a, {"mas": "2"}, 3).event
    fix = {"at": world.clock.now().isoformat(), "type": "correction", "corrects": stored.id,
           "reason": "wrong grade", "event": {"at": stored.at.isoformat(), "type": "assessment",
                                              "mas": "1+"}}
    correction = append_event(world.clinic, clinician, world.patient_a, fix, 4)
    assert isinstance(correction.event, Correction) and correction.event.corrects == stored.id
    chart = patient_chart(world.clinic, clinician, world.patient_a)
    assert [e.event.type for e in chart.events][-2:] == ["assessment", "correction"]


def test_a_corrected_assessment_shows_its_corrected_values(world: World) -> None:
    # MAS 2 and Penn 3 recorded, then corrected to MAS 1+ (Penn left out): the chart's
    # assessments read 1+ with no Penn score, under the assessment's own id, once; the history
    # keeps both events, each marked (corrected by / corrects); the visit report's points too.
    clinician = world.actor("clinician")
    first = record_assessment(world.clinic, clinician, world.patient_a,
                              {"mas": "2", "penn_frequency": 3}, 3).event
    world.clock.advance(timedelta(hours=1))
    record_assessment(world.clinic, clinician, world.patient_a, {"mas": "1"}, 4)
    fix = {"at": world.clock.now().isoformat(), "type": "correction", "corrects": first.id,
           "reason": "graded the wrong side", "event": {
               "at": first.at.isoformat(), "type": "assessment", "mas": "1+"}}
    correction = append_event(world.clinic, clinician, world.patient_a, fix, 5)
    chart = patient_chart(world.clinic, clinician, world.patient_a)
    shown = [(e.event.id, e.event.mas, e.event.penn_frequency) for e in chart.assessments
             if isinstance(e.event, Assessment)]
    assert shown[0] == (first.id, "1+", None) and [m for _, m, _ in shown] == ["1+", "1"]
    assert chart.assessments[0].seq == correction.seq
    assert chart.assessments[0].as_dict()["mas"] == "1+"  # the API writes it so
    history = {i.event.id: i for i in pages.timeline_items(chart.events)}
    assert history[first.id].corrected_by == correction.event.id
    assert history[correction.event.id].corrects == first.id
    report = visit_report(world.clinic, clinician, world.patient_a)
    assert [(p.mas, p.penn_frequency) for p in report.assessments] == [("1+", None),
                                                                       ("1", None)]


def test_every_read_is_audited(world: World) -> None:
    nurse = world.actor("nurse")
    with world.clinic.engine.connect() as conn:
        before = conn.execute(select(audit.c.id)).all().__len__()
    get_patient(world.clinic, nurse, world.patient_a)
    timeline(world.clinic, nurse, world.patient_a)
    projection(world.clinic, nurse, world.patient_a)
    patient_chart(world.clinic, nurse, world.patient_a)
    with world.clinic.engine.connect() as conn:
        rows = conn.execute(select(audit).where(audit.c.id > before)).mappings().all()
        assert audit_store.verify_chain(conn).ok
    assert [r["field"] for r in rows] == ["patient", "timeline", "projection", "chart"]
    assert all(r["actor"] == "nurse" and r["patient_id"] == world.patient_a for r in rows)


def test_foreign_patient_is_not_found_and_refusal_audited(world: World) -> None:
    with pytest.raises(NotFoundError):
        projection(world.clinic, world.actor("clinician"), world.patient_b)
    with pytest.raises(PermissionDeniedError):
        projection(world.clinic, world.actor("administrator"), world.patient_a)
    with world.clinic.engine.connect() as conn:
        rows = conn.execute(select(audit).order_by(audit.c.id.desc()).limit(2)).mappings().all()
    assert [r["outcome"] for r in rows] == ["denied", "not-found"]


def test_projection_summary_kept_with_appends(world: World) -> None:
    clinician = world.actor("clinician")
    proj = projection(world.clinic, clinician, world.patient_a)
    assert proj.twin is not None and proj.twin.state.pump_model == "synchromed-ii-40"
    assert proj.as_dict()["pump"]["model"] == "synchromed-ii-40"  # type: ignore[index]
    items = worklist(world.clinic, clinician)
    assert [i.patient_id for i in items] == [world.patient_a]
    assert items[0].refill_due_by is not None
    world.clock.advance(timedelta(days=400))
    items = worklist(world.clinic, clinician)
    assert items[0].priority.weight == 100 and "empty" in items[0].reasons[0]


def test_symptom_report_by_patient_is_triaged(world: World) -> None:
    result = report_symptoms(world.clinic, world.actor("patient"), world.patient_a,
                             ["high-fever", "changed-mental-status"])
    assert result.triage.urgency == "emergency"
    items = worklist(world.clinic, world.actor("clinician"))
    assert any("emergency" in r for r in items[0].reasons)
