"""The whole record from the clinic's pages: register a patient, record an implant, a pump
replacement, a catheter revision, an MRI, a bolus or an interrogation (with the pump's
readings), and correct an event.

Each form is parsed here into the timeline's own event mapping and handed to the existing use
cases (``service.register_patient``, ``service.append_event``,
``service.record_interrogation``); the rules and the messages come from them, and a refused
field is shown beside that field. Every record form carries the record version it was shown
at (:mod:`thecal.web.stale`): a stale one answers 409 with what changed since and the form as
it was sent, having saved nothing. A correction is a new event that names the event it
corrects (append-only: nothing is edited), and the history shows both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from thecal import service
from thecal.catalog import catheter_model, pump_model
from thecal.catalog.registry import CATHETERS, PUMPS
from thecal.errors import ConflictError, InputError, NotFoundError, ThecalError
from thecal.service import pages
from thecal.service.results import TimelineItem, User
from thecal.timeline import BATTERY_STATES, BOLUS_KINDS, ETIOLOGIES, PUMP_READ_STATES, event_to_dict
from thecal.web import stale
from thecal.web.rendering import render
from thecal.web.security import PageRoute, check_csrf, clinic_of, require_clinician

router = APIRouter(prefix="/clinic", route_class=PageRoute, include_in_schema=False)


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, words); empty: free text
    required: bool = False


@dataclass(frozen=True)
class RecordForm:
    kind: str  # the event type
    title: str
    fields: tuple[FormField, ...]


def _pump_choices() -> tuple[tuple[str, str], ...]:
    return tuple((p, str(getattr(pump_model(p), "name", p) or p)) for p in PUMPS)


def _catheter_choices() -> tuple[tuple[str, str], ...]:
    return tuple((c, str(getattr(catheter_model(c), "name", c) or c)) for c in CATHETERS)


_WHEN = FormField("at", "When it happened", "date and time in the patient's zone", (), True)
_NOTE = FormField("reason", "Note", "optional: why, or anything the record should say")
_CATHETER = (FormField("catheter_model", "Catheter", "", (), True),
             FormField("catheter_length_cm", "Catheter length (cm)", "e.g. 52", (), True))
_ALARM_VOLUME = FormField("low_reservoir_alarm", "Low-reservoir alarm volume",
                          "optional, with its unit, e.g. 2 mL")

FORMS: Final[dict[str, RecordForm]] = {
    "implant": RecordForm("implant", "Implant", (
        _WHEN, FormField("pump", "Pump", "", (), True), FormField("serial", "Pump serial number"),
        *_CATHETER, _ALARM_VOLUME, _NOTE)),
    "replace-pump": RecordForm("replace-pump", "Pump replacement", (
        _WHEN, FormField("pump", "New pump", "", (), True),
        FormField("serial", "New pump's serial number"), _ALARM_VOLUME, _NOTE)),
    "catheter-revision": RecordForm("catheter-revision", "Catheter revision", (
        _WHEN, *_CATHETER, _NOTE)),
    "mri": RecordForm("mri", "MRI", (
        _WHEN, FormField("duration", "Time in the scanner", "with its unit, e.g. 45 min", (),
                         True), _NOTE)),
    "bolus": RecordForm("bolus", "Bolus", (
        _WHEN, FormField("kind", "Kind of bolus", "", tuple((k, k) for k in BOLUS_KINDS), True),
        FormField("dose", "Dose", "with its unit, e.g. 50 mcg (clinician and patient boluses)"),
        FormField("duration", "Duration", "with its unit, e.g. 30 min (clinician bolus)"),
        FormField("volume", "Volume", "optional, with its unit, e.g. 0.2 mL"), _NOTE)),
    "interrogation": RecordForm("interrogation", "Interrogation (the pump's readings)", (
        _WHEN,
        FormField("reservoir", "Reservoir volume the pump shows", "with its unit, e.g. 12.3 mL"),
        FormField("daily_dose", "24-hour dose the pump shows", "e.g. 300 mcg/day"),
        FormField("concentration", "Concentration the pump was told", "e.g. 2000 mcg/mL"),
        FormField("alarm_date", "The pump's low-reservoir alarm date", "date and time"),
        FormField("alarms", "Alarms the pump reports", "comma-separated, as the pump words them"),
        FormField("battery", "Battery", "", (("", "not read"),
                                             *((b, b.upper()) for b in BATTERY_STATES))),
        FormField("pump_state", "Pump state", "", (("", "not read"),
                                                   *((s, s) for s in PUMP_READ_STATES))))),
}
_DATETIME_FIELDS: Final = frozenset({"at", "alarm_date"})


def form_of(kind: str) -> RecordForm:
    form = FORMS.get(kind)
    if form is None:
        raise NotFoundError(f"no record form {kind!r}", fix=f"use one of: {', '.join(FORMS)}")
    fields = []
    for f in form.fields:
        if f.name == "pump":
            f = FormField(f.name, f.label, f.hint, _pump_choices(), f.required)
        elif f.name == "catheter_model":
            f = FormField(f.name, f.label, f.hint, _catheter_choices(), f.required)
        fields.append(f)
    return RecordForm(form.kind, form.title, tuple(fields))


# --- parsing a form into an event -----------------------------------------------------------

def _local(value: str, zone: ZoneInfo, name: str) -> str:
    """``2026-12-01T09:30`` (a datetime-local field) in ``zone`` → ISO 8601 with offset."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{value!r} is not a date and time", where=name,
                         fix="write e.g. 2026-12-01T09:30") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.isoformat()


