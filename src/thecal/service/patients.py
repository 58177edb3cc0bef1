"""Patients and their timelines: list, create, read (chart, timeline, projection), append.

Every read of a patient record adds an audit row (HIPAA audit controls, AU-4); every append
adds one with the new event as ``new_value``. Appends are optimistic: the caller passes the
version it read; a stale version is a :class:`~thecal.errors.ConflictError` (409, LD-2).
An ``idempotency_key`` makes a retried append return the event stored the first time (DU-4).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from thecal.clinical.projection import Projection, TwinSettings
from thecal.errors import ConflictError, InputError, PermissionDeniedError
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.twin import (
    PLAN_EVENTS,
    build_timeline,
    plan_time,
    project_new,
    project_timeline,
    projection_json,
    projection_of,
    summary_of,
    twin_settings,
)
from thecal.store import auth as auth_store
from thecal.store import events as event_store
from thecal.store import records
from thecal.timeline import (
    ETIOLOGIES,
    Event,
    Implant,
    ReplacePump,
    Timeline,
    event_to_dict,
    parse_event,
    validate,
)

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


def stored_event(row: dict[str, Any]) -> dict[str, Any]:
    """A stored event as the faces see it: the v1 dict plus its place in the record."""
    return {**row["data"], "seq": row["seq"], "recorded_at": row["recorded_at"].isoformat()}


# ------------------------------------------------------------------ patients

def _patient_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": int(row["id"]), "mrn": row["mrn"], "display_name": row["display_name"],
            "born": row["born"], "sex": row["sex"], "weight_kg": row["weight_kg"],
            "timezone": row["timezone"], "etiology": row["etiology"],
            "site_id": int(row["site_id"]), "version": int(row["version"])}


def _check_patient_data(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("mrn", "display_name", "born", "timezone", "etiology"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{key} is required", where=key)
        out[key] = value.strip()
    try:
        born = date.fromisoformat(out["born"])
    except ValueError:
        raise InputError(f"{out['born']!r} is not a date", where="born",
                         fix="write e.g. 1979-04-02") from None
    out["born"] = born.isoformat()
    try:
        ZoneInfo(out["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"{out['timezone']!r} is not an IANA time zone", where="timezone",
                         fix="write e.g. Europe/Berlin") from None
    if out["etiology"] not in ETIOLOGIES:
        raise InputError(f"unknown etiology {out['etiology']!r}", where="etiology",
                         fix=f"use one of: {', '.join(ETIOLOGIES)}")
    sex = data.get("sex")
    if sex is not None and sex not in ("female", "male", "other"):
        raise InputError(f"unknown sex {sex!r}", where="sex", fix="use female, male or other")
    out["sex"] = sex
    weight = data.get("weight_kg")
    if weight is not None:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not (
                1 <= float(weight) <= 400):
            raise InputError("weight_kg must be a number from 1 to 400", where="weight_kg")
        weight = float(weight)
    out["weight_kg"] = weight
    return out


def create_patient(clinic: Clinic, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """Register a patient at the actor's site (or ``data["site_id"]`` for system)."""
    def body(conn: Connection) -> dict[str, Any]:
        authz.require(actor, authz.CREATE)
        fields_ = _check_patient_data(data)
        site_id = data.get("site_id") if actor.role == "system" else actor.site_id
        if site_id is None:
            raise PermissionDeniedError("you belong to no site, so you cannot register patients",
                                        fix="ask an administrator to assign you a site")
        if records.get_site(conn, int(site_id)) is None:
            raise InputError(f"site {site_id} does not exist", where="site_id")
        if records.patient_by_mrn(conn, int(site_id), fields_["mrn"]) is not None:
            raise ConflictError(f"a patient with MRN {fields_['mrn']!r} exists at this site",
                                where="mrn", fix="open that patient's record instead")
        row = records.insert_patient(conn, site_id=int(site_id), at=clinic.now(), **fields_)
        clinic.audit(conn, actor, "patient.create", entity="patient", entity_id=str(row["id"]),
                     patient_id=int(row["id"]), new_value=fields_)
        return _patient_view(row)

    return clinic.run(actor, "patient.create", body, entity="patient")


def list_patients(clinic: Clinic, actor: Actor) -> list[dict[str, Any]]:
    """The patients the actor may see (own, linked, site and care team)."""
    def body(conn: Connection) -> list[dict[str, Any]]:
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
        return [_patient_view(r) for r in rows]

    return clinic.run(actor, "patient.list", body, entity="patient")


