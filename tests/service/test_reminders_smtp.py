"""An e-mail reminder received by a real SMTP server (aiosmtpd on 127.0.0.1, started here)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from thecal.errors import InputError
from thecal.service import Clinic, Settings
from thecal.service import scheduling as cal
from thecal.service.testing import NOW, World


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls this name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_reminder_reaches_the_local_smtp_server(world: World, smtp: tuple[Inbox, int]) -> None:
    if world.clinic.backend != "sqlite":
        pytest.skip("the mailer is the same on both back ends")
    inbox, port = smtp
    nurse = world.actor("nurse")
    cal.set_visit_needs(world.clinic, nurse, world.patient_a, email="alice@patients.example")
    start = NOW + timedelta(days=1)
    session = cal.add_session(world.clinic, nurse, kind="clinic", start=start, end=start + timedelta(hours=2),
                              place="room 1", staff=["nurse"])
    booked = cal.book(world.clinic, nurse, cal.BookingRequest(world.patient_a, session.id, start))
    mailing = Clinic(world.clinic.engine, replace(world.clinic.settings, smtp_host="127.0.0.1", smtp_port=port),
                     world.clock)
    result = cal.send_reminders(mailing, nurse)
    assert result.sent == (booked.id,)
    [message] = inbox.messages
    assert message.rcpt_tos == ["alice@patients.example"]
    text = message.content.decode()
    assert "Subject: Your pump refill appointment" in text
    # the time in the patient's zone as the pages write it (Alice lives in Europe/Berlin;
    # NOW + 1 day = Mon 2 Mar 2026 09:00 UTC = 10:00 CET), never ISO text with an offset
    assert "Mon 2 Mar 2026 10:00 CET" in text, text
    assert start.isoformat(timespec="minutes") not in text and "+00:00" not in text
    assert cal.send_reminders(mailing, nurse).sent == ()  # reminded once


def test_no_smtp_server_set_is_said(world: World) -> None:
    clinic = Clinic(world.clinic.engine, Settings(database_url="x", migrate=False), world.clock)
    with pytest.raises(InputError, match="no SMTP server"):
        cal.send_reminders(clinic, world.actor("nurse"))
