"""The demo clinic for ``thecal serve --demo``: one site, 40 virtual patients, five logins.

Each history is made with the twin: implant and first fill, a priming bolus, a start dose
and titration steps, then refills each timed before the twin's ``refill_due_by`` with the
withdrawn residual the twin expects, and assessments. The whole history is then shifted in
time so that the next refill falls where the demo needs it: one patient overdue, several due
this week, the rest later. One refill has a residual discrepancy and one patient has reported
symptoms (triaged through the service). Creation is idempotent: a second run finds the site
and only prints the logins. Everything is written through ``thecal.service`` and audited.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from thecal.service import Clinic, admin, advice, patients
from thecal.service.actors import SYSTEM, Actor
from thecal.service.twin import plan_time, project_timeline
from thecal.store import records
from thecal.timeline import FORMAT, Timeline, parse_event, parse_timeline

SITE_NAME: Final = "Demo ITB clinic"
PATIENTS: Final = 40
CLINIC_PHONE: Final = "+49 30 5550 1234"  # a fictional number
CLINIC_LOCATION: Final = "Demo ITB clinic, neurology outpatients, room 2"
LOGINS: Final = (  # (username, role, password) — demo only; printed on purpose
    ("demo-clinician", "clinician", "demo-clinician-2026"),
    ("demo-clinician2", "clinician", "demo-clinician2-2026"),
    ("demo-nurse", "nurse", "demo-nurse-pass-2026"),
    ("demo-patient", "patient", "demo-patient-pass-2026"),
    ("demo-caregiver", "caregiver", "demo-caregiver-2026"),
)
_FIRST: Final = ("Anna", "Ben", "Clara", "David", "Eva", "Farid", "Greta", "Hugo", "Ines",
                 "Jonas", "Kira", "Lars", "Mara", "Nils", "Olga", "Paul", "Rosa", "Sami",
                 "Tara", "Uwe")
_LAST: Final = ("Adler", "Berg", "Costa", "Dahl", "Engel", "Fuchs", "Graf", "Horn", "Jung",
                "Klein", "Lang", "Moser", "Nowak", "Ott", "Pohl", "Roth")
_ETIOLOGIES: Final = ("multiple-sclerosis", "spinal-cord-injury", "cerebral-palsy", "stroke",
                      "brain-injury", "other-spinal")


@dataclass
class DemoResult:
    created: bool
    site_id: int
    patient_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        head = ("Demo clinic created" if self.created else "Demo clinic already present")
        lines = [f"{head}: site {self.site_id}, {len(self.patient_ids)} patients.",
                 "Demo logins (user / password):"]
        lines += [f"  {role:10} {user} / {password}" for user, role, password in LOGINS]
        return "\n".join(lines)


def _iso(at: datetime) -> str:
    return at.isoformat()


def _patient_block(i: int, rng: random.Random) -> dict[str, Any]:
    etiology = _ETIOLOGIES[i % len(_ETIOLOGIES)]
    born = f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return {"mrn": f"DEMO-{i + 1:03d}", "display_name": f"{_FIRST[i % 20]} {_LAST[i % 16]}",
            "born": born, "sex": rng.choice(("female", "male")),
            "weight_kg": float(rng.randint(45, 95)), "timezone": "Europe/Berlin",
            "etiology": etiology}


def _history(block: dict[str, Any], rng: random.Random, start: datetime, *,
             discrepancy: bool) -> tuple[list[dict[str, Any]], datetime]:
    """Events from ``start`` on, and the twin's refill-due date after the last event."""
    pump = rng.choice(("synchromed-ii-40", "synchromed-ii-20"))
    capacity = 40.0 if pump.endswith("40") else 20.0
    concentration = rng.choice((500, 1000, 2000))
    cerebral = block["etiology"] in ("cerebral-palsy", "stroke", "brain-injury")
    step = 1.12 if cerebral else 1.2
    target = rng.randint(150, 450)
    events: list[dict[str, Any]] = [
        {"at": _iso(start), "type": "implant", "pump": pump,
         "catheter": {"model": "ascenda", "length_cm": rng.randint(40, 60)},
         "serial": f"NGP{rng.randint(100000, 999999)}"},
        {"at": _iso(start + timedelta(minutes=90)), "type": "refill", "withdrawn": "0 mL",
         "added": f"{capacity:g} mL", "concentration": f"{concentration} mcg/mL"},
        {"at": _iso(start + timedelta(minutes=100)), "type": "bolus", "kind": "priming"},
        {"at": _iso(start + timedelta(minutes=120)), "type": "program", "mode": "continuous",
         "daily_dose": "100 mcg/day", "reason": "start dose after implant"},
    ]
    dose, at = 100.0, start + timedelta(minutes=120)
    while dose * step <= target:
        dose = round(dose * step)
        at += timedelta(days=2)
        events.append({"at": _iso(at), "type": "program", "mode": "continuous",
                       "daily_dose": f"{dose:g} mcg/day", "reason": "titration"})
    at += timedelta(days=3)
    events.append({"at": _iso(at), "type": "assessment", "mas": rng.choice(("1", "1+", "2")),
                   "penn_frequency": rng.randint(0, 2)})
    patient = {k: v for k, v in block.items() if k not in ("mrn", "display_name")}
    patient["id"] = block["mrn"]
    timeline = parse_timeline({"format": FORMAT, "patient": patient, "events": events})
    for n in range(rng.randint(1, 3)):
        due = _due(timeline, at)
        refill_at = due - timedelta(days=rng.randint(0, 10), hours=rng.randint(0, 8))
        residual = float(project_timeline(timeline, refill_at)["pump"]["reservoir_ml"])
        withdrawn = max(0.0, round(residual, 1) - 0.1)
        if discrepancy and n == 0:
            withdrawn = max(0.0, round(residual - 4.5, 1))
        added = round(capacity - (residual - withdrawn) - 0.5, 1)
        refill = {"at": _iso(refill_at), "type": "refill", "withdrawn": f"{withdrawn:g} mL",
                  "added": f"{added:g} mL", "concentration": f"{concentration} mcg/mL"}
        events.append(refill)
        timeline = Timeline(timeline.patient, (*timeline.events, parse_event(refill)))
        at = refill_at
        if rng.random() < 0.5:
            at += timedelta(days=rng.randint(7, 20))
            events.append({"at": _iso(at), "type": "assessment",
                           "mas": rng.choice(("0", "1", "1+")),
                           "penn_frequency": rng.randint(0, 2)})
    return events, _due(timeline, at)