def get_patient(clinic: Clinic, actor: Actor, patient_id: int) -> dict[str, Any]:
    def body(conn: Connection) -> dict[str, Any]:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="patient")
        return _patient_view(patient)

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="patient")


# ------------------------------------------------------------------ timeline

@dataclass(frozen=True)
class TimelinePage:
    """A patient's stored events in append order and the version to append against."""

    patient_id: int
    version: int
    events: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"patient_id": self.patient_id, "version": self.version, "events": self.events}


def timeline(clinic: Clinic, actor: Actor, patient_id: int) -> TimelinePage:
    def body(conn: Connection) -> TimelinePage:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        rows = event_store.list_events(conn, patient_id)
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="timeline")
        return TimelinePage(patient_id, int(patient["version"]), [stored_event(r) for r in rows])

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="timeline")


def _site_twin_settings(conn: Connection, patient: dict[str, Any]) -> TwinSettings:
    site = records.get_site(conn, int(patient["site_id"])) if patient.get("site_id") else None
    return twin_settings((site or {}).get("settings") if site is not None else None)


def projection(clinic: Clinic, actor: Actor, patient_id: int,
               at: datetime | None = None) -> dict[str, Any]:
    """The twin's projection of the stored timeline at ``at`` (default: now)."""
    def body(conn: Connection) -> dict[str, Any]:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        rows = event_store.list_events(conn, patient_id)
        when = at or clinic.now()
        result = project_timeline(build_timeline(patient, rows), when,
                                  _site_twin_settings(conn, patient))
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="projection")
        return {"patient_id": patient_id, "version": int(patient["version"]), **result}

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="projection")


def care_team(clinic: Clinic, actor: Actor, patient_id: int) -> list[dict[str, Any]]:
    def body(conn: Connection) -> list[dict[str, Any]]:
        authz.patient_for(conn, actor, authz.READ, patient_id)
        team = records.care_team_of(conn, patient_id)
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="care_team")
        return [{**m, "added_at": m["added_at"].isoformat()} for m in team]

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="care_team")


def _prepare_event(actor: Actor, data: Any, *, allowed_types: frozenset[str] | None) -> Event:
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
        data["id"] = f"ev-{uuid.uuid4().hex[:16]}"
    return parse_event(data, where="event")


def append_in(clinic: Clinic, conn: Connection, actor: Actor, patient: dict[str, Any],
              event: Event, expected_version: int | None, *, action: str,
              idempotency_key: str | None = None, triage: dict[str, Any] | None = None,
              extra_audit: dict[str, Any] | None = None, request_digest: str | None = None
              ) -> dict[str, Any]:
    """Append a parsed event inside the caller's transaction; return the stored event.

    An ``idempotency_key`` seen before returns the event stored then, but only for the same
    actor and the same request (``request_digest``, by default the event without its id);
    anything else is refused (422) rather than silently dropping the new data."""
    patient_id = int(patient["id"])
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
    else:
        digest = None
    check_text_sizes(event_to_dict(event), "event")
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
    rows = event_store.list_events(conn, patient_id)
    base = build_timeline(patient, rows)
    planned_at = plan_time(base.with_event(event) if event.type in PLAN_EVENTS else base, now)
    _, projected, _ = project_new(base, event, planned_at, "event.")
    data = event_to_dict(event)
    seq = version + 1
    try:
        event_store.insert_event(
            conn, patient_id=patient_id, seq=seq, data=data, event_id=str(event.id),
            type_=event.type, at=event.at, author=actor.username, reason=event.reason,
            corrects=getattr(event, "corrects", None) or None, recorded_at=now,
            idempotency_key=idempotency_key, request_digest=digest)
    except IntegrityError as exc:
        raise ConflictError("another change was recorded at the same time",
                            where="expected_version", fix="reload and try again") from exc
    if not records.set_patient_version(conn, patient_id, version, seq):
        raise ConflictError("another change was recorded at the same time",
                            where="expected_version", fix="reload and try again")
    if isinstance(event, Implant | ReplacePump):
        catheter = event.catheter if isinstance(event, Implant) else None
        records.add_implant(conn, patient_id=patient_id, event_id=str(event.id),
                            pump_model=event.pump, pump_serial=event.serial,
                            catheter_model=catheter.model if catheter else None,
                            catheter_length_cm=catheter.length_cm if catheter else None,
                            implanted_at=event.at)
    previous = event_store.get_projection(conn, patient_id)
    urgency = int(previous["triage_urgency"]) if previous else 0
    triage_at = previous["triage_at"] if previous else None
    if triage is not None:
        urgency = int(triage.get("rank", 0))
        triage_at = event.at
        projected = {**projected, "last_triage": triage}
    elif previous and "last_triage" in (previous["data"] or {}):
        projected = {**projected, "last_triage": previous["data"]["last_triage"]}
    event_store.put_projection(conn, patient_id, summary_of(projected, seq, now, urgency,
                                                            triage_at))
    clinic.audit(conn, actor, action, entity="event", entity_id=str(event.id),
                 patient_id=patient_id, event_id=str(event.id), field=event.type,
                 new_value=data, reason=event.reason, **(extra_audit or {}))
    return {**data, "seq": seq, "recorded_at": now.isoformat()}


