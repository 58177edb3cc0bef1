"""Patients and their timelines: list, create, read (chart, timeline, projection), append.

Every read of a patient record adds an audit row (HIPAA audit controls, AU-4); every append
adds one with the new event as ``new_value``. Appends are optimistic: the caller passes the
version it read; a stale version is a :class:`~thecal.errors.ConflictError` (409, LD-2).
An ``idempotency_key`` makes a retried append return the event stored the first time (DU-4).
Each use case answers with typed results: :class:`Patient`, :class:`StoredEvent`,
:class:`TimelinePage`, :class:`PatientProjection`, :class:`Chart`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Final, TypeVar

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from thecal.clinical.projection import Projection
from thecal.errors import ConflictError, InputError, PermissionDeniedError
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.results import Instant, written_core_schema
from thecal.service.twin import (
    PLAN_EVENTS,
    build_timeline,
    plan_time,
    project_new,
    project_record,
    projection_json,
    projection_of,
    site_settings,
    summary_of,
    twin_settings,
)
from thecal.store import auth as auth_store
from thecal.store import events as event_store
from thecal.store import records
from thecal.store.records import Row
from thecal.timeline import (
    Assessment,
    CatheterRevision,
    Correction,
    Event,
    Implant,
    ReplacePump,
    Timeline,
    event_to_dict,
    parse_event,
    parse_patient,
    validate,
)

if TYPE_CHECKING:
    from thecal.service.cases import Case
    from thecal.service.medicines import Medicines

FUTURE_TOLERANCE: Final = timedelta(minutes=5)
MAX_TEXT: Final = 4000  # characters in any one text of an event (a note, a reason)
# Types the generic append accepts; the others have their own use case (with re-auth,
# propose/confirm or triage) or are simulation-only.
GENERIC_TYPES: Final = frozenset({
    "implant", "replace-pump", "explant", "catheter-revision", "bolus", "interrogation",
    "alarm-acknowledged", "assessment", "mri", "diathermy", "oral-baclofen", "screening-dose",
    "note", "correction",
})
DEDICATED: Final = {"refill": "the refill endpoint (propose, then record)",
                    "program": "the program-change endpoint (propose, then confirm)",
                    "symptoms": "the symptom-report endpoint (it triages)",
                    "fault": "nothing: faults exist only in simulations"}


#: A stored event in an API answer: its own timeline v1 fields (docs/events.md) beyond these.
STORED_EVENT_SCHEMA: Final = {
    "title": "StoredEvent", "type": "object", "additionalProperties": True,
    "description": "A stored timeline event: its timeline v1 fields plus seq and recorded_at",
    "properties": {"at": {"type": "string", "format": "date-time"}, "type": {"type": "string"},
                   "id": {"type": "string"}, "by": {"type": "string"},
                   "seq": {"type": "integer"},
                   "recorded_at": {"type": "string", "format": "date-time"}},
    "required": ["at", "type", "id", "seq", "recorded_at"]}


@dataclass(frozen=True)
class StoredEvent:
    """An event on a patient's record: the timeline event and its place in the record; in an
    API answer, :meth:`as_dict` (:func:`~thecal.service.results.written_by`)."""

    event: Event
    seq: int
    recorded_at: datetime

    def as_dict(self) -> dict[str, object]:
        """The timeline v1 mapping plus ``seq`` and ``recorded_at`` (what the API answers)."""
        return {**event_to_dict(self.event), "seq": self.seq,
                "recorded_at": self.recorded_at.isoformat()}

    @classmethod
    def __get_pydantic_core_schema__(cls, source: object, handler: GetCoreSchemaHandler
                                     ) -> CoreSchema:
        return written_core_schema(cls, cls.as_dict)

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler
                                     ) -> JsonSchemaValue:
        return dict(STORED_EVENT_SCHEMA)


def stored_event(row: Row) -> StoredEvent:
    """A stored event row as the typed event it holds (it was checked when it was stored)."""
    return StoredEvent(parse_event(dict(row["data"])), int(row["seq"]), row["recorded_at"])


# ------------------------------------------------------------------ patients

@dataclass(frozen=True)
class Patient:
    """A registered patient; ``version`` is the record's (appends are checked against it)."""

    id: int
    mrn: str
    display_name: str
    born: date | None
    sex: str | None
    weight_kg: float | None
    timezone: str
    etiology: str
    site_id: int
    version: int

    @classmethod
    def of(cls, row: Row) -> Patient:
        """The patient of a stored row."""
        born, weight = row.get("born"), row.get("weight_kg")
        return cls(int(row["id"]), str(row["mrn"]), str(row["display_name"]),
                   date.fromisoformat(str(born)) if born else None, row.get("sex"),
                   float(weight) if weight is not None else None, str(row["timezone"]),
                   str(row["etiology"]), int(row["site_id"]), int(row["version"]))


