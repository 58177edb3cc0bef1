"""The fixtures the API and security suites share (their conftests import them): a small
clinic on SQLite on a frozen clock (``world``), the app over it (``client``), and a bearer
token for every role (``tokens``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from thecal.app import create_app
from thecal.service import Clinic, FrozenClock, Settings, issue_api_token
from thecal.service.testing import NOW, PASSWORD, World, build_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FrozenClock(NOW)
    clinic = Clinic.open(Settings(database_url=f"sqlite:///{tmp_path / 'clinic.sqlite3'}"),
                         clock=clock)
    try:
        yield build_world(clinic, clock)
    finally:
        clinic.dispose()


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    app = create_app(world.clinic.settings, clinic=world.clinic)
    with TestClient(app, base_url="https://testserver") as c:
        yield c


@pytest.fixture
def tokens(world: World) -> dict[str, str]:
    return {name: issue_api_token(world.clinic, name, PASSWORD)[0] for name in world.users}
