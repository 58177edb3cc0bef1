"""Fixtures for the API tests: a small clinic on SQLite, the app, a client, role tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from thecal.app import create_app
from thecal.service import Clinic, FrozenClock, Settings, issue_api_token
from thecal.service.passwords import use_test_parameters
from thecal.service.testing import NOW, PASSWORD, World, build_world

use_test_parameters()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FrozenClock(NOW)
    clinic = Clinic.open(Settings(database_url=f"sqlite:///{tmp_path / 'api.sqlite3'}"),
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