def _check_patient_data(data: Mapping[str, object]) -> dict[str, object]:
    """The fields of a patient to register, checked by the timeline's patient parser (the
    clinic's record adds a name and requires the date of birth)."""
    text: dict[str, str] = {}
    for key in ("mrn", "display_name", "born", "timezone", "etiology"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{key} is required", where=key)
        text[key] = value.strip()
    block = {"id": text["mrn"], "born": text["born"], "timezone": text["timezone"],
             "etiology": text["etiology"], "sex": data.get("sex"),
             "weight_kg": data.get("weight_kg")}
    patient = parse_patient({k: v for k, v in block.items() if v is not None}, where="")
    return {"mrn": text["mrn"], "display_name": text["display_name"],
            "born": text["born"] if patient.born is None else patient.born.isoformat(),
            "timezone": patient.timezone, "etiology": patient.etiology, "sex": patient.sex,
            "weight_kg": patient.weight_kg}


def _register_in(clinic: Clinic, conn: Connection, actor: Actor, data: Mapping[str, object]
                 ) -> Row:
    """Check and insert one patient at the actor's site (``data["site_id"]`` for system)."""
    fields_ = _check_patient_data(data)
    site_id = data.get("site_id") if actor.role == "system" else actor.site_id
    if site_id is None:
        raise PermissionDeniedError("you belong to no site, so you cannot register patients",
                                    fix="ask an administrator to assign you a site")
    if not isinstance(site_id, int) or records.get_site(conn, site_id) is None:
        raise InputError(f"site {site_id} does not exist", where="site_id")
    if records.patient_by_mrn(conn, site_id, str(fields_["mrn"])) is not None:
        raise ConflictError(f"a patient with MRN {fields_['mrn']!r} exists at this site",
                            where="mrn", fix="open that patient's record instead")
    row = records.insert_patient(conn, site_id=site_id, at=clinic.now(), **fields_)
    clinic.audit(conn, actor, "patient.create", entity="patient", entity_id=str(row["id"]),
                 patient_id=int(row["id"]), new_value=fields_)
    return row


def register_patient(clinic: Clinic, actor: Actor, data: Mapping[str, object]) -> Patient:
    """Register a patient at the actor's site (or ``data["site_id"]`` for system)."""
    def body(conn: Connection) -> Patient:
        authz.require(actor, authz.CREATE)
        return Patient.of(_register_in(clinic, conn, actor, data))

    return clinic.run(actor, "patient.create", body, entity="patient")


def list_patients(clinic: Clinic, actor: Actor) -> list[Patient]:
    """The patients the actor may see (own, linked, site and care team)."""
    def body(conn: Connection) -> list[Patient]:
        authz.require(actor, authz.READ)
        if actor.role == "patient":
            ids = [int(actor.patient_id)] if actor.patient_id is not None else []
            rows = records.list_patients_by_ids(conn, ids)
        elif actor.role == "caregiver":
            rows = records.list_patients_by_ids(
                conn, records.linked_patient_ids(conn, int(actor.user_id or 0)))
        else:
            rows = records.list_patients_where(conn, authz.visible_patients_clause(actor))
        clinic.audit(conn, actor, "patient.list", entity="patient",
                     detail=f"{len(rows)} patients listed")
        return [Patient.of(r) for r in rows]

    return clinic.run(actor, "patient.list", body, entity="patient")


def _read(clinic: Clinic, conn: Connection, actor: Actor, patient_id: int, field: str
          ) -> Row:
    """The patient row, if the actor may read it; the read is audited (``field``: what)."""
    patient = authz.patient_for(conn, actor, authz.READ, patient_id)
    clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                 patient_id=patient_id, field=field)
    return patient


