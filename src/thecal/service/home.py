"""The patient's and caregiver's view of their pump: one read, everything the home pages show.

:func:`patient_home` gives the pump summary (next refill date, days of drug left, the
low-reservoir alarm date, whether the refill is overdue), the implant card, the recovery
checklist and the clinic's contact, as typed results (the calendar feed:
:mod:`thecal.service.calendar`); :func:`alarm_meanings` and
:func:`symptom_vocabulary` are the fixed texts (``thecal.clinical``), no record read.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from thecal.catalog import pump_model
from thecal.clinical.alarms import ALARM_MEANINGS, AlarmMeaning
from thecal.clinical.procedures import implant_card_warnings
from thecal.clinical.projection import Projection
from thecal.clinical.recovery import recovery_checklist
from thecal.clinical.refill_due import refill_due_state
from thecal.clinical.symptoms import GROUP_PATIENT_WORDS, GROUPS, SYMPTOMS
from thecal.errors import CatalogError
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.cases import Contacts, contacts_of
from thecal.service.clinic import Clinic
from thecal.service.results import (
    Checklist,
    ChecklistItem,
    ImplantCard,
    MyPump,
    PatientHome,
    Symptom,
)
from thecal.service.twin import build_timeline, projection_of, twin_settings
from thecal.store import events as event_store
from thecal.store import records
from thecal.units import format_number

__all__ = ["alarm_meanings", "patient_contacts", "patient_home", "pump_name",
           "symptom_vocabulary"]


def alarm_meanings() -> tuple[AlarmMeaning, ...]:
    """What the single-tone and two-tone alarms mean and what to do (M-PUMP)."""
    return ALARM_MEANINGS


def symptom_vocabulary() -> list[Symptom]:
    """Every symptom code with patient and clinician words, under the heading of its first
    group (for patients)."""
    return [Symptom(s.code, s.patient_words, s.clinician_words,
                    GROUP_PATIENT_WORDS.get(s.groups[0], GROUPS[s.groups[0]]))
            for s in SYMPTOMS.values()]


def pump_name(model_id: str) -> str:
    """The catalog's name of a pump model (the id when the catalog does not know it)."""
    try:
        model = pump_model(model_id)
    except CatalogError:
        return model_id
    name = getattr(model, "name", None)
    return str(name) if name else model_id


def patient_home(clinic: Clinic, actor: Actor, patient_id: int) -> PatientHome:
    """The home page of one patient (the patient, a linked caregiver, or staff)."""
    from thecal.service.pages import pump_header

    def body(conn: Connection) -> tuple[dict[str, object], list[dict[str, object]],
                                        dict[str, object], list[dict[str, object]]]:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        rows = event_store.list_events(conn, patient_id)
        site = records.get_site(conn, int(patient["site_id"])) or {}
        implants = records.implants_of(conn, patient_id)
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="home")
        return dict(patient), rows, dict(site), [dict(i) for i in implants]

    patient, rows, site, implants = clinic.run(actor, "patient.read", body,
                                               patient_id=patient_id, entity="home")
    now = clinic.now()
    settings = site.get("settings") or {}
    assert isinstance(settings, dict)
    twin = projection_of(build_timeline(patient, rows), now, twin_settings(settings))
    phone = str(settings.get("clinic_phone") or "")
    last = implants[-1] if implants else None
    card = _card(patient, last, twin, str(site.get("name") or ""), phone,
                 contacts_of(settings).emergency_number)
    header = pump_header(patient, twin, card.pump if card else "—",
                         card.catheter if card else "—")
    # days of drug left at the conservative edge (the pump running fast by its accuracy)
    days_left = twin.days_of_drug_left if twin is not None else None
    if days_left is None and header.empty_at is not None:
        days_left = max(0.0, (header.empty_at - now).total_seconds() / 86400)
    recovery: tuple[ChecklistItem, ...] = ()
    if card is not None and card.implanted_on is not None:
        recovery = tuple(ChecklistItem(
            item.code, item.patient,
            "done" if item.ends is not None and item.ends < now.date() else "todo",
            _span(item.starts, item.ends), item.source)
            for item in recovery_checklist(card.implanted_on))
    due = refill_due_state(header.refill_due_by, now, ZoneInfo(str(patient["timezone"])))
    return PatientHome(MyPump(header, days_left, alarm_meanings(), phone, due,
                              contacts_of(settings)), card,
                       Checklist("Recovery after implant", recovery))


def patient_contacts(clinic: Clinic, actor: Actor, patient_id: int) -> Contacts:
    """The numbers a patient's pages show (the clinic's, the emergency number, as ``tel:``
    links), from the settings of the patient's site; the patient is read as the actor may."""
    def body(conn: Connection) -> Contacts:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        site = records.get_site(conn, int(patient["site_id"])) or {}
        return contacts_of(site.get("settings"))

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="contacts")


def _card(patient: dict[str, object], last: dict[str, object] | None, twin: Projection | None,
          clinic_name: str, phone: str, emergency_number: str) -> ImplantCard | None:
    if last is None:
        return None
    implanted_at = last["implanted_at"]
    assert isinstance(implanted_at, datetime)
    conc = twin.state.concentration_mcg_per_ml if twin is not None else None
    catheter = str(last.get("catheter_model") or "")
    length = last.get("catheter_length_cm")
    if isinstance(length, float | int) and length:
        catheter += f", {format_number(float(length))} cm"
    born = patient.get("born")
    return ImplantCard(str(patient["display_name"]),
                       date.fromisoformat(str(born)) if born else None,
                       pump_name(str(last["pump_model"])), catheter, "baclofen",
                       f"{format_number(float(conc))} mcg/mL" if conc else "",
                       implanted_at.date(), clinic_name, phone,
                       tuple(implant_card_warnings(str(last["pump_model"]))), emergency_number)


def _span(start: date, end: date | None) -> str:
    return f"{start:%-d %b} – {end:%-d %b %Y}" if end else f"from {start:%-d %b %Y}"

