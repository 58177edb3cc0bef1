"""The app factory: ``create_app(settings)`` gives the FastAPI app (API + web pages if present).

The JSON API lives under ``/api/v1`` with its OpenAPI document at ``/api/v1/openapi.json``.
When the ``thecal.web`` package is installed, :func:`thecal.web.install` mounts the pages and
``/static`` on the same app (same clinic, same session cookie).
"""

from __future__ import annotations

import importlib
import importlib.util

from fastapi import FastAPI

import thecal
from thecal.api.errors import install_handlers
from thecal.api.routes import router
from thecal.service import Clinic, Settings


def web_available() -> bool:
    """Whether the web pages package is part of this installation."""
    return importlib.util.find_spec("thecal.web") is not None


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
    if web_available():
        web = importlib.import_module("thecal.web")
        web.install(app, settings)
    return app
