"""Cases: symptom reports and findings that someone must acknowledge, call back and close.

A symptom report opens a case with the patient's own words and the advice they were shown; a
clinician may open one for a finding on the chart. The lifecycle rules are in
:mod:`thecal.clinical.cases`; here each step is one transaction with its audit row. After
every step the patient's standing urgency (the gravest case not closed) is written to the
projection summary the worklist reads, so a later, milder report never lowers it and closing
the grave case does. An emergency case notifies the on-call clinician
(:mod:`thecal.service.oncall`) and shows a banner on the chart until it is acknowledged.

Permissions: acknowledging, noting and closing need the ``assessment.record`` permission
(clinicians and nurses); opening a case for a finding needs ``timeline.append``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection

from thecal.clinical.cases import (
    OUTCOMES,
    CaseFacts,
    CaseKind,
    CaseStatus,
    advice_headline,
    check_note,
    check_outcome,
    check_transition,
    finding_urgency,
    needs_banner,
    needs_on_call_notice,
    standing_urgency,
)
from thecal.clinical.symptoms import symptom
from thecal.clinical.triage import TriageResult, Urgency
from thecal.errors import ConflictError, InputError, NotFoundError
from thecal.service import authz, oncall
from thecal.service.actors import Actor
from thecal.service.admin import site_link
from thecal.service.clinic import Clinic
from thecal.service.results import Instant
from thecal.service.twin import project_record
from thecal.store import cases as case_store
from thecal.store import events as event_store
from thecal.store import records
from thecal.store.records import Row
from thecal.store.worklist import urgency_code

__all__ = ["OUTCOMES", "Case", "CaseNote", "CaseNotice", "Contacts", "acknowledge_case", "add_case_note",
           "close_case", "contacts_of", "get_case", "inbox", "open_finding_case",
           "open_symptom_case", "patient_cases"]

CLOSED_SHOWN: Final = timedelta(days=7)  # closed cases stay in the inbox for a week


@dataclass(frozen=True)
class Contacts:
    """The numbers every piece of advice shows, with their ``tel:`` links."""

    clinic_phone: str
    clinic_tel: str
    emergency_number: str
    emergency_tel: str


def _tel(number: str) -> str:
    digits = re.sub(r"[^0-9+]", "", number)
    return f"tel:{digits}" if digits else ""


def contacts_of(site_settings: Mapping[str, object] | None) -> Contacts:
    s = site_settings or {}
    phone, emergency = str(s.get("clinic_phone") or ""), str(s.get("emergency_number") or "112")
    return Contacts(phone, _tel(phone), emergency, _tel(emergency))


@dataclass(frozen=True)
class CaseNote:
    at: Instant
    author: str
    kind: str
    text: str


@dataclass(frozen=True)
class CaseNotice:
    at: Instant
    channel: str
    recipient: str
    status: str
    detail: str | None


@dataclass(frozen=True)
class Case:
    """One case as the inbox, the chart and the API show it."""

    case_id: int
    patient_id: int
    patient_name: str
    kind: CaseKind
    urgency: Urgency
    status: CaseStatus
    opened_at: Instant
    opened_by: str
    patient_words: str
    symptoms: tuple[str, ...]  # in the patient's words
    advice_headline: str
    patient_actions: tuple[str, ...]
    clinician_actions: tuple[str, ...]
    rules: tuple[str, ...]
    banner: bool  # an emergency not yet acknowledged (thecal.clinical.cases.needs_banner)
    finding_code: str | None = None
    source_event_id: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: Instant | None = None
    closed_by: str | None = None
    closed_at: Instant | None = None
    outcome: str | None = None
    notes: tuple[CaseNote, ...] = ()
    notices: tuple[CaseNotice, ...] = ()

    @property
    def outcome_words(self) -> str:
        return OUTCOMES.get(self.outcome or "", self.outcome or "")


def _case_of(row: Row, name: str, notes: list[Row], notices: list[Row]) -> Case:
    advice = row.get("advice") or {}
    urgency, status = Urgency(row["urgency"]), CaseStatus(row["status"])
    return Case(
        int(row["id"]), int(row["patient_id"]), name, CaseKind(row["kind"]), urgency, status,
        row["opened_at"], str(row["opened_by"]), str(row["patient_words"] or ""),
        tuple(str(s) for s in row.get("symptoms") or ()), str(advice.get("headline") or ""),
        tuple(advice.get("patient") or ()), tuple(advice.get("clinician") or ()),
        tuple(advice.get("rules") or ()), needs_banner(CaseFacts(urgency, status, row["opened_at"])),
        row.get("finding_code"), row.get("source_event_id"),
        row.get("acknowledged_by"), row.get("acknowledged_at"), row.get("closed_by"),
        row.get("closed_at"), row.get("outcome"),
        tuple(CaseNote(n["at"], n["author"], n["kind"], n["text"]) for n in notes
              if n["case_id"] == row["id"]),
        tuple(CaseNotice(n["at"], n["channel"], n["recipient"], n["status"], n["detail"])
              for n in notices if n["case_id"] == row["id"]))


def _cases(conn: Connection, rows: list[Row], names: dict[int, str]) -> list[Case]:
    ids = [int(r["id"]) for r in rows]
    notes, notices = case_store.notes_of(conn, ids), case_store.notices_of(conn, ids)
    return [_case_of(r, names.get(int(r["patient_id"]), str(r.get("display_name") or "")),
                     notes, notices) for r in rows]


def refresh_standing(conn: Connection, patient_id: int) -> None:
    """Write the gravest case not closed to the projection summary the worklist reads."""
    live = case_store.cases_of(conn, patient_id, include_closed=False)
    standing = standing_urgency(CaseFacts(Urgency(r["urgency"]), CaseStatus(r["status"]),
                                          r["opened_at"]) for r in live)
    summary = event_store.get_projection(conn, patient_id)
    if summary is None:
        return
    rank = urgency_code(standing.urgency) if standing else 0
    at = standing.opened_at if standing else None
    event_store.put_projection(conn, patient_id, {"triage_urgency": rank, "triage_at": at})


def _site_settings(conn: Connection, patient: Row) -> dict[str, object]:
    site = records.get_site(conn, int(patient["site_id"])) or {}
    return dict(site.get("settings") or {})


def _notify(clinic: Clinic, conn: Connection, case_id: int, patient: Row,
            words: str, symptoms: list[str], actions: list[str], when: datetime) -> None:
    settings = _site_settings(conn, patient)
    contacts = contacts_of(settings)
    subject, body = oncall.emergency_message(
        str(patient["display_name"]), str(patient["mrn"]), case_id, words, symptoms, actions,
        clinic_phone=contacts.clinic_phone, emergency_number=contacts.emergency_number,
        link=site_link(settings, f"/clinic/cases/{case_id}"))
    for notice in oncall.notify(clinic.settings, settings, subject, body):
        case_store.add_notice(conn, case_id, when, notice.channel, notice.recipient,
                              notice.status, notice.detail)


def open_symptom_case(clinic: Clinic, conn: Connection, actor: Actor, patient: Row,
                      event_id: str, when: datetime, result: TriageResult,
                      note: str | None) -> int:
    """Open the case of a symptom report inside the report's transaction; returns its id."""
    patient_id = int(patient["id"])
    words = [symptom(c).patient_words for c in result.symptoms]
    clinician = [a.clinician for a in result.actions if a.clinician]
    headline = advice_headline(result.advice_patient)
    case_id = case_store.insert_case(
        conn, patient_id=patient_id, kind=CaseKind.SYMPTOMS.value, source_event_id=event_id,
        urgency=result.urgency.value, urgency_rank=result.urgency.rank,
        status=CaseStatus.OPEN.value, opened_at=when, opened_by=actor.username,
        patient_words=(note or "").strip(), symptoms=words,
        advice={"headline": headline, "patient": [a.patient for a in result.actions
                                                   if a.patient],
                "clinician": clinician, "rules": list(result.rule_ids)})
    if needs_on_call_notice(result.urgency):
        _notify(clinic, conn, case_id, patient, (note or "").strip(), words, clinician, when)
    refresh_standing(conn, patient_id)
    clinic.audit(conn, actor, "case.open", entity="case", entity_id=str(case_id),
                 patient_id=patient_id, event_id=event_id, new_value=result.urgency.value)
    return case_id


