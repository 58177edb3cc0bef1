"""The patient's and caregiver's view of their pump: one read, everything the home pages show.

:func:`patient_home` gives the pump summary (next refill date, days of drug left, the
low-reservoir alarm date), the implant card, the recovery checklist, the refill appointments
for a calendar and the clinic's contact; :func:`alarm_meanings` and
:func:`symptom_vocabulary` are the fixed texts (``thecal.clinical``), no record read.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from thecal.catalog import pump_model
from thecal.clinical.alarms import ALARM_MEANINGS
from thecal.clinical.procedures import implant_card_text
from thecal.clinical.recovery import recovery_checklist
from thecal.clinical.symptoms import GROUP_PATIENT_WORDS, GROUPS, SYMPTOMS
from thecal.errors import CatalogError
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.twin import build_timeline, project_timeline, twin_settings
from thecal.store import events as event_store
from thecal.store import records
from thecal.units import format_number

APPOINTMENT_MINUTES = 30


def alarm_meanings() -> list[dict[str, Any]]:
    """What the single-tone and two-tone alarms mean and what to do (M-PUMP)."""
    return [a.as_dict() for a in ALARM_MEANINGS]


def symptom_vocabulary() -> list[dict[str, Any]]:
    """Every symptom code with patient and clinician words, grouped under its first group.

    ``group`` is the code of the group, ``group_words`` its heading for patients.
    """
    return [{**s.as_dict(), "group": s.groups[0],
             "group_words": GROUP_PATIENT_WORDS.get(s.groups[0], GROUPS[s.groups[0]])}
            for s in SYMPTOMS.values()]


def pump_name(model_id: str) -> str:
    """The catalog's name of a pump model (the id when the catalog does not know it)."""
    try:
        model = pump_model(model_id)
    except CatalogError:
        return model_id
    name = getattr(model, "name", None)
    return str(name) if name else model_id


def patient_home(clinic: Clinic, actor: Actor, patient_id: int) -> dict[str, Any]:
    """The home page of one patient (the patient, a linked caregiver, or staff)."""
    def body(conn: Connection) -> dict[str, Any]:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        rows = event_store.list_events(conn, patient_id)
        site = records.get_site(conn, int(patient["site_id"])) or {}
        implants = records.implants_of(conn, patient_id)
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="home")
        return {"patient": dict(patient), "rows": rows, "site": dict(site),
                "implants": [dict(i) for i in implants]}

    read = clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="home")
    patient, site, implants = read["patient"], read["site"], read["implants"]
    now = clinic.now()
    timeline = build_timeline(patient, read["rows"])
    settings = site.get("settings") or {}
    projection = project_timeline(timeline, now, twin_settings(settings))
    pump = projection.get("pump") or {}
    phone = str(settings.get("clinic_phone") or "")
    location = str(settings.get("clinic_location") or site.get("name") or "")
    empty_at = _dt(projection.get("empty_at"))
    # Days of drug left at the conservative edge (the pump running fast by its accuracy).
    days_left = projection.get("days_of_drug_left")
    if days_left is None and empty_at is not None:
        days_left = max(0.0, (empty_at - now).total_seconds() / 86400)
    last = implants[-1] if implants else None
    implanted_on = last["implanted_at"].date() if last else None
    conc = pump.get("concentration_mcg_per_ml")
    concentration = f"{format_number(float(conc))} mcg/mL" if conc else ""
    card = None
    if last:
        text = implant_card_text(str(last["pump_model"]), implant_date=implanted_on,
                                 concentration=concentration or None,
                                 clinic_phone=phone or None)
        catheter = str(last.get("catheter_model") or "")
        if last.get("catheter_length_cm"):
            catheter += f", {format_number(float(last['catheter_length_cm']))} cm"
        card = {"pump": pump_name(str(last["pump_model"])), "pump_id": last["pump_model"],
                "serial": last.get("pump_serial"), "catheter": catheter,
                "implanted_on": implanted_on.isoformat() if implanted_on else None,
                "drug": "baclofen", "concentration": concentration,
                "clinic": str(site.get("name") or ""), "clinic_phone": phone,
                "lines": text.splitlines()}
    recovery = []
    if implanted_on is not None:
        for item in recovery_checklist(implanted_on):
            done = item.ends is not None and item.ends < now.date()
            recovery.append({**item.as_dict(), "starts": item.starts.isoformat(),
                             "ends": item.ends.isoformat() if item.ends else None,
                             "status": "done" if done else "todo"})
    return {
        "patient": {k: patient[k] for k in ("id", "display_name", "born", "etiology",
                                            "timezone")},
        "pump": pump, "projection": projection, "days_of_drug_left": days_left,
        "refill_due_by": projection.get("refill_due_by"),
        "low_reservoir_alarm_at": projection.get("low_reservoir_alarm_at"),
        "empty_at": projection.get("empty_at"),
        "alarms": alarm_meanings(), "clinic_phone": phone, "clinic_location": location,
        "implant_card": card, "recovery": recovery,
        "appointments": _appointments(patient, projection, location, phone),
    }


def _dt(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _appointments(patient: dict[str, Any], projection: dict[str, Any], location: str,
                  phone: str) -> list[dict[str, Any]]:
    """Calendar entries: the day the refill is due by and the day the alarm is expected."""
    out = []
    due = _dt(projection.get("refill_due_by"))
    alarm = _dt(projection.get("low_reservoir_alarm_at"))
    call = f" Call {phone} to book." if phone else " Call the clinic to book."
    if due is not None:
        zone = ZoneInfo(str(patient["timezone"]))
        day: date = due.astimezone(zone).date()
        start = datetime.combine(day, time(9, 0), tzinfo=zone)
        out.append({"uid": f"refill-{patient['id']}-{day.isoformat()}@thecal",
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(minutes=APPOINTMENT_MINUTES)).isoformat(),
                    "title": "Baclofen pump refill due",
                    "location": location,
                    "description": f"The pump must be refilled by {day:%a %-d %b %Y}." + call})
    if alarm is not None:
        out.append({"uid": f"alarm-{patient['id']}-{alarm.date().isoformat()}@thecal",
                    "starts_at": alarm.isoformat(),
                    "ends_at": (alarm + timedelta(minutes=APPOINTMENT_MINUTES)).isoformat(),
                    "title": "Pump low-medicine alarm expected",
                    "location": "", "description": "The pump will beep (single tone) around "
                    "now if it has not been refilled." + call})
    return out