def event_from_form(kind: str, values: dict[str, str], zone: ZoneInfo) -> dict[str, object]:
    """The timeline v1 mapping of a filled-in record form (empty fields left out).

    Form completeness is checked here (a required field left empty); everything else —
    units, ranges, catalog ids, a bolus's dose — is the timeline's and the service's to refuse.
    """
    form = form_of(kind)
    for f in form.fields:
        if f.required and not values.get(f.name, "").strip():
            raise InputError(f"{f.label} is required", where=f.name)
    event: dict[str, object] = {"type": kind}
    for f in form.fields:
        value = values.get(f.name, "").strip()
        if not value or f.name.startswith("catheter_"):
            continue
        if f.name in _DATETIME_FIELDS:
            event[f.name] = _local(value, zone, f.name)
        elif f.name == "alarms":
            event["alarms"] = [a.strip() for a in value.split(",") if a.strip()]
        else:
            event[f.name] = value
    if "catheter_model" in values and any(f.name == "catheter_model" for f in form.fields):
        length = values.get("catheter_length_cm", "").strip()
        try:
            length_cm = float(length)
        except ValueError:
            raise InputError(f"{length!r} is not a length in cm", where="catheter_length_cm",
                             fix="write a number of centimetres, e.g. 52") from None
        event["catheter"] = {"model": values["catheter_model"].strip(), "length_cm": length_cm}
    return event


def values_from_event(event: Mapping[str, object], zone: ZoneInfo) -> dict[str, str]:
    """A stored event as the values of its record form (for a correction)."""
    out: dict[str, str] = {}
    for key, value in event.items():
        if key in _DATETIME_FIELDS and value:
            out[key] = datetime.fromisoformat(str(value)).astimezone(zone).strftime(
                "%Y-%m-%dT%H:%M")
        elif key == "catheter" and isinstance(value, dict):
            out["catheter_model"] = str(value.get("model", ""))
            out["catheter_length_cm"] = f"{float(value.get('length_cm', 0)):g}"
        elif key == "alarms" and isinstance(value, list):
            out["alarms"] = ", ".join(str(a) for a in value)
        elif value is not None and not isinstance(value, (dict, list)):
            out[key] = str(value)
    return out


def field_of(exc: ThecalError, names: set[str]) -> str:
    """The form field a refusal names (``event.catheter.length_cm`` → ``catheter_length_cm``)."""
    where = (exc.where or "").removeprefix("event.").removeprefix("event.")
    parts = [p for p in where.split(".") if p]
    if parts and parts[0] == "catheter":
        return "catheter_length_cm" if "length" in (exc.message + where) else "catheter_model"
    for part in parts:
        if part in names:
            return part
    return "_"


def words(exc: ThecalError) -> str:
    """A refusal in words beside its field (the field's own label says where)."""
    return f"{exc.message} — {exc.fix}" if exc.fix else exc.message


# --- reading the record ---------------------------------------------------------------------

def _zone(request: Request, user: User, patient_id: str) -> ZoneInfo:
    name = service.display_timezone(clinic_of(request), user.actor,
                                    pages.patient_id_of(patient_id))
    request.state.display_zone = name
    return ZoneInfo(name)