def get_patient(clinic: Clinic, actor: Actor, patient_id: int) -> Patient:
    return clinic.run(actor, "patient.read",
                      lambda conn: Patient.of(_read(clinic, conn, actor, patient_id, "patient")),
                      patient_id=patient_id, entity="patient")


# ------------------------------------------------------------------ timeline

@dataclass(frozen=True)
class TimelinePage:
    """A patient's stored events in append order and the version to append against (the
    API's answer itself)."""

    patient_id: int
    version: int
    events: tuple[StoredEvent, ...]


def timeline(clinic: Clinic, actor: Actor, patient_id: int) -> TimelinePage:
    def body(conn: Connection) -> TimelinePage:
        patient = _read(clinic, conn, actor, patient_id, "timeline")
        return TimelinePage(patient_id, int(patient["version"]), tuple(
            stored_event(r) for r in event_store.list_events(conn, patient_id)))

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="timeline")


@dataclass(frozen=True)
class PatientProjection:
    """The twin's projection of a patient's record at ``at`` (``twin`` None: no events)."""

    patient_id: int
    version: int
    at: datetime
    twin: Projection | None

    # as_dict stays (here and in Chart): the projection holds the twin's replay; its JSON is
    # Projection.as_dict, the core's one writer (thecal twin --json, the stored summary),
    # declared for the API by api.responses.ProjectionOut
    def as_dict(self) -> dict[str, object]:
        """The ``thecal twin --json`` object with the patient's id and record version."""
        return {"patient_id": self.patient_id, "version": self.version,
                **projection_json(self.twin, self.at)}


def projection(clinic: Clinic, actor: Actor, patient_id: int,
               at: datetime | None = None) -> PatientProjection:
    """The twin's projection of the stored timeline at ``at`` (default: now)."""
    def body(conn: Connection) -> PatientProjection:
        patient = _read(clinic, conn, actor, patient_id, "projection")
        when = at or clinic.now()
        return PatientProjection(patient_id, int(patient["version"]), when, project_record(
            conn, patient, event_store.list_events(conn, patient_id), when))

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="projection")


@dataclass(frozen=True)
class CareTeamMember:
    """A user named in a patient's care team, with the team role they hold."""

    user_id: int
    username: str
    display_name: str | None
    role: str
    team_role: str
    added_at: Instant


def care_team(clinic: Clinic, actor: Actor, patient_id: int) -> list[CareTeamMember]:
    def body(conn: Connection) -> list[CareTeamMember]:
        _read(clinic, conn, actor, patient_id, "care_team")
        return [CareTeamMember(**m) for m in records.care_team_of(conn, patient_id)]

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="care_team")


def _prepare_event(actor: Actor, data: object, *, allowed_types: frozenset[str] | None
                   ) -> Event:
    if not isinstance(data, dict):
        raise InputError("the event must be an object with at least 'at' and 'type'",
                         where="event")
    data = dict(data)
    etype = data.get("type")
    if allowed_types is not None and etype not in allowed_types:
        if etype in DEDICATED:
            raise InputError(f"a {etype} event is recorded through {DEDICATED[etype]}",
                             where="event.type")
        if etype == "correction" or isinstance(etype, str):
            raise InputError(f"a {etype} event cannot be appended here", where="event.type",
                             fix=f"use one of: {', '.join(sorted(allowed_types))}")
    if data.get("by") not in (None, actor.username):
        raise InputError("'by' is the logged-in user; leave it out", where="event.by")
    data["by"] = actor.username
    if not data.get("id"):
        data["id"] = new_event_id()
    return parse_event(data, where="event")


def new_event_id() -> str:
    return f"ev-{uuid.uuid4().hex[:16]}"


E = TypeVar("E", bound=Event)


def new_event(actor: Actor, at: datetime, kind: type[E], fields: Mapping[str, object], *,
              prefix: str = "") -> E:
    """A new event of ``kind`` by ``actor`` at ``at`` (with a fresh id) from its timeline v1
    ``fields``; a refusal names the field as ``prefix`` + field (``withdrawn``, not
    ``refill.withdrawn``)."""
    try:
        event = parse_event({"at": at.isoformat(), "type": kind.type, **fields,
                             "by": actor.username, "id": new_event_id()}, where=kind.type)
    except InputError as exc:
        field = (exc.where or "").removeprefix(kind.type).lstrip(".")
        raise type(exc)(exc.message, where=(prefix + field).rstrip(".") or None,
                        fix=exc.fix) from None
    assert isinstance(event, kind)
    return event


