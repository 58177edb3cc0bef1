"""Mount the JSON API on an app: the error answers and the ``/api/v1`` routes.

The app itself is built by the neutral factory :func:`thecal.app.create_app`, which mounts the
pages next to it; this module never imports :mod:`thecal.web`.
"""

from __future__ import annotations

from fastapi import FastAPI

from thecal.api import cases
from thecal.api.errors import install_handlers
from thecal.api.routes import router

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Add the API's error handlers and routes to ``app`` (its ``state.clinic`` is set)."""
    from thecal.api import fhir, scheduling  # refill clinic (issue 13)
    from thecal.api.deprovision import router as deprovision_router

    install_handlers(app)
    app.include_router(router)
    app.include_router(cases.router)
    app.include_router(deprovision_router)
    app.include_router(fhir.router)
    app.include_router(scheduling.router)
