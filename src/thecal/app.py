"""The app factory: ``create_app(settings)`` gives the clinic server, both faces on one app.

A neutral module above the faces: it mounts the JSON API (:func:`thecal.api.app.install`,
``/api/v1`` with its OpenAPI document at ``/api/v1/openapi.json``) and the pages
(:func:`thecal.web.install`, ``/`` and ``/static``) on the same app, the same clinic and the
same session cookie (:mod:`thecal.cookies`). Neither face imports the other.

There is no interactive docs page (FastAPI's loads its JavaScript from a CDN, which must never
run on the session cookie's origin). Around everything: the limits of :mod:`thecal.api.limits`
(body size, request rates, id range) and the security headers of :mod:`thecal.web.headers`.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI

import thecal
from thecal import api, web
from thecal.service import Clinic, Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, clinic: Clinic | None = None,
               pages: bool = True) -> FastAPI:
    """Build the app; opens (and migrates) the database unless a ``clinic`` is given.

    ``pages=False`` gives the JSON API alone.
    """
    settings = settings or (clinic.settings if clinic is not None else Settings())
    app = FastAPI(title="thecal clinic API", version=thecal.__version__,
                  description="Clinic records for intrathecal baclofen pump therapy. It never "
                              "programs a real pump.",
                  openapi_url="/api/v1/openapi.json", docs_url=None,
                  redoc_url=None)
    app.state.clinic = clinic if clinic is not None else Clinic.open(settings)
    app.state.settings = settings
    api.install(app)
    if pages:
        web.install(app, settings)
    from thecal.api.limits import LimitsMiddleware, RateLimits
    from thecal.web.headers import SecurityHeadersMiddleware

    app.add_middleware(LimitsMiddleware, max_body_bytes=settings.max_body_bytes,
                       limits=RateLimits(settings.rate_per_source, settings.rate_per_credential,
                                         settings.rate_sign_in))
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: on the limits' answers too
    _generate_openapi_once(app)
    return app


def _generate_openapi_once(app: FastAPI) -> None:
    """Build the OpenAPI document once, however many requests ask for it at the same time.

    FastAPI caches the document after building it; without the lock every request that
    arrives during the first build (a client polling for readiness) builds it again.
    """
    build = app.openapi
    lock = threading.Lock()

    def openapi() -> dict[str, Any]:
        with lock:
            return build()

    app.openapi = openapi  # type: ignore[method-assign]
