"""The clinic and home web application: server-rendered pages with a little htmx.

:func:`thecal.app.create_app` calls :func:`install`, which mounts the pages and the
locally served ``/static`` files (no CDN: a clinic network without internet works). Pages call
``thecal.service`` directly (:mod:`thecal.service.pages`) and templates read its typed results
(:mod:`thecal.service.results`). See ``docs/web.md``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from thecal.web.rendering import STATIC_DIR

__all__ = ["install"]


def install(app: FastAPI, settings: Any = None) -> None:
    """Mount the pages and ``/static`` on ``app`` (its ``state.clinic`` is the clinic)."""
    from thecal.web import access, auth, cases, clinic, home, learn

    app.state.web_settings = settings
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for module in (auth, clinic, cases, home, learn, access):
        app.include_router(module.router)
    from thecal.web import dashboard, schedule, visit_report  # refill clinic (issue 13): service/ directly

    for module_ in (visit_report, dashboard, schedule):
        app.include_router(module_.router)
    app.include_router(schedule.home_router)
