"""The links in e-mails: the site's ``public_url`` + the page's path; without it the path
(issue 11 walk-through: the server knows no public address, so the e-mails gave a path only)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from thecal import service
from thecal.service import admin, therapy
from thecal.service.actors import SYSTEM
from thecal.service.testing import PASSWORD, build_world


class _Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))


@pytest.mark.parametrize("public_url", ["https://itb.example-hospital.org/thecal/", ""])
def test_the_overdue_confirmation_e_mail_links_the_review_page(
        clinic: service.Clinic, clock: service.FrozenClock, public_url: str) -> None:
    world = build_world(clinic, clock, second_clinician=True)
    admin.update_site_settings(clinic, SYSTEM, world.site_a, {
        "on_call_email": "oncall@clinic.test", "public_url": public_url})
    nurse = world.actor("nurse")
    expected = service.propose_refill(clinic, nurse, world.patient_a, withdrawn="0.1 mL",
                                      added="0 mL", concentration="500 mcg/mL"
                                      ).expected_residual_ml
    version = service.projection(clinic, nurse, world.patient_a).version
    outcome = therapy.record_refill(clinic, nurse, world.patient_a,
                                    withdrawn=f"{expected:.2f} mL", added="10 mL",
                                    concentration="2000 mcg/mL", expected_version=version,
                                    password=PASSWORD,
                                    drug=therapy.DrugDetails(lot="L", expiry="2030-01-31"))
    assert outcome.pending_id is not None
    outbox = _Outbox()
    clinic.mailer = outbox  # type: ignore[attr-defined]
    clock.set(clock.now() + timedelta(minutes=16))
    assert service.escalate_overdue(clinic) == [outcome.pending_id]
    ((to, _, body),) = outbox.sent
    path = f"/clinic/patients/{world.patient_a}/pending/{outcome.pending_id}"
    want = "https://itb.example-hospital.org/thecal" + path if public_url else path
    assert to == "oncall@clinic.test"
    assert any(line.strip() == want for line in body.splitlines()), body
