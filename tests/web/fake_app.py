"""A web-only app over :class:`FakePort`, for the browser tests (``uvicorn --factory``)."""

from __future__ import annotations

from fake_port import FakePort
from fastapi import FastAPI

from thecal.web import install


def create_app() -> FastAPI:
    app = FastAPI(title="thecal web (fake service)")
    install(app, None, port=FakePort())
    return app
