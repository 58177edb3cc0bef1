"""``GET /api/v1/patients/{id}/fhir``: the patient's record as a FHIR R4 Bundle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from thecal.api.deps import api_actor, get_clinic
from thecal.api.errors import ERROR_RESPONSES
from thecal.api.responses import Out
from thecal.service import Actor, Clinic

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


class BundleOut(Out):
    """A FHIR R4 Bundle (its entries are FHIR resources, validated with fhir.resources R4B)."""

    resourceType: str  # FHIR's own field name
    type: str
    timestamp: str | None = None
    entry: list[dict[str, Any]]


@router.get("/patients/{patient_id}/fhir", tags=["fhir"], response_model=BundleOut)
def get_fhir_bundle(patient_id: int, clinic: Annotated[Clinic, Depends(get_clinic)],
                    actor: Annotated[Actor, Depends(api_actor)]) -> dict[str, Any]:
    """The patient's timeline and appointments as a FHIR R4 collection Bundle (validated)."""
    from thecal.service.fhir_export import patient_bundle  # fhir.resources loads on first use

    return patient_bundle(clinic, actor, patient_id)
