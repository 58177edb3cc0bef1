"""Suite-wide settings and shared fixtures.

Hypothesis runs derandomised in CI, so a red run can be reproduced. The clinic fixtures give a
migrated database on each back end (SQLite always; PostgreSQL at 127.0.0.1:5432 when one
answers, else the test is skipped with the reason) and a small clinic on a frozen clock.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from thecal.service import Clinic, FrozenClock, Settings
from thecal.service.passwords import use_test_parameters
from thecal.service.testing import NOW, World, build_world
from thecal.store.testing import drop_postgres, fresh_postgres, postgres_unavailable_reason

settings.register_profile("ci", derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# One chain key for every test database (outside them all); tests of the key file itself
# unset this variable.
os.environ.setdefault("THECAL_CHAIN_KEY_FILE",
                      str(Path(tempfile.mkdtemp(prefix="thecal-key-")) / "chain.key"))

use_test_parameters()  # cheap argon2id settings for tests only; the server never uses them


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
