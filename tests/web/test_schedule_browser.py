"""Browser tests of the refill clinic on the real demo (``thecal serve --demo``, Chromium): review and
accept a proposal, move a booking, cancel and book by hand, and the population dashboard (open
emergency cases and second signatures waiting among its lists)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from web_support import shot, sign_in

pytestmark = pytest.mark.browser


def test_review_accept_move_cancel_and_book(page: Any) -> None:
    sign_in(page, "demo-nurse")
    page.get_by_role("link", name="Schedule").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Refill schedule"
    page.get_by_role("button", name="Propose appointments").click()
    page.wait_for_load_state()
    rows = page.get_by_test_id("proposal").locator("tbody tr")
    proposed = rows.count()
    assert proposed >= 3  # the demo has several refills due within two weeks
    assert "days before the refill is due" in rows.first.inner_text()  # the time: its own column
    shot(page, "schedule-proposal")
    page.get_by_role("button", name="Accept the proposal").click()
    page.wait_for_load_state()
    assert re.match(rf"{proposed} booked, \d+ escalated", page.get_by_test_id("schedule-message").inner_text())
    booked = page.get_by_test_id("booked").locator("tbody tr")
    assert booked.count() == proposed
    first = booked.first
    before = first.locator("td").first.inner_text()
    name = first.locator("td").nth(1).inner_text()
    first.get_by_role("link", name="Move").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Move the appointment of")
    options = page.locator("#slot option")
    assert options.count() >= 2
    page.locator("#slot").select_option(index=1)
    page.get_by_role("button", name="Move").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("schedule-message").inner_text() == "Moved"
    row = page.get_by_test_id("booked").locator("tbody tr", has_text=name)
    assert row.locator("td").first.inner_text() != before
    appointment_id = row.get_attribute("data-testid").removeprefix("appointment-")
    row.get_by_role("button", name="Cancel").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("booked").locator(f"[data-testid=appointment-{appointment_id}]").count() == 0
    patient_id = re.search(r"\(DEMO-0*(\d+)\)", name)
    assert patient_id, name
    page.goto(f"/clinic/schedule/book?patient_id={patient_id.group(1)}")
    page.get_by_role("button", name="Book").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("schedule-message").inner_text() == "Booked"
    assert page.get_by_test_id("booked").locator("tbody tr", has_text=name).count() == 1
    assert page.blocked_requests == []


WORDS = "dashboard check: I itch all over and I am burning up"


def _card(page: Any, code: str) -> tuple[Any, int]:
    """The dashboard card of a list and its count, which is the number of lines it lists."""
    card = page.get_by_test_id(f"dash-{code}")
    count = int(page.get_by_test_id(f"count-{code}").inner_text())
    assert card.locator("li").count() == count
    assert "against the previous week" in card.inner_text()
    return card, count


def test_dashboard(page: Any) -> None:
    # the patient reports a withdrawal picture with fever: an open emergency case
    sign_in(page, "demo-patient")
    page.goto("/my/1/symptoms")
    page.get_by_label("A high temperature (fever)").check()
    page.get_by_label("Itching, without a rash").check()
    page.get_by_label("Anything else?").fill(WORDS)
    page.get_by_role("button", name="Send and see what to do").click()
    assert page.locator("#emergency-banner").is_visible()
    sign_in(page, "demo-clinician")
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Population dashboard"
    assert "Not shown yet" not in page.locator("main").inner_text()
    # open emergency cases: the demo's and this one, each with a link to its case
    cases, count = _card(page, "emergency-cases")
    assert count >= 2
    line = cases.locator("li", has_text=WORDS)
    assert "Anna Adler" in line.inner_text() and "not acknowledged" in line.inner_text()
    # second signatures waiting: the demo's escalated one, with a link to review it
    waiting, count = _card(page, "pending-confirmations")
    assert count >= 1
    escalated = waiting.locator("li", has_text="(escalated)").first
    assert "entered by Demo Nurse" in escalated.inner_text()
    shot(page, "dashboard")
    # the CSV has both lists, with the case and the confirmation each line is about
    rows = list(csv.DictReader(io.StringIO(page.request.get("/clinic/dashboard.csv").text())))
    (mine,) = [r for r in rows if r["list"] == "emergency-cases" and WORDS in r["detail"]]
    assert any(r["list"] == "pending-confirmations" and r["pending_id"] for r in rows)
    line.get_by_test_id("case-link").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/clinic/cases/{mine['case_id']}")
    assert WORDS in page.locator(".patient-words").inner_text()
    page.go_back()
    page.get_by_test_id("dash-pending-confirmations").locator(
        "li", has_text="(escalated)").first.get_by_test_id("pending-link").click()
    page.wait_for_load_state()
    assert re.search(r"/clinic/patients/\d+/pending/\d+$", page.url)
    assert page.get_by_role("heading", name="Second signature: confirm or reject").is_visible()
    page.goto("/clinic/dashboard")
    overdue, count = _card(page, "overdue")
    assert count >= 1
    overdue.get_by_role("link").first.click()
    page.wait_for_load_state()
    assert re.search(r"/clinic/patients/\d+$", page.url)
    assert page.blocked_requests == []
