"""The refill workflow's "Volume added" step: the suggested volume fills the reservoir."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_support import csrf_of, signed_in

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
