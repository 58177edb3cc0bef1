"""Escalating confirmations that wait too long: never silently expired (issue 11, point 1).

A refill that changes the concentration is recorded when it happens; its second signature is
a confirmation row beside it (:func:`thecal.service.therapy.record_refill`). When that row is
still open past its time (``expires_at``, the site's ``pending_lifetime``) it is escalated —
once: ``escalated_at`` is set, an audit row written, and the on-call clinician (site setting
``on_call_email``, the address emergency cases go to) is e-mailed over SMTP through
:func:`thecal.service.oncall.smtp_mailer` (settings ``smtp_host``/``smtp_port``/``mail_from``).
Until it is confirmed or rejected it stays first on the worklist, as a banner on the chart and
in the inbox (:func:`open_confirmations`).

Escalation runs whenever a clinician reads the worklist, a chart or the inbox (and from
``thecal`` tasks calling :func:`escalate_overdue`), so it needs no background scheduler.
The mailer is a small interface (:class:`Mailer`) so tests can plug in their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Annotated, Protocol

from pydantic import Field
from sqlalchemy import Connection

from thecal.clinical.confirmation import ConfirmationState, Status, confirmation_state
from thecal.limits import Reason
from thecal.service import authz, oncall
from thecal.service import notify as mail
from thecal.service.actors import SYSTEM, Actor
from thecal.service.admin import site_link
from thecal.service.clinic import Clinic
from thecal.service.results import Instant
from thecal.store import auth as auth_store
from thecal.store import records
from thecal.store.records import Row
from thecal.units import format_instant, zone_of

__all__ = ["Confirmation", "Mailer", "escalate_overdue", "open_confirmations"]


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


@dataclass(frozen=True)
class _SendMailer:
    """The on-call mailer of :mod:`thecal.service.oncall` (SMTP via :mod:`thecal.service.notify`)
    behind this module's :class:`Mailer` interface."""

    send_one: oncall.Mailer

    def send(self, to: str, subject: str, body: str) -> None:
        self.send_one(to, subject, body)


def _mailer(clinic: Clinic) -> Mailer | None:
    override: Mailer | None = getattr(clinic, "mailer", None)
    if override is not None:
        return override
    send = oncall.smtp_mailer(clinic.settings)
    return _SendMailer(send) if send is not None else None


@dataclass(frozen=True)
class Confirmation:
    """One open second-signature confirmation of a recorded refill, as every page (and the
    API) shows it; ``due_at``, ``status``, ``escalated`` and ``reason`` are its ``state``'s."""

    pending_id: int
    patient_id: int
    patient_name: str
    event_id: str
    summary: str
    entered_by: str  # display name of who entered the refill
    entered_by_id: int
    created_at: Instant
    due_at: Instant
    status: Status  # waiting | escalated
    escalated: bool
    escalated_at: Instant | None
    notified_at: Instant | None
    notify_detail: str
    reason: Reason
    new_concentration_mcg_per_ml: float | None
    state: Annotated[ConfirmationState, Field(exclude=True)]


def _confirmation(conn: Connection, row: Row, now: datetime) -> Confirmation:
    user = records.get_user(conn, int(row["proposed_by"])) or {}
    summary = str(row["payload"].get("summary") or "refill")
    new = row["payload"].get("new_concentration_mcg_per_ml")
    state = confirmation_state(due_at=row["expires_at"], now=now, what=summary)
    return Confirmation(
        int(row["id"]), int(row["patient_id"]), str(row.get("patient_name") or ""),
        str(row["event_id"]), summary,
        str(user.get("display_name") or user.get("username") or "unknown"),
        int(row["proposed_by"]), row["created_at"], state.due_at, state.status, state.escalated,
        row.get("escalated_at"), row.get("notified_at"), str(row.get("notify_detail") or ""),
        state.reason, float(new) if new is not None else None, state)


