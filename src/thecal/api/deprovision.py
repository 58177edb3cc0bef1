"""The de-provisioning routes of ``/api/v1``: deactivate a user, revoke a user's tokens,
remove a caregiver link or a care-team member (each audited, site-confined for an
administrator; see :mod:`thecal.service.admin`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status
from pydantic import BaseModel, ConfigDict, Field

from thecal.api.deps import api_actor, get_clinic
from thecal.api.errors import ERROR_RESPONSES
from thecal.service import Actor, Clinic
from thecal.service import admin as admin_service
from thecal.service.admin import AccessEnded

router = APIRouter(prefix="/api/v1", tags=["admin"], responses=ERROR_RESPONSES)
ActorDep = Annotated[Actor, Depends(api_actor)]
ClinicDep = Annotated[Clinic, Depends(get_clinic)]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


class DeactivateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=500)


@router.post("/users/{user_id}/deactivate")
def deactivate_user(user_id: Id, clinic: ClinicDep, actor: ActorDep,
                    body: DeactivateBody | None = None) -> AccessEnded:
    """Switch a login off; its sessions and tokens end at once."""
    return admin_service.deactivate_user(clinic, actor, user_id, reason=body.reason if body else None)


@router.post("/users/{user_id}/reactivate")
def reactivate_user(user_id: Id, clinic: ClinicDep, actor: ActorDep) -> AccessEnded:
    return admin_service.reactivate_user(clinic, actor, user_id)


@router.post("/users/{user_id}/revoke-tokens", response_model_exclude_none=True)
def revoke_tokens(user_id: Id, clinic: ClinicDep, actor: ActorDep) -> AccessEnded:
    """End every API token and session of the user (the login stays; no ``active`` in the answer)."""
    return admin_service.revoke_user_tokens(clinic, actor, user_id)


@router.delete("/caregiver-links/{caregiver_user_id}/{patient_id}",
               status_code=status.HTTP_204_NO_CONTENT)
def unlink_caregiver(caregiver_user_id: Id, patient_id: Id, clinic: ClinicDep,
                     actor: ActorDep) -> None:
    admin_service.unlink_caregiver(clinic, actor, caregiver_user_id, patient_id)


@router.delete("/patients/{patient_id}/care-team/{user_id}",
               status_code=status.HTTP_204_NO_CONTENT)
def remove_care_team_member(patient_id: Id, user_id: Id, clinic: ClinicDep,
                            actor: ActorDep) -> None:
    admin_service.remove_care_team_member(clinic, actor, patient_id, user_id)
