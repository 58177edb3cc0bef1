"""Browser tests of the refill clinic on the real demo (``thecal serve --demo``, Chromium): review and
accept a proposal, move a booking, cancel and book by hand, and the population dashboard."""

from __future__ import annotations

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
    assert "before the refill is due by" in rows.first.inner_text()
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


def test_dashboard(page: Any) -> None:
    sign_in(page, "demo-clinician")
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Population dashboard"
    assert int(page.get_by_test_id("count-overdue").inner_text()) >= 1
    overdue = page.get_by_test_id("dash-overdue")
    assert "against the previous week" in overdue.inner_text()
    overdue.get_by_role("link").first.click()
    page.wait_for_load_state()
    assert re.search(r"/clinic/patients/\d+$", page.url)
    shot(page, "dashboard")
    assert page.blocked_requests == []
