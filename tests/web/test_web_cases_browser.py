"""Issue 11, points 2–4 in a real browser on the session's ``thecal serve --demo``, wired to a
real SMTP server on 127.0.0.1 (aiosmtpd, ``sink`` in ``conftest.py``, shared with the other
browser tests): a report becomes a case with a banner on the chart, the inbox shows the
patient's words and the advised actions, the on-call clinician gets the e-mail, a later "pump
beeps" report keeps the row at emergency, the case is acknowledged, noted and closed; the
advice shows tel: links; an allergy shows in red and a baclofen allergy blocks eligibility."""

from __future__ import annotations

import time
from email.message import EmailMessage
from typing import Any

import pytest
from web_support import shot, sign_in

from smtp_sink import Sink

pytestmark = pytest.mark.browser


def _mail_with(sink: Sink, words: str) -> EmailMessage:
    """The e-mail whose body holds ``words`` (waiting up to 10 s for the server to hand it
    over); other tests on the shared server send e-mails of their own."""
    deadline = time.monotonic() + 10
    while True:
        found = [m for m in sink.messages if words in m.get_body().get_content()]  # type: ignore[union-attr]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(found) == 1, f"{len(found)} e-mails hold {words!r}"
    return found[0]


def _worklist_urgency(page: Any, name: str) -> str:
    page.goto("/clinic")
    row = page.locator("tr", has_text=name).first
    return str(row.inner_text())


def test_report_case_banner_inbox_email_acknowledge_close(page: Any, sink: Sink) -> None:
    # the demo's own emergency case (Ben Berg, taken by the nurse) was e-mailed at start
    demo_case = _mail_with(sink, "I itch all over, my legs are stiffer and I have 39 °C")
    assert demo_case["To"] == "on-call@demo-clinic.invalid" and "Ben Berg" in demo_case["Subject"]
    # the patient reports the withdrawal picture with the post-operative fever box
    sign_in(page, "demo-patient")
    page.goto("/my/1/symptoms")
    page.get_by_label("Itching, without a rash").check()
    page.get_by_label("My stiffness or spasms are back or worse").check()
    page.locator("input[name=codes][value=fever]").check()
    page.get_by_label("Anything else?").fill("my legs are like boards and I feel hot")
    page.get_by_role("button", name="Send and see what to do").click()
    assert page.locator("#emergency-banner").is_visible()
    # every piece of advice shows the emergency and the clinic number as tel: links
    assert page.locator("#tel-emergency").get_attribute("href") == "tel:112"
    assert page.locator("#tel-clinic").get_attribute("href", timeout=2000).startswith("tel:")
    shot(page, "case-patient-advice-tel")
    # the on-call clinician got the e-mail with the patient's words and the actions
    mail = _mail_with(sink, "my legs are like boards and I feel hot")
    assert mail["To"] == "on-call@demo-clinic.invalid" and "EMERGENCY" in mail["Subject"]
    assert "Anna Adler" in mail["Subject"]
    assert '"my legs are like boards and I feel hot"' in mail.get_content()
    # two minutes later only "the pump beeps": a case of its own, the row stays emergency
    page.goto("/my/1/symptoms")
    page.locator("input[name=codes][value=pump-alarm-single-tone]").check()
    page.get_by_label("Anything else?").fill("the pump beeps")
    page.get_by_role("button", name="Send and see what to do").click()
    sign_in(page, "demo-nurse")
    assert "Emergency" in _worklist_urgency(page, "Anna Adler")
    # the inbox: the patient's own words and the advised actions
    page.goto("/clinic/cases")
    row = page.locator("#cases tbody tr", has_text="my legs are like boards")
    assert "Emergency" in row.inner_text() and "open" in row.inner_text()
    assert "Interrogate the pump" in row.locator(".advised").inner_text()
    assert "e-mail sent to on-call@demo-clinic.invalid" in row.inner_text()
    assert page.locator("#cases tbody tr", has_text="the pump beeps").count() == 1
    shot(page, "cases-inbox")
    # the chart shows a banner until the case is acknowledged
    page.goto("/clinic/patients/1")
    banner = page.locator("[id^=emergency-case-]", has_text="my legs are like boards")
    assert banner.is_visible() and banner.get_attribute("role") == "alert"
    shot(page, "case-chart-banner")
    banner.get_by_role("link", name="Open the case").click()
    page.get_by_role("button", name="Acknowledge: I have this case").click()
    assert "acknowledged by demo-nurse" in page.locator("#case-acknowledged").inner_text()
    page.get_by_label("Call-back note").fill("Called back: pump read, reservoir empty")
    page.get_by_role("button", name="Add note").click()
    assert "reservoir empty" in page.locator("#case-notes").inner_text()
    page.goto("/clinic/patients/1")
    assert page.locator("[id^=emergency-case-]", has_text="my legs are like boards").count() \
        == 0
    assert "Emergency" in _worklist_urgency(page, "Anna Adler")  # acknowledged, not closed
    page.goto("/clinic/cases")
    page.locator("#cases tbody tr", has_text="my legs are like boards").locator(
        ".case-status").click()
    page.get_by_label("Outcome").select_option("pump-refilled")
    page.get_by_role("button", name="Close the case").click()
    assert page.locator("#case-status").inner_text() == "closed"
    assert "pump refilled" in page.locator("#case-closed").inner_text()
    shot(page, "case-closed")


