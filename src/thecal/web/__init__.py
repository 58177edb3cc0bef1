"""The clinic and home web application: server-rendered pages with a little htmx.

``thecal.api.app.create_app(settings)`` calls :func:`install`, which mounts the pages and the
locally served ``/static`` files (no CDN: a clinic network without internet works). Pages call
the clinic's use cases through a :class:`~thecal.web.models.ClinicPort`; by default that is
:class:`~thecal.web.service_port.ServicePort` over ``thecal.service``. See ``docs/web.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from thecal.web.models import ClinicPort
from thecal.web.rendering import STATIC_DIR

__all__ = ["install"]


def _service_port_factory(request: Request) -> ClinicPort:
    from thecal.web.service_port import ServicePort

    return ServicePort.for_request(request)


def install(app: FastAPI, settings: Any = None, *,
            port: ClinicPort | Callable[[Request], ClinicPort] | None = None) -> None:
    """Mount the pages and ``/static`` on ``app``.

    ``port`` replaces the service (tests): a :class:`ClinicPort`, or a function of the request
    that returns one. By default each request gets a ServicePort over the app's clinic.
    """
    from thecal.web import auth, clinic, home, learn

    if port is None:
        app.state.web_port_factory = _service_port_factory
    elif callable(port) and not hasattr(port, "sign_in"):
        app.state.web_port_factory = port
    else:
        fixed = port
        app.state.web_port_factory = lambda request: fixed
    app.state.web_settings = settings
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for module in (auth, clinic, home, learn):
        app.include_router(module.router)
    from thecal.web import dashboard, schedule, visit_report  # refill clinic (issue 13): service/ directly

    for module_ in (visit_report, dashboard, schedule):
        app.include_router(module_.router)
    app.include_router(schedule.home_router)
