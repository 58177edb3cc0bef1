"""Second signatures: who may give one, and what a confirmation still waiting means.

A refill is recorded when it happens (the pump holds the new drug whatever the paperwork
says); what waits for a second clinician is the *confirmation* of the concentration or
program (two-person verification, PR-5 / ISMP practice). A confirmation never expires: past
its time it is **escalated** — high on the worklist (rule ``confirmation-overdue`` of
:mod:`thecal.clinical.worklist`, right after an open emergency case), a banner on the chart,
in the inbox, and the on-call clinician is told — until it is confirmed or rejected with a
reason and a corrective action.

Who may be the second signer is a site setting (``second_signer_roles``); the default is any
physician (role ``clinician``) or ITB nurse (role ``nurse``) other than the person who entered
it. Pure rules: time is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from thecal.limits import Reason, Severity

__all__ = [
    "ESCALATE_AFTER",
    "SECOND_SIGNER_ROLES",
    "SECOND_SIGNER_SETTING",
    "ConfirmationState",
    "confirmation_state",
    "second_signer_refusal",
    "second_signer_roles",
]

SECOND_SIGNER_SETTING: Final = "second_signer_roles"
# the default: a physician or an ITB nurse (PR-5, two-person verification; ISMP practice)
SECOND_SIGNER_ROLES: Final = ("clinician", "nurse")
# ASSUMED: the time a second signature may reasonably take in clinic before it is escalated
# (the old lifetime of a pending confirmation); a site can change it (``pending_lifetime``).
ESCALATE_AFTER: Final = timedelta(minutes=15)
ROLE_WORDS: Final = {"clinician": "physician", "nurse": "ITB nurse",
                     "pharmacist": "pharmacist"}

Status = Literal["waiting", "escalated"]


def second_signer_roles(site_settings: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The roles a site lets sign second (its setting, else :data:`SECOND_SIGNER_ROLES`)."""
    value = (site_settings or {}).get(SECOND_SIGNER_SETTING)
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    return SECOND_SIGNER_ROLES


def second_signer_refusal(*, signer_id: int | None, signer_role: str, entered_by: int | None,
                          allowed_roles: Iterable[str]) -> str | None:
    """Why this person may not sign second (None: they may).

    >>> second_signer_refusal(signer_id=2, signer_role="nurse", entered_by=1,
    ...                       allowed_roles=SECOND_SIGNER_ROLES) is None
    True
    >>> second_signer_refusal(signer_id=1, signer_role="nurse", entered_by=1,
    ...                       allowed_roles=SECOND_SIGNER_ROLES)
    'the second signature must come from someone other than the person who entered it'
    """
    roles = tuple(allowed_roles)
    if signer_id is not None and signer_id == entered_by:
        return "the second signature must come from someone other than the person who entered it"
    if signer_role not in roles:
        words = " or ".join(ROLE_WORDS.get(r, r) for r in roles)
        return (f"a {ROLE_WORDS.get(signer_role, signer_role)} may not be the second signer "
                f"at this site (it asks for a {words})")
    return None


@dataclass(frozen=True)
class ConfirmationState:
    """Where one open confirmation stands at ``now``: waiting, or escalated past its time."""

    status: Status
    due_at: datetime
    overdue_by: timedelta
    reason: Reason

    @property
    def escalated(self) -> bool:
        return self.status == "escalated"


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def confirmation_state(*, due_at: datetime, now: datetime, what: str) -> ConfirmationState:
    """The state of an open confirmation of ``what`` (e.g. "concentration 500 → 1000 mcg/mL").

    >>> from datetime import UTC
    >>> due = datetime(2026, 12, 1, 9, 15, tzinfo=UTC)
    >>> confirmation_state(due_at=due, now=due - timedelta(minutes=5), what="x").status
    'waiting'
    >>> s = confirmation_state(due_at=due, now=due + timedelta(minutes=20), what="x")
    >>> s.status, s.reason.message
    ('escalated', 'x: second confirmation overdue by 20 min (escalated)')
    """
    if now < due_at:
        return ConfirmationState("waiting", due_at, timedelta(0), Reason(
            "confirmation-waiting", f"{what}: waiting for a second clinician's confirmation",
            "ISMP", Severity.WARNING))
    late = now - due_at
    return ConfirmationState("escalated", due_at, late, Reason(
        "confirmation-overdue", f"{what}: second confirmation overdue by {_minutes(late)} "
        "(escalated)", "ISMP", Severity.DANGER))
