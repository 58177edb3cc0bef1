"""The demo clinic for ``thecal serve --demo``: one site, 40 virtual patients, five logins.

Each patient is a virtual patient (``thecal.physiology.population.patient``, the preset of
the etiology and age, one member drawn from the MRN: ``service.views.virtual_patient``, the
same one the chart's "expected" curves show), and each history is made by the simulator:

* the titration target is the model's maintenance dose for a target effect
  (``adapted_dose_mcg_per_day``), kept inside the recommended daily-dose range of the
  etiology and age and inside what the pump can deliver at the chosen concentration;
* the twin times every refill before its ``refill_due_by`` and gives the residual withdrawn;
* every assessment's Modified Ashworth grade and Penn spasm frequency are the simulated
  patient's at the time of the assessment (``run_scenario`` sampled every
  :data:`SAMPLE_EVERY_H` hours), from a baseline at implant to the last visit.

The whole history is then shifted in time so that the next refill falls where the demo needs
it: one patient overdue, several due this week, the rest later. One patient's refills each drain
4.5 mL less than the pump calculated (a residual discrepancy each time, and across the three of
them a pump-accuracy drift) and one patient has reported symptoms (triaged through the service). The site
works in :data:`SITE_TIMEZONE`. Creation is idempotent: a second run finds the site and only
prints the logins. Everything is written through ``thecal.service`` and audited.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from thecal.catalog import pump_model
from thecal.clinical.projection import Projection
from thecal.clinical.titration import daily_dose_guardrail
from thecal.physiology.model import adapted_dose_mcg_per_day
from thecal.physiology.parameters import Parameters
from thecal.physiology.population import patient as virtual_patient_parameters
from thecal.service import Clinic, FrozenClock, admin, advice, medicines, patients, therapy
from thecal.service.actors import SYSTEM, Login
from thecal.service.escalation import escalate_overdue
from thecal.service.twin import plan_time, projection_of
from thecal.service.views import virtual_patient
from thecal.sim.scenario import run_scenario
from thecal.store import records
from thecal.timeline import FORMAT, Timeline, parse_event, parse_timeline
from thecal.units import same_concentration

SITE_NAME: Final = "Demo ITB clinic"
PATIENTS: Final = 40
SITE_TIMEZONE: Final = "Europe/Berlin"
CLINIC_PHONE: Final = "+49 30 5550 1234"  # a fictional number
CLINIC_LOCATION: Final = "Demo ITB clinic, neurology outpatients, room 2"
ON_CALL_USER: Final = "demo-clinician"
ON_CALL_EMAIL: Final = "on-call@demo-clinic.invalid"
LOGINS: Final = (  # (username, role, password) — demo only; printed on purpose
    ("demo-clinician", "clinician", "demo-clinician-2026"),
    ("demo-clinician2", "clinician", "demo-clinician2-2026"),
    ("demo-nurse", "nurse", "demo-nurse-pass-2026"),
    ("demo-patient", "patient", "demo-patient-pass-2026"),
    ("demo-caregiver", "caregiver", "demo-caregiver-2026"),
    ("demo-admin", "administrator", "demo-admin-pass-2026"),  # logins of the site (issue 11)
)
_FIRST: Final = ("Anna", "Ben", "Clara", "David", "Eva", "Farid", "Greta", "Hugo", "Ines",
                 "Jonas", "Kira", "Lars", "Mara", "Nils", "Olga", "Paul", "Rosa", "Sami",
                 "Tara", "Uwe")
_LAST: Final = ("Adler", "Berg", "Costa", "Dahl", "Engel", "Fuchs", "Graf", "Horn", "Jung",
                "Klein", "Lang", "Moser", "Nowak", "Ott", "Pohl", "Roth")
_ETIOLOGIES: Final = ("multiple-sclerosis", "spinal-cord-injury", "cerebral-palsy", "stroke",
                      "brain-injury", "other-spinal")
_CHILDREN: Final = frozenset({8, 20, 32})  # patients with cerebral palsy who are children
SAMPLE_EVERY_H: Final = 12.0  # how often the simulated patient is sampled for assessments
TARGET_EFFECT: Final = (0.5, 0.65)  # the fraction of spasticity the titration aims to remove
START_DOSE_MCG: Final = 100.0  # the first daily dose after implant (at most the target)
REFILL_DAYS: Final = (45.0, 150.0)  # the refill intervals the concentration is chosen for
_CONCENTRATIONS: Final = (500, 1000, 2000)


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


def _patient_block(i: int, rng: random.Random, today: date) -> dict[str, Any]:
    etiology = _ETIOLOGIES[i % len(_ETIOLOGIES)]
    year = today.year - rng.randint(9, 16) if i in _CHILDREN else rng.randint(1950, 2004)
    born = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    weight = rng.randint(25, 50) if i in _CHILDREN else rng.randint(45, 95)
    return {"mrn": f"DEMO-{i + 1:03d}", "display_name": f"{_FIRST[i % 20]} {_LAST[i % 16]}",
            "born": born, "sex": rng.choice(("female", "male")),
            "weight_kg": float(weight), "timezone": "Europe/Berlin", "etiology": etiology}


def _age_years(block: dict[str, Any], today: date) -> float:
    return (today - date.fromisoformat(block["born"])).days / 365.25


def _target_dose(params: Parameters, block: dict[str, Any], age: float,
                 rng: random.Random) -> float:
    """The model's maintenance dose for a target effect, inside the recommended range."""
    effect = min(rng.uniform(*TARGET_EFFECT), 0.9 * params.emax)
    dose = float(adapted_dose_mcg_per_day(params, effect)[0])
    guard = daily_dose_guardrail(block["etiology"], age)
    if not math.isfinite(dose):
        dose = guard.recommended_max
    return min(max(dose, guard.recommended_min), guard.recommended_max)