def add_event(clinic: Clinic, conn: Connection, actor: Actor, patient: Row, event: Event,
              expected_version: int | None, *, action: str,
              idempotency_key: str | None = None, triage: Mapping[str, object] | None = None,
              detail: str | None = None, request_digest: str | None = None) -> StoredEvent:
    """Append a parsed event inside the caller's transaction; return the stored event.

    An ``idempotency_key`` seen before returns the event stored then, but only for the same
    actor and the same request (``request_digest``, by default the event without its id);
    anything else is refused (422) rather than silently dropping the new data. ``triage``
    (a symptom report's triage summary) is kept with the stored projection."""
    patient_id = int(patient["id"])
    digest = None
    if idempotency_key is not None:
        digest = request_digest or digest_of(action, event_to_dict(event), exclude=("id",))
        earlier = event_store.event_by_idempotency_key(conn, patient_id, idempotency_key)
        if earlier is not None:
            if earlier["author"] != actor.username or (
                    earlier.get("request_digest") is not None
                    and earlier["request_digest"] != digest):
                raise InputError("this Idempotency-Key was already used for another request",
                                 where="Idempotency-Key",
                                 fix="use a new key for a new request; reuse a key only to "
                                     "retry the very same request")
            clinic.audit(conn, actor, action, outcome="replayed", entity="event",
                         entity_id=earlier["event_id"], patient_id=patient_id,
                         event_id=earlier["event_id"], detail="idempotent retry")
            return stored_event(earlier)
    data = event_to_dict(event)
    check_text_sizes(data, "event")
    version = int(patient["version"])
    if expected_version is None:
        expected_version = version
    if expected_version != version:
        raise ConflictError(f"the record changed: you saw version {expected_version}, "
                            f"it is now at version {version}", where="expected_version",
                            fix="reload the record and make your change again")
    now = clinic.now()
    if event.at - now > FUTURE_TOLERANCE:
        raise InputError("an event cannot be recorded ahead of time", where="event.at",
                         fix="record it when it has happened")
    base = build_timeline(patient, event_store.list_events(conn, patient_id))
    planned_at = plan_time(base.with_event(event) if event.type in PLAN_EVENTS else base, now)
    # the worklist's summary is projected as the chart projects (the site's twin settings)
    _, projected = project_new(base, event, planned_at, "event.", twin_settings(
        site_settings(conn, int(patient["site_id"]))))
    seq = version + 1
    try:
        _insert(conn, patient_id, seq, event, actor.username, now, idempotency_key, digest)
    except IntegrityError as exc:
        raise ConflictError("another change was recorded at the same time",
                            where="expected_version", fix="reload and try again") from exc
    if not records.set_patient_version(conn, patient_id, version, seq):
        raise ConflictError("another change was recorded at the same time",
                            where="expected_version", fix="reload and try again")
    _put_summary(conn, patient_id, projected, planned_at, seq, now, triage, event.at)
    clinic.audit(conn, actor, action, entity="event", entity_id=str(event.id),
                 patient_id=patient_id, event_id=str(event.id), field=event.type,
                 new_value=data, reason=event.reason, detail=detail)
    return StoredEvent(event, seq, now)


def _put_summary(conn: Connection, patient_id: int, projected: Projection | None,
                 planned_at: datetime, version: int, now: datetime,
                 triage: Mapping[str, object] | None = None, reported_at: datetime | None = None
                 ) -> None:
    """Store the worklist's summary of a projection; the last symptom report's ``triage``
    (made at ``reported_at``) replaces the one kept, otherwise the kept one stays."""
    previous = event_store.get_projection(conn, patient_id)
    urgency = int(previous["triage_urgency"]) if previous else 0
    triage_at = previous["triage_at"] if previous else None
    last_triage = (previous["data"] or {}).get("last_triage") if previous else None
    if triage is not None:
        rank = triage.get("rank")
        urgency, triage_at, last_triage = rank if isinstance(rank, int) else 0, reported_at, triage
    event_store.put_projection(conn, patient_id, summary_of(
        projected, planned_at, version, now, urgency, triage_at, last_triage))


