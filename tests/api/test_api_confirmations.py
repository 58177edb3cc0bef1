"""Pending is never lost (issue 11, point 1): a concentration-change refill that waits for a
second signer is recorded at once; past its time the confirmation is escalated — first on the
worklist, in the inbox, and e-mailed to the on-call clinician through a real SMTP server."""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from thecal.service import update_site_settings
from thecal.service.actors import SYSTEM
from thecal.service.testing import PASSWORD, World

LOT = {"lot": "LB2093", "expiry": "2030-06-30"}


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port on the loopback
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _concentration_change(client: TestClient, tokens: dict[str, str], world: World) -> dict[str, Any]:
    update_site_settings(world.clinic, SYSTEM, world.site_a, {
        "require_second_clinician_for_concentration_change": True,
        "on_call_email": "oncall@clinic.test", "timezone": "Europe/Berlin"})
    headers = {"Authorization": f"Bearer {tokens['clinician']}"}
    url = f"/api/v1/patients/{world.patient_a}/refill"
    proposal = client.post(f"{url}/proposal", headers=headers, json={
        "withdrawn": "28 mL", "added": "20 mL", "concentration": "1000 mcg/mL"}).json()
    body = {"withdrawn": f"{proposal['expected_residual_ml']:.1f} mL", "added": "20 mL",
            "concentration": "1000 mcg/mL", "expected_version": proposal["version"],
            "password": PASSWORD, **LOT}
    r = client.post(url, headers=headers, json=body)
    assert r.status_code == 202, r.text
    return dict(r.json())


def test_waiting_confirmation_shows_the_new_strength_and_the_worklist_says_so(
        client: TestClient, tokens: dict[str, str], world: World) -> None:
    recorded = _concentration_change(client, tokens, world)
    headers = {"Authorization": f"Bearer {tokens['nurse']}"}
    # the refill is in the record: the twin holds the new strength
    chart = client.get(f"/api/v1/patients/{world.patient_a}/chart", headers=headers).json()
    assert chart["projection"]["pump"]["concentration_mcg_per_ml"] == 1000
    assert recorded["event"]["id"] in [e["id"] for e in chart["events"]]
    items = client.get("/api/v1/confirmations", headers=headers).json()
    assert [(i["pending_id"], i["status"]) for i in items] == [(recorded["pending_id"], "waiting")]
    assert "500 mcg/mL → 1000 mcg/mL" in items[0]["summary"] and items[0]["entered_by"] == "Clinician"
    rows = client.get("/api/v1/worklist", headers=headers).json()
    first = rows[0]
    assert first["patient_id"] == world.patient_a
    assert "confirmation-waiting" in [r["code"] for r in first["reasons"]]


def test_past_its_time_it_is_still_there_escalated_and_e_mailed(
        client: TestClient, tokens: dict[str, str], world: World,
        smtp: tuple[_Inbox, int]) -> None:
    inbox, port = smtp
    world.clinic.settings = dataclasses.replace(world.clinic.settings, smtp_host="127.0.0.1",
                                                smtp_port=port)
    recorded = _concentration_change(client, tokens, world)
    world.clock.set(world.clock.now() + timedelta(minutes=16))  # frozen clock, 16 min later
    headers = {"Authorization": f"Bearer {tokens['nurse']}"}
    items = client.get("/api/v1/confirmations", headers=headers).json()
    assert len(items) == 1 and items[0]["status"] == "escalated" and items[0]["escalated"]
    assert items[0]["notify_detail"] == "e-mailed oncall@clinic.test"
    for _ in range(50):  # the SMTP server hands the message over asynchronously
        if inbox.messages:
            break
        time.sleep(0.05)
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message.rcpt_tos == ["oncall@clinic.test"]
    parsed = message_from_bytes(message.content, policy=email_policy.default)
    text = parsed.get_body().get_content()  # type: ignore[union-attr]
    assert "Alice Example" in str(parsed["Subject"]) and "500 mcg/mL → 1000 mcg/mL" in text
    # the review page's path (the site has no public_url: the server knows no address)
    path = f"/clinic/patients/{world.patient_a}/pending/{recorded['pending_id']}"
    assert any(line.strip() == path for line in text.splitlines()), text
    assert "Triage inbox → Second signatures waiting → Review" in text
    # times as the clinic reads them, in the site's zone (not ISO UTC)
    assert "Entered by: Clinician at Sun 1 Mar 2026 10:00 CET" in text and "+00:00" not in text
    # top of the worklist, as an emergency-level reason
    rows = client.get("/api/v1/worklist", headers=headers).json()
    assert rows[0]["patient_id"] == world.patient_a
    assert rows[0]["reasons"][0]["code"] == "confirmation-overdue"
    # hours later: still there, escalated once (one e-mail)
    world.clock.set(world.clock.now() + timedelta(hours=5))
    again = client.get("/api/v1/confirmations", headers=headers).json()
    assert [i["pending_id"] for i in again] == [recorded["pending_id"]]
    assert len(inbox.messages) == 1
    # confirming late works: nothing is re-recorded, the confirmer is named
    second = {"Authorization": f"Bearer {tokens['nurse']}"}
    done = client.post(f"/api/v1/pending/{recorded['pending_id']}/confirm", headers=second,
                       json={"password": PASSWORD})
    assert done.status_code == 201, done.text
    assert done.json()["event"]["id"] == recorded["event"]["id"]
    assert client.get("/api/v1/confirmations", headers=headers).json() == []


def test_rejection_needs_a_reason_and_a_corrective_action(
        client: TestClient, tokens: dict[str, str], world: World) -> None:
    recorded = _concentration_change(client, tokens, world)
    second = {"Authorization": f"Bearer {tokens['clinician2']}"}
    url = f"/api/v1/pending/{recorded['pending_id']}/reject"
    r = client.post(url, headers=second, json={"password": PASSWORD, "reason": "wrong vial"})
    assert r.status_code == 422
    r = client.post(url, headers=second, json={
        "password": PASSWORD, "reason": "the order was for 500 mcg/mL",
        "corrective_action": "reservoir emptied and refilled with 500 mcg/mL; program checked"})
    assert r.status_code == 201, r.text
    note = r.json()["event"]
    assert note["type"] == "note" and "Corrective action: reservoir emptied" in note["text"]
    assert client.get("/api/v1/confirmations", headers=second).json() == []


def test_who_may_sign_second_is_a_site_setting(client: TestClient, tokens: dict[str, str],
                                               world: World) -> None:
    recorded = _concentration_change(client, tokens, world)
    url = f"/api/v1/pending/{recorded['pending_id']}/confirm"
    same = client.post(url, headers={"Authorization": f"Bearer {tokens['clinician']}"},
                       json={"password": PASSWORD})
    assert same.status_code == 403 and "other than the person" in same.text
    pharmacist = client.post(url, headers={"Authorization": f"Bearer {tokens['pharmacist']}"},
                             json={"password": PASSWORD})
    assert pharmacist.status_code == 403 and "may not be the second signer" in pharmacist.text
    update_site_settings(world.clinic, SYSTEM, world.site_a,
                         {"second_signer_roles": "clinician"})
    nurse = client.post(url, headers={"Authorization": f"Bearer {tokens['nurse']}"},
                        json={"password": PASSWORD})
    assert nurse.status_code == 403
    update_site_settings(world.clinic, SYSTEM, world.site_a,
                         {"second_signer_roles": "clinician, nurse"})
    nurse = client.post(url, headers={"Authorization": f"Bearer {tokens['nurse']}"},
                        json={"password": PASSWORD})
    assert nurse.status_code == 201, nurse.text
