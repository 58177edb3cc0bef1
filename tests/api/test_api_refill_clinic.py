"""The refill clinic over the API: GET /patients/{id}/fhir (a valid R4 Bundle, 404 outside one's care) and booking
(book, move, cancel; 409 for a broken rule, 422 for a malformed field)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class

from thecal.fhir import bundle_to_timeline
from thecal.service.testing import World


def test_patient_bundle(client: TestClient, tokens: dict[str, str], world: World) -> None:
    if world.clinic.backend != "sqlite":
        return
    headers = {"Authorization": f"Bearer {tokens['nurse']}"}
    response = client.get(f"/api/v1/patients/{world.patient_a}/fhir", headers=headers)
    assert response.status_code == 200
    bundle = response.json()
    get_fhir_model_class("Bundle").model_validate(bundle)
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "Device", "MedicationRequest", "MedicationAdministration", "Provenance"} <= kinds
    assert bundle_to_timeline(bundle).patient.timezone == "Europe/Berlin"
    other = client.get(f"/api/v1/patients/{world.patient_b}/fhir", headers=headers)
    assert other.status_code == 404


def test_booking_over_the_api(client: TestClient, tokens: dict[str, str], world: World) -> None:
    from datetime import timedelta

    from thecal.service import scheduling as cal

    if world.clinic.backend != "sqlite":
        return
    headers = {"Authorization": f"Bearer {tokens['nurse']}"}
    start = world.clinic.now() + timedelta(days=2)
    session = cal.add_session(world.clinic, world.actor("nurse"), kind="clinic", start=start,
                              end=start + timedelta(hours=2), place="room 1", staff=["nurse"])
    body = {"patient_id": world.patient_a, "session_id": session.id, "start": start.isoformat()}
    made = client.post("/api/v1/appointments", json=body, headers=headers)
    assert made.status_code == 201, made.text
    appointment = made.json()
    assert appointment["status"] == "booked" and appointment["patient_id"] == world.patient_a
    again = client.post("/api/v1/appointments", json=body, headers=headers)
    assert again.status_code == 409 and "already booked" in again.json()["detail"]
    naive = client.patch(f"/api/v1/appointments/{appointment['id']}", headers=headers,
                         json={"session_id": session.id, "start": start.replace(tzinfo=None).isoformat()})
    assert naive.status_code == 422 and naive.json()["detail"][0]["loc"][-1] == "start"
    later = (start + timedelta(minutes=30)).isoformat()
    moved = client.patch(f"/api/v1/appointments/{appointment['id']}", headers=headers,
                         json={"session_id": session.id, "start": later})
    assert moved.status_code == 200 and moved.json()["start"] == later
    listed = client.get("/api/v1/appointments", params={"from": world.clinic.now().isoformat()}, headers=headers)
    assert [a["id"] for a in listed.json()] == [appointment["id"]]
    cancelled = client.post(f"/api/v1/appointments/{appointment['id']}/cancel", json={"reason": "ill"},
                            headers=headers)
    assert cancelled.json()["status"] == "cancelled"
    proposal = client.get("/api/v1/schedule/proposal", params={"from": world.clinic.now().isoformat(), "days": 7},
                          headers=headers)
    assert proposal.status_code == 200 and set(proposal.json()) == {"bookings", "unscheduled"}