def open_finding_case(clinic: Clinic, actor: Actor, patient_id: int, finding_code: str,
                      note: str | None = None) -> Case:
    """Open a case for one of the chart's open findings (its severity sets the urgency)."""
    def body(conn: Connection) -> Case:
        patient = authz.patient_for(conn, actor, authz.APPEND, patient_id)
        when = clinic.now()
        projection = project_record(conn, patient, event_store.list_events(conn, patient_id),
                                    when)
        found = next((f for f in (projection.findings if projection else ())
                      if f.code == finding_code), None)
        if found is None:
            raise InputError(f"no open finding {finding_code!r} on this chart",
                             where="finding_code", fix="use a code shown on the chart")
        urgency = finding_urgency(found.severity)
        case_id = case_store.insert_case(
            conn, patient_id=patient_id, kind=CaseKind.FINDING.value, finding_code=finding_code,
            urgency=urgency.value, urgency_rank=urgency.rank, status=CaseStatus.OPEN.value,
            opened_at=when, opened_by=actor.username, patient_words="",
            symptoms=[], advice={"headline": found.message or finding_code, "patient": [],
                                 "clinician": [found.message], "rules": [finding_code]})
        if note:
            case_store.add_case_note(conn, case_id, when, actor.username, "note",
                                     check_note(note))
        refresh_standing(conn, patient_id)
        clinic.audit(conn, actor, "case.open", entity="case", entity_id=str(case_id),
                     patient_id=patient_id, field=finding_code, new_value=urgency.value)
        return _load(conn, case_id)

    return clinic.run(actor, "case.open", body, patient_id=patient_id, entity="case")


