"""Issue 11, points 2–4 in a real browser on ``thecal serve --demo`` wired to a real SMTP
server on 127.0.0.1 (aiosmtpd, started by this module): a report becomes a case with a banner
on the chart, the inbox shows the patient's words and the advised actions, the on-call
clinician gets the e-mail, a later "pump beeps" report keeps the row at emergency, the case is
acknowledged, noted and closed; the advice shows tel: links; an allergy shows in red and a
baclofen allergy blocks eligibility."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import CHROMIUM, ROOT, shot, sign_in

from smtp_sink import Sink, free_port, smtp_sink

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    with smtp_sink() as running:
        yield running


@pytest.fixture(scope="module")
def server(sink: Sink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``thecal serve --demo`` with ``--smtp-host 127.0.0.1 --smtp-port <sink>``."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    port = free_port()
    db = tmp_path_factory.mktemp("served-cases") / "db.sqlite"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    cmd = [sys.executable, "-m", "thecal", "serve", "--demo", "--database", f"sqlite:///{db}",
           "--host", "127.0.0.1", "--port", str(port), "--smtp-host", "127.0.0.1",
           "--smtp-port", str(sink.port)]
    log = tmp_path_factory.mktemp("server-cases") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
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
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_for_mail(sink: Sink, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(sink.messages) < count and time.monotonic() < deadline:
        time.sleep(0.1)


def _worklist_urgency(page: Any, name: str) -> str:
    page.goto("/clinic")
    row = page.locator("tr", has_text=name).first
    return str(row.inner_text())


def test_report_case_banner_inbox_email_acknowledge_close(page: Any, sink: Sink) -> None:
    # the demo's own emergency case (Ben Berg, taken by the nurse) was e-mailed at start
    _wait_for_mail(sink, 1)
    assert sink.messages and sink.messages[0]["To"] == "on-call@demo-clinic.invalid"
    before = len(sink.messages)
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
    _wait_for_mail(sink, before + 1)
    mail = sink.messages[-1]
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
