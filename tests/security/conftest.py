"""Fixtures of the security suite: the small clinic (``world``) on SQLite — the modules whose
findings depend on the database (tamper, throttle race) put it on both back ends —, the app
over it, and bearer tokens for every role."""

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
    clinic = Clinic.open(Settings(database_url=f"sqlite:///{tmp_path / 'security.sqlite3'}"),
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