def digest_of(action: str, payload: Any, *, exclude: tuple[str, ...] = ()) -> str:
    """SHA-256 of a request's canonical JSON (what an idempotency key is bound to)."""
    if isinstance(payload, dict):
        payload = {k: v for k, v in payload.items() if k not in exclude}
    text = json.dumps([action, payload], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_text_sizes(data: Any, where: str) -> None:
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


def append_event(clinic: Clinic, actor: Actor, patient_id: int, event: dict[str, Any],
                 expected_version: int, *, idempotency_key: str | None = None
                 ) -> dict[str, Any]:
    """Append one event (not refill/program/symptoms: those have their own use case)."""
    digest = digest_of("timeline.append", {"event": event,
                                           "expected_version": expected_version})

    def body(conn: Connection) -> dict[str, Any]:
        patient = authz.patient_for(conn, actor, authz.APPEND, patient_id)
        parsed = _prepare_event(actor, event, allowed_types=GENERIC_TYPES)
        if parsed.type == "correction":
            target = getattr(parsed, "event", None)
            if target is not None and target.type in DEDICATED:
                raise InputError(f"correct a {target.type} event through "
                                 f"{DEDICATED[target.type]}", where="event.event.type")
        return append_in(clinic, conn, actor, patient, parsed, expected_version,
                         action="timeline.append", idempotency_key=idempotency_key,
                         request_digest=digest)

    return clinic.run(actor, "timeline.append", body, patient_id=patient_id, entity="event")


# ------------------------------------------------------------------ chart

@dataclass
class Chart:
    """What a patient page shows, read in one transaction."""

    patient: dict[str, Any]
    version: int
    events: list[dict[str, Any]]
    projection: dict[str, Any]
    assessments: list[dict[str, Any]] = field(default_factory=list)
    symptom_reports: list[dict[str, Any]] = field(default_factory=list)
    care_team: list[dict[str, Any]] = field(default_factory=list)
    implants: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    twin: Projection | None = field(default=None, compare=False, repr=False)  # typed
    # allergies, oral medicines, reconciliations due; emergency cases not yet acknowledged
    medicines: Any = None
    banner_cases: list[Any] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"patient": self.patient, "version": self.version, "events": self.events,
                "projection": self.projection, "assessments": self.assessments,
                "symptom_reports": self.symptom_reports, "care_team": self.care_team,
                "implants": self.implants, "pending": self.pending}


def patient_chart(clinic: Clinic, actor: Actor, patient_id: int,
                  at: datetime | None = None) -> Chart:
    def body(conn: Connection) -> Chart:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        rows = event_store.list_events(conn, patient_id)
        when = at or clinic.now()
        timeline_ = build_timeline(patient, rows)
        twin = projection_of(timeline_, when, _site_twin_settings(conn, patient))
        projected = projection_json(twin, when)
        summary = event_store.get_projection(conn, patient_id)
        last_triage = (summary["data"] or {}).get("last_triage") if summary else None
        events = [stored_event(r) for r in rows]
        corrected = {e.get("corrects") for e in events if e.get("type") == "correction"}
        assessments = [e for e in events if e["type"] == "assessment" and e["id"] not in corrected]
        reports = [dict(e) for e in events if e["type"] == "symptoms"]
        if reports and last_triage is not None:
            reports[-1]["triage"] = last_triage
        pending = [{"id": p["id"], "kind": p["kind"], "created_at": p["created_at"].isoformat(),
                    "expires_at": p["expires_at"].isoformat(), "proposed_by": p["proposed_by"],
                    "summary": p["payload"].get("summary")}
                   for p in auth_store.open_pending_for(conn, patient_id)
                   if p["expires_at"] > clinic.now()]
        from thecal.service.home import pump_name

        implants = [{**i, "implanted_at": i["implanted_at"].isoformat(),
                     "pump_name": pump_name(str(i["pump_model"]))}
                    for i in records.implants_of(conn, patient_id)]
        team = [{**m, "added_at": m["added_at"].isoformat()}
                for m in records.care_team_of(conn, patient_id)]
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="chart")
        from thecal.service.cases import banner_cases_in
        from thecal.service.medicines import medicines_in

        return Chart(patient=_patient_view(patient), version=int(patient["version"]),
                     events=events, projection=projected, assessments=assessments,
                     symptom_reports=reports, care_team=team, implants=implants,
                     pending=pending, twin=twin, medicines=medicines_in(conn, patient_id),
                     banner_cases=banner_cases_in(conn, patient_id,
                                                  str(patient["display_name"])))

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="chart")


