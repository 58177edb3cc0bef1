"""The app factory: ``create_app(settings)`` gives the FastAPI app (API + web pages).

The JSON API lives under ``/api/v1`` with its OpenAPI document at ``/api/v1/openapi.json``
(no interactive docs page: FastAPI's loads its JavaScript from a CDN, which must never run on
the session cookie's origin). :func:`thecal.web.install` mounts the pages and ``/static`` on
the same app (same clinic, same session cookie). Around everything: the limits of
:mod:`thecal.api.limits` and the security headers of :mod:`thecal.web.headers`.
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
                  openapi_url="/api/v1/openapi.json", docs_url=None,
                  redoc_url=None)
    app.state.clinic = clinic if clinic is not None else Clinic.open(settings)
    app.state.settings = settings
    install_handlers(app)
    app.include_router(router)
    from thecal.api.deprovision import router as deprovision_router

    app.include_router(deprovision_router)
    from thecal.web import install as install_pages  # pages import the API's dependencies

    install_pages(app, settings)
    from thecal.web.access import router as access_pages  # de-provisioning pages

    app.include_router(access_pages)
    from thecal.api.limits import LimitsMiddleware, RateLimits
    from thecal.web.headers import SecurityHeadersMiddleware

    app.add_middleware(LimitsMiddleware, max_body_bytes=settings.max_body_bytes,
                       limits=RateLimits(settings.rate_per_source, settings.rate_per_credential,
                                         settings.rate_sign_in))
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: on the limits' answers too
    return app
