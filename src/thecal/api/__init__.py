"""The JSON API (FastAPI) under ``/api/v1``: :func:`thecal.api.app.create_app` builds it."""