def resummarise_site(conn: Connection, site_id: int, now: datetime) -> int:
    """Project every patient of a site again and store the summaries (after the site's twin
    settings changed, so the worklist keeps agreeing with the charts); returns how many."""
    settings = twin_settings(site_settings(conn, site_id))
    patients_ = records.patients_of_site(conn, site_id)
    for patient in patients_:
        record = build_timeline(patient, event_store.list_events(conn, int(patient["id"])))
        planned_at = plan_time(record, now)
        _put_summary(conn, int(patient["id"]), projection_of(record, planned_at, settings),
                     planned_at, int(patient["version"]), now)
    return len(patients_)


def _insert(conn: Connection, patient_id: int, seq: int, event: Event, author: str,
            now: datetime, idempotency_key: str | None = None, digest: str | None = None
            ) -> None:
    """Store one event and keep the implants table in step with it."""
    event_store.insert_event(
        conn, patient_id=patient_id, seq=seq, data=event_to_dict(event), event_id=str(event.id),
        type_=event.type, at=event.at, author=author, reason=event.reason,
        corrects=event.corrects if isinstance(event, Correction) else None, recorded_at=now,
        idempotency_key=idempotency_key, request_digest=digest)
    _keep_implant_rows(conn, patient_id, event)


def _keep_implant_rows(conn: Connection, patient_id: int, event: Event) -> None:
    """The implants table follows an implant, a pump replacement (same catheter), a catheter
    revision, and a corrected implant, pump replacement or catheter revision (the chart
    header and the implant card read it)."""
    if isinstance(event, Implant | ReplacePump):
        catheter = event.catheter if isinstance(event, Implant) else None
        records.add_implant(conn, patient_id=patient_id, event_id=str(event.id),
                            pump_model=event.pump, pump_serial=event.serial,
                            catheter_model=catheter.model if catheter else None,
                            catheter_length_cm=catheter.length_cm if catheter else None,
                            implanted_at=event.at)
    target = event.event if isinstance(event, Correction) else event
    corrects = event.corrects if isinstance(event, Correction) else None
    if isinstance(target, CatheterRevision) and target.catheter is not None:
        records.update_implant(conn, patient_id, None, catheter_model=target.catheter.model,
                               catheter_length_cm=target.catheter.length_cm)
    elif isinstance(event, ReplacePump):
        # a new pump on the same catheter: the row just added carries the catheter on
        rows = records.implants_of(conn, patient_id)
        if len(rows) >= 2 and rows[-1]["catheter_model"] is None:
            records.update_implant(conn, patient_id, None,
                                   catheter_model=rows[-2]["catheter_model"],
                                   catheter_length_cm=rows[-2]["catheter_length_cm"])
    elif corrects and isinstance(target, Implant | ReplacePump):
        catheter = target.catheter if isinstance(target, Implant) else None
        records.update_implant(conn, patient_id, corrects, pump_model=target.pump,
                               pump_serial=target.serial, implanted_at=target.at,
                               **({"catheter_model": catheter.model,
                                   "catheter_length_cm": catheter.length_cm} if catheter else {}))


