"""Helpers and constants shared by the web tests (a module of its own: ``conftest`` names
clash between test folders)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from thecal.demo import LOGINS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PASSWORDS = {user: password for user, _, password in LOGINS}
# The demo's patients in creation order (ids 1, 2, ... on a fresh database): patient 1 is the
# overdue one linked to demo-patient and demo-caregiver, with a symptom report.
LINKED_PATIENT = "1"


def login_token(client: TestClient) -> str:
    """The sign-in form's own CSRF token (the page also sets its cookie on ``client``)."""
    match = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/login").text)
    assert match, "no login CSRF token on the sign-in page"
    return match.group(1)


def signed_in(client: TestClient, username: str) -> TestClient:
    response = client.post("/login", data={"username": username,
                                           "password": PASSWORDS[username],
                                           "login_csrf": login_token(client)})
    assert response.status_code == 200, response.text
    assert "/login" not in str(response.url), response.text
    return client


def csrf_of(client: TestClient, page: str) -> str:
    html = client.get(page).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def shown_of(client: TestClient, page: str) -> str:
    """The record version a form page was shown at (its hidden ``shown_version``)."""
    match = re.search(r'name="shown_version" value="(\d+)"', client.get(page).text)
    assert match, f"no shown_version on {page}"
    return match.group(1)


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def sign_in(page: Any, username: str, password: str | None = None) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password if password is not None
                                       else PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
