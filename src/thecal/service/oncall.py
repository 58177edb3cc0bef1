"""Telling the on-call clinician about an emergency case: the inbox, and an e-mail over SMTP.

Who is on call is a **site setting** (``on_call_user``, ``on_call_email``), not a care-team
role: on-call is a rota across the site's patients that changes at each hand-over, while a
care team is per patient and changes rarely. Every emergency case gets an ``inbox`` notice
(addressed to the on-call user, or to the site inbox when none is set) and, when the server
has an SMTP server (``Settings.smtp_host``) and the site an ``on_call_email``, an ``email``
notice. A notice that could not be sent is recorded as ``failed`` with the server's answer, or
``not-configured``; it never refuses the report that raised it.

The mailer is a tiny interface (:data:`Mailer`): ``send(to, subject, body)``.
:func:`smtp_mailer` sends through :mod:`thecal.service.notify` (the SMTP mailer of the
reminders) with the server's settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from thecal.service import notify as mail
from thecal.service.settings import Settings

Mailer = Callable[[str, str, str], str]  # (to, subject, body) -> message id; raises NotifyError


def smtp_mailer(settings: Settings) -> Mailer | None:
    """A mailer for the server's SMTP settings (:mod:`thecal.service.notify`); None when no
    server is set."""
    host = settings.smtp_host
    if not host:
        return None
    server = mail.SmtpServer(host, settings.smtp_port, settings.mail_from)

    def send(to: str, subject: str, body: str) -> str:
        return mail.send(server, mail.Notice(to, subject, body)).message_id

    return send


@dataclass(frozen=True)
class Notice:
    """One notice of a case: ``channel`` inbox | email, ``status`` sent | failed |
    not-configured."""

    channel: str
    recipient: str
    status: str
    detail: str | None = None


def emergency_message(patient_name: str, mrn: str, case_id: int, patient_words: str,
                      symptoms: list[str], actions: list[str], *, clinic_phone: str,
                      emergency_number: str, link: str) -> tuple[str, str]:
    """The subject and body of the e-mail (``mail/emergency.txt``): who, their own words, what
    to do, where the case is (``link``: on the site's ``public_url``, else the path, with where
    to find it), the clinic's phone and the emergency number the patient was given."""
    return mail.compose("emergency", patient_name=patient_name, mrn=mrn, case_id=case_id,
                        patient_words=patient_words, symptoms=symptoms, actions=actions,
                        clinic_phone=clinic_phone, emergency_number=emergency_number,
                        link=link)


def notify(settings: Settings, site_settings: Mapping[str, object], subject: str, body: str,
           mailer: Mailer | None = None) -> list[Notice]:
    """Send the notices of one emergency case; returns what was done with each."""
    on_call = str(site_settings.get("on_call_user") or "")
    notices = [Notice("inbox", on_call or "site inbox", "sent")]
    address = str(site_settings.get("on_call_email") or "")
    send = mailer if mailer is not None else smtp_mailer(settings)
    if not address:
        notices.append(Notice("email", "", "not-configured",
                              "the site has no on_call_email setting"))
    elif send is None:
        notices.append(Notice("email", address, "not-configured",
                              "the server has no SMTP server (smtp_host)"))
    else:
        try:
            message_id = send(address, subject, body)
            notices.append(Notice("email", address, "sent", message_id))
        except (OSError, mail.NotifyError) as exc:
            notices.append(Notice("email", address, "failed", str(exc)))
    return notices
