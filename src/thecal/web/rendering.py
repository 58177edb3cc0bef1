"""Templates, filters and the page frame (navigation, signed-in user, CSRF token).

Formatting only: a quantity is written with its unit the way :mod:`thecal.units` writes it
("0.5 mL", "300 mcg/day", never "µg"), dates in words that cannot be misread ("Tue 10 Mar
2026"). Nothing here decides anything clinical.

Times are stored as UTC instants; a page shows them in one zone, ``display_zone`` in the
template context. :func:`render` puts it there: the zone a handler named for the page
(``request.state.display_zone``: a patient's own pages use the patient's zone), otherwise the
signed-in user's (the site's ``timezone`` setting for the clinic team), otherwise UTC. The
``when`` and ``day`` filters convert every instant to it and write the zone's abbreviation
(CET/CEST), so no template converts a time itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from thecal.service import authz
from thecal.service.results import User
from thecal.units import (
    CONCENTRATION,
    DAILY_DOSE,
    DOSE,
    VOLUME,
    Kind,
    format_day,
    format_instant,
    format_number,
    format_quantity,
    same_concentration,
    zone_of,
)

TEMPLATE_DIR = Path(str(resources.files("thecal.web") / "templates"))
STATIC_DIR = Path(str(resources.files("thecal.web") / "static"))

ROLE_LABELS = {"clinician": "clinician", "admin": "administrator", "patient": "patient",
               "caregiver": "caregiver"}
# staff as a clinic names them (issue 11): the service role "clinician" is a physician
STAFF_LABELS = {"clinician": "physician", "nurse": "ITB nurse", "pharmacist": "pharmacist"}
CLINIC_ROLES = frozenset({"clinician", "admin"})
HOME_ROLES = frozenset({"patient", "caregiver"})

URGENCY_LABELS = {
    "emergency": "Emergency", "urgent": "Urgent", "soon": "Soon", "routine": "Routine",
    "none": "Nothing due",
}


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    current: bool = False


def _quantity(kind: Kind, decimals: int = 3) -> Any:
    def fmt(value: float | None) -> str:
        if value is None:
            return "—"
        return format_quantity(float(value), kind, decimals=decimals)
    return fmt


def in_zone(value: datetime, zone: tzinfo) -> datetime:
    """An aware instant in ``zone``; a naive value (a calendar date made a datetime) as is."""
    return value.astimezone(zone) if value.tzinfo is not None else value


def fmt_date(value: date | datetime | None, zone: tzinfo = UTC) -> str:
    """"Tue 10 Mar 2026": a date as it is, an instant on its calendar day in ``zone``."""
    return format_day(value, zone)


def fmt_datetime(value: datetime | None, zone: tzinfo = UTC) -> str:
    """"Tue 10 Mar 2026 09:30 CET": an instant in ``zone`` with the zone's abbreviation."""
    return format_instant(value, zone)


def _context_zone(ctx: Context) -> tzinfo:
    zone = ctx.get("display_zone")
    return zone if isinstance(zone, tzinfo) else zone_of(zone)


@pass_context
def _day_filter(ctx: Context, value: date | datetime | None) -> str:
    return fmt_date(value, _context_zone(ctx))


@pass_context
def _when_filter(ctx: Context, value: datetime | None) -> str:
    return fmt_datetime(value, _context_zone(ctx))


def fmt_words(parts: Iterable[object], zone: tzinfo = UTC) -> str:
    """Words with instants and days among them (:data:`thecal.service.results.Words`): each
    instant as :func:`fmt_datetime`, each day as :func:`fmt_date` writes it in ``zone``."""
    return "".join(fmt_datetime(p, zone) if isinstance(p, datetime)
                   else fmt_date(p, zone) if isinstance(p, date) else str(p) for p in parts)


@pass_context
def _words_filter(ctx: Context, parts: Iterable[object]) -> str:
    return fmt_words(parts, _context_zone(ctx))


def fmt_number(value: float | None, decimals: int = 1) -> str:
    if value is None:
        return "—"
    return format_number(float(value), decimals=decimals)


def fmt_percent(value: float | None) -> str:
    if value is None:
        return "—"
    sign = "+" if value > 0 else ""
    return f"{sign}{format_number(value * 100, decimals=1)} %"


def to_json_attr(value: Any) -> Markup:
    return Markup(json.dumps(value))


def _static_url(name: str) -> str:
    return f"/static/{name}"


templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
_env = templates.env
_env.autoescape = True
_env.filters.update({
    "volume": _quantity(VOLUME, 2),
    "dose": _quantity(DOSE, 1),
    "daily_dose": _quantity(DAILY_DOSE, 1),
    "concentration": _quantity(CONCENTRATION, 1),
    "day": _day_filter,
    "when": _when_filter,
    "words": _words_filter,
    "num": fmt_number,
    "percent": fmt_percent,
    "urgency_label": lambda u: URGENCY_LABELS.get(str(u), str(u)),
})
_env.globals["static"] = _static_url
_env.tests["same_concentration"] = same_concentration  # the one comparison of strengths


def navigation(user: User | None, path: str) -> list[NavItem]:
    """The menu for a role; the current page is marked for screen readers."""
    if user is None:
        return []
    if user.role == "admin":  # manages the site's logins, not patients' records
        items = [("/clinic/users", "Logins"), ("/learn", "About the therapy")]
    elif user.role in CLINIC_ROLES:
        items = [("/clinic", "Worklist"), ("/clinic/cases", "Cases"),
                 ("/clinic/triage", "Triage inbox"),
                 ("/clinic/schedule", "Schedule"), ("/clinic/dashboard", "Dashboard"),
                 ("/clinic/team", "Care team"), ("/learn", "About the therapy")]
    else:
        items = []
        for pid in user.patient_ids[:1]:
            items += [(f"/my/{pid}", "My pump"), (f"/my/{pid}/symptoms", "Report symptoms"),
                      (f"/my/{pid}/recovery", "Recovery"), (f"/my/{pid}/card", "Implant card"),
                      (f"/my/{pid}/appointment", "Appointment"),
                      (f"/my/{pid}/team", "Care team")]
        items.append(("/learn", "About the therapy"))
    current = max((href for href, _ in items if path == href or path.startswith(href + "/")),
                  key=len, default="")
    return [NavItem(href, label, href == current) for href, label in items]


def display_zone(request: Request) -> tzinfo:
    """The zone this page shows times in (see the module docstring)."""
    named = getattr(request.state, "display_zone", None)
    if named:
        return zone_of(str(named))
    user: User | None = getattr(request.state, "user", None)
    return zone_of(user.timezone if user is not None else None)


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> HTMLResponse:
    """Render a page inside the frame: the user, the menu, the CSRF token and the zone that
    every date and time on the page is shown in (``display_zone``) come along."""
    user: User | None = getattr(request.state, "user", None)
    ctx: dict[str, Any] = {
        "display_zone": display_zone(request),
        "user": user,
        "role_label": (STAFF_LABELS.get(user.actor.role) or ROLE_LABELS.get(user.role, user.role))
        if user else "",
        # the forms a person may submit are the only ones shown (authz decides, once)
        "may": (lambda action: user is not None and authz.allowed(user.actor, action)),
        "nav": navigation(user, request.url.path),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "flashes": [],
    }
    if context:
        ctx.update(context)
    return templates.TemplateResponse(request, template, ctx, status_code=status_code)