def test_allergy_in_red_and_a_baclofen_allergy_blocks_eligibility(page: Any) -> None:
    sign_in(page, "demo-nurse")
    # the demo's recorded allergy shows in red; a chart with nothing recorded says so
    page.goto("/clinic/patients/1")
    red = page.locator(".flags .allergy", has_text="penicillin")
    assert red.is_visible()
    assert red.evaluate("e => getComputedStyle(e).backgroundColor") not in ("", "rgba(0, 0, 0, 0)")
    assert "No known allergies" not in page.locator(".flags").inner_text()
    page.goto("/clinic/patients/4")
    assert "Allergies not recorded yet" in page.locator(".flags").inner_text()
    # answering "allergic to baclofen: yes" in the checklist changes the verdict
    page.goto("/clinic/patients/4/eligibility")
    page.get_by_label("Is there an allergy to baclofen?").select_option("yes")
    page.get_by_role("button", name="Check").click()
    assert "not a candidate" in page.locator("#verdict").inner_text()
    # recorded on the chart it blocks eligibility whatever the form says
    page.goto("/clinic/patients/4/medicines")
    page.get_by_label("Allergic to").fill("baclofen")
    page.get_by_label("Reaction").fill("hives")
    page.get_by_role("button", name="Record allergy").click()
    assert page.locator("#baclofen-allergy").is_visible()
    header_allergy = page.locator(".flags .allergy", has_text="baclofen")
    assert "contraindicates ITB" in header_allergy.inner_text()
    page.goto("/clinic/patients/4/eligibility")
    page.get_by_label("Is there an allergy to baclofen?").select_option("no")
    page.get_by_role("button", name="Check").click()
    assert "not a candidate" in page.locator("#verdict").inner_text()
    shot(page, "allergy-eligibility-blocked")
    # oral medicines with doses and the reconciliation step
    page.goto("/clinic/patients/4/medicines")
    page.get_by_label("Medicine").select_option("baclofen-oral")
    page.get_by_label("Dose each time").fill("10 mg")
    page.get_by_label("Times a day").fill("3")
    page.get_by_role("button", name="Record medicine").click()
    assert "baclofen (oral) 10 mg × 3/day (30 mg/day)" in page.locator("#medications").inner_text()
    assert "reconciliation due after the implant" in page.locator(
        "#reconciliations-due").inner_text()
    page.get_by_label("Occasion").select_option("implant")
    page.get_by_role("button", name="Record reconciliation").click()
    assert page.locator("#reconciliations-due li").count() == 0
    assert "reconciled by demo-nurse" in page.locator("#reconciliations").inner_text()
