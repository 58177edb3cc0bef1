"""Use cases of the clinic: one transaction each, with authorisation and audit.

Everything the faces (``thecal.api``, ``thecal.web``, ``thecal.cli``) do to clinic records
goes through the functions below; they are the only place that opens a database transaction.
Every function takes the :class:`Clinic` (engine + clock + settings) first and, where a person
acts, the :class:`Actor` second. Every read or write of a patient record adds a hash-chained
audit row; a refusal (403/404/409/422) adds one too, after the refused transaction has been
rolled back (nothing partial is written).

Errors raised (map them in a face): ``thecal.errors.InputError`` (and ``TimelineError``,
``UnitError``) → 422 with ``.where`` naming the field; ``NotFoundError`` → 404 (also for a
patient the actor may not know exists); ``PermissionDeniedError`` → 403;
``ConflictError`` → 409 (stale ``expected_version``); ``thecal.service.errors.
AuthenticationError`` → 401 (log in again); ``ThrottledError`` → 429 (``.retry_after_s``).

Setting up::

    from thecal.service import Clinic, Settings
    clinic = Clinic.open(Settings(database_url=None))   # default SQLite file, migrated
    # tests: Clinic.open(Settings(database_url=url), clock=FrozenClock(at))

Sessions and CSRF (pages)::

    login(clinic, username, password, client="1.2.3.4") -> LoginResult
        # .session_token (put in the cookie clinic.settings.session_cookie_name, HttpOnly,
        #   SameSite=Lax, Secure unless clinic.settings.cookie_secure is False),
        # .csrf_token, .actor, .expires_at
    logout(clinic, session_token) -> None                       # invalidated server-side
    actor_from_session(clinic, session_token) -> Actor          # AuthenticationError if
        # missing/expired (30 min idle, 12 h absolute); refreshes the idle timer
    csrf_token(clinic, session_token) -> str                    # synchroniser token
    check_csrf(clinic, session_token, submitted) -> None        # PermissionDeniedError
    issue_api_token(clinic, username, password, name="...") -> (token, expires_at, Actor)
    revoke_api_token(clinic, token) -> None
    actor_from_api_token(clinic, token) -> Actor
    verify_password_again(clinic, actor, password) -> None      # re-authentication

FastAPI dependencies for pages are in ``thecal.api.deps``: ``get_clinic(request)``
(``app.state.clinic``), ``page_actor`` (Actor from the session cookie, 401 otherwise),
``optional_page_actor`` (Actor or None), ``require_csrf`` (checks the ``csrf_token`` form
field or ``X-CSRF-Token`` header against the session), ``session_token(request)``,
``set_session_cookie(response, clinic, token)``, ``clear_session_cookie(response, clinic)``
and ``session_cookie_name(settings)`` (``__Host-thecal_session`` when Secure).

Patients and charts::

    worklist(clinic, actor, limit=100) -> list[WorklistItem]   # by urgency, .as_dict()
    list_patients(clinic, actor) -> list[dict]
    create_patient(clinic, actor, data: dict) -> dict   # data: mrn, display_name, born,
        # sex, weight_kg, timezone, etiology, site_id (defaults to actor's site)
    get_patient(clinic, actor, patient_id) -> dict          # patient block + version
    patient_chart(clinic, actor, patient_id, at=None) -> Chart
        # .patient (dict), .version (int: pass back as expected_version), .events
        # (list of stored event dicts, each with "seq"), .projection (twin --json dict),
        # .assessments, .symptom_reports (each with its triage), .care_team, .implants,
        # .pending (confirmations waiting), .as_dict()
    timeline(clinic, actor, patient_id) -> TimelinePage (.events, .version)
    append_event(clinic, actor, patient_id, event: dict, expected_version: int,
                 idempotency_key=None) -> dict   # stored event (with id, by, seq)
    projection(clinic, actor, patient_id, at=None) -> dict  # `thecal twin --json` object
    care_team(clinic, actor, patient_id) -> list[dict]
    import_events / import_patients(...)  # whole histories in one transaction (demo, migration)

Therapy (propose, then record/confirm)::

    propose_refill(clinic, actor, patient_id, withdrawn="11.8 mL", added="38 mL",
                   concentration="2000 mcg/mL", at=None) -> dict
        # expected_residual_ml, discrepancy, bridge_bolus, new low-reservoir alarm /
        # empty / refill-due dates, concentration_change, needs_second_clinician
    record_refill(clinic, actor, patient_id, withdrawn=..., added=..., concentration=...,
                  expected_version=..., password=None, reason=None, at=None) -> dict
        # {"status": "recorded", "event": {...}}; the event is always recorded at once, and
        # when the site requires a second signer for a concentration change the status is
        # "awaiting-confirmation" with "pending_id" too; a concentration change needs the
        # password again; drug=DrugDetails(lot, expiry, compounded, pharmacy) is required
    confirm_pending(clinic, actor, pending_id, password) -> RefillOutcome   # second signer
    reject_pending(clinic, actor, pending_id, password, reason=..., corrective_action=...)
    open_confirmations(clinic, actor, patient_id=None) -> list[Confirmation]  # escalates
    escalate_overdue(clinic) -> list[int]   # past their time: escalated once, on-call e-mailed
    propose_program_change(clinic, actor, patient_id, program: dict, expected_version,
                           reason=None) -> dict
        # old/new side by side with 24-h totals, guardrail results, "confirmation_token"
    confirm_program_change(clinic, actor, patient_id, confirmation_token, password) -> dict
    check_program_change(clinic, actor, patient_id, program: dict, concentration=None) -> dict
        # the live check, nothing written: old/new "comparison" (24-h totals), "guardrail",
        # "titration", "needs_reason", "allowed" (False beyond the absolute bounds, with
        # "refusal" words; propose_program_change still refuses it)
    bridge_bolus_words(bridge: dict) -> str   # a refill proposal's bridge_bolus in one line

Views for the pages (read only; ``thecal.service.views`` and ``thecal.service.home``)::

    formulary(clinic, actor) -> list[dict]   # concentration_mcg_per_ml, label, brands, sources
    refill_record(clinic, actor, patient_id, event_id) -> dict   # one recorded refill with
        # its proposal's figures (expected residual, discrepancy, bridge bolus, dates after)
    triage_inbox(clinic, actor, days=14, limit=100) -> list[dict]   # recent symptom reports
        # of the actor's patients, each with its "triage", most urgent first
    site_care_team(clinic, actor) -> list[dict]          # the site's clinical staff, with
    patient_care_team(clinic, actor, patient_id) -> list[dict]   # care-team role words
    chart_series(clinic, actor, patient_id, days=60, every_h=2) -> dict   # reservoir (twin),
        # daily_dose, ashworth, penn (recorded), csf_level and tone (virtual patient)
    eligibility_checklist(clinic, actor, patient_id, answers) -> dict   # form answers →
    screening_checklist(clinic, actor, patient_id, answers) -> dict     # rule + questions
    patient_home(clinic, actor, patient_id) -> dict   # pump, days_of_drug_left, refill and
        # alarm dates, alarms, implant_card, recovery, appointments, clinic_phone
    alarm_meanings() -> list[dict];  symptom_vocabulary() -> list[dict]   # fixed texts
    display_timezone(clinic, actor, patient_id=None) -> str   # the zone a page shows times
        # in: the patient's own (with patient_id), else the site's "timezone" setting, else UTC

Assessments and advice::

    record_assessment(clinic, actor, patient_id, data: dict, expected_version) -> dict
        # data: mas or mas_by_group (overall = highest group grade), penn_*, notes
    report_symptoms(clinic, actor, patient_id, codes: list[str], modifiers=None, note=None,
                    expected_version=None) -> dict      # {"event": ..., "triage": ...}
    eligibility(clinic, actor, patient_id, data: dict) -> dict
    screening_plan(clinic, actor, patient_id, data: dict) -> dict  # small_patient, first_dose_at
    titration_suggestion(clinic, actor, patient_id, data: dict) -> dict  # report, side_effects

Administration (administrator role)::

    create_site(clinic, actor, name, settings=None) -> dict
    create_user(clinic, actor, username, password, role, site_id=None,
                display_name=None, patient_id=None) -> dict
    link_caregiver(clinic, actor, caregiver_user_id, patient_id) -> None
    add_care_team_member(clinic, actor, patient_id, user_id, team_role) -> None
    update_site_settings(clinic, actor, site_id, settings) -> dict;  list_users(clinic, actor)
        # site settings: require_second_clinician_for_concentration_change (bool),
        # clinic_phone, clinic_location, timezone (IANA, validated; default "UTC")
    # care-team roles (team_role): thecal.clinical.care_team's vocabulary — physician,
    # surgeon, itb-nurse, pharmacist (admin.TEAM_ROLES)

``bootstrap_*`` helpers (no actor; used by ``thecal serve --demo`` and tests) create sites
and users directly, still with audit rows attributed to ``system``.
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
    Chart,
    TimelinePage,
    append_event,
    care_team,
    create_patient,
    get_patient,
    import_events,
    import_patients,
    list_patients,
    patient_chart,
    projection,
    timeline,
)
from thecal.service.settings import Settings
from thecal.service.therapy import (
    DrugDetails,
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
    "Chart",
    "Clinic",
    "Clock",
    "Confirmation",
    "DrugDetails",
    "FrozenClock",
    "InterrogationOutcome",
    "LoginResult",
    "Settings",
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
    "create_patient",
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
