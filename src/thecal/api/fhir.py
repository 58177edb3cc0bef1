"""``GET /api/v1/patients/{id}/fhir``: the patient's record as a FHIR R4 Bundle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from thecal.api.deps import api_actor, get_clinic
from thecal.service import Actor, Clinic
from thecal.service.fhir_export import patient_bundle

router = APIRouter(prefix="/api/v1")


@router.get("/patients/{patient_id}/fhir", tags=["fhir"])
def get_fhir_bundle(patient_id: int, clinic: Annotated[Clinic, Depends(get_clinic)],
                    actor: Annotated[Actor, Depends(api_actor)]) -> dict[str, Any]:
    """The patient's timeline and appointments as a FHIR R4 collection Bundle (validated)."""
    return patient_bundle(clinic, actor, patient_id)
