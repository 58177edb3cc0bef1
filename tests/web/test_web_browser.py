"""End-to-end tests in Debian's Chromium: sign-in per role, the refill workflow, the program
change guardrails, the emergency banner, record-level refusal, and no network but the app.

Screenshots of the main pages go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import re

import pytest
from conftest import shot, sign_in

pytestmark = pytest.mark.browser


def _expect_no_outside_requests(page: object) -> None:
    assert page.blocked_requests == [], page.blocked_requests  # type: ignore[attr-defined]


@pytest.mark.parametrize(("username", "home", "heading"), [
    ("nurse", "/clinic", "Worklist"),
    ("pat", "/my/p1", "My pump"),
    ("carer", "/my/p1", "My pump"),
])
def test_sign_in_each_role(page: object, username: str, home: str, heading: str) -> None:
    sign_in(page, username)
    assert page.url.endswith(home)  # type: ignore[attr-defined]
    assert page.get_by_role("heading", level=1).first.inner_text() == heading  # type: ignore[attr-defined]
    shot(page, f"home-{username}")
    page.get_by_role("button", name="Sign out").click()  # type: ignore[attr-defined]
    assert "/login" in page.url  # type: ignore[attr-defined]
    _expect_no_outside_requests(page)


def test_wrong_password_is_refused(page: object) -> None:
    sign_in(page, "nurse", "not-the-password")
    assert page.get_by_role("alert").inner_text().startswith("That user name")  # type: ignore[attr-defined]
    assert "/login" in page.url  # type: ignore[attr-defined]


def test_refill_with_discrepancy_and_concentration_change(page: object) -> None:
    sign_in(page, "nurse")
    shot(page, "worklist")
    page.get_by_role("link", name="Ada Example").click()  # type: ignore[attr-defined]
    shot(page, "chart")
    page.get_by_role("link", name="Refill", exact=True).first.click()  # type: ignore[attr-defined]
    # residual: 8 mL withdrawn where 12 mL was expected → the discrepancy step appears
    assert page.get_by_test_id("expected-residual").inner_text() == "12 mL"  # type: ignore[attr-defined]
    page.get_by_label("Volume withdrawn").fill("8 mL")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Next").click()  # type: ignore[attr-defined]
    assert page.locator("#discrepancy").is_visible()  # type: ignore[attr-defined]
    shot(page, "refill-discrepancy")
    # no explanation: the browser will not send the step (the server refuses it too, see
    # test_web_pages.py)
    page.get_by_role("button", name="Next").click()  # type: ignore[attr-defined]
    assert page.locator("#discrepancy_explanation").evaluate(  # type: ignore[attr-defined]
        "e => e.validity.valueMissing")
    page.get_by_label("Your explanation").fill("Pocket checked, no swelling; pump log reviewed.")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Next").click()  # type: ignore[attr-defined]
    # drug: a new concentration from the formulary
    page.get_by_label("Concentration (from the formulary)").select_option("2000 mcg/mL")  # type: ignore[attr-defined]
    page.get_by_label("Volume added").fill("20 mL")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Next").click()  # type: ignore[attr-defined]
    # bridge bolus, because the concentration changed
    assert "bridge bolus" in page.get_by_test_id("bridge-bolus").inner_text()  # type: ignore[attr-defined]
    shot(page, "refill-bridge")
    page.get_by_label("I will program this bridge bolus").check()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Next").click()  # type: ignore[attr-defined]
    # program: keep the daily dose
    assert page.get_by_label("Daily dose").input_value() == "300 mcg/day"  # type: ignore[attr-defined]
    page.get_by_role("button", name="Next").click()  # type: ignore[attr-defined]
    # confirmation side by side
    assert page.get_by_test_id("old-daily-dose").inner_text() == "300 mcg/day"  # type: ignore[attr-defined]
    assert page.get_by_test_id("new-daily-dose").inner_text() == "300 mcg/day"  # type: ignore[attr-defined]
    assert "2000 mcg/mL" in page.locator("#compare .new").inner_text()  # type: ignore[attr-defined]
    assert "500 mcg/mL" in page.locator("#compare .old").inner_text()  # type: ignore[attr-defined]
    shot(page, "refill-confirm")
    page.get_by_label("Your password").fill("demo-password-1")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Record refill").click()  # type: ignore[attr-defined]
    assert re.search(r"/clinic/patients/p1/refills/r\d+$", page.url)  # type: ignore[attr-defined]
    assert page.get_by_role("heading", name="Refill summary").is_visible()  # type: ignore[attr-defined]
    assert page.get_by_test_id("summary-due").inner_text() == "Tue 5 May 2026"  # type: ignore[attr-defined]
    shot(page, "refill-summary")
    page.emulate_media(media="print")  # type: ignore[attr-defined]
    assert not page.locator(".site-header").is_visible()  # type: ignore[attr-defined]
    shot(page, "refill-summary-print")
    _expect_no_outside_requests(page)


def test_program_change_guardrails(page: object) -> None:
    sign_in(page, "nurse")
    page.goto("/clinic/patients/p1/program")  # type: ignore[attr-defined]
    dose = page.get_by_label("New daily dose")  # type: ignore[attr-defined]
    # beyond the absolute bound: the live check refuses and the send button is disabled
    dose.fill("2500 mcg/day")
    page.locator("#absolute-refusal").wait_for()  # type: ignore[attr-defined]
    shot(page, "program-absolute")
    assert page.locator("#send-program").is_disabled()  # type: ignore[attr-defined]
    # even sent around the disabled button, the server refuses it
    page.get_by_label("Your password").fill("demo-password-1")  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.evaluate("document.getElementById('program-form').submit()")  # type: ignore[attr-defined]
    assert page.locator("#absolute-refusal").is_visible()  # type: ignore[attr-defined]
    assert "2500 mcg/day" not in page.locator(".patient-header").inner_text()  # type: ignore[attr-defined]
    assert "/program" in page.url  # type: ignore[attr-defined]
    # beyond the recommended bound: refused without a reason, accepted with one
    page.get_by_label("New daily dose").fill("450 mcg/day")  # type: ignore[attr-defined]
    page.locator("#needs-reason").wait_for()  # type: ignore[attr-defined]
    page.get_by_label("Your password").fill("demo-password-1")  # type: ignore[attr-defined]
    page.locator("#send-program").click()  # type: ignore[attr-defined]
    assert "write the reason" in page.locator("#override_reason-error").inner_text()  # type: ignore[attr-defined]
    shot(page, "program-needs-reason")
    page.get_by_label("Reason").fill("Spasms unchanged after two steps; discussed with patient.")  # type: ignore[attr-defined]
    page.get_by_label("Your password").fill("demo-password-1")  # type: ignore[attr-defined]
    page.locator("#send-program").click()  # type: ignore[attr-defined]
    assert page.url.endswith("/clinic/patients/p1?saved=program")  # type: ignore[attr-defined]
    assert "450 mcg/day" in page.locator(".patient-header").inner_text()  # type: ignore[attr-defined]
    _expect_no_outside_requests(page)


def test_withdrawal_report_shows_emergency_banner(page: object) -> None:
    sign_in(page, "pat")
    page.get_by_role("link", name="Report symptoms").first.click()  # type: ignore[attr-defined]
    page.get_by_label("A high temperature").check()  # type: ignore[attr-defined]
    page.get_by_label("Itching, without a rash").check()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Send and see what to do").click()  # type: ignore[attr-defined]
    banner = page.locator("#emergency-banner")  # type: ignore[attr-defined]
    assert banner.is_visible()
    assert "Call your emergency number now" in banner.inner_text()
    assert banner.get_attribute("role") == "alert"
    shot(page, "symptoms-emergency")
    # the clinic sees it in the triage inbox
    page.get_by_role("button", name="Sign out").click()  # type: ignore[attr-defined]
    sign_in(page, "nurse")
    page.goto("/clinic/triage")  # type: ignore[attr-defined]
    assert "Emergency" in page.locator("#triage").inner_text()  # type: ignore[attr-defined]
    shot(page, "triage-inbox")


def test_patient_cannot_open_another_patients_page(page: object) -> None:
    sign_in(page, "pat")
    response = page.goto("/my/p2")  # type: ignore[attr-defined]
    assert response.status == 403
    assert "only see your own" in page.locator("main").inner_text()  # type: ignore[attr-defined]
    response = page.goto("/clinic/patients/p2")  # type: ignore[attr-defined]
    assert response.status == 403


@pytest.mark.parametrize("path", [
    "/my/p1", "/my/p1/recovery", "/my/p1/card", "/my/p1/team", "/learn/alarms",
    "/learn/decision-aid", "/learn/therapy",
])
def test_patient_pages_load_offline(page: object, path: str) -> None:
    sign_in(page, "pat")
    response = page.goto(path)  # type: ignore[attr-defined]
    assert response.status == 200
    # the stylesheet and htmx came from the app itself
    assert page.evaluate("typeof htmx") == "object"  # type: ignore[attr-defined]
    assert page.evaluate(  # type: ignore[attr-defined]
        "getComputedStyle(document.querySelector('.site-header')).display") == "flex"
    shot(page, "patient" + path.replace("/", "-"))
    _expect_no_outside_requests(page)


@pytest.mark.parametrize("path", [
    "/clinic", "/clinic/patients/p1", "/clinic/patients/p1/assessment",
    "/clinic/patients/p1/eligibility", "/clinic/patients/p1/screening", "/clinic/team",
])
def test_clinic_pages_load_offline(page: object, path: str) -> None:
    sign_in(page, "nurse")
    response = page.goto(path)  # type: ignore[attr-defined]
    assert response.status == 200
    assert page.evaluate("typeof htmx") == "object"  # type: ignore[attr-defined]
    shot(page, "clinic" + path.replace("/", "-"))
    _expect_no_outside_requests(page)


def test_phone_layout(page: object) -> None:
    page.set_viewport_size({"width": 390, "height": 844})  # type: ignore[attr-defined]
    sign_in(page, "nurse")
    shot(page, "phone-worklist")
    width = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= 390
    page.goto("/clinic/patients/p1")  # type: ignore[attr-defined]
    shot(page, "phone-chart")
    sign_in(page, "pat")
    page.goto("/my/p1")  # type: ignore[attr-defined]
    shot(page, "phone-my-pump")
