"""The emergency number is the site's (setting ``emergency_number``), everywhere a patient
reads it: the home page, the symptom page and its answer, the implant card (issue 11: the
advice said "112 / 911" whatever the clinic's country)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_support import LINKED_PATIENT, csrf_of, signed_in

from thecal.demo import SITE_NAME
from thecal.service import Clinic, admin
from thecal.service.actors import SYSTEM
from thecal.store import records


def _set_number(clinic: Clinic, number: str) -> None:
    with clinic.transaction() as conn:
        site = records.site_by_name(conn, SITE_NAME)
    assert site is not None
    admin.update_site_settings(clinic, SYSTEM, int(site["id"]), {"emergency_number": number})


def _no_other_number(html: str) -> None:
    assert "112 / 911" not in html and "tel:112" not in html


def test_patient_pages_show_the_sites_emergency_number(client: TestClient,
                                                       clinic: Clinic) -> None:
    _set_number(clinic, "999")
    signed_in(client, "demo-patient")
    home = client.get(f"/my/{LINKED_PATIENT}").text
    assert 'href="tel:999"' in home and "Emergency:" in home
    # the demo's linked patient is overdue: the red box names the number to call
    assert re.search(r'emergency number <a href="tel:999"[^>]*id="overdue-emergency">999</a>',
                     home)
    _no_other_number(home)
    url = f"/my/{LINKED_PATIENT}/symptoms"
    form = client.get(url).text
    assert re.search(r'id="emergency-now".*?href="tel:999"', form, re.S)
    _no_other_number(form)
    answer = client.post(url, data={"csrf_token": csrf_of(client, url),
                                     "codes": ["high-fever", "itching"]}).text
    assert 'id="emergency-banner"' in answer
    # inside the emergency banner, the number to call now
    banner = answer.split('id="emergency-banner"')[1].split("</section>")[0]
    assert re.search(r'href="tel:999"[^>]*id="tel-emergency-now">999</a>', banner)
    assert re.search(r'id="tel-emergency">999</a>', answer)
    _no_other_number(answer)
    card = client.get(f"/my/{LINKED_PATIENT}/card").text
    assert re.search(r'data-testid="card-emergency">999<', card)
