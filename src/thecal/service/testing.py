"""A small clinic for tests, benchmarks and documentation examples (not used by the server).

:func:`build_world` makes two sites, one user of every role at site A (plus a clinician at
site B), a patient at each site with a short history (implant, refill, program), links the
patient login and a caregiver to patient A, and returns the ids. Everything goes through
the service layer, so the audit chain is real.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import Connection

from thecal.service import admin, patients, therapy
from thecal.service.actors import SYSTEM, Actor, Login
from thecal.service.clinic import Clinic
from thecal.service.clock import FrozenClock

PASSWORD: Final = "correct horse battery staple"
START: Final = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
NOW: Final = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class World:
    clinic: Clinic
    clock: FrozenClock
    site_a: int
    site_b: int
    patient_a: int
    patient_b: int
    users: dict[str, Login] = field(default_factory=dict)

    def actor(self, name: str) -> Actor:
        return self.users[name].actor("session")


def add_history(clinic: Clinic, clock: FrozenClock, patient_id: int, start: datetime, *,
                daily_dose: str = "100 mcg/day", serial: str = "SN-0001") -> None:
    """Implant, first refill and first program for a patient (as ``system``)."""
    clock.set(start)
    patients.append_event(clinic, SYSTEM, patient_id, {
        "at": start.isoformat(), "type": "implant", "pump": "synchromed-ii-40",
        "catheter": {"model": "ascenda", "length_cm": 52}, "serial": serial}, 0)
    clock.set(start + timedelta(minutes=90))
    therapy.record_refill(clinic, SYSTEM, patient_id, withdrawn="0 mL", added="40 mL",
                          concentration="500 mcg/mL", expected_version=1,
                          drug=therapy.DrugDetails(lot="LOT-0001", expiry="2030-12-31"))
    clock.set(start + timedelta(minutes=120))
    program_as_system(clinic, clock, patient_id, daily_dose, 2)


def program_as_system(clinic: Clinic, clock: FrozenClock, patient_id: int, daily_dose: str,
                      version: int) -> None:
    """Record a continuous program without the propose/confirm dance (setup only)."""
    from thecal.service.patients import add_event
    from thecal.store import records
    from thecal.timeline import parse_event

    event = parse_event({"at": clock.now().isoformat(), "type": "program",
                         "mode": "continuous", "daily_dose": daily_dose,
                         "id": f"ev-prog-{patient_id}-{version}", "by": "system",
                         "reason": "start dose after implant"}, where="program")

    def body(conn: Connection) -> None:
        patient = records.get_patient(conn, patient_id)
        assert patient is not None
        add_event(clinic, conn, SYSTEM, patient, event, version, action="program.confirm")

    clinic.run(SYSTEM, "program.confirm", body, patient_id=patient_id)


def build_world(clinic: Clinic, clock: FrozenClock, *, second_clinician: bool = False
                ) -> World:
    site_a = admin.bootstrap_site(clinic, "Site A", {
        "require_second_clinician_for_concentration_change": second_clinician}).id
    site_b = admin.bootstrap_site(clinic, "Site B").id
    pa = admin.bootstrap_patient(clinic, site_a, {
        "mrn": "A-001", "display_name": "Alice Example", "born": "1979-04-02",
        "sex": "female", "weight_kg": 64, "timezone": "Europe/Berlin",
        "etiology": "multiple-sclerosis"}).id
    pb = admin.bootstrap_patient(clinic, site_b, {
        "mrn": "B-001", "display_name": "Bob Example", "born": "1968-11-20",
        "sex": "male", "timezone": "Europe/Berlin", "etiology": "spinal-cord-injury"}).id
    users: dict[str, Login] = {}
    for name, role, site, patient in (
            ("clinician", "clinician", site_a, None), ("clinician2", "clinician", site_a, None),
            ("nurse", "nurse", site_a, None), ("pharmacist", "pharmacist", site_a, None),
            ("administrator", "administrator", site_a, None),
            ("patient", "patient", None, pa), ("caregiver", "caregiver", None, None),
            ("clinician_b", "clinician", site_b, None)):
        users[name] = admin.bootstrap_user(clinic, username=name, password=PASSWORD,
                                           role=role, site_id=site, patient_id=patient,
                                           display_name=name.title())
    admin.link_caregiver(clinic, SYSTEM, users["caregiver"].id, pa)
    add_history(clinic, clock, pa, START)
    add_history(clinic, clock, pb, START + timedelta(days=1), serial="SN-0002")
    clock.set(NOW)
    return World(clinic, clock, site_a, site_b, pa, pb, users)
