"""Authorisation: deny by default, one mechanism for every face (safety-requirements SE-1, SE-2).

Two questions, asked in this order:

1. May this *role* do this *action* at all? The table :data:`PERMISSIONS` says; anything not in
   it is refused (403, ``PermissionDeniedError``).
2. Is this *patient* one the actor may know about? A patient sees their own record, a
   caregiver the linked patients, clinicians, nurses and pharmacists the patients of their
   site and of the care teams they belong to; an administrator manages users, not records.
   A patient outside that relation answers as if it did not exist (404, ``NotFoundError``), so
   record ids cannot be probed (IDOR).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import ColumnElement, Connection

from thecal.errors import NotFoundError, PermissionDeniedError
from thecal.service.actors import STAFF_ROLES, Actor
from thecal.store import records
from thecal.store.records import Row

READ: Final = "patient.read"
CREATE: Final = "patient.create"
APPEND: Final = "timeline.append"
REFILL_PROPOSE: Final = "refill.propose"
REFILL_RECORD: Final = "refill.record"
PROGRAM_PROPOSE: Final = "program.propose"
PROGRAM_CONFIRM: Final = "program.confirm"
PROGRAM_CHECK: Final = "program.check"  # the live guardrail check (no write)
CONFIRM_SECOND: Final = "pending.confirm"
ASSESS: Final = "assessment.record"
SYMPTOMS: Final = "symptoms.report"
ADVICE: Final = "advice.read"
WORKLIST: Final = "worklist.read"
CARE_TEAM_MANAGE: Final = "care-team.manage"
USERS_MANAGE: Final = "users.manage"
SITES_MANAGE: Final = "sites.manage"  # the settings of the actor's own site
SITE_CREATE: Final = "site.create"  # a new site: only on the server (thecal admin)

_CLINICAL_READ = {READ, WORKLIST, ADVICE, PROGRAM_CHECK}
PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "clinician": frozenset(_CLINICAL_READ | {
        CREATE, APPEND, REFILL_PROPOSE, REFILL_RECORD, PROGRAM_PROPOSE, PROGRAM_CONFIRM,
        CONFIRM_SECOND, ASSESS, SYMPTOMS, CARE_TEAM_MANAGE}),
    # CONFIRM_SECOND: who of them may sign second is the site setting ``second_signer_roles``
    # (default physician or ITB nurse, thecal.clinical.confirmation)
    "nurse": frozenset(_CLINICAL_READ | {
        CREATE, APPEND, REFILL_PROPOSE, REFILL_RECORD, ASSESS, SYMPTOMS, CONFIRM_SECOND}),
    "pharmacist": frozenset(_CLINICAL_READ | {REFILL_PROPOSE, CONFIRM_SECOND}),
    "patient": frozenset({READ, SYMPTOMS}),
    "caregiver": frozenset({READ, SYMPTOMS}),
    "administrator": frozenset({USERS_MANAGE, SITES_MANAGE, CARE_TEAM_MANAGE}),
    "system": frozenset({READ, PROGRAM_CHECK, CREATE, APPEND, REFILL_PROPOSE, REFILL_RECORD, PROGRAM_PROPOSE,
                         PROGRAM_CONFIRM, ASSESS, SYMPTOMS, ADVICE, WORKLIST, USERS_MANAGE,
                         SITES_MANAGE, SITE_CREATE, CARE_TEAM_MANAGE}),
}


def allowed(actor: Actor, action: str) -> bool:
    return action in PERMISSIONS.get(actor.role, frozenset())


def require(actor: Actor, action: str) -> None:
    """Refuse (403) an action the actor's role may never do."""
    if not allowed(actor, action):
        article = "an" if actor.role[:1] in "aeiou" else "a"
        raise PermissionDeniedError(f"{article} {actor.role} may not do {action}",
                                    fix="ask a colleague whose role allows it")


def can_see(conn: Connection, actor: Actor, patient: Row) -> bool:
    """The record-level relation (deny by default)."""
    if actor.role == "system":
        return True
    if actor.role == "patient":
        return actor.patient_id is not None and int(actor.patient_id) == int(patient["id"])
    if actor.role == "caregiver":
        return actor.user_id is not None and records.caregiver_linked(conn, actor.user_id,
                                                                      int(patient["id"]))
    if actor.role in STAFF_ROLES:
        if actor.site_id is not None and int(patient["site_id"]) == int(actor.site_id):
            return True
        return actor.user_id is not None and records.in_care_team(conn, int(patient["id"]),
                                                                  actor.user_id)
    return False


def patient_for(conn: Connection, actor: Actor, action: str, patient_id: int) -> Row:
    """The patient row, if the actor may do ``action`` on it; else 403 or 404."""
    require(actor, action)
    patient = records.get_patient(conn, patient_id)
    if patient is None or not can_see(conn, actor, patient):
        raise NotFoundError(f"patient {patient_id} not found", where="patient_id",
                            fix="check the id; you only see patients in your care")
    return patient


def visible_patients_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause for the list/worklist of a staff member."""
    user = {"id": actor.user_id, "site_id": actor.site_id}
    return records.visible_patient_ids_clause(user)
