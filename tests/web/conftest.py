"""Fixtures of the web tests, all against the real application on a real database.

* Page tests use FastAPI's TestClient over ``create_app`` on a temporary SQLite copy of the demo
  clinic (``thecal.demo``), made once per session and copied for each test, so every test starts
  from the same records.
* Browser tests (``@pytest.mark.browser``) start ``thecal serve --demo`` on 127.0.0.1 (a
  subprocess, once per session, its own SQLite file), wired to a real SMTP server on 127.0.0.1
  (aiosmtpd, ``sink``: every e-mail the app sends lands in ``sink.messages``), and drive
  Debian's Chromium (``/usr/bin/chromium``) through Playwright with every request to another
  host aborted. They are skipped only when that browser is missing. Nothing is downloaded.
  The tests share the one server, so each finds its own records by what it wrote.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_support import CHROMIUM, CHROMIUM_ARGS, ROOT

from smtp_sink import Sink, smtp_sink
from thecal.app import create_app
from thecal.demo import SITE_TIMEZONE, create_demo
from thecal.demo.calendar import create_demo_calendar
from thecal.service import Clinic, Settings
from thecal.service.passwords import use_test_parameters

# ------------------------------------------------------------------ TestClient on the real app

@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo clinic database made once (fast password hashing for the test logins)."""
    use_test_parameters()
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    clinic = Clinic.open(Settings(database_url=f"sqlite:///{path}", cookie_secure=False))
    try:
        demo = create_demo(clinic)
        create_demo_calendar(clinic, demo.site_id, demo.patient_ids, SITE_TIMEZONE)  # as `serve --demo`
    finally:
        clinic.dispose()
    return path


@pytest.fixture
def clinic(demo_template: Path, tmp_path: Path) -> Iterator[Clinic]:
    copy = tmp_path / "clinic.sqlite3"
    shutil.copy(demo_template, copy)
    c = Clinic.open(Settings(database_url=f"sqlite:///{copy}", cookie_secure=False))
    try:
        yield c
    finally:
        c.dispose()


@pytest.fixture
def client(clinic: Clinic) -> Iterator[TestClient]:
    with TestClient(create_app(clinic.settings, clinic=clinic)) as test_client:
        yield test_client


# ------------------------------------------------------------------ the served app + Chromium

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def sink() -> Iterator[Sink]:
    """The SMTP server the served app sends its e-mail to (127.0.0.1, a free port)."""
    with smtp_sink() as running:
        yield running


@pytest.fixture(scope="session")
def server(sink: Sink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of ``thecal serve --demo`` on 127.0.0.1 (a subprocess, stopped at the end),
    sending its e-mail to ``sink``."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run the "
                    "browser tests (never a downloaded browser)")
    free = _free_port()
    db = tmp_path_factory.mktemp("served") / "db.sqlite"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    cmd = [sys.executable, "-m", "thecal", "serve", "--demo", "--database",
           f"sqlite:///{db}", "--host", "127.0.0.1", "--port", str(free),
           "--smtp-host", "127.0.0.1", "--smtp-port", str(sink.port)]
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{free}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base + "/login", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the app did not start:\n" + log.read_text()) from None
                time.sleep(0.2)
        assert "demo-clinician" in log.read_text(), "the demo logins were not printed"
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh browser context whose network reaches only the app on 127.0.0.1.

    Every other request is aborted and remembered in ``page.blocked_requests``.
    """
    from urllib.parse import urlsplit

    blocked: list[str] = []

    def only_local(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    context.route("**/*", only_local)
    pg = context.new_page()
    pg.blocked_requests = blocked
    yield pg
    context.close()
