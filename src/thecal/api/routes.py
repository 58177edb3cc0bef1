"""The routes of ``/api/v1``: each parses, calls one ``thecal.service`` use case, answers.

No clinical rule and no SQL here. Authentication: ``Authorization: Bearer <token>`` from
``POST /api/v1/token``, or the session cookie from ``POST /api/v1/login`` (then unsafe
methods need ``X-CSRF-Token``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from thecal import service
from thecal.api import responses as R
from thecal.api import schemas
from thecal.api.deps import (
    api_actor,
    bearer_token,
    clear_session_cookie,
    client_address,
    get_clinic,
    session_token,
    set_session_cookie,
)
from thecal.api.errors import ERROR_RESPONSES
from thecal.errors import InputError
from thecal.service import Actor, Clinic

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
ActorDep = Annotated[Actor, Depends(api_actor)]
ClinicDep = Annotated[Clinic, Depends(get_clinic)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)]


def _at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{value!r} is not a date-time", where="at",
                         fix="write e.g. 2026-04-01T09:00:00+02:00") from None
    if parsed.tzinfo is None:
        raise InputError("the time needs a UTC offset", where="at",
                         fix="write e.g. 2026-04-01T09:00:00+02:00")
    return parsed


# ------------------------------------------------------------------ auth

@router.post("/login", tags=["auth"], response_model=R.LoginOut)
def login(body: schemas.LoginBody, request: Request, response: Response,
          clinic: ClinicDep) -> R.LoginOut:
    """Start a browser session: sets the session cookie, returns the CSRF token."""
    result = service.login(clinic, body.username, body.password,
                           client=client_address(request))
    set_session_cookie(response, clinic, result.session_token)
    return R.LoginOut(csrf_token=result.csrf_token, user=result.actor, expires_at=result.expires_at)


@router.post("/logout", tags=["auth"], status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, clinic: ClinicDep, actor: ActorDep) -> None:
    """End the session (server-side) or revoke the bearer token used."""
    token = bearer_token(request)
    if token is not None:
        service.revoke_api_token(clinic, token)
    else:
        service.logout(clinic, session_token(request))
    clear_session_cookie(response, clinic)


@router.post("/token", tags=["auth"], response_model=R.TokenOut)
def token(body: schemas.TokenBody, request: Request, clinic: ClinicDep) -> R.TokenOut:
    """A bearer token for a program (90 days)."""
    value, expires, actor = service.issue_api_token(clinic, body.username, body.password,
                                                    name=body.name,
                                                    client=client_address(request))
    return R.TokenOut(access_token=value, token_type="bearer", expires_at=expires, user=actor)


@router.get("/me", tags=["auth"], response_model=R.UserOut)
def me(actor: ActorDep) -> Actor:
    return actor


# ------------------------------------------------------------------ patients

@router.get("/worklist", tags=["patients"])
def worklist(clinic: ClinicDep, actor: ActorDep,
             limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> list[service.WorklistItem]:
    return service.worklist(clinic, actor, limit=limit)


@router.get("/patients", tags=["patients"], response_model=list[service.Patient])
def list_patients(clinic: ClinicDep, actor: ActorDep) -> list[service.Patient]:
    return service.list_patients(clinic, actor)


@router.post("/patients", tags=["patients"], status_code=status.HTTP_201_CREATED,
             response_model=service.Patient)
def create_patient(body: schemas.PatientBody, clinic: ClinicDep, actor: ActorDep
                   ) -> service.Patient:
    return service.register_patient(clinic, actor, body.model_dump())


@router.get("/patients/{patient_id}", tags=["patients"], response_model=service.Patient)
def get_patient(patient_id: int, clinic: ClinicDep, actor: ActorDep) -> service.Patient:
    return service.get_patient(clinic, actor, patient_id)


@router.get("/patients/{patient_id}/chart", tags=["patients"], response_model=R.ChartOut)
def chart(patient_id: int, clinic: ClinicDep, actor: ActorDep) -> dict[str, object]:
    return service.patient_chart(clinic, actor, patient_id).as_dict()


@router.get("/patients/{patient_id}/timeline", tags=["timeline"])
def get_timeline(patient_id: int, clinic: ClinicDep, actor: ActorDep) -> service.TimelinePage:
    return service.timeline(clinic, actor, patient_id)


@router.post("/patients/{patient_id}/timeline", tags=["timeline"],
             status_code=status.HTTP_201_CREATED)
def append(patient_id: int, body: schemas.AppendBody, clinic: ClinicDep, actor: ActorDep,
           idempotency_key: IdempotencyKey = None) -> service.StoredEvent:
    """Append one event; 409 when ``expected_version`` is stale."""
    return service.append_event(clinic, actor, patient_id, body.event, body.expected_version,
                                idempotency_key=idempotency_key)


@router.get("/patients/{patient_id}/projection", tags=["timeline"],
            response_model=R.PatientProjectionOut)
def get_projection(patient_id: int, clinic: ClinicDep, actor: ActorDep,
                   at: str | None = None) -> dict[str, object]:
    """The twin's projection (the ``thecal twin --json`` object) now or at ``at``."""
    return service.projection(clinic, actor, patient_id, _at(at)).as_dict()


