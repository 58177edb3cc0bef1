"""Plain-language pages about the therapy, open to everyone (no sign-in): what ITB therapy is,
the decision aid, and what the pump's alarms mean."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from thecal import service
from thecal.web.rendering import render
from thecal.web.security import PageRoute, optional_user

router = APIRouter(prefix="/learn", route_class=PageRoute, include_in_schema=False)

PAGES = {
    "therapy": "What intrathecal baclofen therapy is",
    "decision-aid": "Deciding about a baclofen pump",
    "alarms": "What the pump's alarms mean",
    "living-with": "Living with a pump",
}


@router.get("")
def index(request: Request) -> Response:
    optional_user(request)
    return render(request, "learn/index.html", {"title": "About the therapy", "pages": PAGES})


@router.get("/{page}")
def page(request: Request, page: str) -> Response:
    optional_user(request)
    if page not in PAGES:
        return render(request, "error.html", {"title": "Not found",
                                              "message": "There is no page with that name."},
                      status_code=404)
    context: dict[str, object] = {"title": PAGES[page], "pages": PAGES}
    if page == "alarms":
        context["alarms"] = service.alarm_meanings()
    return render(request, f"learn/{page}.html", context)
