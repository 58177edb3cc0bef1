"""Stale forms never overwrite (issue 11, point 10).

Every state-changing form carries the record's version it was shown at (``shown_version``,
the hidden field of ``clinic/_shown_version.html``); the handler hands that version to the
service as ``expected_version``, so a record changed since (by another clinician, the API, the
pump's interrogation) refuses the write with a conflict. :func:`conflict_page` answers it: 409
with what was recorded since the form was shown, and a link to start again from the current
record. Nothing is saved over the other change.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from thecal.service import pages
from thecal.web.rendering import render
from thecal.web.security import clinic_of, require_clinician

__all__ = ["conflict_page", "shown_version"]


def shown_version(value: str) -> int | None:
    """The version a form was shown at (None: the form did not carry one)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def conflict_page(request: Request, patient_id: str, shown: int | None, what: str,
                  again_url: str) -> Response:
    """409: the record changed after the form was shown; show what changed since."""
    user = require_clinician(request)
    clinic = clinic_of(request)
    header = pages.chart(clinic, user, patient_id).header
    current, changes = pages.changes_since(clinic, user, patient_id,
                                           shown if shown is not None else header.version)
    return render(request, "clinic/conflict.html", {
        "title": f"Changed since you opened it · {header.name}", "h": header, "what": what,
        "shown": shown, "current": current, "changes": changes, "again_url": again_url},
        status_code=409)