def _due(timeline: Any, at: datetime) -> datetime:
    """The refill-due date as planned at the last device event (what the worklist shows)."""
    due = project_timeline(timeline, plan_time(timeline, at))["refill_due_by"]
    return datetime.fromisoformat(str(due))


def _shift(events: list[dict[str, Any]], delta: timedelta) -> list[dict[str, Any]]:
    return [{**e, "at": _iso(datetime.fromisoformat(e["at"]) + delta)} for e in events]


def _target_offset(i: int, rng: random.Random) -> timedelta:
    """Where the next refill falls for patient ``i``: 0 overdue, 1–6 this week, rest later."""
    if i == 0:
        return timedelta(days=-3)
    if i <= 6:
        return timedelta(days=i - 0.5)
    return timedelta(days=rng.randint(10, 120))


def create_demo(clinic: Clinic, *, patients_count: int = PATIENTS, seed: int = 2026
                ) -> DemoResult:
    """Create the demo site once; later calls find it and change nothing."""
    with clinic.transaction() as conn:
        existing = records.site_by_name(conn, SITE_NAME)
        if existing is not None:
            found = [int(p["id"]) for p in records.list_patients_where(
                conn, records.visible_patient_ids_clause({"id": -1,
                                                          "site_id": existing["id"]}))]
            return DemoResult(False, int(existing["id"]), found)
    site_id = int(admin.bootstrap_site(clinic, SITE_NAME, {
        "require_second_clinician_for_concentration_change": True,
        "clinic_phone": CLINIC_PHONE, "clinic_location": CLINIC_LOCATION})["id"])
    now = clinic.now()
    items: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for i in range(patients_count):
        rng = random.Random(seed * 1000 + i)
        block = _patient_block(i, rng)
        start = now - timedelta(days=400)
        events, due = _history(block, rng, start, discrepancy=(i == 7))
        last = max(datetime.fromisoformat(e["at"]) for e in events)
        offset = _target_offset(i, rng)
        offset = min(offset, due - last - timedelta(days=1))
        items.append(({**block, "site_id": site_id}, _shift(events, (now + offset) - due)))
    ids = patients.import_patients(clinic, SYSTEM, items, action="demo.import")
    users = {}
    for username, role, password in LOGINS:
        users[username] = admin.bootstrap_user(
            clinic, username=username, password=password, role=role,
            site_id=site_id if role in ("clinician", "nurse") else None,
            patient_id=ids[0] if role == "patient" else None,
            display_name=username.replace("demo-", "Demo ").title())
    admin.link_caregiver(clinic, SYSTEM, int(users["demo-caregiver"]["id"]), ids[0])
    patient_actor = Actor.from_user(users["demo-patient"], "system")
    advice.report_symptoms(clinic, patient_actor, ids[0],
                           ["increased-spasticity", "itching"],
                           note="stiffer than usual since yesterday")
    return DemoResult(True, site_id, ids)
