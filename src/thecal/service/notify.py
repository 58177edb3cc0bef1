"""Sending notices by e-mail over SMTP: a small mailer reused for reminders and emergency notices.

The server comes from the settings (``smtp_host``, ``smtp_port``, ``mail_from``; no server set
means nothing is sent and the caller is told). A notice is plain text, its words a template
of ``service/mail`` (:func:`compose`); a failure to send is a :class:`NotifyError` naming the
server, so the caller can record it and try again.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from thecal.errors import ThecalError
from thecal.units import format_instant

# plain-text e-mails: nothing is HTML, so nothing is escaped
_MAIL = Environment(loader=FileSystemLoader(Path(__file__).with_name("mail")), autoescape=False,
                    trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
# a time as the pages write it, in the reader's zone: {{ a.start|when(zone) }}
_MAIL.filters["when"] = format_instant


class NotifyError(ThecalError):
    """A notice could not be handed to the mail server."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int = 25
    sender: str = "thecal@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_s: float = 10.0


@dataclass(frozen=True)
class Notice:
    to: str
    subject: str
    body: str


def compose(template: str, **values: object) -> tuple[str, str]:
    """The subject (the template's first line) and the body of an e-mail of ``service/mail``."""
    subject, _, body = _MAIL.get_template(f"{template}.txt").render(**values).partition("\n")
    return subject, body.rstrip("\n")


@dataclass(frozen=True)
class Sent:
    to: str
    subject: str
    message_id: str


def send(server: SmtpServer, notice: Notice) -> Sent:
    """Hand one notice to the SMTP server; raises :class:`NotifyError` if it is refused or unreachable."""
    message = EmailMessage()
    message["From"] = server.sender
    message["To"] = notice.to
    message["Subject"] = notice.subject
    from email.utils import make_msgid

    message["Message-ID"] = make_msgid(domain="thecal.invalid")
    message.set_content(notice.body)
    try:
        with smtplib.SMTP(server.host, server.port, timeout=server.timeout_s) as smtp:
            if server.starttls:
                smtp.starttls()
            if server.username:
                smtp.login(server.username, server.password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(f"the mail server {server.host}:{server.port} did not take the message: {exc}",
                          where="smtp", fix="check the SMTP settings and try again") from None
    return Sent(notice.to, notice.subject, str(message["Message-ID"]))