def _concentration(dose: float, capacity: float, rng: random.Random) -> int:
    """A formulary concentration whose refill interval at ``dose`` is a usual one (else the
    one closest to usual)."""
    def days(c: int) -> float:
        return capacity * c / dose

    fits = [c for c in _CONCENTRATIONS if REFILL_DAYS[0] <= days(c) <= REFILL_DAYS[1]]
    if fits:
        return rng.choice(fits)
    return min(_CONCENTRATIONS, key=lambda c: max(REFILL_DAYS[0] - days(c),
                                                  days(c) - REFILL_DAYS[1]))


def _within_pump(dose: float, pump: str, concentration: float) -> float:
    """``dose`` kept inside what the pump can deliver at ``concentration``, in whole mcg."""
    model = pump_model(pump)
    low = model.min_rate_ml_per_day * concentration
    high = model.max_rate_ml_per_day * concentration
    return float(math.floor(min(max(dose, math.ceil(low)), high)))


def _assessed(events: list[dict[str, Any]], timeline: Timeline, params: Parameters,
              until: datetime) -> list[dict[str, Any]]:
    """Fill every assessment with the simulated patient's MAS grade and Penn frequency."""
    trace = run_scenario(timeline, until, every_h=SAMPLE_EVERY_H, params=params)
    mas = trace.mas_category
    penn = trace.columns["penn_frequency"]
    out = []
    for e in events:
        if e["type"] == "assessment":
            hours = (datetime.fromisoformat(e["at"]) - trace.epoch).total_seconds() / 3600
            k = min(max(int(hours // SAMPLE_EVERY_H), 0), len(mas) - 1)
            e = {**e, "mas": str(mas[k]), "penn_frequency": round(float(penn[k]))}
        out.append(e)
    return out


def _history(block: dict[str, Any], rng: random.Random, start: datetime, today: date, *,
             discrepancy: bool) -> tuple[list[dict[str, Any]], datetime]:
    """Events from ``start`` on, and the twin's refill-due date after the last event."""
    age = _age_years(block, today)
    spec = virtual_patient(block["etiology"], age, block["mrn"])
    params = virtual_patient_parameters(spec.preset, spec.seed)
    pump = rng.choice(("synchromed-ii-40", "synchromed-ii-20"))
    capacity = pump_model(pump).reservoir_ml
    target = _target_dose(params, block, age, rng)
    concentration = _concentration(target, capacity, rng)
    target = _within_pump(target, pump, concentration)
    cerebral = block["etiology"] in ("cerebral-palsy", "stroke", "brain-injury")
    step = 1.12 if cerebral else 1.2
    dose = min(START_DOSE_MCG, target)
    events: list[dict[str, Any]] = [
        {"at": _iso(start), "type": "implant", "pump": pump,
         "catheter": {"model": "ascenda", "length_cm": rng.randint(40, 60)},
         "serial": f"NGP{rng.randint(100000, 999999)}"},
        {"at": _iso(start + timedelta(minutes=30)), "type": "assessment",
         "reason": "baseline before the first dose"},
        {"at": _iso(start + timedelta(minutes=90)), "type": "refill", "withdrawn": "0 mL",
         "added": f"{capacity:g} mL", "concentration": f"{concentration} mcg/mL"},
        {"at": _iso(start + timedelta(minutes=100)), "type": "bolus", "kind": "priming"},
        {"at": _iso(start + timedelta(minutes=120)), "type": "program", "mode": "continuous",
         "daily_dose": f"{dose:g} mcg/day", "reason": "start dose after implant"},
    ]
    at = start + timedelta(minutes=120)
    while dose < target:
        dose = min(float(round(dose * step)), target)
        at += timedelta(days=2)
        events.append({"at": _iso(at), "type": "program", "mode": "continuous",
                       "daily_dose": f"{dose:g} mcg/day", "reason": "titration"})
    at += timedelta(days=3)
    events.append({"at": _iso(at), "type": "assessment"})
    patient = {k: v for k, v in block.items() if k not in ("mrn", "display_name")}
    patient["id"] = block["mrn"]
    timeline = parse_timeline({"format": FORMAT, "patient": patient,
                               "events": [e for e in events if e["type"] != "assessment"]})
    refills = rng.randint(1, 3)
    if discrepancy:
        refills = 3  # a drifting pump: pump-accuracy-drift needs three refills behind it
    for _ in range(refills):
        due = _due(timeline, at)
        refill_at = due - timedelta(days=rng.randint(0, 10), hours=rng.randint(0, 8))
        residual = round(_projected(timeline, refill_at).state.estimate_ml, 6)
        withdrawn = max(0.0, round(residual, 1) - 0.1)
        if discrepancy:
            withdrawn = max(0.0, round(residual - 4.5, 1))
        added = round(capacity - (residual - withdrawn) - 0.5, 1)
        refill = {"at": _iso(refill_at), "type": "refill", "withdrawn": f"{withdrawn:g} mL",
                  "added": f"{added:g} mL", "concentration": f"{concentration} mcg/mL"}
        events.append(refill)
        timeline = Timeline(timeline.patient, (*timeline.events, parse_event(refill)))
        at = refill_at
        if rng.random() < 0.5:
            at += timedelta(days=rng.randint(7, 20))
            events.append({"at": _iso(at), "type": "assessment"})
    # the device history is complete: the simulated patient answers every assessment
    simulated = Timeline(replace(timeline.patient, physiology=spec), timeline.events)
    return _assessed(events, simulated, params, at), _due(timeline, at)


def _projected(timeline: Timeline, at: datetime) -> Projection:
    projection = projection_of(timeline, at)
    assert projection is not None  # the demo's records start with an implant
    return projection


def _due(timeline: Timeline, at: datetime) -> datetime:
    """The refill-due date as planned at the last device event (what the worklist shows)."""
    plan = _projected(timeline, plan_time(timeline, at)).refill_plan
    assert plan is not None  # filled and programmed
    return plan.refill_due_by.astimezone(timeline.patient.zone)


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
        "clinic_phone": CLINIC_PHONE, "clinic_location": CLINIC_LOCATION,
        "timezone": SITE_TIMEZONE, "on_call_user": ON_CALL_USER,
        "on_call_email": ON_CALL_EMAIL}).id)
    now = clinic.now()
    today = now.astimezone(ZoneInfo(SITE_TIMEZONE)).date()
    items: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for i in range(patients_count):
        rng = random.Random(seed * 1000 + i)
        block = _patient_block(i, rng, today)
        start = now - timedelta(days=400)
        events, due = _history(block, rng, start, today, discrepancy=(i == 7))
        last = max(datetime.fromisoformat(e["at"]) for e in events)
        offset = _target_offset(i, rng)
        offset = min(offset, due - last - timedelta(days=1))
        items.append(({**block, "site_id": site_id}, _shift(events, (now + offset) - due)))
    ids = patients.import_patients(clinic, SYSTEM, items, action="demo.import")
    users: dict[str, Login] = {}
    for username, role, password in LOGINS:
        users[username] = admin.bootstrap_user(
            clinic, username=username, password=password, role=role,
            site_id=site_id if role in ("clinician", "nurse", "administrator") else None,
            patient_id=ids[0] if role == "patient" else None,
            display_name=username.replace("demo-", "Demo ").title())
    admin.link_caregiver(clinic, SYSTEM, users["demo-caregiver"].id, ids[0])
    patient_actor = users["demo-patient"].actor("system")
    advice.report_symptoms(clinic, patient_actor, ids[0],
                           ["increased-spasticity", "itching"],
                           note="stiffer than usual since yesterday")
    _refill_records(clinic, users, ids)
    _cases_and_medicines(clinic, users, ids)
    return DemoResult(True, site_id, ids)


