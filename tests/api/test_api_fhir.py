"""GET /api/v1/patients/{id}/fhir returns a valid R4 Bundle of the patient's record (and 404 outside one's care)."""

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