def _load(conn: Connection, case_id: int) -> Case:
    row = case_store.get_case(conn, case_id)
    assert row is not None
    patient = records.get_patient(conn, int(row["patient_id"])) or {}
    return _cases(conn, [row], {int(row["patient_id"]): str(patient.get("display_name"))})[0]


def _case_for(conn: Connection, actor: Actor, action: str, case_id: int) -> Row:
    row = case_store.get_case(conn, case_id)
    if row is None:
        authz.require(actor, action)
        raise NotFoundError(f"case {case_id} not found", where="case_id",
                            fix="check the id; you only see cases of patients in your care")
    try:
        authz.patient_for(conn, actor, action, int(row["patient_id"]))
    except NotFoundError:
        raise NotFoundError(f"case {case_id} not found", where="case_id",
                            fix="check the id; you only see cases of patients in your care"
                            ) from None
    return row


def get_case(clinic: Clinic, actor: Actor, case_id: int) -> Case:
    def body(conn: Connection) -> Case:
        row = _case_for(conn, actor, authz.WORKLIST, case_id)
        clinic.audit(conn, actor, "case.read", entity="case", entity_id=str(case_id),
                     patient_id=int(row["patient_id"]))
        return _load(conn, case_id)

    return clinic.run(actor, "case.read", body, entity="case", entity_id=str(case_id))


def _move(clinic: Clinic, actor: Actor, case_id: int, wanted: CaseStatus, action: str,
          values: dict[str, object], note: tuple[str, str] | None = None) -> Case:
    def body(conn: Connection) -> Case:
        row = _case_for(conn, actor, authz.ASSESS, case_id)
        current = CaseStatus(row["status"])
        check_transition(current, wanted)
        changes = dict(values)
        if wanted is CaseStatus.CLOSED and current is CaseStatus.OPEN:
            # closed at once: acknowledged by the same person at the same time
            changes.update(acknowledged_by=actor.username, acknowledged_at=clinic.now())
        if not case_store.set_case_status(conn, case_id, current.value, status=wanted.value,
                                          **changes):
            raise ConflictError("someone acted on the case at the same time",
                                where="status", fix="reload the case")
        if note is not None:
            case_store.add_case_note(conn, case_id, clinic.now(), actor.username, *note)
        refresh_standing(conn, int(row["patient_id"]))
        clinic.audit(conn, actor, action, entity="case", entity_id=str(case_id),
                     patient_id=int(row["patient_id"]), old_value=current.value,
                     new_value=wanted.value)
        return _load(conn, case_id)

    return clinic.run(actor, action, body, entity="case", entity_id=str(case_id))


