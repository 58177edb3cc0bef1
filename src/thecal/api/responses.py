"""The API's answers: one response model per operation, so the OpenAPI document describes them.

Where a use case's typed result is the answer, the result *is* the response model (``Site``,
``Login``, ``Actor``, ``Confirmation``, ``Patient``, ``CareTeamMember``, ``ResidualCheck``,
``MixingCheck``, the eligibility and screening results, and the cases, medicines and
appointments of :mod:`thecal.api.cases` and :mod:`thecal.api.scheduling`): one shape, and the
route returns the result itself. The models below name the fields of the answers still written by
a result's ``as_dict`` at the face; quantities carry their unit in the name (``_ml``, ``_mcg``,
``_mcg_per_ml``), times are ISO 8601 strings with an offset (:data:`Instant`). Nested records
that the timeline format defines (stored events) keep their own fields (``extra="allow"``)
beyond the ones named here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from thecal.service.actors import Actor, Login
from thecal.service.admin import Site
from thecal.service.advice import EligibilityResult, ScreeningPlan
from thecal.service.cases import Contacts
from thecal.service.escalation import Confirmation
from thecal.service.patients import CareTeamMember, ImplantRecord, OpenProposal, Patient
from thecal.service.results import Instant
from thecal.service.therapy import MixingCheck, ResidualCheck  # parts of RefillAnalysis

UserOut = Actor
SiteOut = Site
StaffUserOut = Login
EligibilityOut = EligibilityResult
ScreeningOut = ScreeningPlan
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


class WorklistItemOut(Out):
    patient_id: int
    mrn: str
    display_name: str
    priority: int
    urgency: str | None
    reasons: list[ReasonOut]
    refill_due_by: str | None = None
    low_reservoir_alarm_at: str | None = None
    empty_at: str | None = None
    triage_urgency: str | None = None


class StoredEventOut(Out):
    """A stored timeline event: its own fields (timeline v1) plus ``seq`` and ``recorded_at``."""

    at: str
    type: str
    id: str
    by: str | None = None
    seq: int
    recorded_at: str | None = None


class TimelineOut(Out):
    patient_id: int
    version: int
    events: list[StoredEventOut]


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


class FindingOut(Out):
    code: str
    message: str
    severity: str
    source: str
    at: str | None = None


class WindowOut(Out):
    """A projected instant at the pump's accuracy edges (fast pump: earliest)."""

    earliest: str | None = None
    latest: str | None = None


class ReservoirViewsOut(Out):
    """The reservoir three ways (docs/twin.md); ``physical_ml`` only in simulation."""

    pump_calculated_ml: float | None = None
    estimate_ml: float | None = None
    physical_ml: float | None = None


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
    reservoir_views: ReservoirViewsOut | None = None
    unaccounted_mcg: float | None = None
    days_of_drug_left: float | None = None
    refill_due_by: str | None = None
    refill_plan: RefillPlanOut | None = None
    elective_replacement_at: str | None = None
    end_of_service_at: str | None = None
    alarms: list[AlarmOut] = []
    findings: list[FindingOut] = []


class PatientProjectionOut(ProjectionOut):
    patient_id: int
    version: int


class ChartOut(Out):
    """A patient's chart (``thecal.service.patients.Chart``); the last symptom report carries
    the ``triage`` it got."""

    patient: Patient
    version: int
    events: list[StoredEventOut]
    projection: ProjectionOut
    assessments: list[StoredEventOut]
    symptom_reports: list[StoredEventOut]
    care_team: list[CareTeamMember]
    implants: list[ImplantRecord]
    pending: list[OpenProposal]


class BridgeBolusOut(Out):
    needed: bool
    volume_ml: float
    duration_h: float
    rate_ml_per_day: float
    dose_mcg: float
    old_concentration_mcg_per_ml: float
    new_concentration_mcg_per_ml: float
    reasons: list[ReasonOut]
    summary: str


class DatesAfterOut(Out):
    low_reservoir_alarm_at: str | None
    empty_at: str | None
    refill_due_by: str | None


class RefillProposalOut(Out):
    """Everything a refill would change (``thecal.service.therapy.RefillAnalysis``)."""

    patient_id: int
    version: int
    at: str
    pump_model: str
    expected_residual_ml: float
    withdrawn_ml: float
    added_ml: float
    capacity_ml: float
    remaining_after_withdrawal_ml: float
    suggested_added_ml: float
    suggested_added: str
    residual_check: ResidualCheck
    mixing: MixingCheck | None
    discrepancy: bool
    concentration_change: bool
    old_concentration_mcg_per_ml: float | None
    new_concentration_mcg_per_ml: float
    bridge_bolus: BridgeBolusOut | None
    bridge_bolus_needed: bool
    after: DatesAfterOut
    reservoir_after_ml: float | None
    daily_dose_mcg: float
    old_rate_ml_per_day: float | None
    new_rate_ml_per_day: float
    needs_password: bool
    needs_second_clinician: bool
    aspiration: str = "complete"
    kept_residual_ml: float = 0.0
    unaccounted_ml: float = 0.0
    reservoir_views_before: ReservoirViewsOut | None = None
    reservoir_views_after: ReservoirViewsOut | None = None
    views_differ: bool = False
    programmer_reservoir_ml: float | None = None
    programmer_instruction: str = ""


class InterrogationOutcomeOut(Out):
    """The pump's readings recorded; the twin before and after; this reading's findings."""

    status: str
    event: StoredEventOut
    reservoir_views_before: ReservoirViewsOut | None = None
    reservoir_views_after: ReservoirViewsOut | None = None
    findings: list[FindingOut] = []
    discrepancy: bool = False
    after: DatesAfterOut | None = None


class RefillOutcomeOut(Out):
    """``recorded`` (with the stored ``event``) or ``awaiting-confirmation`` (``pending_id``)."""

    status: str
    pending_id: int | None = None
    event: StoredEventOut | None = None
    proposal: RefillProposalOut | None = None


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


class RecordedOut(Out):
    status: str
    event: StoredEventOut
    co_signed_by: str | None = None


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
    event: StoredEventOut
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
