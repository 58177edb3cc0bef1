"""End-to-end tests in Debian's Chromium against the real application (``thecal serve --demo``
on a temporary SQLite file, the demo logins): sign-in per role, the whole refill workflow with a
discrepancy and a concentration change (bridge bolus, second clinician) to the printable
summary, the program-change guardrails with re-authentication, the emergency banner reaching
the triage inbox, record-level refusal, and no network but the app.

Screenshots of the main pages go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from web_support import LINKED_PATIENT, PASSWORDS, shot, sign_in

from thecal.clinical.etiology import origin

pytestmark = pytest.mark.browser

REFILL_PATIENT = "Clara Costa"  # demo patient 3, due this week
PROGRAM_PATIENT = "David Dahl"  # demo patient 4


def _no_outside_requests(page: Any) -> None:
    assert page.blocked_requests == [], page.blocked_requests


def _open_patient(page: Any, name: str) -> str:
    page.goto("/clinic")
    page.get_by_role("link", name=name, exact=True).first.click()
    page.wait_for_load_state()
    match = re.search(r"/clinic/patients/(\d+)$", page.url)
    assert match, page.url
    return match.group(1)


@pytest.mark.parametrize(("username", "home", "heading"), [
    ("demo-clinician", "/clinic", "Worklist"),
    ("demo-nurse", "/clinic", "Worklist"),
    ("demo-patient", f"/my/{LINKED_PATIENT}", "My pump"),
    ("demo-caregiver", f"/my/{LINKED_PATIENT}", "Anna Adler's pump"),  # the patient's name
])
def test_sign_in_each_role(page: Any, username: str, home: str, heading: str) -> None:
    sign_in(page, username)
    assert page.url.endswith(home)
    assert page.get_by_role("heading", level=1).first.inner_text() == heading
    shot(page, f"home-{username}")
    page.get_by_role("button", name="Sign out").click()
    assert "/login" in page.url
    _no_outside_requests(page)


def test_wrong_password_is_refused(page: Any) -> None:
    sign_in(page, "demo-nurse", "not-the-password")
    assert page.get_by_role("alert").inner_text().startswith("That user name")
    assert "/login" in page.url


def _volume(text: str) -> float:
    match = re.search(r"([0-9]+(?:\.[0-9]+)?) mL", text)
    assert match, text
    return float(match.group(1))


def test_refill_with_discrepancy_and_concentration_change(page: Any) -> None:
    sign_in(page, "demo-clinician")
    shot(page, "worklist")
    patient_id = _open_patient(page, REFILL_PATIENT)
    shot(page, "chart")
    page.get_by_role("link", name="Refill", exact=True).first.click()
    # residual: 3 mL less than the twin expects → the discrepancy step appears
    expected = _volume(page.get_by_test_id("expected-residual").inner_text())
    shot(page, "refill-1-residual")
    page.get_by_label("Volume withdrawn").fill(f"{max(0.0, expected - 3):.1f} mL")
    page.get_by_role("button", name="Next").click()
    assert page.locator("#discrepancy").is_visible()
    shot(page, "refill-2-discrepancy")
    # no explanation: the browser will not send the step (the server refuses it too)
    page.get_by_role("button", name="Next").click()
    assert page.locator("#reason").evaluate("e => e.validity.valueMissing")
    page.get_by_label("Your explanation").fill(
        "Needle position checked, aspirated again; pocket not swollen; pump log reviewed.")
    page.get_by_role("button", name="Next").click()
    # drug: the current concentration is preselected; choose another one from the formulary
    select = page.get_by_label("Concentration (from the formulary)")
    current = select.input_value()
    options = [o for o in select.locator("option").evaluate_all("os => os.map(o => o.value)")
               if o and o != current]
    new = "2000 mcg/mL" if "2000 mcg/mL" in options and current != "2000 mcg/mL" else options[0]
    select.select_option(new)
    page.get_by_label("Volume added").fill("10 mL")
    page.get_by_label("Lot number").fill("LB2093")
    page.get_by_label("Expiry date").fill("2030-06-30")
    shot(page, "refill-3-drug")
    page.get_by_role("button", name="Next").click()
    # bridge bolus, because the concentration changed
    bridge = page.get_by_test_id("bridge-bolus").inner_text()
    assert bridge.startswith("bridge bolus of ") and "mcg at the old" in bridge
    shot(page, "refill-4-bridge")
    page.get_by_role("button", name="Next").click()  # not confirmed: refused
    assert page.locator("#form-errors").is_visible()
    page.get_by_label("I will program this bridge bolus").check()
    page.get_by_role("button", name="Next").click()
    # program: the current daily dose is the default
    dose = page.get_by_label("Daily dose").input_value()
    assert dose.endswith(" mcg/day")
    shot(page, "refill-5-program")
    page.get_by_role("button", name="Next").click()
    # confirmation side by side: same dose, new concentration and volume
    assert page.get_by_test_id("old-daily-dose").inner_text() == dose
    assert page.get_by_test_id("new-daily-dose").inner_text() == dose
    assert new in page.locator("#compare .new").inner_text()
    assert current in page.locator("#compare .old").inner_text()
    shot(page, "refill-6-confirm")
    page.locator("#password").fill("wrong password")
    page.get_by_role("button", name="Record refill").click()
    assert page.locator("#password-error").is_visible()
    page.locator("#password").fill(PASSWORDS["demo-clinician"])
    page.get_by_role("button", name="Record refill").click()
    # the refill is recorded at once; the demo site asks a second signer for the strength
    assert page.get_by_role("heading", name="Refill recorded").is_visible()
    shot(page, "refill-7-pending")
    # the one who entered it cannot confirm it
    page.goto(f"/clinic/patients/{patient_id}")
    assert "awaiting a second signature" in page.locator("#concentration-pending").inner_text()
    page.get_by_role("link", name="Review: confirm or reject").first.click()
    page.locator("#password").fill(PASSWORDS["demo-clinician"])
    page.get_by_role("button", name="Confirm the concentration").click()
    assert "other than the person" in page.locator("#form-errors").inner_text()
    # a colleague confirms with their own password → the printable summary
    sign_in(page, "demo-clinician2")
    page.goto(f"/clinic/patients/{patient_id}")
    shot(page, "chart-pending")
    page.get_by_role("link", name="Review: confirm or reject").first.click()
    shot(page, "refill-8-second-clinician")
    page.locator("#password").fill(PASSWORDS["demo-clinician2"])
    page.get_by_role("button", name="Confirm the concentration").click()
    assert re.search(rf"/clinic/patients/{patient_id}/refills/ev-[0-9a-f]+$", page.url)
    assert page.get_by_role("heading", name="Refill summary").is_visible()
    assert page.get_by_test_id("summary-bridge").inner_text() == bridge
    # the bridge bolus the person said they programmed is on the record (issue 11 walk-through)
    assert page.get_by_test_id("summary-bridge-given").inner_text().startswith("programmed ")
    # both people named (point 9), with the drug's lot and expiry
    assert page.get_by_test_id("summary-entered-by").inner_text() == "Demo Clinician"
    assert "confirmed by Demo Clinician2" in page.get_by_test_id("summary-confirmed-by").inner_text()
    assert "lot LB2093, expires 2030-06-30" in page.get_by_test_id("summary-drug").inner_text()
    assert "Discrepancy recorded" in page.locator("main").inner_text()
    assert re.fullmatch(r"\w{3} \d{1,2} \w{3} \d{4}",
                        page.get_by_test_id("summary-due").inner_text())
    shot(page, "refill-summary")
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    shot(page, "refill-summary-print")
    page.emulate_media(media="screen")
    # the chart's header now shows the new concentration, and no missing bridge bolus
    page.goto(f"/clinic/patients/{patient_id}")
    assert new in page.locator(".patient-header").inner_text()
    assert "without a bridge bolus" not in page.locator("main").inner_text()
    _no_outside_requests(page)


def test_program_change_guardrails(page: Any) -> None:
    sign_in(page, "demo-clinician")
    patient_id = _open_patient(page, PROGRAM_PATIENT)
    page.goto(f"/clinic/patients/{patient_id}/program")
    dose = page.get_by_label("New daily dose")
    # beyond the absolute bound: the live check refuses and the send button is disabled
    dose.fill("2500 mcg/day")
    page.locator("#absolute-refusal").wait_for()
    assert "cannot be sent" in page.locator("#absolute-refusal").inner_text()
    shot(page, "program-absolute")
    assert page.locator("#send-program").is_disabled()
    # even sent around the disabled button, the server refuses it
    page.get_by_label("Your password, to sign").fill(PASSWORDS["demo-clinician"])
    with page.expect_navigation():
        page.evaluate("document.getElementById('program-form').submit()")
    assert page.locator("#absolute-refusal").is_visible()
    assert "2500 mcg/day" not in page.locator(".patient-header").inner_text()
    assert "/program" in page.url
    # beyond the recommended titration step (issue 11): a reason and a second clinician's
    # co-signature; spinal adults step 30 % (absolute 60 %), cerebral 15 % (absolute 30 %)
    header = page.locator(".patient-header").inner_text()
    current = float(re.search(r"Daily dose\s+([0-9.]+) mcg/day", header).group(1))  # type: ignore[union-attr]
    etiology = page.locator("#patient-name .hint").inner_text().split("·")[-1].strip()
    step = 1.45 if origin(etiology) == "spinal" else 1.25
    new = f"{round(current * step)} mcg/day"
    page.get_by_label("New daily dose").fill(new)
    page.locator("#needs-second-clinician").wait_for()
    page.get_by_label("Reason").fill("Spasms unchanged after two steps; discussed with patient.")
    page.get_by_label("Your password, to sign").fill(PASSWORDS["demo-clinician"])
    page.locator("#send-program").click()
    assert "co-sign" in page.locator("#second-error").inner_text()
    shot(page, "program-needs-co-sign")
    page.get_by_label("Their user name").fill("demo-nurse")
    page.get_by_label("Their password").fill("not her password")
    page.get_by_label("Your password, to sign").fill(PASSWORDS["demo-clinician"])
    page.locator("#send-program").click()
    assert page.locator("#second-error").is_visible()
    assert new not in page.locator(".patient-header").inner_text()
    page.get_by_label("Their user name").fill("demo-nurse")
    page.get_by_label("Their password").fill(PASSWORDS["demo-nurse"])
    page.get_by_label("Your password, to sign").fill(PASSWORDS["demo-clinician"])
    page.locator("#send-program").click()
    assert page.url.endswith(f"/clinic/patients/{patient_id}?saved=program")
    assert new in page.locator(".patient-header").inner_text()
    shot(page, "program-saved")
    _no_outside_requests(page)


def test_withdrawal_report_shows_emergency_banner(page: Any) -> None:
    sign_in(page, "demo-patient")
    page.get_by_role("link", name="Report symptoms").first.click()
    page.get_by_label("A high temperature (fever)").check()
    page.get_by_label("Itching, without a rash").check()
    page.get_by_role("button", name="Send and see what to do").click()
    banner = page.locator("#emergency-banner")
    assert banner.is_visible()
    assert "Call emergency services now" in banner.inner_text()
    assert banner.get_attribute("role") == "alert"
    shot(page, "symptoms-emergency")
    # the clinic sees it in the triage inbox, first
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "demo-nurse")
    page.goto("/clinic/triage")
    first = page.locator("#triage tbody tr").first.inner_text()
    assert "Emergency" in first and "Anna Adler" in first and "high fever" in first
    shot(page, "triage-inbox")
    _no_outside_requests(page)


def test_patient_cannot_open_another_patients_page(page: Any) -> None:
    sign_in(page, "demo-patient")
    response = page.goto("/my/2")
    assert response.status == 403
    assert "only see your own" in page.locator("main").inner_text()
    assert page.goto("/clinic/patients/2").status == 403
    assert page.goto("/my/2/appointments.ics").status == 403
    sign_in(page, "demo-caregiver")
    assert page.goto("/my/5/card").status == 403


@pytest.mark.parametrize("path", [
    "/my/1", "/my/1/symptoms", "/my/1/recovery", "/my/1/card", "/my/1/team", "/learn/alarms",
    "/learn/decision-aid", "/learn/therapy",
])
def test_patient_pages_load_offline(page: Any, path: str) -> None:
    sign_in(page, "demo-patient")
    response = page.goto(path)
    assert response.status == 200
    # the stylesheet and htmx came from the app itself
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate(
        "getComputedStyle(document.querySelector('.site-header')).display") == "flex"
    shot(page, "patient" + path.replace("/", "-"))
    _no_outside_requests(page)


@pytest.mark.parametrize("path", [
    "/clinic", "/clinic/patients/1", "/clinic/patients/1/assessment",
    "/clinic/patients/1/eligibility", "/clinic/patients/1/screening", "/clinic/team",
    "/clinic/triage",
])
def test_clinic_pages_load_offline(page: Any, path: str) -> None:
    sign_in(page, "demo-nurse")
    response = page.goto(path)
    assert response.status == 200
    assert page.evaluate("typeof htmx") == "object"
    shot(page, "clinic" + path.replace("/", "-"))
    _no_outside_requests(page)


def test_phone_layout(page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "demo-nurse")
    shot(page, "phone-worklist")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto("/clinic/patients/1")
    shot(page, "phone-chart")
    sign_in(page, "demo-patient")
    page.goto("/my/1")
    shot(page, "phone-my-pump")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _no_outside_requests(page)
