"""The routes of cases, allergies and oral medicines under ``/api/v1``.

Each parses, calls one use case of :mod:`thecal.service.cases` or
:mod:`thecal.service.medicines`, and answers with its typed result: ``Case`` and ``Medicines``
are the response models themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from thecal.api.deps import api_actor, get_clinic
from thecal.api.errors import ERROR_RESPONSES
from thecal.service import Actor, Clinic, cases, medicines
from thecal.service.cases import Case
from thecal.service.medicines import Medicines

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
ActorDep = Annotated[Actor, Depends(api_actor)]
ClinicDep = Annotated[Clinic, Depends(get_clinic)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoteBody(_Body):
    text: str = Field(min_length=1, max_length=4000)


class CloseBody(_Body):
    outcome: str = Field(examples=["advice-given"])
    note: str | None = Field(default=None, max_length=4000)


class FindingCaseBody(_Body):
    finding_code: str = Field(max_length=60, examples=["refill-discrepancy"])
    note: str | None = Field(default=None, max_length=4000)


class AllergyBody(_Body):
    substance: str = Field(min_length=1, max_length=200, examples=["baclofen"])
    reaction: str | None = Field(default=None, max_length=1000)


class MedicationBody(_Body):
    drug: str = Field(examples=["baclofen-oral"])
    dose: str = Field(examples=["10 mg"])
    times_per_day: int = Field(ge=1, le=12)


class ReconciliationBody(_Body):
    occasion: str = Field(examples=["pump-replacement"])
    occasion_at: datetime | None = None
    notes: str | None = Field(default=None, max_length=4000)


@router.get("/cases", tags=["cases"])
def inbox(clinic: ClinicDep, actor: ActorDep) -> list[Case]:
    """The cases of your patients: not closed first, gravest first."""
    return cases.inbox(clinic, actor)


@router.get("/cases/{case_id}", tags=["cases"])
def case(case_id: int, clinic: ClinicDep, actor: ActorDep) -> Case:
    return cases.get_case(clinic, actor, case_id)


@router.post("/cases/{case_id}/acknowledge", tags=["cases"])
def acknowledge(case_id: int, clinic: ClinicDep, actor: ActorDep) -> Case:
    """Acknowledge an open case (who and when are recorded; the chart banner clears)."""
    return cases.acknowledge_case(clinic, actor, case_id)


@router.post("/cases/{case_id}/notes", tags=["cases"], status_code=status.HTTP_201_CREATED)
def note(case_id: int, body: NoteBody, clinic: ClinicDep, actor: ActorDep) -> Case:
    """Add a call-back note to a case that is not closed."""
    return cases.add_case_note(clinic, actor, case_id, body.text)


@router.post("/cases/{case_id}/close", tags=["cases"])
def close(case_id: int, body: CloseBody, clinic: ClinicDep, actor: ActorDep) -> Case:
    """Close a case with an outcome."""
    return cases.close_case(clinic, actor, case_id, body.outcome, body.note)


@router.get("/patients/{patient_id}/cases", tags=["cases"])
def patient_cases(patient_id: int, clinic: ClinicDep, actor: ActorDep) -> list[Case]:
    return cases.patient_cases(clinic, actor, patient_id)


@router.post("/patients/{patient_id}/cases", tags=["cases"], status_code=status.HTTP_201_CREATED)
def finding_case(patient_id: int, body: FindingCaseBody, clinic: ClinicDep, actor: ActorDep) -> Case:
    """Open a case for one of the chart's open findings."""
    return cases.open_finding_case(clinic, actor, patient_id, body.finding_code,
                                   body.note)


@router.get("/patients/{patient_id}/medicines", tags=["medicines"])
def medicines_of(patient_id: int, clinic: ClinicDep, actor: ActorDep) -> Medicines:
    """Allergies, current oral antispasticity medicines, reconciliations (and those due)."""
    return medicines.medicines(clinic, actor, patient_id)


@router.post("/patients/{patient_id}/allergies", tags=["medicines"], status_code=status.HTTP_201_CREATED)
def allergy(patient_id: int, body: AllergyBody, clinic: ClinicDep, actor: ActorDep) -> Medicines:
    """Record an allergy (a baclofen allergy is a contraindication to ITB)."""
    return medicines.record_allergy(clinic, actor, patient_id, body.substance,
                                    body.reaction)


@router.post("/patients/{patient_id}/allergies/none-known", tags=["medicines"], status_code=status.HTTP_201_CREATED)
def no_known_allergies(patient_id: int, clinic: ClinicDep, actor: ActorDep) -> Medicines:
    """State that the patient has no known allergies (asked and recorded)."""
    return medicines.record_no_known_allergies(clinic, actor, patient_id)


@router.post("/patients/{patient_id}/medications", tags=["medicines"], status_code=status.HTTP_201_CREATED)
def medication(patient_id: int, body: MedicationBody, clinic: ClinicDep, actor: ActorDep) -> Medicines:
    """Record a current oral antispasticity medicine with its dose."""
    return medicines.record_medication(clinic, actor, patient_id, body.drug, body.dose,
                                       body.times_per_day)


@router.post("/patients/{patient_id}/medications/{medication_id}/stop", tags=["medicines"])
def stop(patient_id: int, medication_id: int, clinic: ClinicDep, actor: ActorDep) -> Medicines:
    return medicines.stop_medication(clinic, actor, patient_id, medication_id)


@router.post("/patients/{patient_id}/reconciliations", tags=["medicines"], status_code=status.HTTP_201_CREATED)
def reconciliation(patient_id: int, body: ReconciliationBody, clinic: ClinicDep,
                   actor: ActorDep) -> Medicines:
    """Record a medication reconciliation (implant, pump replacement, hospital admission)."""
    return medicines.record_reconciliation(clinic, actor, patient_id, body.occasion,
                                           body.occasion_at, body.notes)