def _refill_records(clinic: Clinic, users: dict[str, Login], ids: list[int]) -> None:
    """Issue 11 in the demo: a compounded preparation (the 9th patient), and a concentration
    change entered by the nurse an hour ago whose second signature is overdue, escalated (the
    10th; both had their refill due in weeks, so the week's refills stay as they were); the
    escalation e-mails the site's ``on_call_email``."""
    nurse = users["demo-nurse"].actor("session")
    password = dict((u, p) for u, _, p in LOGINS)["demo-nurse"]
    real = clinic.clock
    try:
        for index, late, compounded in ((8, timedelta(0), True),
                                        (9, timedelta(hours=1), False)):
            patient_id = ids[index % len(ids)]
            clinic.clock = FrozenClock(real.now() - late)
            version = patients.get_patient(clinic, SYSTEM, patient_id).version
            probe = therapy.propose_refill(clinic, nurse, patient_id, withdrawn="0 mL",
                                           added="1 mL", concentration="500 mcg/mL")
            current = probe.old_concentration_mcg_per_ml or 500.0
            changed = 500.0 if same_concentration(current, 1000.0) else 1000.0
            strength = current if compounded else changed
            text = f"{strength:g} mcg/mL"
            drug = therapy.DrugDetails(lot="DEMO-L2611", expiry="2027-06-30",
                                       compounded=compounded,
                                       pharmacy="Demo hospital pharmacy" if compounded else None)
            withdrawn = f"{probe.expected_residual_ml:.1f} mL"
            fill = therapy.propose_refill(clinic, nurse, patient_id, withdrawn=withdrawn,
                                          added="1 mL", concentration=text, drug=drug)
            therapy.record_refill(
                clinic, nurse, patient_id, withdrawn=withdrawn,
                added=f"{fill.filling.suggested_added_ml:g} mL", concentration=text,
                expected_version=version, password=password, drug=drug,
                reason="residual as expected within measuring error")
    finally:
        clinic.clock = real
    escalate_overdue(clinic)


def _cases_and_medicines(clinic: Clinic, users: dict[str, Login], ids: list[int]) -> None:
    """An open emergency case (a caller's withdrawal picture, taken by the nurse on the phone),
    a recorded allergy and an oral medicine, so a new user sees each at once."""
    nurse = users["demo-nurse"].actor("system")
    advice.report_symptoms(clinic, nurse, ids[1], ["itching", "increased-spasticity",
                                                   "high-fever"],
                           note="I itch all over, my legs are stiffer and I have 39 °C")
    medicines.record_allergy(clinic, nurse, ids[0], "penicillin", "rash")
    medicines.record_medication(clinic, nurse, ids[0], "tizanidine", "4 mg", 3)
    medicines.record_no_known_allergies(clinic, nurse, ids[1])
