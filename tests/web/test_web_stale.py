"""Stale forms never overwrite (issue 11, point 10), one mechanism for every writing form: the
assessment, refill and program forms and the record's event and correction forms carry the
version they were shown at; a submit after another change answers 409 with what changed (the
record forms come back filled in), and a form without a version is refused. The program form
and a record form are also driven in two browser contexts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_support import LINKED_PATIENT, csrf_of, shot, shown_of, sign_in, signed_in

from thecal.service import Clinic, append_event, get_patient, timeline
from thecal.service.actors import SYSTEM

PATIENT = "3"
BROWSER_PATIENT = "7"  # no other browser test writes to this demo patient


def _note(clinic: Clinic, patient: str = PATIENT, text: str = "phoned: pump site sore") -> None:
    version = get_patient(clinic, SYSTEM, int(patient)).version
    append_event(clinic, SYSTEM, int(patient), {
        "at": clinic.now().isoformat(), "type": "note", "text": text}, version)


def _version(clinic: Clinic, patient: str = PATIENT) -> int:
    return get_patient(clinic, SYSTEM, int(patient)).version


def test_stale_assessment_is_a_conflict(client: TestClient, clinic: Clinic) -> None:
    signed_in(client, "demo-nurse")
    page = client.get(f"/clinic/patients/{PATIENT}/assessment").text
    shown = re.search(r'name="shown_version" value="(\d+)"', page)
    assert shown
    token = csrf_of(client, f"/clinic/patients/{PATIENT}/assessment")
    _note(clinic)  # someone else records something meanwhile
    before = _version(clinic)
    r = client.post(f"/clinic/patients/{PATIENT}/assessment", data={
        "csrf_token": token, "shown_version": shown.group(1), "penn_frequency": "2"})
    assert r.status_code == 409 and 'id="conflict"' in r.text
    assert "pump site sore" in r.text
    assert _version(clinic) == before


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
    before = _version(clinic)
    # the next step still carries the version the refill was first shown at
    step = client.post(f"/clinic/patients/{PATIENT}/refill", data={
        "csrf_token": token, "shown_version": shown.group(1), "step": "residual",
        "withdrawn": f"{expected.group(1)} mL", "daily_dose": dose.group(1)}).text
    assert f'name="shown_version" value="{shown.group(1)}"' in step
    assert f'name="shown_version" value="{before}"' not in step
    r = client.post(f"/clinic/patients/{PATIENT}/refill", data={
        "csrf_token": token, "shown_version": shown.group(1), "step": "confirm",
        "withdrawn": f"{expected.group(1)} mL", "concentration": conc.group(1),
        "added": "5 mL", "lot": "LB1", "expiry": "2030-01-31", "daily_dose": dose.group(1),
        "password": "demo-nurse-pass-2026"})
    assert r.status_code == 409 and 'id="conflict"' in r.text, r.text[-2000:]
    assert _version(clinic) == before


def test_stale_record_form_is_refused_with_what_changed(client: TestClient,
                                                        clinic: Clinic) -> None:
    signed_in(client, "demo-clinician")
    page = f"/clinic/patients/{LINKED_PATIENT}/record/mri"
    shown = int(shown_of(client, page))
    _note(clinic, LINKED_PATIENT, "phoned the patient")  # someone else, meanwhile
    now = clinic.now().strftime("%Y-%m-%dT%H:%M")
    stale = client.post(page, data={"csrf_token": csrf_of(client, page), "at": now,
                                    "duration": "30 min", "shown_version": str(shown)})
    assert stale.status_code == 409 and 'id="conflict"' in stale.text
    assert 'id="changes-since"' in stale.text and "phoned the patient" in stale.text
    assert 'value="30 min"' in stale.text  # the form comes back as it was sent ...
    assert f'name="shown_version" value="{shown + 1}"' in stale.text  # ... at the version now
    types = [e.event.type for e in timeline(clinic, SYSTEM, int(LINKED_PATIENT)).events]
    assert "mri" not in types[-2:]  # nothing saved


def test_stale_correction_is_a_conflict(client: TestClient, clinic: Clinic) -> None:
    signed_in(client, "demo-clinician")
    events = timeline(clinic, SYSTEM, int(LINKED_PATIENT)).events
    implant = next(e for e in events if e.event.type == "implant")
    page = f"/clinic/patients/{LINKED_PATIENT}/events/{implant.event.id}/correct"
    html = client.get(page).text
    shown = int(shown_of(client, page))
    values = dict(re.findall(r'name="(at|pump|serial|catheter_length_cm)" value="([^"]*)"', html))
    _note(clinic, LINKED_PATIENT, "catheter checked on X-ray")
    before = _version(clinic, LINKED_PATIENT)
    stale = client.post(page, data={**values, "csrf_token": csrf_of(client, page),
                                     "catheter_model": "ascenda", "serial": "NGP-FIXED",
                                     "correction_reason": "serial misread",
                                     "shown_version": str(shown)})
    assert stale.status_code == 409 and "catheter checked on X-ray" in stale.text
    assert 'value="NGP-FIXED"' in stale.text  # the correction comes back as it was sent
    assert f'action="/clinic/patients/{LINKED_PATIENT}/events/{implant.event.id}/correct"' \
        in stale.text
    assert _version(clinic, LINKED_PATIENT) == before


@pytest.mark.parametrize("path", ["assessment", "record/mri"])
def test_a_writing_form_without_its_version_is_refused(client: TestClient, clinic: Clinic,
                                                       path: str) -> None:
    signed_in(client, "demo-clinician")
    page = f"/clinic/patients/{PATIENT}/{path}"
    before = _version(clinic)
    r = client.post(page, data={"csrf_token": csrf_of(client, page), "penn_frequency": "2",
                                "at": clinic.now().strftime("%Y-%m-%dT%H:%M"),
                                "duration": "30 min"})
    assert r.status_code == 422 and "carries no record version" in r.text
    assert _version(clinic) == before


@pytest.mark.browser
def test_stale_record_form_in_two_browser_contexts(browser: Any, server: str) -> None:
    """A opens the MRI form; B, in another browser context, records another MRI; A's form is
    refused with B's MRI shown, comes back filled in, and is saved when sent again."""
    a = browser.new_context(base_url=server)
    b = browser.new_context(base_url=server)
    try:
        mine, theirs = a.new_page(), b.new_page()
        sign_in(mine, "demo-clinician")
        mine.goto(f"/clinic/patients/{BROWSER_PATIENT}/record/mri")
        mine.get_by_label("Time in the scanner").fill("40 min")
        sign_in(theirs, "demo-clinician2")
        theirs.goto(f"/clinic/patients/{BROWSER_PATIENT}/record/mri")
        theirs.get_by_label("Time in the scanner").fill("20 min")
        theirs.get_by_label("Note").fill("B's scan")
        with theirs.expect_navigation():
            theirs.get_by_role("button", name="Record the mri").click()
        assert "Saved: the mri" in theirs.content()
        with mine.expect_navigation():
            mine.get_by_role("button", name="Record the mri").click()
        mine.locator("#conflict").wait_for()
        assert "20 min" in mine.locator("#changes-since").inner_text()
        assert mine.get_by_label("Time in the scanner").input_value() == "40 min"
        shot(mine, "i11-record-conflict")
        with mine.expect_navigation():
            mine.get_by_role("button", name="Record the mri").click()
        assert "Saved: the mri" in mine.content()
        history = mine.locator("#history").inner_text()
        assert "40 min" in history and "B's scan" in history
    finally:
        a.close()
        b.close()
