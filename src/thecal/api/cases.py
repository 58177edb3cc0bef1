"""The routes of cases, allergies and oral medicines under ``/api/v1``.

Each parses, calls one use case of :mod:`thecal.service.cases` or
:mod:`thecal.service.medicines`, and answers with its typed result as JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from thecal.api.deps import api_actor, get_clinic
from thecal.api.errors import ERROR_RESPONSES
from thecal.api.responses import Out
from thecal.service import Actor, Clinic, cases, medicines

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


class CaseOut(Out):
    case_id: int
    patient_id: int
    patient_name: str
    kind: str
    urgency: str
    status: str
    opened_at: str
    opened_by: str
    patient_words: str
    symptoms: list[str]
    advice_headline: str
    patient_actions: list[str]
    clinician_actions: list[str]
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None
    closed_by: str | None = None
    closed_at: str | None = None
    outcome: str | None = None
    banner: bool
    notes: list[dict[str, Any]]
    notices: list[dict[str, Any]]


class MedicinesOut(Out):
    allergy_status: str
    baclofen_allergy: bool
    allergies: list[dict[str, Any]]
    medications: list[dict[str, Any]]
    reconciliations: list[dict[str, Any]]
    reconciliations_due: list[dict[str, Any]]


@router.get("/cases", tags=["cases"], response_model=list[CaseOut])
def inbox(clinic: ClinicDep, actor: ActorDep) -> list[dict[str, object]]:
    """The cases of your patients: not closed first, gravest first."""
    return [c.as_dict() for c in cases.inbox(clinic, actor)]


@router.get("/cases/{case_id}", tags=["cases"], response_model=CaseOut)
def case(case_id: int, clinic: ClinicDep, actor: ActorDep) -> dict[str, object]:
    return cases.get_case(clinic, actor, case_id).as_dict()


@router.post("/cases/{case_id}/acknowledge", tags=["cases"], response_model=CaseOut)
def acknowledge(case_id: int, clinic: ClinicDep, actor: ActorDep) -> dict[str, object]:
    """Acknowledge an open case (who and when are recorded; the chart banner clears)."""
    return cases.acknowledge_case(clinic, actor, case_id).as_dict()


@router.post("/cases/{case_id}/notes", tags=["cases"], response_model=CaseOut,
             status_code=status.HTTP_201_CREATED)
def note(case_id: int, body: NoteBody, clinic: ClinicDep, actor: ActorDep
         ) -> dict[str, object]:
    """Add a call-back note to a case that is not closed."""
    return cases.add_case_note(clinic, actor, case_id, body.text).as_dict()


@router.post("/cases/{case_id}/close", tags=["cases"], response_model=CaseOut)
def close(case_id: int, body: CloseBody, clinic: ClinicDep, actor: ActorDep
          ) -> dict[str, object]:
    """Close a case with an outcome."""
    return cases.close_case(clinic, actor, case_id, body.outcome, body.note).as_dict()


@router.get("/patients/{patient_id}/cases", tags=["cases"], response_model=list[CaseOut])
def patient_cases(patient_id: int, clinic: ClinicDep, actor: ActorDep
                  ) -> list[dict[str, object]]:
    return [c.as_dict() for c in cases.patient_cases(clinic, actor, patient_id)]


@router.post("/patients/{patient_id}/cases", tags=["cases"], response_model=CaseOut,
             status_code=status.HTTP_201_CREATED)
def finding_case(patient_id: int, body: FindingCaseBody, clinic: ClinicDep, actor: ActorDep
                 ) -> dict[str, object]:
    """Open a case for one of the chart's open findings."""
    return cases.open_finding_case(clinic, actor, patient_id, body.finding_code,
                                   body.note).as_dict()


@router.get("/patients/{patient_id}/medicines", tags=["medicines"],
            response_model=MedicinesOut)
def medicines_of(patient_id: int, clinic: ClinicDep, actor: ActorDep) -> dict[str, object]:
    """Allergies, current oral antispasticity medicines, reconciliations (and those due)."""
    return medicines.medicines(clinic, actor, patient_id).as_dict()


@router.post("/patients/{patient_id}/allergies", tags=["medicines"],
             response_model=MedicinesOut, status_code=status.HTTP_201_CREATED)
def allergy(patient_id: int, body: AllergyBody, clinic: ClinicDep, actor: ActorDep
            ) -> dict[str, object]:
    """Record an allergy (a baclofen allergy is a contraindication to ITB)."""
    return medicines.record_allergy(clinic, actor, patient_id, body.substance,
                                    body.reaction).as_dict()


@router.post("/patients/{patient_id}/allergies/none-known", tags=["medicines"],
             response_model=MedicinesOut, status_code=status.HTTP_201_CREATED)
def no_known_allergies(patient_id: int, clinic: ClinicDep, actor: ActorDep
                       ) -> dict[str, object]:
    """State that the patient has no known allergies (asked and recorded)."""
    return medicines.record_no_known_allergies(clinic, actor, patient_id).as_dict()


@router.post("/patients/{patient_id}/medications", tags=["medicines"],
             response_model=MedicinesOut, status_code=status.HTTP_201_CREATED)
def medication(patient_id: int, body: MedicationBody, clinic: ClinicDep, actor: ActorDep
               ) -> dict[str, object]:
    """Record a current oral antispasticity medicine with its dose."""
    return medicines.record_medication(clinic, actor, patient_id, body.drug, body.dose,
                                       body.times_per_day).as_dict()


@router.post("/patients/{patient_id}/medications/{medication_id}/stop", tags=["medicines"],
             response_model=MedicinesOut)
def stop(patient_id: int, medication_id: int, clinic: ClinicDep, actor: ActorDep
         ) -> dict[str, object]:
    return medicines.stop_medication(clinic, actor, patient_id, medication_id).as_dict()


@router.post("/patients/{patient_id}/reconciliations", tags=["medicines"],
             response_model=MedicinesOut, status_code=status.HTTP_201_CREATED)
def reconciliation(patient_id: int, body: ReconciliationBody, clinic: ClinicDep,
                   actor: ActorDep) -> dict[str, object]:
    """Record a medication reconciliation (implant, pump replacement, hospital admission)."""
    return medicines.record_reconciliation(clinic, actor, patient_id, body.occasion,
                                           body.occasion_at, body.notes).as_dict()
