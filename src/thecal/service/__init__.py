"""The clinic's use cases: one transaction each, with authorisation and audit.

Everything the faces (:mod:`thecal.api`, :mod:`thecal.web`, :mod:`thecal.cli`) do to clinic
records goes through this package; it is the only place that opens a database transaction.
Each use case takes the :class:`Clinic` (engine, clock, settings) first and, where a person
acts, the :class:`Actor` second, and answers with typed results built from the rules of
:mod:`thecal.clinical` (for example :class:`~thecal.service.therapy.RefillAnalysis`); the
pages read them through :mod:`thecal.service.pages`, the API writes them as JSON. Every read
or write of a patient record adds a hash-chained audit row, a refusal too (after the refused
transaction is rolled back: nothing partial is written).

Refusals are :mod:`thecal.errors` exceptions: ``InputError`` (``.where`` names the field),
``NotFoundError``, ``PermissionDeniedError``, ``ConflictError`` (a stale
``expected_version``), and :mod:`thecal.service.errors`' ``AuthenticationError`` and
``ThrottledError``. ``Clinic.open(Settings(database_url=None))`` opens the default SQLite
file, migrated; tests pass ``clock=FrozenClock(at)``.
"""

from __future__ import annotations

from thecal.service.actors import ROLES, SYSTEM, Actor
from thecal.service.admin import (
    add_care_team_member,
    bootstrap_patient,
    bootstrap_site,
    bootstrap_user,
    create_site,
    create_user,
    link_caregiver,
    list_users,
    update_site_settings,
)
from thecal.service.advice import (
    eligibility,
    record_assessment,
    report_symptoms,
    screening_plan,
    titration_suggestion,
)
from thecal.service.auth import (
    LoginResult,
    actor_from_api_token,
    actor_from_session,
    check_csrf,
    csrf_token,
    issue_api_token,
    login,
    logout,
    revoke_api_token,
    verify_password_again,
)
from thecal.service.clinic import Clinic
from thecal.service.clock import Clock, FrozenClock, SystemClock
from thecal.service.errors import AuthenticationError, ThrottledError
from thecal.service.escalation import Confirmation, escalate_overdue, open_confirmations
from thecal.service.home import alarm_meanings, patient_home, symptom_vocabulary
from thecal.service.measurements import InterrogationOutcome, record_interrogation
from thecal.service.patients import (
    CareTeamMember,
    Chart,
    Patient,
    StoredEvent,
    TimelinePage,
    append_event,
    care_team,
    get_patient,
    import_events,
    import_patients,
    list_patients,
    patient_chart,
    projection,
    register_patient,
    timeline,
)
from thecal.service.results import PatientHome
from thecal.service.settings import Settings
from thecal.service.therapy import (
    DrugDetails,
    ProgramConfirmed,
    RefillAnalysis,
    RefillOutcome,
    check_program_change,
    confirm_pending,
    confirm_program_change,
    propose_program_change,
    propose_refill,
    record_refill,
    reject_pending,
)
from thecal.service.views import (
    chart_series,
    display_timezone,
    eligibility_checklist,
    formulary,
    patient_care_team,
    refill_record,
    screening_checklist,
    site_care_team,
    triage_inbox,
)
from thecal.service.worklist import WorklistItem, worklist

__all__ = [
    "ROLES",
    "SYSTEM",
    "Actor",
    "AuthenticationError",
    "CareTeamMember",
    "Chart",
    "Clinic",
    "Clock",
    "Confirmation",
    "DrugDetails",
    "FrozenClock",
    "InterrogationOutcome",
    "LoginResult",
    "Patient",
    "PatientHome",
    "ProgramConfirmed",
    "RefillAnalysis",
    "RefillOutcome",
    "Settings",
    "StoredEvent",
    "SystemClock",
    "ThrottledError",
    "TimelinePage",
    "WorklistItem",
    "actor_from_api_token",
    "actor_from_session",
    "add_care_team_member",
    "alarm_meanings",
    "append_event",
    "bootstrap_patient",
    "bootstrap_site",
    "bootstrap_user",
    "care_team",
    "chart_series",
    "check_csrf",
    "check_program_change",
    "confirm_pending",
    "confirm_program_change",
    "create_site",
    "create_user",
    "csrf_token",
    "display_timezone",
    "eligibility",
    "eligibility_checklist",
    "escalate_overdue",
    "formulary",
    "get_patient",
    "import_events",
    "import_patients",
    "issue_api_token",
    "link_caregiver",
    "list_patients",
    "list_users",
    "login",
    "logout",
    "open_confirmations",
    "patient_care_team",
    "patient_chart",
    "patient_home",
    "projection",
    "propose_program_change",
    "propose_refill",
    "record_assessment",
    "record_interrogation",
    "record_refill",
    "refill_record",
    "register_patient",
    "reject_pending",
    "report_symptoms",
    "revoke_api_token",
    "screening_checklist",
    "screening_plan",
    "site_care_team",
    "symptom_vocabulary",
    "timeline",
    "titration_suggestion",
    "triage_inbox",
    "update_site_settings",
    "verify_password_again",
    "worklist",
]