def digest_of(action: str, payload: object, *, exclude: tuple[str, ...] = ()) -> str:
    """SHA-256 of a request's canonical JSON (what an idempotency key is bound to)."""
    if isinstance(payload, dict):
        payload = {k: v for k, v in payload.items() if k not in exclude}
    text = json.dumps([action, payload], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_text_sizes(data: object, where: str) -> None:
    """Every text in an event is at most :data:`MAX_TEXT` characters (web and API alike)."""
    if isinstance(data, str):
        if len(data) > MAX_TEXT:
            raise InputError(f"at most {MAX_TEXT} characters here (this has {len(data)})",
                             where=where, fix="shorten the text")
    elif isinstance(data, dict):
        for key, value in data.items():
            check_text_sizes(value, f"{where}.{key}")
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            check_text_sizes(value, f"{where}[{i}]")


def append_event(clinic: Clinic, actor: Actor, patient_id: int, event: object,
                 expected_version: int, *, idempotency_key: str | None = None
                 ) -> StoredEvent:
    """Append one event, given as its timeline v1 mapping (not refill/program/symptoms:
    those have their own use case)."""
    digest = digest_of("timeline.append", {"event": event,
                                           "expected_version": expected_version})

    def body(conn: Connection) -> StoredEvent:
        patient = authz.patient_for(conn, actor, authz.APPEND, patient_id)
        parsed = _prepare_event(actor, event, allowed_types=GENERIC_TYPES)
        if isinstance(parsed, Correction) and parsed.event is not None \
                and parsed.event.type in DEDICATED:
            raise InputError(f"correct a {parsed.event.type} event through "
                             f"{DEDICATED[parsed.event.type]}", where="event.event.type")
        return add_event(clinic, conn, actor, patient, parsed, expected_version,
                         action="timeline.append", idempotency_key=idempotency_key,
                         request_digest=digest)

    return clinic.run(actor, "timeline.append", body, patient_id=patient_id, entity="event")


# ------------------------------------------------------------------ chart

@dataclass(frozen=True)
class ImplantRecord:
    """A pump and its catheter as the implants table keeps them (the header, the card)."""

    event_id: str
    pump_model: str
    pump_name: str
    pump_serial: str | None
    catheter_model: str | None
    catheter_length_cm: float | None
    implanted_at: Instant

    @classmethod
    def of(cls, row: Row) -> ImplantRecord:
        from thecal.service.home import pump_name

        return cls(row["event_id"], row["pump_model"], pump_name(str(row["pump_model"])),
                   row["pump_serial"], row["catheter_model"], row["catheter_length_cm"],
                   row["implanted_at"])

    @property
    def catheter(self) -> str:
        """The catheter in words: model and length (empty when none is recorded)."""
        length = f", {self.catheter_length_cm:g} cm" if self.catheter_length_cm else ""
        return f"{self.catheter_model}{length}" if self.catheter_model else ""


@dataclass(frozen=True)
class OpenProposal:
    """A proposal waiting on the record: a program to confirm, a refill's second signature."""

    id: int
    kind: str
    created_at: Instant
    expires_at: Instant
    proposed_by: int
    summary: str | None


@dataclass(frozen=True)
class Chart:
    """What a patient page shows, read in one transaction; ``twin`` is the projection at
    ``at``."""

    patient: Patient
    events: tuple[StoredEvent, ...]
    at: datetime
    twin: Projection | None
    # the triage summary stored with the last symptom report (JSON, as advice wrote it)
    last_triage: Mapping[str, object] | None
    care_team: tuple[CareTeamMember, ...]
    implants: tuple[ImplantRecord, ...]
    pending: tuple[OpenProposal, ...]
    medicines: Medicines
    banner_cases: tuple[Case, ...]  # emergency cases not yet acknowledged

    @property
    def version(self) -> int:
        return self.patient.version

    @property
    def assessments(self) -> tuple[StoredEvent, ...]:
        """The assessments in force, as the record now reads (``Timeline.effective_events``):
        a corrected assessment carries the correction's values under its own id (stored with
        the correction's ``seq`` and ``recorded_at``); the version it replaced is left out.
        The history (``events``) keeps both."""
        fixes = {e.event.corrects: e for e in self.events
                 if isinstance(e.event, Correction) and e.event.event is not None}
        in_force = []
        for e in self.events:
            fix = fixes.get(str(e.event.id)) if not isinstance(e.event, Correction) else None
            if fix is not None:
                assert isinstance(fix.event, Correction) and fix.event.event is not None
                e = StoredEvent(dataclasses.replace(fix.event.event, id=e.event.id), fix.seq,
                                fix.recorded_at)
            if isinstance(e.event, Assessment):
                in_force.append(e)
        return tuple(sorted(in_force, key=lambda e: (e.event.at, e.seq)))

    def as_dict(self) -> dict[str, object]:
        """The API's chart: the stored events as JSON, the projection as ``thecal twin --json``
        and the last symptom report with the triage it got."""
        stored = [e for e in self.events if e.event.type == "symptoms"]
        reports: list[StoredEvent | dict[str, object]] = list(stored)
        if stored and self.last_triage is not None:
            reports[-1] = {**stored[-1].as_dict(), "triage": dict(self.last_triage)}
        return {"patient": self.patient, "version": self.version, "events": self.events,
                "projection": projection_json(self.twin, self.at),
                "assessments": self.assessments,
                "symptom_reports": reports, "care_team": list(self.care_team),
                "implants": list(self.implants), "pending": list(self.pending)}


def patient_chart(clinic: Clinic, actor: Actor, patient_id: int,
                  at: datetime | None = None) -> Chart:
    from thecal.service.cases import banner_cases_in
    from thecal.service.medicines import medicines_in

    def body(conn: Connection) -> Chart:
        patient = _read(clinic, conn, actor, patient_id, "chart")
        rows = event_store.list_events(conn, patient_id)
        when = at or clinic.now()
        summary = event_store.get_projection(conn, patient_id)
        pending = tuple(OpenProposal(p["id"], p["kind"], p["created_at"], p["expires_at"],
                                     p["proposed_by"], p["payload"].get("summary"))
                        for p in auth_store.open_pending_for(conn, patient_id)
                        if p["expires_at"] > clinic.now())
        implants = tuple(ImplantRecord.of(i) for i in records.implants_of(conn, patient_id))
        return Chart(
            Patient.of(patient), tuple(stored_event(r) for r in rows), when,
            project_record(conn, patient, rows, when),
            (summary["data"] or {}).get("last_triage") if summary else None,
            tuple(CareTeamMember(**m) for m in records.care_team_of(conn, patient_id)),
            implants, pending, medicines_in(conn, patient_id),
            tuple(banner_cases_in(conn, patient_id, str(patient["display_name"]))))

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="chart")


