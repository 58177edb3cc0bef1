"""Input robustness (issue 12): `thecal twin` on hostile files, passwords never echoed, the
password policy, login CSRF, 429 for a throttled web sign-in, the logout cookie's attributes,
CR/LF in settings that reach `.ics` files and headers."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from security_support import bearer
from typer.testing import CliRunner

from thecal.app import create_app
from thecal.cli.main import app as cli
from thecal.errors import InputError
from thecal.service.passwords import check_policy
from thecal.service.testing import PASSWORD, World


def _alias_bomb() -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


@pytest.mark.parametrize(("name", "text", "says"), [
    ("nested.json", "[" * 100_000 + "]" * 100_000, "nested deeper than 32"),
    ("huge.json", '{"format": "thecal.timeline/1", "patient": {"weight_kg": '
     + "9" * 100_000 + "}}", "more than 30 digits"),
    ("huge.yaml", "format: thecal.timeline/1\npatient: {weight_kg: " + "9" * 5000 + "}\n",
     "more than 30 digits"),
    ("bomb.yaml", _alias_bomb(), "aliases"),
    ("dup.yaml", "format: thecal.timeline/1\nformat: thecal.timeline/1\nevents: []\n",
     "'format' appears twice"),
    ("dup.json", '{"format": "a", "events": [], "events": []}', "'events' appears twice"),
])
def test_twin_refuses_hostile_files_in_one_line(tmp_path: Path, name: str, text: str,
                                                says: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    result = CliRunner().invoke(cli, ["twin", str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and len(result.output) < 300, result.output[:300]
    assert result.output.startswith("error:") and says in result.output


def test_a_long_bad_value_is_quoted_by_a_short_prefix(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text("format: " + "z" * 100_000 + "\n")
    result = CliRunner().invoke(cli, ["twin", str(path)])
    assert result.exit_code == 2 and len(result.output) < 400, result.output[:400]


@pytest.mark.parametrize("password", ["password1234", " " * 12, "clinician_b", "CLINICIAN_B",
                                      "clinician_b2026", "123456789012", "qwertyuiopas"])
def test_password_policy_refuses_guessable(password: str) -> None:
    with pytest.raises(InputError) as refused:
        check_policy(password, username="clinician_b")
    assert password.strip() == "" or password not in refused.value.one_line()


def test_demo_and_test_passwords_pass_the_policy() -> None:
    from thecal.demo import LOGINS

    for username, _, password in LOGINS:
        check_policy(password, username=username)
    check_policy(PASSWORD, username="nurse")


def test_a_422_never_echoes_the_password(client: TestClient, tokens: dict[str, str],
                                         world: World) -> None:
    for password in ("password1234", "x" * 5000):
        response = client.post("/api/v1/users", json={"username": "newbie", "role": "nurse",
                                                       "password": password},
                               headers=bearer(tokens, "administrator"))
        assert response.status_code == 422
        assert password not in response.text and password[:20] not in response.text
    typed = client.post("/api/v1/login", json={"username": "nurse",
                                               "password": ["secret-in-a-list-1234"]})
    assert typed.status_code == 422 and "secret-in-a-list" not in typed.text


def test_login_form_needs_its_csrf_token_and_throttling_is_429(client: TestClient,
                                                               world: World) -> None:
    forged = client.post("/login", data={"username": "nurse", "password": PASSWORD})
    assert forged.status_code == 403
    assert "__Host-thecal_session" not in client.cookies
    for _ in range(5):
        token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/login").text)
        assert token
        wrong = client.post("/login", data={"username": "nurse", "password": "wrong password!",
                                            "login_csrf": token.group(1)})
        assert wrong.status_code == 401
    token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/login").text)
    assert token
    locked = client.post("/login", data={"username": "nurse", "password": PASSWORD,
                                         "login_csrf": token.group(1)})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "temporarily locked" in locked.text


def test_logout_deletes_the_cookie_with_its_attributes(world: World) -> None:
    settings = dataclasses.replace(world.clinic.settings, cookie_secure=True)
    world.clinic.settings = settings
    app = create_app(settings, clinic=world.clinic)
    with TestClient(app, base_url="https://testserver") as web:
        token = re.search(r'name="login_csrf" value="([^"]+)"', web.get("/login").text)
        assert token
        web.post("/login", data={"username": "nurse", "password": PASSWORD,
                                 "login_csrf": token.group(1)})
        page = web.get("/clinic")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text) or \
            re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
        assert csrf
        out = web.post("/logout", data={"csrf_token": csrf.group(1)}, follow_redirects=False)
        cookie = out.headers["set-cookie"]
        assert "__Host-thecal_session=" in cookie and "Max-Age=0" in cookie
        for attribute in ("Secure", "HttpOnly", "Path=/", "SameSite=lax"):
            assert attribute in cookie, cookie


@pytest.mark.parametrize("value", ["+49 30 555\rDTSTART:19700101", "room 2\nX-Evil: 1",
                                   "tab\there"])
def test_control_characters_refused_in_site_settings(client: TestClient, tokens: dict[str, str],
                                                     world: World, value: str) -> None:
    response = client.patch(f"/api/v1/sites/{world.site_a}/settings",
                            json={"settings": {"clinic_phone": value}},
                            headers=bearer(tokens, "administrator"))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "settings", "clinic_phone"]


@pytest.mark.parametrize(("key", "value"), [
    ("emergency_number", "112\r\nX-Evil: 1"), ("emergency_number", "call 112"),
    ("emergency_number", ""), ("emergency_number", "1-800-123"), ("emergency_number", "++1"),
    ("public_url", "javascript:alert(1)"), ("public_url", "ftp://itb.example.org"),
    ("public_url", "https://itb.example.org/?next=evil"), ("public_url", "https://a b.org"),
    ("public_url", "https://user@itb.example.org"), ("public_url", "https://itb.example.org:x"),
    ("public_url", "https://itb.example.org/#top"), ("public_url", "itb.example.org")])
def test_emergency_number_and_public_url_are_checked(client: TestClient,
                                                     tokens: dict[str, str], world: World,
                                                     key: str, value: str) -> None:
    """Both reach e-mails and tel: links: a number is digits, + and spaces; the public address
    an http(s) URL with no query, fragment, user or space (issue 11 walk-through)."""
    response = client.patch(f"/api/v1/sites/{world.site_a}/settings",
                            json={"settings": {key: value}},
                            headers=bearer(tokens, "administrator"))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "settings", key]


def test_emergency_number_and_public_url_are_kept_tidy(client: TestClient,
                                                       tokens: dict[str, str],
                                                       world: World) -> None:
    response = client.patch(f"/api/v1/sites/{world.site_a}/settings",
                            json={"settings": {"emergency_number": " +1 911 ",
                                               "public_url": "https://itb.example.org/thecal/"}},
                            headers=bearer(tokens, "administrator"))
    assert response.status_code == 200, response.text
    settings = response.json()["settings"]
    assert (settings["emergency_number"], settings["public_url"]) == (
        "+1 911", "https://itb.example.org/thecal")


def test_a_lone_cr_never_reaches_an_ics_line() -> None:
    """Second line of defence behind the settings check: the calendar escapes CR too."""
    from datetime import UTC, date, datetime

    from thecal.clinical.refill_due import refill_due_state
    from thecal.service.calendar import CalendarFeed, RefillDueItem
    from thecal.web.ics import calendar

    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    due = refill_due_state(datetime(2026, 3, 20, 9, tzinfo=UTC), at, UTC)
    feed = CalendarFeed(1, 1, "UTC", "call\r\nus", "room 2\rX-EVIL:1", at,
                        RefillDueItem("u1", due, date(2026, 3, 20), ()))
    text = calendar(feed).decode("utf-8")
    assert "\rX-EVIL" not in text and all(line.count("\r") == 0 for line in text.split("\r\n"))