@router.get("/patients/{patient_id}/care-team", tags=["patients"],
            response_model=list[service.CareTeamMember])
def get_care_team(patient_id: int, clinic: ClinicDep, actor: ActorDep
                  ) -> list[service.CareTeamMember]:
    return service.care_team(clinic, actor, patient_id)


@router.post("/patients/{patient_id}/care-team", tags=["admin"],
             status_code=status.HTTP_204_NO_CONTENT)
def add_care_team(patient_id: int, body: schemas.CareTeamBody, clinic: ClinicDep,
                  actor: ActorDep) -> None:
    service.add_care_team_member(clinic, actor, patient_id, body.user_id, body.team_role)


# ------------------------------------------------------------------ therapy

@router.post("/patients/{patient_id}/refill/proposal", tags=["therapy"])
def refill_proposal(patient_id: int, body: schemas.RefillBody, clinic: ClinicDep,
                    actor: ActorDep) -> service.RefillAnalysis:
    """Expected residual, discrepancy check, bridge bolus and the new dates; records nothing."""
    return service.propose_refill(clinic, actor, patient_id, withdrawn=body.withdrawn,
                                  added=body.added, concentration=body.concentration,
                                  aspiration=body.aspiration,
                                  estimated_residual=body.estimated_residual,
                                  drug=_drug(body))


def _drug(body: schemas.RefillBody) -> service.DrugDetails:
    return service.DrugDetails(lot=body.lot, expiry=body.expiry, compounded=body.compounded,
                               pharmacy=body.pharmacy)


@router.post("/patients/{patient_id}/refill", tags=["therapy"],
             status_code=status.HTTP_201_CREATED)
def refill_record(patient_id: int, body: schemas.RefillRecordBody, response: Response,
                  clinic: ClinicDep, actor: ActorDep,
                  idempotency_key: IdempotencyKey = None) -> service.RefillOutcome:
    """Record a refill (always, when it happened); 202 when its concentration change waits
    for a second signer (the refill is recorded all the same: ``event`` and ``pending_id``)."""
    result = service.record_refill(clinic, actor, patient_id, withdrawn=body.withdrawn,
                                   added=body.added, concentration=body.concentration,
                                   expected_version=body.expected_version,
                                   password=body.password, reason=body.reason,
                                   idempotency_key=idempotency_key,
                                   aspiration=body.aspiration,
                                   estimated_residual=body.estimated_residual,
                                   at=body.performed_at, drug=_drug(body),
                                   bridge_bolus=body.bridge_bolus)
    if result.status != "recorded":
        response.status_code = status.HTTP_202_ACCEPTED
    return result


@router.post("/patients/{patient_id}/interrogation", tags=["therapy"],
             status_code=status.HTTP_201_CREATED)
def interrogation_record(patient_id: int, body: schemas.InterrogationBody, clinic: ClinicDep,
                         actor: ActorDep, idempotency_key: IdempotencyKey = None
                         ) -> service.InterrogationOutcome:
    """Record the pump's readings (a measurement): the twin re-anchors, disagreements are a
    finding, and plans use the lower of the pump's reservoir and the twin's estimate."""
    readings = body.model_dump(exclude={"expected_version"}, exclude_none=True)
    return service.record_interrogation(clinic, actor, patient_id, readings=readings,
                                        expected_version=body.expected_version,
                                        idempotency_key=idempotency_key)


@router.post("/pending/{pending_id}/confirm", tags=["therapy"],
             status_code=status.HTTP_201_CREATED)
def confirm_pending(pending_id: int, body: schemas.ConfirmBody, clinic: ClinicDep,
                    actor: ActorDep) -> service.RefillOutcome:
    """A second signer confirms a recorded refill's concentration change (late is fine)."""
    return service.confirm_pending(clinic, actor, pending_id, body.password)


@router.post("/pending/{pending_id}/reject", tags=["therapy"],
             status_code=status.HTTP_201_CREATED)
def reject_pending(pending_id: int, body: schemas.RejectBody, clinic: ClinicDep,
                   actor: ActorDep) -> service.RefillOutcome:
    """A second signer rejects it with a reason and the corrective action (recorded as a note)."""
    return service.reject_pending(clinic, actor, pending_id, body.password, reason=body.reason,
                                  corrective_action=body.corrective_action)


@router.get("/confirmations", tags=["therapy"], response_model=list[R.ConfirmationOut])
def confirmations(clinic: ClinicDep, actor: ActorDep) -> list[R.ConfirmationOut]:
    """Open second-signature confirmations, escalated (past their time) first."""
    return service.open_confirmations(clinic, actor)