@router.get("/patients/{patient_id}/record")
def record_page(request: Request, patient_id: str) -> Response:
    user = require_clinician(request)
    _zone(request, user, patient_id)
    chart = pages.chart(clinic_of(request), user, patient_id)
    return render(request, "clinic/record.html", {
        "title": f"Record · {chart.header.name}", "h": chart.header, "forms": FORMS,
        "history": list(reversed(chart.timeline))})


# --- recording an event ---------------------------------------------------------------------

def _form(patient_id: str, kind: str, values: dict[str, str], errors: dict[str, str],
          corrects: TimelineItem | None = None) -> dict[str, object]:
    """What a record form shows: its fields, the values and errors, where it is sent."""
    return {"form": form_of(kind), "values": values, "errors": errors, "corrects": corrects,
            "action": (f"/clinic/patients/{patient_id}/events/{quote(corrects.event_id)}/correct"
                       if corrects else f"/clinic/patients/{patient_id}/record/{kind}")}


def _form_page(request: Request, user: User, patient_id: str, kind: str,
               values: dict[str, str], errors: dict[str, str], shown_version: int | None,
               *, status_code: int = 200, corrects: TimelineItem | None = None) -> Response:
    header = pages.chart(clinic_of(request), user, patient_id).header
    title = f"Correct {corrects.type}" if corrects else form_of(kind).title
    return render(request, "clinic/record_form.html", {
        **_form(patient_id, kind, values, errors, corrects), "title": f"{title} · {header.name}",
        "h": header, "shown_version": shown_version}, status_code=status_code)


def _conflict(request: Request, patient_id: str, kind: str, values: dict[str, str],
              shown: int | None, corrects: TimelineItem | None = None) -> Response:
    """409: what was recorded since, and the form again as it was sent (web.stale)."""
    what = f"correction of the {corrects.type}" if corrects else form_of(kind).title.lower()
    return stale.conflict_page(request, patient_id, shown, what,
                               f"/clinic/patients/{patient_id}/record",
                               _form(patient_id, kind, values, {}, corrects))


def _now_local(request: Request, zone: ZoneInfo) -> str:
    return clinic_of(request).now().astimezone(zone).strftime("%Y-%m-%dT%H:%M")


@router.get("/patients/{patient_id}/record/{kind}")
def record_form(request: Request, patient_id: str, kind: str) -> Response:
    user = require_clinician(request)
    form_of(kind)
    zone = _zone(request, user, patient_id)
    return _form_page(request, user, patient_id, kind, {"at": _now_local(request, zone)}, {},
                      None)


async def _posted(request: Request) -> tuple[dict[str, str], int | None]:
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    check_csrf(request, values.pop("csrf_token", ""))
    return values, stale.shown_version(values.pop("shown_version", ""))


@router.post("/patients/{patient_id}/record/{kind}")
async def record_send(request: Request, patient_id: str, kind: str) -> Response:
    user = require_clinician(request)
    form = form_of(kind)
    zone = _zone(request, user, patient_id)
    values, shown = await _posted(request)
    clinic = clinic_of(request)
    names = {f.name for f in form.fields}
    try:
        version = stale.check(request, patient_id, shown)
        event = event_from_form(kind, values, zone)
        if kind == "interrogation":
            at = datetime.fromisoformat(str(event.pop("at")))
            event.pop("type")
            event.pop("reason", None)
            outcome = service.record_interrogation(clinic, user.actor, int(patient_id),
                                                   readings=event, expected_version=version,
                                                   at=at)
            header = pages.chart(clinic, user, patient_id).header
            return render(request, "clinic/interrogation_done.html", {
                "title": f"Interrogation recorded · {header.name}", "h": header,
                "o": outcome})
        service.append_event(clinic, user.actor, int(patient_id), event, version)
    except ConflictError:
        return _conflict(request, patient_id, kind, values, shown)
    except InputError as exc:
        return _form_page(request, user, patient_id, kind, values,
                          {field_of(exc, names): words(exc)}, shown, status_code=422)
    return RedirectResponse(f"/clinic/patients/{patient_id}/record?saved={quote(kind)}",
                            status_code=303)


# --- correcting an event --------------------------------------------------------------------

def _target(request: Request, user: User, patient_id: str, event_id: str) -> TimelineItem:
    item = next((e for e in pages.chart(clinic_of(request), user, patient_id).timeline
                 if e.event_id == event_id), None)
    if item is None:
        raise NotFoundError(f"no event {event_id!r} on this record")
    if item.type not in FORMS or item.corrected_by:
        why = (f"it is corrected already (by {item.corrected_by}): correct that instead"
               if item.corrected_by else
               f"a {item.type} is corrected through its own page")
        raise InputError(f"this event cannot be corrected here: {why}", where="event_id")
    return item


