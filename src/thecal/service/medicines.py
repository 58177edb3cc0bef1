"""Allergies, current oral antispasticity medicines and medication reconciliation.

The rules are in :mod:`thecal.clinical.medicines`. An allergy is recorded (or "no known
allergies" stated) by a clinician or nurse and shown on every chart header; a recorded
baclofen allergy answers the eligibility question (a contraindication, FDA-LAB). Oral
medicines are kept with their doses; an implant or pump replacement with no reconciliation
recorded after it shows "reconciliation due" on the chart (JARKMS20), and a hospital
admission is recorded as a reconciliation of its own.

Permissions: recording needs ``timeline.append`` (clinicians and nurses); reading needs
``patient.read``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import Field
from sqlalchemy import Connection

from thecal.clinical.medicines import (
    OCCASION_WORDS,
    ORAL_ANTISPASTICITY,
    AllergyFact,
    AllergyStatus,
    Occasion,
    ReconciliationDue,
    allergy_status,
    baclofen_allergy_recorded,
    check_substance,
    is_baclofen,
    parse_oral_dose,
    reconciliations_due,
)
from thecal.errors import InputError, NotFoundError
from thecal.limits import Reason
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.results import Instant
from thecal.store import cases as store
from thecal.store import events as event_store

__all__ = ["OCCASION_WORDS", "ORAL_ANTISPASTICITY", "Allergy", "DueReconciliation", "Medication", "Medicines",
           "Reconciliation", "medicines",
           "medicines_in", "record_allergy", "record_medication", "record_no_known_allergies",
           "record_reconciliation", "stop_medication"]


@dataclass(frozen=True)
class Allergy:
    allergy_id: int
    substance: str
    reaction: str
    recorded_at: Instant
    recorded_by: str
    contraindicates_itb: bool


@dataclass(frozen=True)
class Medication:
    medication_id: int
    drug: str
    drug_words: str
    dose: str
    times_per_day: int
    daily_dose_mg: float
    recorded_at: Instant
    recorded_by: str


@dataclass(frozen=True)
class Reconciliation:
    occasion: str
    occasion_words: str
    occasion_at: Instant
    at: Instant
    by: str
    medications: tuple[str, ...]
    notes: str


@dataclass(frozen=True)
class DueReconciliation:
    """An implant or pump replacement with no reconciliation after it (JARKMS20)."""

    occasion: Occasion
    at: Instant
    reason: Reason

    @classmethod
    def of(cls, due: ReconciliationDue) -> DueReconciliation:
        return cls(due.occasion, due.at, due.reason)


@dataclass(frozen=True)
class Medicines:
    """Everything the chart shows about allergies and medicines (the API's answer too)."""

    allergy_status: AllergyStatus
    baclofen_allergy: bool  # a recorded allergy contraindicates ITB (FDA-LAB)
    allergies: tuple[Allergy, ...]
    no_known_allergies_by: str | None
    no_known_allergies_at: Instant | None
    medications: tuple[Medication, ...]
    reconciliations: tuple[Reconciliation, ...]
    due: Annotated[tuple[DueReconciliation, ...], Field(serialization_alias="reconciliations_due")]


def _occasions(conn: Connection, patient_id: int) -> list[tuple[Occasion, datetime]]:
    found = []
    for row in event_store.list_events(conn, patient_id):
        if row["type"] == "implant":
            found.append((Occasion.IMPLANT, row["at"]))
        elif row["type"] == "replace-pump":
            found.append((Occasion.PUMP_REPLACEMENT, row["at"]))
    return found


def medicines_in(conn: Connection, patient_id: int) -> Medicines:
    """The patient's allergies and medicines, inside the caller's transaction."""
    rows = store.allergies_of(conn, patient_id)
    facts = [AllergyFact(r["kind"], r["substance"], r["recorded_at"]) for r in rows]
    allergies = tuple(Allergy(int(r["id"]), r["substance"], r["reaction"] or "",
                              r["recorded_at"], r["recorded_by"], is_baclofen(r["substance"]))
                      for r in rows if r["kind"] == "allergy")
    nka = [r for r in rows if r["kind"] == "no-known-allergies"]
    meds = tuple(Medication(int(r["id"]), r["drug"], str(ORAL_ANTISPASTICITY.get(r["drug"])
                                                             or r["drug"]),
                            r["dose"], int(r["times_per_day"]), float(r["daily_dose_mg"]),
                            r["recorded_at"], r["recorded_by"])
                 for r in store.current_medications(conn, patient_id))
    recs = store.reconciliations_of(conn, patient_id)
    reconciled = tuple(Reconciliation(r["occasion"], OCCASION_WORDS[Occasion(r["occasion"])],
                                      r["occasion_at"], r["at"], r["by"],
                                      tuple(r["medications"] or ()), r["notes"] or "")
                       for r in recs)
    due = reconciliations_due(_occasions(conn, patient_id),
                              [(Occasion(r["occasion"]), r["occasion_at"]) for r in recs])
    baclofen = baclofen_allergy_recorded(facts)
    assert baclofen == any(a.contraindicates_itb for a in allergies)
    return Medicines(allergy_status(facts), baclofen, allergies,
                     nka[-1]["recorded_by"] if nka else None,
                     nka[-1]["recorded_at"] if nka else None, meds, reconciled,
                     tuple(DueReconciliation.of(d) for d in due))


def medicines(clinic: Clinic, actor: Actor, patient_id: int) -> Medicines:
    def body(conn: Connection) -> Medicines:
        authz.patient_for(conn, actor, authz.READ, patient_id)
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="medicines")
        return medicines_in(conn, patient_id)

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="medicines")


