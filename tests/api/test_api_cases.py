"""Issue 11, points 2–4 through the API: cases (open → acknowledged → notes → closed), the
worklist urgency is the gravest open case, the on-call e-mail over a real SMTP server,
triage that knows there is a pump with tel: links, allergies, medicines and reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from smtp_sink import smtp_sink
from thecal.app import create_app
from thecal.service import Clinic, FrozenClock, Settings, admin, issue_api_token
from thecal.service.actors import SYSTEM
from thecal.service.testing import NOW, PASSWORD, START, World, add_history, build_world

WITHDRAWAL = ["itching", "increased-spasticity"]


def _h(tokens: dict[str, str], name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[name]}"}


def _where(response: object) -> str:
    return str(response.json()["detail"][0]["loc"][-1])  # type: ignore[attr-defined]


def _row(client: TestClient, tokens: dict[str, str], patient_id: int) -> dict[str, object]:
    rows = client.get("/api/v1/worklist", headers=_h(tokens, "clinician")).json()
    return next(r for r in rows if r["patient_id"] == patient_id)


def test_a_milder_later_report_never_lowers_the_worklist(client: TestClient, world: World,
                                                          tokens: dict[str, str]) -> None:
    pa = world.patient_a
    # the issue's steps: itching, stiffness and high fever (emergency) …
    first = client.post(f"/api/v1/patients/{pa}/symptoms", headers=_h(tokens, "patient"),
                        json={"codes": [*WITHDRAWAL, "high-fever"],
                              "note": "I itch all over and I am burning up"})
    assert first.status_code == 201, first.text
    assert first.json()["triage"]["urgency"] == "emergency"
    assert _row(client, tokens, pa)["urgency"] == "emergency"
    # … two minutes later only "the pump beeps": its own case, the row stays emergency
    world.clock.set(NOW + timedelta(minutes=2))
    second = client.post(f"/api/v1/patients/{pa}/symptoms", headers=_h(tokens, "patient"),
                         json={"codes": ["pump-alarm-single-tone"], "note": "the pump beeps"})
    assert second.json()["triage"]["urgency"] == "soon"
    assert second.json()["case_id"] != first.json()["case_id"]
    assert _row(client, tokens, pa)["urgency"] == "emergency"
    # the inbox: open cases, gravest first, with the patient's own words and advised actions
    inbox = client.get("/api/v1/cases", headers=_h(tokens, "nurse")).json()
    assert [c["urgency"] for c in inbox[:2]] == ["emergency", "soon"]
    grave = inbox[0]
    assert grave["patient_words"] == "I itch all over and I am burning up"
    assert grave["symptoms"][0] == "Itching, without a rash"
    assert any("Interrogate the pump" in a for a in grave["clinician_actions"])
    assert grave["status"] == "open" and grave["banner"] is True
    # acknowledged (who, when): the banner clears, the urgency stands until it is closed
    case_id = grave["case_id"]
    world.clock.set(NOW + timedelta(minutes=5))
    ack = client.post(f"/api/v1/cases/{case_id}/acknowledge", headers=_h(tokens, "nurse"))
    assert ack.json()["acknowledged_by"] == "nurse"
    assert ack.json()["acknowledged_at"] == (NOW + timedelta(minutes=5)).isoformat()
    assert ack.json()["banner"] is False
    assert _row(client, tokens, pa)["urgency"] == "emergency"
    # a second acknowledge is a conflict, a note is kept, closing needs a known outcome
    assert client.post(f"/api/v1/cases/{case_id}/acknowledge",
                       headers=_h(tokens, "nurse")).status_code == 409
    noted = client.post(f"/api/v1/cases/{case_id}/notes", headers=_h(tokens, "nurse"),
                        json={"text": "Called back: pump empty on interrogation, coming in"})
    assert noted.status_code == 201
    assert noted.json()["notes"][0]["kind"] == "call-back"
    bad = client.post(f"/api/v1/cases/{case_id}/close", headers=_h(tokens, "nurse"),
                      json={"outcome": "fine"})
    assert bad.status_code == 422 and _where(bad) == "outcome"
    closed = client.post(f"/api/v1/cases/{case_id}/close", headers=_h(tokens, "clinician"),
                         json={"outcome": "pump-refilled", "note": "refilled, bolus given"})
    assert closed.json()["status"] == "closed" and closed.json()["closed_by"] == "clinician"
    # closing the grave case lets the milder open one set the urgency
    assert _row(client, tokens, pa)["urgency"] == "soon"
    assert client.post(f"/api/v1/cases/{case_id}/notes", headers=_h(tokens, "nurse"),
                       json={"text": "late"}).status_code == 409


def test_patients_cannot_work_cases_and_other_sites_do_not_see_them(
        client: TestClient, world: World, tokens: dict[str, str]) -> None:
    report = client.post(f"/api/v1/patients/{world.patient_a}/symptoms",
                         headers=_h(tokens, "patient"), json={"codes": ["itching"]}).json()
    case_id = report["case_id"]
    assert client.post(f"/api/v1/cases/{case_id}/acknowledge",
                       headers=_h(tokens, "patient")).status_code == 403
    assert client.get(f"/api/v1/cases/{case_id}",
                      headers=_h(tokens, "clinician_b")).status_code == 404
    assert client.get("/api/v1/cases", headers=_h(tokens, "clinician_b")).json() == []


def _wanda(world: World) -> int:
    """A patient implanted 2026-01-05 at 150 mcg/day from 40 mL of 500 mcg/mL.

    20,000 mcg at 150 mcg/day, planned with the pump 14.5 % fast and the low-reservoir alarm
    kept in hand, is due on 2026-04-25 (110 days); 2026-04-28 is three days overdue, 16 weeks
    (about four months) after the implant — past the 8-week post-operative window.
    """
    pid = int(admin.bootstrap_patient(world.clinic, world.site_a, {
        "mrn": "A-150", "display_name": "Wanda Withdrawal", "born": "1980-01-01",
        "timezone": "Europe/Berlin", "etiology": "multiple-sclerosis"}).id)
    add_history(world.clinic, world.clock, pid, START, daily_dose="150 mcg/day",
                serial="SN-0150")
    world.clock.set(datetime(2026, 4, 28, 10, 0, tzinfo=UTC))
    return pid


def test_withdrawal_picture_is_an_emergency_whichever_fever_box(
        client: TestClient, world: World, tokens: dict[str, str]) -> None:
    pid = _wanda(world)
    admin.update_site_settings(world.clinic, SYSTEM, world.site_a, {
        "clinic_phone": "+49 30 1234 5678", "emergency_number": "112"})
    due = client.get(f"/api/v1/patients/{pid}/projection",
                     headers=_h(tokens, "clinician")).json()["refill_due_by"]
    assert due.startswith("2026-04-25")
    for box in ("high-fever", "fever"):
        answer = client.post(f"/api/v1/patients/{pid}/symptoms",
                             headers=_h(tokens, "clinician"),
                             json={"codes": [*WITHDRAWAL, box]}).json()
        triage = answer["triage"]
        assert triage["urgency"] == "emergency", (box, triage["rules"])
        rules = {r["id"] for r in triage["rules"]}
        assert {"TR-W-FEVER", "TR-W-FEVER-PUMP", "TR-W-MISSED-REFILL"} <= rules
        assert triage["context"]["refill_overdue"] is True
        assert answer["contacts"] == {"clinic_phone": "+49 30 1234 5678",
                                      "clinic_tel": "tel:+493012345678",
                                      "emergency_number": "112", "emergency_tel": "tel:112"}


def test_a_single_early_sign_is_same_day(client: TestClient, world: World,
                                         tokens: dict[str, str]) -> None:
    answer = client.post(f"/api/v1/patients/{world.patient_a}/symptoms",
                         headers=_h(tokens, "patient"),
                         json={"codes": ["increased-spasticity"]}).json()
    assert answer["triage"]["urgency"] == "urgent"
    assert "TR-W-EARLY" in {r["id"] for r in answer["triage"]["rules"]}


@pytest.mark.parametrize("public_url", ["", "https://itb.example-hospital.org"])
def test_emergency_case_emails_the_on_call_clinician(tmp_path: object, public_url: str) -> None:
    with smtp_sink() as sink:
        clock = FrozenClock(NOW)
        clinic = Clinic.open(Settings(database_url=f"sqlite:///{tmp_path}/mail.sqlite3",
                                      smtp_host="127.0.0.1", smtp_port=sink.port), clock=clock)
        try:
            world = build_world(clinic, clock)
            admin.update_site_settings(clinic, SYSTEM, world.site_a, {
                "on_call_user": "clinician", "on_call_email": "oncall@site-a.invalid",
                "clinic_phone": "030 1234", "emergency_number": "999",
                "public_url": public_url})
            token = issue_api_token(clinic, "patient", PASSWORD)[0]
            with TestClient(create_app(clinic.settings, clinic=clinic),
                            base_url="https://testserver") as client:
                # an urgent report notifies no one by e-mail
                client.post(f"/api/v1/patients/{world.patient_a}/symptoms",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"codes": ["itching"]})
                assert sink.messages == []
                report = client.post(f"/api/v1/patients/{world.patient_a}/symptoms",
                                     headers={"Authorization": f"Bearer {token}"},
                                     json={"codes": ["high-fever", "itching"],
                                           "note": "shivering, legs like boards"}).json()
        finally:
            clinic.dispose()
    assert len(sink.messages) == 1
    mail = sink.messages[0]
    assert mail["To"] == "oncall@site-a.invalid"
    assert mail["Subject"] == f"EMERGENCY case {report['case_id']}: Alice Example (A-001)"
    body = mail.get_content()
    assert '"shivering, legs like boards"' in body and "Interrogate the pump" in body
    assert "Clinic phone: 030 1234" in body
    # the site's emergency number, and the case as a link when the server knows its address
    # (else its path, with where to find it: the inbox, Cases)
    assert "the emergency number 999" in body and "112" not in body
    assert "clinic inbox (Cases)" in body
    link = f"{public_url}/clinic/cases/{report['case_id']}"
    assert any(line.strip() == link for line in body.splitlines()), body


def test_on_call_email_failure_is_recorded_not_refused(tmp_path: object) -> None:
    clock = FrozenClock(NOW)
    from smtp_sink import free_port

    clinic = Clinic.open(Settings(database_url=f"sqlite:///{tmp_path}/nomail.sqlite3",
                                  smtp_host="127.0.0.1", smtp_port=free_port()), clock=clock)
    try:
        world = build_world(clinic, clock)
        admin.update_site_settings(clinic, SYSTEM, world.site_a,
                                   {"on_call_email": "oncall@site-a.invalid"})
        from thecal.service import advice, cases

        advice.report_symptoms(clinic, world.actor("patient"), world.patient_a,
                               ["high-fever"])
        case = cases.inbox(clinic, world.actor("nurse"))[0]
        by_channel = {n.channel: n for n in case.notices}
        assert by_channel["inbox"].status == "sent"
        assert by_channel["email"].status == "failed"
        assert by_channel["email"].recipient == "oncall@site-a.invalid"
    finally:
        clinic.dispose()


def test_allergies_medicines_and_reconciliation(client: TestClient, world: World,
                                                tokens: dict[str, str]) -> None:
    pa, nurse = world.patient_a, _h(tokens, "nurse")
    before = client.get(f"/api/v1/patients/{pa}/medicines", headers=nurse).json()
    assert before["allergy_status"] == "not-recorded"
    # the implant in the world has no reconciliation yet
    assert [d["occasion"] for d in before["reconciliations_due"]] == ["implant"]
    assert before["reconciliations_due"][0]["reason"]["source"] == "JARKMS20"
    stated = client.post(f"/api/v1/patients/{pa}/allergies/none-known", headers=nurse)
    assert stated.json()["allergy_status"] == "no-known-allergies"
    # eligibility without an allergy answer needs information; a recorded baclofen allergy
    # is a contraindication whatever the request says
    assert client.post(f"/api/v1/patients/{pa}/eligibility", headers=nurse,
                       json={"baclofen_allergy": False}).json()["verdict"] != "not-a-candidate"
    allergy = client.post(f"/api/v1/patients/{pa}/allergies", headers=nurse,
                          json={"substance": "Baclofen", "reaction": "hives"}).json()
    assert allergy["allergy_status"] == "allergies-recorded" and allergy["baclofen_allergy"]
    verdict = client.post(f"/api/v1/patients/{pa}/eligibility", headers=nurse,
                          json={"baclofen_allergy": False}).json()
    assert verdict["verdict"] == "not-a-candidate"
    assert client.post(f"/api/v1/patients/{pa}/allergies/none-known",
                       headers=nurse).status_code == 422
    # oral medicines with doses: 10 mg three times a day is 30 mg/day
    meds = client.post(f"/api/v1/patients/{pa}/medications", headers=nurse,
                       json={"drug": "baclofen-oral", "dose": "10 mg", "times_per_day": 3})
    assert meds.status_code == 201
    assert meds.json()["medications"][0]["daily_dose_mg"] == 30.0
    bad = client.post(f"/api/v1/patients/{pa}/medications", headers=nurse,
                      json={"drug": "baclofen-oral", "dose": "10", "times_per_day": 3})
    assert bad.status_code == 422 and _where(bad) == "dose"
    # the implant's reconciliation clears the due item and keeps what was taken then
    done = client.post(f"/api/v1/patients/{pa}/reconciliations", headers=nurse,
                       json={"occasion": "implant", "notes": "oral baclofen to be weaned"})
    assert done.json()["reconciliations_due"] == []
    assert done.json()["reconciliations"][0]["medications"] == ["baclofen (oral) 10 mg × 3/day"]
    assert client.post(f"/api/v1/patients/{pa}/allergies", headers=_h(tokens, "patient"),
                       json={"substance": "latex"}).status_code == 403
