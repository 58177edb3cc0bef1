"""Issue 11 in Chromium on ``thecal serve --demo``: the escalated second signature (worklist,
chart banner, header, inbox, confirm, printout as PDF), the stale program form in two browser
contexts, the nurse's role, the withdrawal beyond the reservoir, a compounded refill."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest
from web_support import PASSWORDS, shot, sign_in

pytestmark = pytest.mark.browser

ESCALATED_PATIENT = "10"  # the demo's concentration change entered an hour ago (thecal.demo)
STALE_PATIENT = "2"
CAPACITY_PATIENT = "5"


def _api(server: str, method: str, path: str, body: dict[str, Any],
         token: str | None = None) -> dict[str, Any]:
    request = urllib.request.Request(server + "/api/v1" + path, method=method,
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"}
                                                 if token else {})})
    with urllib.request.urlopen(request, timeout=20) as response:
        return dict(json.loads(response.read()))


def test_escalated_confirmation_follows_the_emergency_cases_and_ends_confirmed(page: Any, server: str) -> None:
    sign_in(page, "demo-clinician2")
    page.goto("/clinic")
    # an open emergency case leads (a patient reporting a life-threatening picture now); the
    # escalated second signature comes right after every such case, above all else
    rows = page.locator("#worklist tbody tr")
    patients = [rows.nth(i).get_attribute("data-patient") for i in range(rows.count())]
    place = patients.index(ESCALATED_PATIENT)
    escalated = rows.nth(place)
    assert "second confirmation overdue" in escalated.inner_text()
    for i in range(place):
        assert "symptom report triaged emergency" in rows.nth(i).inner_text()
    assert "symptom report triaged emergency" not in escalated.inner_text()
    shot(page, "i11-worklist-escalated")
    page.goto(f"/clinic/patients/{ESCALATED_PATIENT}")
    banner = page.locator("[id^=pending-][data-status]").first
    assert banner.get_attribute("data-status") == "escalated"
    assert "escalated" in banner.inner_text() and "Demo Nurse" in banner.inner_text()
    assert "overdue" in page.locator("#concentration-pending").inner_text()
    shot(page, "i11-chart-escalated")
    page.goto("/clinic/triage")
    assert "second confirmation overdue" in page.locator("#confirmations").inner_text()
    page.locator("#confirmations").get_by_role("link", name="Review: confirm or reject").first.click()
    page.locator("#password").fill(PASSWORDS["demo-clinician2"])
    page.get_by_role("button", name="Confirm the concentration").click()
    assert page.get_by_role("heading", name="Refill summary").is_visible()
    assert page.get_by_test_id("summary-entered-by").inner_text() == "Demo Nurse"
    assert "confirmed by Demo Clinician2" in page.get_by_test_id("summary-confirmed-by").inner_text()
    text = page.locator("#refill-printout").inner_text()
    for needed in ("Date of birth", "Record number", "serial", "Catheter", "lot DEMO-L2611",
                   "Reservoir after", "Bridge bolus", "Signature"):
        assert needed in text, needed
    assert not re.search(r"\d\.\d{7,}", text), "numbers are rounded for people"
    shot(page, "i11-summary")
    pdf = page.request.get(page.locator("#summary-pdf").get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body()[:5] == b"%PDF-"
    page.goto(f"/clinic/patients/{ESCALATED_PATIENT}")
    assert page.locator("[id^=pending-][data-status]").count() == 0
    assert page.locator("#concentration-pending").count() == 0


def test_stale_program_form_answers_a_conflict(browser: Any, server: str) -> None:
    a = browser.new_context(base_url=server)
    try:
        page = a.new_page()
        sign_in(page, "demo-clinician")
        page.goto(f"/clinic/patients/{STALE_PATIENT}/program")
        header = page.locator(".patient-header").inner_text()
        current = float(re.search(r"Daily dose\s+([0-9.]+) mcg/day", header).group(1))  # type: ignore[union-attr]
        b_dose = f"{current + 5:g} mcg/day"  # B's change (like 310 → 315)
        a_dose = f"{current + 1:g} mcg/day"  # A's stale one (310 → 311)
        # clinician B, in another browser context's place, changes it through the API
        b = browser.new_context(base_url=server)
        try:
            other = b.new_page()
            sign_in(other, "demo-clinician2")
            token = _api(server, "POST", "/token", {"username": "demo-clinician2",
                                                    "password": PASSWORDS["demo-clinician2"]})
            t = str(token["access_token"])
            shown = re.search(r'name="shown_version" value="(\d+)"', page.content())
            assert shown, "the program form carries the version it was shown at"
            version = _api(server, "POST", f"/patients/{STALE_PATIENT}/program/proposal",
                           {"program": {"mode": "continuous", "daily_dose": b_dose},
                            "expected_version": int(shown.group(1))}, t)
            _api(server, "POST", f"/patients/{STALE_PATIENT}/program/confirm",
                 {"confirmation_token": version["confirmation_token"],
                  "password": PASSWORDS["demo-clinician2"], "reason": "B's change"}, t)
            other.goto(f"/clinic/patients/{STALE_PATIENT}")
            assert b_dose in other.locator(".patient-header").inner_text()
        finally:
            b.close()
        # A submits the form shown before B's change
        page.get_by_label("New daily dose").fill(a_dose)
        page.locator("#program-check-result").wait_for()
        page.get_by_label("Your password, to sign").fill(PASSWORDS["demo-clinician"])
        with page.expect_navigation():
            page.locator("#send-program").click()
        page.locator("#conflict").wait_for()
        assert b_dose in page.locator("#changes-since").inner_text()
        shot(page, "i11-conflict")
        page.goto(f"/clinic/patients/{STALE_PATIENT}")
        assert b_dose in page.locator(".patient-header").inner_text()
        assert a_dose not in page.locator(".patient-header").inner_text()
    finally:
        a.close()


def test_nurse_is_labelled_and_sees_only_her_forms(page: Any) -> None:
    sign_in(page, "demo-nurse")
    page.goto(f"/clinic/patients/{STALE_PATIENT}")
    assert "(ITB nurse)" in page.locator(".site-header").inner_text()
    nav = page.get_by_role("navigation", name="Patient").inner_text()
    assert "Refill" in nav and "Assessment" in nav and "Program change" not in nav
    page.goto(f"/clinic/patients/{STALE_PATIENT}/program")
    assert page.locator("#send-program").count() == 0
    assert page.locator("#program-not-yours").is_visible()


def test_withdrawal_beyond_the_reservoir_stops_the_refill(page: Any) -> None:
    sign_in(page, "demo-nurse")
    page.goto(f"/clinic/patients/{CAPACITY_PATIENT}/refill")
    page.get_by_label("Volume withdrawn").fill("45 mL")
    page.get_by_role("button", name="Next").click()
    errors = page.locator("#form-errors").inner_text()
    assert "spinal or pocket fluid" in errors and "needle placement" in errors
    shot(page, "i11-capacity-stop")


def test_compounded_refill_from_the_web(page: Any) -> None:
    sign_in(page, "demo-nurse")
    page.goto(f"/clinic/patients/{CAPACITY_PATIENT}/refill")
    expected = page.get_by_test_id("expected-residual").inner_text()
    page.get_by_label("Volume withdrawn").fill(expected)
    page.get_by_role("button", name="Next").click()
    strength = page.get_by_label("Concentration (from the formulary)").input_value()
    page.get_by_label("This is a compounded preparation").check()
    page.get_by_label("Its strength").fill(strength)
    page.get_by_label("Compounding pharmacy").fill("St Mary's pharmacy")
    page.get_by_label("Lot number").fill("CP-7731")
    page.get_by_label("Expiry date").fill("2027-03-31")
    page.get_by_label("Volume added").fill("5 mL")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()  # program unchanged
    page.locator("#password").fill(PASSWORDS["demo-nurse"])
    page.get_by_role("button", name="Record refill").click()
    assert page.get_by_test_id("summary-compounded").is_visible()
    assert "St Mary's pharmacy" in page.get_by_test_id("summary-drug").inner_text()