def _import_in(clinic: Clinic, conn: Connection, actor: Actor, patient: dict[str, Any],
               event_dicts: list[dict[str, Any]], action: str) -> int:
    patient_id = int(patient["id"])
    if int(patient["version"]) != 0:
        raise ConflictError("import needs an empty timeline", where="patient_id")
    parsed = []
    for i, raw in enumerate(event_dicts):
        data = {**raw, "id": raw.get("id") or f"ev-{uuid.uuid4().hex[:16]}",
                "by": raw.get("by") or actor.username}
        parsed.append(parse_event(data, i))
    timeline_ = Timeline(build_timeline(patient, []).patient, tuple(parsed))
    validate(timeline_)
    now = clinic.now()
    projected = project_timeline(timeline_, plan_time(timeline_, now))
    for seq, event in enumerate(parsed, start=1):
        event_store.insert_event(
            conn, patient_id=patient_id, seq=seq, data=event_to_dict(event),
            event_id=str(event.id), type_=event.type, at=event.at, author=str(event.by),
            reason=event.reason, corrects=getattr(event, "corrects", None) or None,
            recorded_at=now, idempotency_key=None)
        if isinstance(event, Implant | ReplacePump):
            catheter = event.catheter if isinstance(event, Implant) else None
            records.add_implant(conn, patient_id=patient_id, event_id=str(event.id),
                                pump_model=event.pump, pump_serial=event.serial,
                                catheter_model=catheter.model if catheter else None,
                                catheter_length_cm=catheter.length_cm if catheter else None,
                                implanted_at=event.at)
    version = len(parsed)
    # one write, one audit row: the imported events are listed by id and type
    clinic.audit(conn, actor, action, entity="timeline", entity_id=str(patient_id),
                 patient_id=patient_id, field="events",
                 new_value=[[str(e.id), e.type, e.at.isoformat()] for e in parsed],
                 detail=f"{version} events imported")
    if not records.set_patient_version(conn, patient_id, 0, version):
        raise ConflictError("the record changed during the import", where="patient_id")
    event_store.put_projection(conn, patient_id, summary_of(projected, version, now))
    return version


def import_events(clinic: Clinic, actor: Actor, patient_id: int,
                  event_dicts: list[dict[str, Any]], *, action: str = "timeline.import"
                  ) -> int:
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
                    items: list[tuple[dict[str, Any], list[dict[str, Any]]]], *,
                    action: str = "timeline.import") -> list[int]:
    """Create patients with their histories, all in one transaction; return their ids."""
    def body(conn: Connection) -> list[int]:
        authz.require(actor, authz.CREATE)
        ids: list[int] = []
        for data, event_dicts in items:
            fields_ = _check_patient_data(data)
            site_id = data.get("site_id") if actor.role == "system" else actor.site_id
            if site_id is None or records.get_site(conn, int(site_id)) is None:
                raise InputError("the patients need an existing site", where="site_id")
            row = records.insert_patient(conn, site_id=int(site_id), at=clinic.now(),
                                         **fields_)
            clinic.audit(conn, actor, "patient.create", entity="patient",
                         entity_id=str(row["id"]), patient_id=int(row["id"]),
                         new_value=fields_)
            _import_in(clinic, conn, actor, row, event_dicts, action)
            ids.append(int(row["id"]))
        return ids

    return clinic.run(actor, action, body, entity="timeline")