def open_confirmations(clinic: Clinic, actor: Actor, *, patient_id: int | None = None,
                       escalate: bool = True) -> list[Confirmation]:
    """The open confirmations the actor may see (one patient's, or all), overdue first.

    Escalates the overdue ones first (:func:`escalate_overdue`) unless ``escalate`` is False.
    """
    if escalate:
        escalate_overdue(clinic)

    def body(conn: Connection) -> list[Confirmation]:
        if patient_id is not None:
            authz.patient_for(conn, actor, authz.READ, patient_id)
            rows = [r for r in auth_store.open_confirmations(conn)
                    if int(r["patient_id"]) == patient_id]
        else:
            authz.require(actor, authz.WORKLIST)
            rows = auth_store.open_confirmations(conn, authz.visible_patients_clause(actor))
        now = clinic.now()
        items = [_confirmation(conn, r, now) for r in rows]
        return sorted(items, key=lambda c: (not c.escalated, c.state.due_at, c.pending_id))

    return clinic.run(actor, "confirmations.read", body, patient_id=patient_id,
                      entity="pending")


def _site_zone(site: Mapping[str, object]) -> tzinfo:
    """The site's ``timezone`` setting (UTC when unset or unknown): the e-mail's clock."""
    settings = site.get("settings")
    return zone_of(str(settings.get("timezone") or "") if isinstance(settings, Mapping) else None)


def escalate_overdue(clinic: Clinic, *, now: datetime | None = None,
                     on_error: Callable[[str], None] | None = None) -> list[int]:
    """Escalate every open confirmation past its time that is not escalated yet; e-mail the
    on-call clinician of its site (the review page's link on the site's ``public_url``, else
    its path). Returns the ids escalated by this call (idempotent)."""
    at = now or clinic.now()
    with clinic.transaction() as conn:
        due = [r for r in auth_store.open_confirmations(conn)
               if r["expires_at"] <= at and r.get("escalated_at") is None]
        escalated: list[tuple[Confirmation, str | None, tzinfo, str]] = []
        for row in due:
            if not auth_store.mark_escalated(conn, int(row["id"]), at):
                continue
            item = _confirmation(conn, row, at)
            patient = records.get_patient(conn, item.patient_id) or {}
            site = records.get_site(conn, int(patient.get("site_id") or 0)) or {}
            to = (site.get("settings") or {}).get("on_call_email")
            clinic.audit(conn, SYSTEM, "confirmation.escalate", outcome="escalated",
                         entity="pending", entity_id=str(item.pending_id),
                         patient_id=item.patient_id, event_id=item.event_id,
                         detail=f"{item.state.reason.message}; on-call: {to or 'none set'}")
            link = site_link(site.get("settings"),
                             f"/clinic/patients/{item.patient_id}/pending/{item.pending_id}")
            escalated.append((item, str(to) if to else None, _site_zone(site), link))
    mailer = _mailer(clinic)
    for item, to, zone, link in escalated:
        if to is None or mailer is None:
            detail = ("no on-call e-mail set for the site" if to is None
                      else "no mail server configured: shown in the inbox only")
            sent_at = None
        else:
            subject, body = mail.compose("confirmation_overdue", c=item, link=link,
                                         entered_at=format_instant(item.created_at, zone),
                                         due_at=format_instant(item.due_at, zone))
            try:
                mailer.send(to, subject, body)
                detail, sent_at = f"e-mailed {to}", clinic.now()
            except (OSError, mail.NotifyError) as exc:
                detail, sent_at = f"e-mail to {to} failed: {exc}", None
                if on_error is not None:
                    on_error(detail)
        with clinic.transaction() as conn:
            auth_store.mark_notified(conn, item.pending_id, sent_at, detail)
            clinic.audit(conn, SYSTEM, "confirmation.notify",
                         outcome="ok" if sent_at else "failed", entity="pending",
                         entity_id=str(item.pending_id), patient_id=item.patient_id,
                         detail=detail)
    return [item.pending_id for item, _, _, _ in escalated]
