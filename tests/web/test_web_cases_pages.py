"""Case and medicines pages through the TestClient on the demo clinic: the demo's open
emergency case, a finding opened as a case, refusals, the truthful allergy line."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_support import csrf_of, signed_in


def test_demo_has_an_open_emergency_case_with_a_banner(client: TestClient) -> None:
    signed_in(client, "demo-clinician")
    inbox = client.get("/clinic/cases").text
    assert "I itch all over, my legs are stiffer and I have 39 °C" in inbox
    assert "badge-emergency" in inbox
    chart = client.get("/clinic/patients/2").text
    assert "Emergency case not yet acknowledged" in chart
    assert "No known allergies (recorded by demo-nurse" in chart


def test_a_finding_on_the_chart_opens_a_case(client: TestClient) -> None:
    signed_in(client, "demo-clinician")
    for pid in range(1, 21):
        chart = client.get(f"/clinic/patients/{pid}").text
        match = re.search(r'name="finding_code" value="([^"]+)"', chart)
        if match:
            break
    assert match, "no demo chart with a finding"
    token = csrf_of(client, f"/clinic/patients/{pid}")
    response = client.post(f"/clinic/patients/{pid}/cases",
                           data={"csrf_token": token, "finding_code": match.group(1)})
    assert response.status_code == 200 and "/clinic/cases/" in str(response.url)
    assert "finding" in client.get(f"/clinic/patients/{pid}/cases").text


def test_case_forms_need_csrf_and_a_known_outcome(client: TestClient) -> None:
    signed_in(client, "demo-nurse")
    page = client.get("/clinic/cases").text
    case_id = re.search(r'href="/clinic/cases/(\d+)"', page)
    assert case_id
    path = f"/clinic/cases/{case_id.group(1)}"
    assert client.post(path + "/acknowledge", data={"csrf_token": "x"}).status_code == 403
    token = csrf_of(client, path)
    bad = client.post(path + "/close", data={"csrf_token": token, "outcome": "fine"})
    assert bad.status_code == 422 and "unknown outcome" in bad.text


def test_patients_cannot_open_the_case_pages(client: TestClient) -> None:
    signed_in(client, "demo-patient")
    assert client.get("/clinic/cases").status_code == 403
    assert client.get("/clinic/patients/1/medicines").status_code == 403
