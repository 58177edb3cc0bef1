"""One form for every instant the API writes: ISO 8601 with a numeric offset, ``+00:00`` for
UTC (``datetime.isoformat()``, :data:`thecal.service.results.Instant`), never ``Z`` — whether
the answer is a response model of its own or written by a result's ``as_dict``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from thecal.service import scheduling as cal
from thecal.service import update_site_settings
from thecal.service.actors import SYSTEM
from thecal.service.testing import PASSWORD, World

INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
OFFSET = re.compile(r"[+-]\d{2}:\d{2}$")
LOT = {"lot": "LB2093", "expiry": "2030-06-30"}


def instants(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON answer that is a date and time, with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from instants(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from instants(item, f"{where}[{i}]")
    elif isinstance(value, str) and INSTANT.match(value):
        yield where, value


def test_instants_in_the_answers_have_one_form(client: TestClient, tokens: dict[str, str],
                                               world: World) -> None:
    nurse = {"Authorization": f"Bearer {tokens['nurse']}"}
    clinician = {"Authorization": f"Bearer {tokens['clinician']}"}
    patient = {"Authorization": f"Bearer {tokens['patient']}"}
    base = f"/api/v1/patients/{world.patient_a}"
    answers: dict[str, Any] = {}

    def keep(name: str, response: Any) -> Any:
        assert response.status_code < 300, (name, response.text)
        answers[name] = response.json()
        return answers[name]

    keep("patient", client.get(base, headers=nurse))
    keep("registered", client.post("/api/v1/patients", headers=clinician, json={
        "mrn": "A-777", "display_name": "Iris Instant", "born": "1980-01-01",
        "timezone": "Europe/London", "etiology": "stroke"}))
    keep("appended", client.post(f"{base}/timeline", headers=nurse, json={
        "event": {"at": world.clock.now().isoformat(), "type": "note", "text": "phoned"},
        "expected_version": 3}))
    keep("events", client.get(f"{base}/timeline", headers=nurse))
    keep("projection", client.get(f"{base}/projection", headers=nurse))
    client.post(f"{base}/care-team", headers={"Authorization": f"Bearer {tokens['administrator']}"},
                json={"user_id": world.users["nurse"].id, "team_role": "itb-nurse"})
    keep("care team", client.get(f"{base}/care-team", headers=nurse))
    keep("interrogation", client.post(f"{base}/interrogation", headers=nurse, json={
        "reservoir": "20 mL", "expected_version": 4}))
    # a concentration change that waits for a second signer: the refill, its confirmation
    update_site_settings(world.clinic, SYSTEM, world.site_a, {
        "require_second_clinician_for_concentration_change": True})
    proposal = keep("refill proposal", client.post(f"{base}/refill/proposal", headers=clinician,
                                                   json={"withdrawn": "20 mL", "added": "20 mL",
                                                         "concentration": "1000 mcg/mL"}))
    keep("refill", client.post(f"{base}/refill", headers=clinician, json={
        "withdrawn": f"{proposal['expected_residual_ml']:.1f} mL", "added": "20 mL",
        "concentration": "1000 mcg/mL", "expected_version": proposal["version"],
        "password": PASSWORD, **LOT}))
    keep("confirmations", client.get("/api/v1/confirmations", headers=nurse))
    keep("chart", client.get(f"{base}/chart", headers=nurse))
    keep("worklist", client.get("/api/v1/worklist", headers=nurse))
    report = keep("symptom report", client.post(f"{base}/symptoms", headers=patient,
                                                json={"codes": ["itching"]}))
    keep("case", client.get(f"/api/v1/cases/{report['case_id']}", headers=nurse))
    keep("medicines", client.post(f"{base}/allergies", headers=nurse,
                                  json={"substance": "penicillin"}))
    start = world.clinic.now() + timedelta(days=2)
    session = cal.add_session(world.clinic, world.actor("nurse"), kind="clinic", start=start,
                              end=start + timedelta(hours=2), place="room 1", staff=["nurse"])
    keep("appointment", client.post("/api/v1/appointments", headers=nurse, json={
        "patient_id": world.patient_a, "session_id": session.id, "start": start.isoformat()}))
    keep("screening", client.post(f"{base}/screening", headers=clinician,
                                  json={"first_dose_at": "2026-03-02T09:00:00Z"}))
    keep("token", client.post("/api/v1/token", json={"username": "nurse",
                                                     "password": PASSWORD}))

    found = {name: list(instants(answer)) for name, answer in answers.items()}
    wrong = [(name, where, value) for name, pairs in found.items() for where, value in pairs
             if not OFFSET.search(value)]
    assert wrong == []
    # the walk reads what it should: instants in every answer that has one, UTC among them
    assert {name for name, pairs in found.items() if not pairs} <= {"patient", "registered"}
    utc = {name for name, pairs in found.items() if any(v.endswith("+00:00") for _, v in pairs)}
    assert {"events", "care team", "chart", "confirmations", "case", "appointment",
            "screening", "token", "medicines"} <= utc
