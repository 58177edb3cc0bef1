"""Refill entry and the record (issue 11, points 7 and 9): a withdrawal beyond the reservoir's
capacity + tolerance stops the refill; compounded preparations with strength, pharmacy, lot and
expiry; every refill names its lot and expiry; a late entry keeps both times; the printout
names both people."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from thecal.service import update_site_settings
from thecal.service.actors import SYSTEM
from thecal.service.testing import PASSWORD, World

LOT = {"lot": "LB2093", "expiry": "2030-06-30"}


@pytest.mark.parametrize("withdrawn", ["45 mL", "50000 mL"])
def test_withdrawn_beyond_capacity_stops_the_refill(client: TestClient, tokens: dict[str, str],
                                                     world: World, withdrawn: str) -> None:
    # a SynchroMed II 40 mL: at most 40 × 1.05 = 42 mL can be aspirated
    headers = {"Authorization": f"Bearer {tokens['nurse']}"}
    url = f"/api/v1/patients/{world.patient_a}/refill"
    for path, extra in (("/proposal", {}), ("", {"expected_version": 3, **LOT})):
        r = client.post(url + path, headers=headers, json={
            "withdrawn": withdrawn, "added": "20 mL", "concentration": "500 mcg/mL", **extra})
        assert r.status_code == 422, r.text
        detail = r.json()["detail"][0]
        assert detail["loc"][-1] == "withdrawn"
        assert "spinal or pocket fluid" in detail["msg"] and "needle placement" in r.text
    assert client.get(f"/api/v1/patients/{world.patient_a}/timeline",
                      headers=headers).json()["version"] == 3


def test_every_refill_names_its_lot_and_expiry(client: TestClient, tokens: dict[str, str],
                                               world: World) -> None:
    headers = {"Authorization": f"Bearer {tokens['nurse']}"}
    url = f"/api/v1/patients/{world.patient_a}/refill"
    body = {"withdrawn": "0 mL", "added": "1 mL", "concentration": "500 mcg/mL",
            "expected_version": 3, "reason": "top-up"}
    r = client.post(url, headers=headers, json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "lot"
    r = client.post(url, headers=headers, json={**body, "lot": "LB1"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "expiry"
    r = client.post(url, headers=headers, json={**body, "lot": "LB1", "expiry": "2020-01-31"})
    assert r.status_code == 422 and "expired" in r.text
    r = client.post(url, headers=headers, json={**body, **LOT})
    assert r.status_code == 201, r.text
    assert r.json()["event"]["lot"] == "LB2093" and r.json()["event"]["expiry"] == "2030-06-30"


def test_compounded_preparation_is_recorded_and_marked(client: TestClient,
                                                       tokens: dict[str, str],
                                                       world: World) -> None:
    headers = {"Authorization": f"Bearer {tokens['clinician']}"}
    url = f"/api/v1/patients/{world.patient_a}/refill"
    strength = {"withdrawn": "0 mL", "added": "1 mL", "concentration": "1500 mcg/mL"}
    refused = client.post(f"{url}/proposal", headers=headers, json=strength)
    assert refused.status_code == 422 and "compounded" in refused.text  # not on the formulary
    proposal = client.post(f"{url}/proposal", headers=headers,
                           json={**strength, "compounded": True, "pharmacy": "St Mary's"})
    assert proposal.status_code == 200, proposal.text
    body = {**strength, "withdrawn": f"{proposal.json()['expected_residual_ml']:.1f} mL",
            "compounded": True, "expected_version": 3, "password": PASSWORD, **LOT}
    r = client.post(url, headers=headers, json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "pharmacy"
    r = client.post(url, headers=headers, json={**body, "pharmacy": "St Mary's pharmacy"})
    assert r.status_code == 201, r.text
    event = r.json()["event"]
    assert event["compounded"] is True and event["pharmacy"] == "St Mary's pharmacy"
    assert event["concentration"] == "1500 mcg/mL"


def test_late_entry_keeps_the_procedure_time_and_the_entry_time(
        client: TestClient, tokens: dict[str, str], world: World) -> None:
    headers = {"Authorization": f"Bearer {tokens['nurse']}"}
    url = f"/api/v1/patients/{world.patient_a}/refill"
    done_at = world.clock.now() - timedelta(hours=3)
    body = {"withdrawn": "0 mL", "added": "1 mL", "concentration": "500 mcg/mL",
            "expected_version": 3, "reason": "top-up", **LOT}
    future = client.post(url, headers=headers, json={
        **body, "performed_at": (world.clock.now() + timedelta(hours=1)).isoformat()})
    assert future.status_code == 422 and "future" in future.text
    r = client.post(url, headers=headers, json={**body, "performed_at": done_at.isoformat()})
    assert r.status_code == 201, r.text
    event = r.json()["event"]
    assert event["at"] == done_at.isoformat()
    assert event["recorded_at"] == world.clock.now().replace(tzinfo=None).isoformat() or \
        event["recorded_at"].startswith(world.clock.now().strftime("%Y-%m-%dT%H:%M"))


def test_confirm_names_both_people(client: TestClient, tokens: dict[str, str],
                                   world: World) -> None:
    from thecal.service import pages
    from thecal.service.results import User

    update_site_settings(world.clinic, SYSTEM, world.site_a,
                         {"require_second_clinician_for_concentration_change": True})
    headers = {"Authorization": f"Bearer {tokens['nurse']}"}
    url = f"/api/v1/patients/{world.patient_a}/refill"
    proposal = client.post(f"{url}/proposal", headers=headers, json={
        "withdrawn": "0 mL", "added": "20 mL", "concentration": "1000 mcg/mL"}).json()
    r = client.post(url, headers=headers, json={
        "withdrawn": f"{proposal['expected_residual_ml']:.1f} mL", "added": "20 mL",
        "concentration": "1000 mcg/mL", "expected_version": 3, "password": PASSWORD, **LOT})
    assert r.status_code == 202, r.text
    event_id = r.json()["event"]["id"]
    done = client.post(f"/api/v1/pending/{r.json()['pending_id']}/confirm",
                       headers={"Authorization": f"Bearer {tokens['clinician2']}"},
                       json={"password": PASSWORD})
    assert done.status_code == 201
    actor = world.actor("clinician")
    user = User(str(actor.user_id), "Clinician", "clinician", actor)
    record = pages.refill_record(world.clinic, user, str(world.patient_a), event_id).record
    assert record.entered_by == "Nurse" and record.confirmed_by == "Clinician2"
    assert record.confirmation_status == "confirmed" and record.patient.mrn == "A-001"
    assert record.implant is not None and record.implant.pump_serial == "SN-0001"
    assert record.refill.lot == "LB2093"
    assert str(record.patient.born) == "1979-04-02"
    assert record.analysis.reservoir_after_ml is not None
