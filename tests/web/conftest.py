"""Fixtures of the web tests: a TestClient over the fake port, and a real server + Chromium.

Browser tests (``@pytest.mark.browser``) start the app with uvicorn on 127.0.0.1 on a free
port in a subprocess and drive Debian's Chromium (``/usr/bin/chromium``) through Playwright;
they are skipped only when that browser is missing. Nothing is downloaded.

Which app the browser tests drive: the page layer over :class:`fake_port.FakePort` (fixed
figures, no database), until ``THECAL_WEB_E2E=real`` selects the full application
(``thecal serve --demo`` on a temporary SQLite file).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_port import FakePort
from fastapi import FastAPI
from fastapi.testclient import TestClient

from thecal.web import install

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture
def port() -> FakePort:
    return FakePort()


@pytest.fixture
def client(port: FakePort) -> TestClient:
    app = FastAPI()
    install(app, None, port=port)
    return TestClient(app)


def signed_in(client: TestClient, username: str) -> TestClient:
    response = client.post("/login", data={"username": username, "password": "demo-password-1"})
    assert response.status_code == 200, response.text
    return client


def csrf_of(client: TestClient, page: str) -> str:
    import re

    html = client.get(page).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running app on 127.0.0.1 (a subprocess, stopped at the end)."""
    free = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT / "src")]))
    if os.environ.get("THECAL_WEB_E2E") == "real":
        db = tmp_path_factory.mktemp("db") / "clinic.sqlite3"
        cmd = [sys.executable, "-m", "thecal.cli.main", "serve", "--demo", "--database",
               f"sqlite:///{db}", "--host", "127.0.0.1", "--port", str(free)]
    else:
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "fake_app:create_app",
               "--host", "127.0.0.1", "--port", str(free), "--log-level", "warning"]
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=HERE, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{free}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/login", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the app did not start:\n" + log.read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run the "
                    "browser tests (never a downloaded browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, server: str) -> Iterator[object]:
    """A fresh browser context whose network reaches only the app on 127.0.0.1."""
    from urllib.parse import urlsplit

    blocked: list[str] = []

    def only_local(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(url)
            route.abort()  # type: ignore[attr-defined]

    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    context.route("**/*", only_local)
    pg = context.new_page()
    pg.blocked_requests = blocked  # type: ignore[attr-defined]
    yield pg
    context.close()


def shot(page: object, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)  # type: ignore[attr-defined]


def sign_in(page: object, username: str, password: str = "demo-password-1") -> None:
    page.context.clear_cookies()  # type: ignore[attr-defined]
    page.goto("/login")  # type: ignore[attr-defined]
    page.get_by_label("User name").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
