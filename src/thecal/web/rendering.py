"""Templates, filters and the page frame (navigation, signed-in user, CSRF token).

Formatting only: a quantity is written with its unit the way :mod:`thecal.units` writes it
("0.5 mL", "300 mcg/day", never "µg"), dates in words that cannot be misread ("Tue 10 Mar
2026"). Nothing here decides anything clinical.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from thecal.units import (
    CONCENTRATION,
    DAILY_DOSE,
    DOSE,
    VOLUME,
    Kind,
    format_number,
    format_quantity,
)
from thecal.web.models import User

TEMPLATE_DIR = Path(str(resources.files("thecal.web") / "templates"))
STATIC_DIR = Path(str(resources.files("thecal.web") / "static"))

ROLE_LABELS = {"clinician": "clinician", "admin": "administrator", "patient": "patient",
               "caregiver": "caregiver"}
CLINIC_ROLES = frozenset({"clinician", "admin"})
HOME_ROLES = frozenset({"patient", "caregiver"})

URGENCY_LABELS = {
    "emergency": "Emergency", "urgent": "Urgent", "soon": "Soon", "routine": "Routine",
    "self-care": "Self-care", "none": "Nothing due",
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


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%a %-d %b %Y")


def fmt_datetime(value: datetime | None) -> str:
    if value is None:
        return "—"
    text = value.strftime("%a %-d %b %Y %H:%M")
    zone = value.strftime("%Z")
    return f"{text} {zone}".rstrip()


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
    "day": fmt_date,
    "when": fmt_datetime,
    "num": fmt_number,
    "percent": fmt_percent,
    "urgency_label": lambda u: URGENCY_LABELS.get(str(u), str(u)),
})
_env.globals["static"] = _static_url


def navigation(user: User | None, path: str) -> list[NavItem]:
    """The menu for a role; the current page is marked for screen readers."""
    if user is None:
        return []
    if user.role in CLINIC_ROLES:
        items = [("/clinic", "Worklist"), ("/clinic/triage", "Triage inbox"),
                 ("/clinic/team", "Care team"), ("/learn", "About the therapy")]
    else:
        items = []
        for pid in user.patient_ids[:1]:
            items += [(f"/my/{pid}", "My pump"), (f"/my/{pid}/symptoms", "Report symptoms"),
                      (f"/my/{pid}/recovery", "Recovery"), (f"/my/{pid}/card", "Implant card"),
                      (f"/my/{pid}/team", "Care team")]
        items.append(("/learn", "About the therapy"))
    current = max((href for href, _ in items if path == href or path.startswith(href + "/")),
                  key=len, default="")
    return [NavItem(href, label, href == current) for href, label in items]


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> HTMLResponse:
    """Render a page inside the frame: the user, the menu and the CSRF token come along."""
    user: User | None = getattr(request.state, "user", None)
    ctx: dict[str, Any] = {
        "user": user,
        "role_label": ROLE_LABELS.get(user.role, user.role) if user else "",
        "nav": navigation(user, request.url.path),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "flashes": [],
    }
    if context:
        ctx.update(context)
    return templates.TemplateResponse(request, template, ctx, status_code=status_code)