@router.post("/patients/{patient_id}/program/proposal", tags=["therapy"], response_model=R.ProgramProposalOut)
def program_proposal(patient_id: int, body: schemas.ProgramProposalBody, clinic: ClinicDep,
                     actor: ActorDep) -> dict[str, object]:
    """Old and new program side by side (24-h totals, guardrails) and a confirmation token."""
    return service.propose_program_change(clinic, actor, patient_id, body.program,
                                          body.expected_version, reason=body.reason).as_dict()


@router.post("/patients/{patient_id}/program/confirm", tags=["therapy"],
             status_code=status.HTTP_201_CREATED)
def program_confirm(patient_id: int, body: schemas.ProgramConfirmBody, clinic: ClinicDep,
                    actor: ActorDep) -> service.ProgramConfirmed:
    """Confirm a proposed program with the password (re-authentication)."""
    return service.confirm_program_change(clinic, actor, patient_id, body.confirmation_token,
                                          body.password, reason=body.reason,
                                          second_username=body.second_username,
                                          second_password=body.second_password)


# ------------------------------------------------------------------ assessments and advice

@router.post("/patients/{patient_id}/assessments", tags=["assessments"],
             status_code=status.HTTP_201_CREATED)
def assessment(patient_id: int, body: schemas.AssessmentBody, clinic: ClinicDep,
               actor: ActorDep) -> service.StoredEvent:
    data = body.model_dump(exclude={"expected_version"}, exclude_none=True)
    return service.record_assessment(clinic, actor, patient_id, data, body.expected_version)


@router.post("/patients/{patient_id}/symptoms", tags=["assessments"],
             status_code=status.HTTP_201_CREATED, response_model=R.SymptomReportOut)
def symptoms(patient_id: int, body: schemas.SymptomsBody, clinic: ClinicDep,
             actor: ActorDep) -> dict[str, Any]:
    """Report symptoms; the answer carries the triage (urgency, actions, advice)."""
    return service.report_symptoms(clinic, actor, patient_id, body.codes,
                                   modifiers=body.modifiers, note=body.note,
                                   expected_version=body.expected_version).as_dict()


@router.post("/patients/{patient_id}/eligibility", tags=["advice"], response_model=R.EligibilityOut)
def eligibility(patient_id: int, body: dict[str, Any], clinic: ClinicDep, actor: ActorDep
                ) -> R.EligibilityOut:
    """Eligibility for ITB from a candidate record (fields of thecal.clinical.eligibility)."""
    return service.eligibility(clinic, actor, patient_id, body)


@router.post("/patients/{patient_id}/screening", tags=["advice"], response_model=R.ScreeningOut)
def screening(patient_id: int, body: schemas.ScreeningBody, clinic: ClinicDep,
              actor: ActorDep) -> service.advice.ScreeningPlan:
    return service.screening_plan(clinic, actor, patient_id, body.model_dump(exclude_none=True))


@router.post("/patients/{patient_id}/titration", tags=["advice"], response_model=R.TitrationOut)
def titration(patient_id: int, body: schemas.TitrationBody, clinic: ClinicDep,
              actor: ActorDep) -> service.advice.TitrationSuggestion:
    return service.titration_suggestion(clinic, actor, patient_id, body.model_dump())


# ------------------------------------------------------------------ administration

@router.post("/sites", tags=["admin"], status_code=status.HTTP_201_CREATED, response_model=R.SiteOut)
def create_site(body: schemas.SiteBody, clinic: ClinicDep, actor: ActorDep) -> R.SiteOut:
    return service.create_site(clinic, actor, body.name, body.settings)


@router.patch("/sites/{site_id}/settings", tags=["admin"], response_model=R.SiteOut)
def site_settings(site_id: int, body: schemas.SiteSettingsBody, clinic: ClinicDep,
                  actor: ActorDep) -> R.SiteOut:
    return service.update_site_settings(clinic, actor, site_id, body.settings)


@router.get("/users", tags=["admin"], response_model=list[R.StaffUserOut])
def users(clinic: ClinicDep, actor: ActorDep) -> list[R.StaffUserOut]:
    return service.list_users(clinic, actor)


@router.post("/users", tags=["admin"], status_code=status.HTTP_201_CREATED, response_model=R.StaffUserOut)
def create_user(body: schemas.UserBody, clinic: ClinicDep, actor: ActorDep) -> R.StaffUserOut:
    return service.create_user(clinic, actor, **body.model_dump())


@router.post("/caregiver-links", tags=["admin"], status_code=status.HTTP_204_NO_CONTENT)
def caregiver_link(body: schemas.CaregiverLinkBody, clinic: ClinicDep, actor: ActorDep
                   ) -> None:
    service.link_caregiver(clinic, actor, body.caregiver_user_id, body.patient_id)
