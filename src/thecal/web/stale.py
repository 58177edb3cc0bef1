"""Stale forms never overwrite (issue 11, point 10): one mechanism for every form that
changes a patient's record (program change, refill, assessment, the record's event forms and
corrections).

Each such form includes ``clinic/_shown_version.html``, the hidden ``shown_version``: the
record's version when the form was first shown. Before it writes, the handler asks
:func:`check` (refused when the record moved on since), then hands the same version to the
service as ``expected_version``, which refuses a write that raced past the check. Either
refusal is a :class:`~thecal.errors.ConflictError`, answered by :func:`conflict_page`: 409,
what was recorded since the form was shown, and the way back to the current record (a record
form comes back filled in as it was sent, at the current version). Nothing is saved over the
other change.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import Response

from thecal import service
from thecal.errors import ConflictError, InputError
from thecal.service import pages
from thecal.web.rendering import render
from thecal.web.security import clinic_of, require_clinician

__all__ = ["check", "conflict_page", "shown_version"]


def shown_version(value: str) -> int | None:
    """The version a form was shown at (None: the form did not carry one)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def check(request: Request, patient_id: str, shown: int | None) -> int:
    """The version a form was shown at, if the record is still at it; else a refusal."""
    if shown is None:
        raise InputError("the form carries no record version", where="shown_version",
                         fix="reload the page and enter it again")
    user = require_clinician(request)
    now = service.get_patient(clinic_of(request), user.actor, pages.patient_id_of(patient_id))
    if now.version != shown:
        raise ConflictError(f"the record changed: the form was shown at version {shown}, it "
                            f"is now at version {now.version}", where="shown_version",
                            fix="look at what changed, then start again")
    return shown


def conflict_page(request: Request, patient_id: str, shown: int | None, what: str,
                  again_url: str,
                  form: Mapping[str, object] | None = None) -> Response:
    """409: the record changed after the form was shown; what changed since, and the way
    back (``form``: a record form's context, shown again filled in at the current version)."""
    user = require_clinician(request)
    header, changes = pages.changes_since(clinic_of(request), user, patient_id, shown or 0)
    return render(request, "clinic/conflict.html", {
        **(form or {}), "title": f"Changed since you opened it · {header.name}", "h": header,
        "what": what, "shown": shown, "changes": changes, "again_url": again_url,
        "shown_version": header.version}, status_code=409)