def acknowledge_case(clinic: Clinic, actor: Actor, case_id: int) -> Case:
    """Say "I have this case" (who and when are recorded; the chart banner clears)."""
    return _move(clinic, actor, case_id, CaseStatus.ACKNOWLEDGED, "case.acknowledge",
                 {"acknowledged_by": actor.username, "acknowledged_at": clinic.now()})


def close_case(clinic: Clinic, actor: Actor, case_id: int, outcome: str,
               note: str | None = None) -> Case:
    """Close with an outcome (one of :data:`thecal.clinical.cases.OUTCOMES`) and a note.

    An open case closed at once is acknowledged by the same person at the same time.
    """
    check_outcome(outcome, note)
    values: dict[str, object] = {"closed_by": actor.username, "closed_at": clinic.now(),
                                 "outcome": outcome}
    text = note.strip() if note and note.strip() else None
    return _move(clinic, actor, case_id, CaseStatus.CLOSED, "case.close", values,
                 ("outcome", text) if text else None)


def add_case_note(clinic: Clinic, actor: Actor, case_id: int, text: str) -> Case:
    """A call-back note (what was said or done); refused on a closed case."""
    cleaned = check_note(text)

    def body(conn: Connection) -> Case:
        row = _case_for(conn, actor, authz.ASSESS, case_id)
        if row["status"] == CaseStatus.CLOSED.value:
            raise ConflictError("the case is closed", where="status",
                                fix="open a new case if something new happened")
        case_store.add_case_note(conn, case_id, clinic.now(), actor.username, "call-back",
                                 cleaned)
        clinic.audit(conn, actor, "case.note", entity="case", entity_id=str(case_id),
                     patient_id=int(row["patient_id"]), new_value=cleaned)
        return _load(conn, case_id)

    return clinic.run(actor, "case.note", body, entity="case", entity_id=str(case_id))


def inbox(clinic: Clinic, actor: Actor, *, limit: int = 200) -> list[Case]:
    """The cases of the actor's patients: not closed first (gravest, newest), then those
    closed in the last week."""
    def body(conn: Connection) -> list[Case]:
        authz.require(actor, authz.WORKLIST)
        rows = case_store.inbox_cases(conn, authz.visible_patients_clause(actor),
                                      since=clinic.now() - CLOSED_SHOWN,
                                      limit=max(1, min(limit, 1000)))
        found = _cases(conn, rows, {int(r["patient_id"]): str(r["display_name"])
                                    for r in rows})
        clinic.audit(conn, actor, "case.read", entity="case",
                     detail=f"{len(found)} cases listed")
        return found

    return clinic.run(actor, "case.read", body, entity="case")


def patient_cases(clinic: Clinic, actor: Actor, patient_id: int) -> list[Case]:
    """A patient's cases, gravest first (staff only)."""
    def body(conn: Connection) -> list[Case]:
        authz.require(actor, authz.WORKLIST)
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        rows = case_store.cases_of(conn, patient_id)
        clinic.audit(conn, actor, "case.read", entity="case", patient_id=patient_id)
        return _cases(conn, rows, {patient_id: str(patient["display_name"])})

    return clinic.run(actor, "case.read", body, patient_id=patient_id, entity="case")


def banner_cases_in(conn: Connection, patient_id: int, name: str) -> list[Case]:
    """The emergency cases not yet acknowledged (the chart banner), inside a transaction."""
    rows = [r for r in case_store.cases_of(conn, patient_id, include_closed=False)
            if r["status"] == CaseStatus.OPEN.value and r["urgency"] == Urgency.EMERGENCY.value]
    return _cases(conn, rows, {patient_id: name})
