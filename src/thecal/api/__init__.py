"""The JSON API (FastAPI) under ``/api/v1``; :func:`thecal.app.create_app` mounts it."""

from thecal.api.app import install

__all__ = ["install"]
