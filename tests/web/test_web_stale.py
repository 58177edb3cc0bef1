"""Stale forms never overwrite (issue 11, point 10): the assessment and refill forms carry the
version they were shown at; a submit after another change answers 409 with what changed."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_support import csrf_of, signed_in

from thecal.service import Clinic, append_event, get_patient
from thecal.service.actors import SYSTEM

PATIENT = "3"


def _note(clinic: Clinic) -> None:
    version = get_patient(clinic, SYSTEM, int(PATIENT)).version
    append_event(clinic, SYSTEM, int(PATIENT), {
        "at": clinic.now().isoformat(), "type": "note", "text": "phoned: pump site sore"},
        version)


def test_stale_assessment_is_a_conflict(client: TestClient, clinic: Clinic) -> None:
    signed_in(client, "demo-nurse")
    page = client.get(f"/clinic/patients/{PATIENT}/assessment").text
    shown = re.search(r'name="shown_version" value="(\d+)"', page)
    assert shown
    token = csrf_of(client, f"/clinic/patients/{PATIENT}/assessment")
    _note(clinic)  # someone else records something meanwhile
    before = get_patient(clinic, SYSTEM, int(PATIENT)).version
    r = client.post(f"/clinic/patients/{PATIENT}/assessment", data={
        "csrf_token": token, "shown_version": shown.group(1), "penn_frequency": "2"})
    assert r.status_code == 409 and 'id="conflict"' in r.text
    assert "pump site sore" in r.text
    assert get_patient(clinic, SYSTEM, int(PATIENT)).version == before


def test_stale_refill_is_a_conflict(client: TestClient, clinic: Clinic) -> None:
    signed_in(client, "demo-nurse")
    page = client.get(f"/clinic/patients/{PATIENT}/refill").text
    shown = re.search(r'name="shown_version" value="(\d+)"', page)
    expected = re.search(r'data-testid="expected-residual">([0-9.]+) mL', page)
    conc = re.search(r"Drug</dt><dd>baclofen ([0-9]+ mcg/mL)", page)
    dose = re.search(r'name="daily_dose" value="([^"]+)"', page)
    assert shown and expected and conc and dose
    token = csrf_of(client, f"/clinic/patients/{PATIENT}/refill")
    _note(clinic)
    before = get_patient(clinic, SYSTEM, int(PATIENT)).version
    r = client.post(f"/clinic/patients/{PATIENT}/refill", data={
        "csrf_token": token, "shown_version": shown.group(1), "step": "confirm",
        "withdrawn": f"{expected.group(1)} mL", "concentration": conc.group(1),
        "added": "5 mL", "lot": "LB1", "expiry": "2030-01-31", "daily_dose": dose.group(1),
        "password": "demo-nurse-pass-2026"})
    assert r.status_code == 409 and 'id="conflict"' in r.text, r.text[-2000:]
    assert get_patient(clinic, SYSTEM, int(PATIENT)).version == before
