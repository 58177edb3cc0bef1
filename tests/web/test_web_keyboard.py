"""Keyboard use in Chromium: sign in and open a patient without the mouse, with a visible focus."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import PASSWORDS

pytestmark = pytest.mark.browser


def _tab_to(page: Any, selector: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_sign_in_and_open_a_patient_with_the_keyboard(page: Any) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    _tab_to(page, "#username")
    page.keyboard.type("demo-nurse")
    _tab_to(page, "#password")
    page.keyboard.type(PASSWORDS["demo-nurse"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/clinic"), page.url
    _tab_to(page, "a[href^='/clinic/patients/']", limit=80)
    outline = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0
               || s.boxShadow !== 'none'; }""")
    assert outline, "the focused link shows no focus indicator"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/clinic/patients/" in page.url
    assert page.get_by_role("heading", level=2).count() >= 1
