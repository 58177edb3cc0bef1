"""The refill workflow's "Volume added" step: the suggested volume fills the reservoir."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_support import PASSWORDS, csrf_of, signed_in

PATIENT = "3"


def test_drug_step_suggests_filling_to_capacity(client: TestClient) -> None:
    signed_in(client, "demo-nurse")
    page = client.get(f"/clinic/patients/{PATIENT}/refill").text
    token = csrf_of(client, f"/clinic/patients/{PATIENT}/refill")
    expected = float(re.search(r'data-testid="expected-residual">([0-9.]+) mL', page)[1])  # type: ignore[index]
    withdrawn = round(expected, 1)
    drug = client.post(f"/clinic/patients/{PATIENT}/refill", data={
        "csrf_token": token, "step": "residual", "withdrawn": f"{withdrawn:g} mL"}).text
    capacity = float(re.search(r"Reservoir capacity: ([0-9.]+) mL", drug)[1])  # type: ignore[index]
    note = re.search(r'data-testid="suggested-added">Suggested: <strong>([0-9.]+) mL</strong>'
                     r"([^<]*)", drug)
    assert note, "the drug step offers a suggested volume"
    suggested = float(note[1])
    remaining = max(0.0, expected - withdrawn)
    assert suggested <= capacity
    assert abs(suggested - (capacity - remaining)) <= 0.1 + 1e-9
    assert "never more than the capacity" in note[2]
    # filled in, and the person can change it
    value = re.search(r'id="added" name="added" value="([^"]*)"', drug)
    assert value and value[1] == f"{suggested:g} mL"
    again = client.post(f"/clinic/patients/{PATIENT}/refill", data={
        "csrf_token": token, "step": "drug", "goto": "drug",
        "withdrawn": f"{withdrawn:g} mL", "added": "7 mL",
        "concentration": "500 mcg/mL"}).text
    assert 'name="added" value="7 mL"' in again


def test_a_compounded_strength_is_the_new_strength_on_every_step(client: TestClient) -> None:
    """Issue 11: a compounded 1500 mcg/mL (no formulary choice) is a concentration change —
    the bridge step appears — and the old/new comparison signed on the confirm step shows
    1500 mcg/mL, not the pump's current strength."""
    signed_in(client, "demo-nurse")
    url = f"/clinic/patients/{PATIENT}/refill"
    page = client.get(url).text
    token = csrf_of(client, url)
    expected = float(re.search(r'data-testid="expected-residual">([0-9.]+) mL', page)[1])  # type: ignore[index]
    dose = re.search(r'name="daily_dose" value="([^"]+)"', page)
    assert dose, "the refill form carries the current daily dose"
    base = {"csrf_token": token, "withdrawn": f"{round(expected, 1):g} mL", "concentration": "",
            "compounded": "yes", "compounded_strength": "1500 mcg/mL",
            "pharmacy": "St Mary's pharmacy", "lot": "CP-1", "expiry": "2030-01-31",
            "added": "10 mL", "daily_dose": dose[1]}
    bridge = client.post(url, data={**base, "step": "drug"}).text
    assert "Bridge bolus: the concentration changes" in bridge
    assert re.search(r"Concentration change: [0-9]+ mcg/mL → 1500 mcg/mL", bridge)
    confirm = client.post(url, data={**base, "step": "program",
                                     "bridge_bolus_confirmed": "yes"}).text
    new = confirm.split('<section class="card new"')[1].split("</section>")[0]
    assert "<dt>Concentration</dt><dd>1500 mcg/mL</dd>" in new


def _through_the_bridge_step(client: TestClient, answer: str | None) -> str:
    """Walk a concentration change to the end and sign it; the answer on the bridge step is
    ``answer`` ("yes", "no", or None: not answered). The page after signing."""
    signed_in(client, "demo-nurse")
    url = f"/clinic/patients/{PATIENT}/refill"
    page = client.get(url).text
    token = csrf_of(client, url)
    expected = float(re.search(r'data-testid="expected-residual">([0-9.]+) mL', page)[1])  # type: ignore[index]
    shown = re.search(r'name="shown_version" value="(\d+)"', page)[1]  # type: ignore[index]
    dose = re.search(r'name="daily_dose" value="([^"]+)"', page)[1]  # type: ignore[index]
    current = re.search(r"Drug\s*</dt>\s*<dd>[^<]*?([0-9]+) mcg/mL", page)
    new = "1000 mcg/mL" if current and current[1] != "1000" else "2000 mcg/mL"
    base = {"csrf_token": token, "shown_version": shown, "withdrawn": f"{round(expected, 1):g} mL",
            "concentration": new, "added": "10 mL", "lot": "BB-1", "expiry": "2030-01-31",
            "daily_dose": dose}
    if answer is not None:
        base["bridge_bolus_confirmed"] = answer
    confirm = client.post(url, data={**base, "step": "program"}).text
    if answer is None:
        return confirm
    assert 'data-testid="confirm-bridge"' in confirm
    return client.post(url, data={**base, "step": "confirm",
                                  "password": PASSWORDS["demo-nurse"]}).text


def test_the_bridge_bolus_ticked_in_the_wizard_is_recorded(client: TestClient) -> None:
    """Issue 11 walk-through: ticking "I will program this bridge bolus" recorded nothing, so
    the chart kept "concentration changed … without a bridge bolus"."""
    done = _through_the_bridge_step(client, "yes")
    assert "Refill recorded" in done
    chart = client.get(f"/clinic/patients/{PATIENT}").text
    assert "without a bridge bolus" not in chart
    history = client.get(f"/clinic/patients/{PATIENT}/record").text
    assert re.search(r"bolus.{0,400}kind bridge", history, re.S), "the bolus is on the record"
    summary_url = re.search(r'href="(/clinic/patients/\d+/refills/ev-[0-9a-f]+)"', done)
    assert summary_url
    summary = client.get(summary_url[1]).text
    assert re.search(r'data-testid="summary-bridge-given">programmed .+ by Demo Nurse', summary)


def test_a_refill_without_the_bridge_bolus_keeps_the_finding(client: TestClient) -> None:
    done = _through_the_bridge_step(client, "no")
    assert "Refill recorded" in done
    assert "without a bridge bolus" in client.get(f"/clinic/patients/{PATIENT}").text


def test_the_bridge_step_must_be_answered(client: TestClient) -> None:
    page = _through_the_bridge_step(client, None)
    assert 'id="bridge-yes"' in page and "Say whether you program this bridge bolus" in page