def _write(clinic: Clinic, actor: Actor, patient_id: int, action: str,
           do: Callable[[Connection, datetime], dict[str, object]]) -> Medicines:
    def body(conn: Connection) -> Medicines:
        authz.patient_for(conn, actor, authz.APPEND, patient_id)
        detail = do(conn, clinic.now())
        clinic.audit(conn, actor, action, entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="medicines", new_value=detail)
        return medicines_in(conn, patient_id)

    return clinic.run(actor, action, body, patient_id=patient_id, entity="medicines")


def record_allergy(clinic: Clinic, actor: Actor, patient_id: int, substance: str,
                   reaction: str | None = None) -> Medicines:
    """Record an allergy; it withdraws an earlier "no known allergies" statement."""
    name = check_substance(substance)
    if reaction is not None and len(reaction) > 1000:
        raise InputError("the reaction is too long", where="reaction", fix="at most 1000 "
                         "characters")

    def do(conn: Connection, now: datetime) -> dict[str, object]:
        store.withdraw_allergies(conn, patient_id, "no-known-allergies", now, actor.username)
        store.add_allergy(conn, patient_id, "allergy", name, (reaction or "").strip() or None,
                          now, actor.username)
        return {"allergy": name, "reaction": reaction}

    return _write(clinic, actor, patient_id, "allergy.record", do)


def record_no_known_allergies(clinic: Clinic, actor: Actor, patient_id: int) -> Medicines:
    """State "no known allergies" (refused while an allergy is recorded)."""
    def do(conn: Connection, now: datetime) -> dict[str, object]:
        if any(r["kind"] == "allergy" for r in store.allergies_of(conn, patient_id)):
            raise InputError("an allergy is recorded for this patient", where="allergies",
                             fix="the chart cannot also say no known allergies")
        store.add_allergy(conn, patient_id, "no-known-allergies", "none known", None, now,
                          actor.username)
        return {"allergy": "no known allergies"}

    return _write(clinic, actor, patient_id, "allergy.record", do)


def record_medication(clinic: Clinic, actor: Actor, patient_id: int, drug: str, dose: str,
                      times_per_day: int) -> Medicines:
    """Record a current oral antispasticity medicine (``"10 mg"`` ``times_per_day`` times)."""
    parsed = parse_oral_dose(drug, dose, times_per_day)

    def do(conn: Connection, now: datetime) -> dict[str, object]:
        store.add_medication(conn, patient_id, parsed.drug, f"{parsed.dose_mg:g} mg",
                             parsed.times_per_day, parsed.daily_dose_mg, now, actor.username)
        return {"drug": parsed.drug, "dose_mg": parsed.dose_mg,
                "times_per_day": parsed.times_per_day}

    return _write(clinic, actor, patient_id, "medication.record", do)


def stop_medication(clinic: Clinic, actor: Actor, patient_id: int,
                    medication_id: int) -> Medicines:
    def do(conn: Connection, now: datetime) -> dict[str, object]:
        if not store.stop_medication(conn, patient_id, medication_id, now, actor.username):
            raise NotFoundError(f"no current medication {medication_id}",
                                where="medication_id", fix="reload the chart")
        return {"stopped": medication_id}

    return _write(clinic, actor, patient_id, "medication.stop", do)


def record_reconciliation(clinic: Clinic, actor: Actor, patient_id: int, occasion: str,
                          occasion_at: datetime | None = None,
                          notes: str | None = None) -> Medicines:
    """Record that the medicines were reconciled for an implant, a pump replacement or a
    hospital admission (default time of the occasion: the latest such event, or now)."""
    try:
        kind = Occasion(occasion)
    except ValueError:
        raise InputError(f"unknown occasion {occasion!r}", where="occasion",
                         fix="use one of: " + ", ".join(o.value for o in Occasion)) from None
    if occasion_at is not None and occasion_at.tzinfo is None:
        raise InputError("the time needs a UTC offset", where="occasion_at",
                         fix="write e.g. 2026-04-01T09:00:00+02:00")
    if notes is not None and len(notes) > 4000:
        raise InputError("the notes are too long", where="notes", fix="at most 4000 characters")

    def do(conn: Connection, now: datetime) -> dict[str, object]:
        when = occasion_at
        if when is None:
            times = [at for o, at in _occasions(conn, patient_id) if o is kind]
            when = times[-1] if times else now
        meds = [f"{ORAL_ANTISPASTICITY.get(m['drug'], m['drug'])} {m['dose']} × "
                f"{m['times_per_day']}/day" for m in store.current_medications(conn, patient_id)]
        store.add_reconciliation(conn, patient_id, kind.value, when, now, actor.username, meds,
                                 (notes or "").strip() or None)
        return {"occasion": kind.value, "medications": meds}

    return _write(clinic, actor, patient_id, "medication.reconcile", do)
