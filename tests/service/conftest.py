"""Fixtures for the service tests: a migrated database on each back end and a small clinic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from thecal.service import Clinic, FrozenClock, Settings
from thecal.service.passwords import use_test_parameters
from thecal.service.testing import NOW, World, build_world
from thecal.store.testing import drop_postgres, fresh_postgres, postgres_unavailable_reason

use_test_parameters()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
        return
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    url = fresh_postgres()
    try:
        yield url
    finally:
        drop_postgres(url)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def clinic(database_url: str, clock: FrozenClock) -> Iterator[Clinic]:
    c = Clinic.open(Settings(database_url=database_url), clock=clock)
    try:
        yield c
    finally:
        c.dispose()


@pytest.fixture
def world(clinic: Clinic, clock: FrozenClock) -> World:
    return build_world(clinic, clock)
