"""Fixtures of the security suite: the small clinic (``world``) on SQLite and, where a test
takes ``database_url``, PostgreSQL; the app over it; and bearer tokens for every role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from thecal.app import create_app
from thecal.service import issue_api_token
from thecal.service.testing import PASSWORD, World


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    app = create_app(world.clinic.settings, clinic=world.clinic)
    with TestClient(app, base_url="https://testserver") as c:
        yield c


@pytest.fixture
def tokens(world: World) -> dict[str, str]:
    return {name: issue_api_token(world.clinic, name, PASSWORD)[0] for name in world.users}
