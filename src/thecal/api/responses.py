"""The API's answers: one response model per operation, so the OpenAPI document describes them.

Where a use case's typed result is the answer, the result *is* the response model (``Site``,
``Login``, ``Actor``, ``Confirmation``, ``Patient``, ``CareTeamMember``, ``TimelinePage``,
``StoredEvent``, ``RefillAnalysis``, ``RefillOutcome``, ``InterrogationOutcome``,
``ProgramConfirmed``, the eligibility and screening results, and the cases, medicines and
appointments of :mod:`thecal.api.cases` and :mod:`thecal.api.scheduling`): one shape, and the
route returns the result itself. The models below name the fields of the answers still written by
a result's ``as_dict`` at the face: the twin's projection (``Projection.as_dict``, the object
``thecal twin --json`` prints, written in the core), the chart around it, the worklist, the
program proposal and the triage (``TriageResult.as_dict``). Quantities carry their unit in the
name (``_ml``, ``_mcg``, ``_mcg_per_ml``), times are ISO 8601 strings with an offset
(:data:`Instant`); a stored event keeps its own timeline v1 fields beyond the ones named.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from thecal.service.actors import Actor, Login
from thecal.service.admin import Site
from thecal.service.advice import EligibilityResult
from thecal.service.cases import Contacts
from thecal.service.escalation import Confirmation
from thecal.service.patients import (
    CareTeamMember,
    ImplantRecord,
    OpenProposal,
    Patient,
    StoredEvent,
)
from thecal.service.results import Instant, TwinFinding
from thecal.service.twin import ReservoirViews

UserOut = Actor
SiteOut = Site
StaffUserOut = Login
EligibilityOut = EligibilityResult
ConfirmationOut = Confirmation


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ReasonOut(Out):
    """Why a figure or an answer is what it is."""

    code: str
    message: str
    source: str
    severity: str = "info"
    verified: bool = True


class LoginOut(BaseModel):
    """A new browser session (the session token itself travels only in the cookie)."""

    csrf_token: str
    user: Actor
    expires_at: Instant


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_at: Instant
    user: Actor


class PumpOut(Out):
    model: str | None
    state: str | None = None
    reservoir_ml: float | None = None
    reservoir_capacity_ml: float | None = None
    concentration_mcg_per_ml: float | None = None
    daily_dose_mcg: float | None = None
    rate_ml_per_day: float | None = None
    low_reservoir_alarm_ml: float | None = None


class RefillPlanOut(Out):
    at: str
    reservoir_ml: float
    low_reservoir_alarm_ml: float
    daily_volume_ml: float
    days_to_alarm: float | None
    low_reservoir_alarm_at: str | None
    empty_at: str | None
    refill_due_by: str
    reasons: list[ReasonOut]


class AlarmOut(Out):
    code: str
    priority: str
    since: str | None = None
    acknowledged: bool = False


class WindowOut(Out):
    """A projected instant at the pump's accuracy edges (fast pump: earliest)."""

    earliest: str | None = None
    latest: str | None = None


class ProjectionOut(Out):
    """The twin's projection (the ``thecal twin --json`` object)."""

    at: str
    pump: PumpOut | None
    delivered_to_csf_mcg: float | None = None
    low_reservoir_alarm_at: str | None = None
    empty_at: str | None = None
    low_reservoir_alarm_window: WindowOut | None = None
    empty_window: WindowOut | None = None
    refill_due_window: WindowOut | None = None
    reservoir_views: ReservoirViews | None = None
    unaccounted_mcg: float | None = None
    days_of_drug_left: float | None = None
    refill_due_by: str | None = None
    refill_plan: RefillPlanOut | None = None
    elective_replacement_at: str | None = None
    end_of_service_at: str | None = None
    alarms: list[AlarmOut] = []
    findings: list[TwinFinding] = []


class PatientProjectionOut(ProjectionOut):
    patient_id: int
    version: int


class ChartOut(Out):
    """A patient's chart (``thecal.service.patients.Chart``); the last symptom report carries
    the ``triage`` it got."""

    patient: Patient
    version: int
    events: list[StoredEvent]
    projection: ProjectionOut
    assessments: list[StoredEvent]
    symptom_reports: list[StoredEvent]
    care_team: list[CareTeamMember]
    implants: list[ImplantRecord]
    pending: list[OpenProposal]


class ProgramOut(Out):
    at: str | None = None
    mode: str
    daily_dose: str | None = None
    daily_total_mcg: float


class ProgramComparisonOut(Out):
    old_daily_total_mcg: float
    new_daily_total_mcg: float
    change_mcg: float
    change_fraction: float | None
    old_rate_ml_per_day: float | None
    new_rate_ml_per_day: float | None
    reasons: list[ReasonOut]


class GuardrailOut(Out):
    classification: str
    reasons: list[ReasonOut]


class TitrationCheckOut(Out):
    allowed: bool
    change_fraction: float | None
    max_allowed_daily_dose_mcg: float | None
    reasons: list[ReasonOut]


class ProgramProposalOut(Out):
    patient_id: int
    version: int
    old: ProgramOut | None
    new: ProgramOut
    comparison: ProgramComparisonOut
    allowed: bool
    guardrail: GuardrailOut
    titration: TitrationCheckOut
    needs_reason: bool
    concentration_mcg_per_ml: float | None
    reason_required: str | None = None
    confirmation_token: str
    expires_at: str
    decision: str = "allowed"  # allowed | second-clinician | refused (never allowed with a danger)
    needs_second_clinician: bool = False
    danger_reasons: list[ReasonOut] = []


class CauseOut(Out):
    code: str
    weight: float
    patient_words: str
    clinician_words: str


class ActionOut(Out):
    code: str
    patient: str
    clinician: str
    source: str


class AdviceOut(Out):
    patient: str
    clinician: str


class RuleOut(Out):
    id: str
    urgency: str
    description: str
    source: str
    verified: bool


class TriageOut(Out):
    """``thecal.clinical.triage.TriageResult.as_dict`` (its ``context`` too)."""

    urgency: str
    causes: list[CauseOut]
    actions: list[ActionOut]
    advice: AdviceOut
    rules: list[RuleOut]
    withdrawal_or_overdose_unclear: bool
    symptoms: list[str]
    modifiers: list[str]
    ruleset_version: str


class SymptomReportOut(Out):
    """A symptom report's answer (``SymptomReport.as_dict``: the triage's own writer)."""

    event: StoredEvent
    triage: TriageOut
    case_id: int | None = None
    contacts: Contacts | None = None


class TitrationOut(BaseModel):
    """``thecal.clinical.titration.TitrationSuggestion`` (the route returns it)."""

    action: str
    current_daily_dose_mcg: float
    next_daily_dose_mcg: float
    change_fraction: float
    not_before: Instant | None
    reasons: list[ReasonOut]
    workup: list[str]


class ScreeningDoseOut(BaseModel):
    number: int
    dose_mcg: float
    volume_ml: float
    not_before_h: float  # hours after the first dose
    not_before: Instant | None


class ScreeningOut(BaseModel):
    """``thecal.clinical.screening.ScreeningPlan`` (the route returns it; a result of the core,
    declared here so that its instants are written as every other answer's)."""

    doses: list[ScreeningDoseOut]
    reasons: list[ReasonOut]