def _import_in(clinic: Clinic, conn: Connection, actor: Actor, patient: Row,
               event_dicts: Sequence[Mapping[str, object]], action: str) -> int:
    patient_id = int(patient["id"])
    if int(patient["version"]) != 0:
        raise ConflictError("import needs an empty timeline", where="patient_id")
    parsed = tuple(parse_event({**raw, "id": raw.get("id") or new_event_id(),
                                "by": raw.get("by") or actor.username}, i)
                   for i, raw in enumerate(event_dicts))
    timeline_ = Timeline(build_timeline(patient, []).patient, parsed)
    validate(timeline_)
    now = clinic.now()
    planned_at = plan_time(timeline_, now)
    projected = projection_of(timeline_, planned_at, twin_settings(
        site_settings(conn, int(patient["site_id"]))))
    for seq, event in enumerate(parsed, start=1):
        _insert(conn, patient_id, seq, event, str(event.by), now)
    version = len(parsed)
    # one write, one audit row: the imported events are listed by id and type
    clinic.audit(conn, actor, action, entity="timeline", entity_id=str(patient_id),
                 patient_id=patient_id, field="events",
                 new_value=[[str(e.id), e.type, e.at.isoformat()] for e in parsed],
                 detail=f"{version} events imported")
    if not records.set_patient_version(conn, patient_id, 0, version):
        raise ConflictError("the record changed during the import", where="patient_id")
    event_store.put_projection(conn, patient_id,
                               summary_of(projected, planned_at, version, now))
    return version


def import_events(clinic: Clinic, actor: Actor, patient_id: int,
                  event_dicts: Sequence[Mapping[str, object]], *,
                  action: str = "timeline.import") -> int:
    """Append a whole history to an empty timeline in one transaction (demo, migration).

    The timeline is validated and projected once as a whole; each event gets its audit row.
    Returns the new version. Refill and program events are accepted here: use it only for
    records that were already confirmed elsewhere (the ``actor`` is the one vouching).
    """
    def body(conn: Connection) -> int:
        patient = authz.patient_for(conn, actor, authz.APPEND, patient_id)
        return _import_in(clinic, conn, actor, patient, event_dicts, action)

    return clinic.run(actor, action, body, patient_id=patient_id, entity="timeline")


def import_patients(clinic: Clinic, actor: Actor,
                    items: Sequence[tuple[Mapping[str, object],
                                          Sequence[Mapping[str, object]]]], *,
                    action: str = "timeline.import") -> list[int]:
    """Create patients with their histories, all in one transaction; return their ids."""
    def body(conn: Connection) -> list[int]:
        authz.require(actor, authz.CREATE)
        ids: list[int] = []
        for data, event_dicts in items:
            row = _register_in(clinic, conn, actor, data)
            _import_in(clinic, conn, actor, row, event_dicts, action)
            ids.append(int(row["id"]))
        return ids

    return clinic.run(actor, action, body, entity="timeline")