@router.get("/patients/{patient_id}/events/{event_id}/correct")
def correct_form(request: Request, patient_id: str, event_id: str) -> Response:
    user = require_clinician(request)
    zone = _zone(request, user, patient_id)
    item = _target(request, user, patient_id, event_id)
    values = values_from_event(event_to_dict(item.event), zone)
    values["reason"] = ""
    return _form_page(request, user, patient_id, item.type, values, {}, None, corrects=item)


@router.post("/patients/{patient_id}/events/{event_id}/correct")
async def correct_send(request: Request, patient_id: str, event_id: str) -> Response:
    user = require_clinician(request)
    zone = _zone(request, user, patient_id)
    item = _target(request, user, patient_id, event_id)
    values, shown = await _posted(request)
    form = form_of(item.type)
    names = {f.name for f in form.fields} | {"correction_reason"}
    reason = values.pop("correction_reason", "").strip()
    if not reason:
        return _form_page(request, user, patient_id, item.type, values,
                          {"correction_reason": "Say why the event is corrected."}, shown,
                          status_code=422, corrects=item)
    clinic = clinic_of(request)
    try:
        version = stale.check(request, patient_id, shown)
        replacement = event_from_form(item.type, values, zone)
        correction = {"at": clinic.now().isoformat(), "type": "correction",
                      "corrects": event_id, "reason": reason, "event": replacement}
        service.append_event(clinic, user.actor, int(patient_id), correction, version)
    except ConflictError:
        return _conflict(request, patient_id, item.type, values, shown, corrects=item)
    except InputError as exc:
        return _form_page(request, user, patient_id, item.type, values,
                          {field_of(exc, names): words(exc)}, shown, status_code=422,
                          corrects=item)
    return RedirectResponse(f"/clinic/patients/{patient_id}/record?saved=correction"
                            f"#event-{quote(event_id)}", status_code=303)


# --- registering a patient ------------------------------------------------------------------

PATIENT_FIELDS: Final = (
    FormField("mrn", "Record number (MRN)", "unique at this site", (), True),
    FormField("display_name", "Name", "as the patient wants to be called", (), True),
    FormField("born", "Date of birth", "", (), True),
    FormField("sex", "Sex", "", (("", "not recorded"), ("female", "female"), ("male", "male"),
                                 ("other", "other"))),
    FormField("weight_kg", "Weight (kg)", "optional, e.g. 72"),
    FormField("timezone", "Time zone", "IANA name, e.g. Europe/Berlin", (), True),
    FormField("etiology", "Cause of the spasticity", "",
              tuple((e, e.replace("-", " ")) for e in ETIOLOGIES), True),
)


def _register_page(request: Request, values: dict[str, str], errors: dict[str, str],
                   status_code: int = 200) -> Response:
    return render(request, "clinic/register.html", {
        "title": "Register a patient", "fields": PATIENT_FIELDS, "values": values,
        "errors": errors}, status_code=status_code)


@router.get("/register")
def register_form(request: Request) -> Response:
    user = require_clinician(request)
    return _register_page(request, {"timezone": user.timezone}, {})


@router.post("/register")
async def register_send(request: Request) -> Response:
    user = require_clinician(request)
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items()}
    check_csrf(request, values.pop("csrf_token", ""))
    errors = {f.name: f"{f.label} is required" for f in PATIENT_FIELDS
              if f.required and not values.get(f.name)}
    data: dict[str, object] = {k: v for k, v in values.items() if v}
    if values.get("weight_kg"):
        try:
            data["weight_kg"] = float(values["weight_kg"])
        except ValueError:
            errors["weight_kg"] = "Write the weight as a number of kilograms, e.g. 72."
    if errors:
        return _register_page(request, values, errors, status_code=422)
    try:
        created = service.register_patient(clinic_of(request), user.actor, data)
    except (InputError, ConflictError) as exc:
        field = field_of(exc, {f.name for f in PATIENT_FIELDS})
        return _register_page(request, values, {field: words(exc)},
                              status_code=409 if isinstance(exc, ConflictError) else 422)
    return RedirectResponse(f"/clinic/patients/{created.id}/record?saved=patient",
                            status_code=303)
