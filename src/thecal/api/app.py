"""The app factory: ``create_app(settings)`` gives the FastAPI app (API + web pages).

The JSON API lives under ``/api/v1`` with its OpenAPI document at ``/api/v1/openapi.json``.
:func:`thecal.web.install` mounts the pages and ``/static`` on the same app (same clinic, same
session cookie).
"""

from __future__ import annotations

from fastapi import FastAPI

import thecal
from thecal.api.errors import install_handlers
from thecal.api.routes import router
from thecal.service import Clinic, Settings


def create_app(settings: Settings | None = None, *, clinic: Clinic | None = None) -> FastAPI:
    """Build the app; opens (and migrates) the database unless a ``clinic`` is given."""
    settings = settings or (clinic.settings if clinic is not None else Settings())
    app = FastAPI(title="thecal clinic API", version=thecal.__version__,
                  description="Clinic records for intrathecal baclofen pump therapy. It never "
                              "programs a real pump.",
                  openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs",
                  redoc_url=None)
    app.state.clinic = clinic if clinic is not None else Clinic.open(settings)
    app.state.settings = settings
    install_handlers(app)
    app.include_router(router)
    from thecal.api import fhir, scheduling  # refill clinic (issue 13)

    app.include_router(fhir.router)
    app.include_router(scheduling.router)
    from thecal.web import install as install_pages  # pages import the API's dependencies

    install_pages(app, settings)
    return app
