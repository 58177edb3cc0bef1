"""Database set-up: URL resolution, SQLite pragmas, migrations to head, UTC round trip."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from thecal.errors import InputError
from thecal.store import db
from thecal.store.migrate import current_revision, head_revision, upgrade


def test_url_from_argument_env_and_default(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.delenv(db.ENV_VAR, raising=False)
    assert db.database_url().startswith("sqlite:///")
    assert db.database_url().endswith("thecal.sqlite3")
    monkeypatch.setenv(db.ENV_VAR, "postgresql://u@h/d")
    assert db.database_url() == "postgresql+psycopg://u@h/d"
    assert db.database_url(f"sqlite:///{tmp_path}/x.db") == f"sqlite:///{tmp_path}/x.db"


@pytest.mark.parametrize("url", ["mysql://x/y", "postgresql+psycopg2://u@h/d", "nonsense"])
def test_bad_urls_refused(url: str) -> None:
    with pytest.raises(InputError):
        db.normalise_url(url)


def test_sqlite_pragmas_on_every_connection(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    for _ in range(2):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()


def test_migrations_reach_head_and_are_idempotent(database_url: str) -> None:
    engine = db.make_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_times_are_stored_and_read_as_utc(world_clinic_time: tuple[datetime, datetime]) -> None:
    stored, read = world_clinic_time
    assert read == stored and read.tzinfo == UTC


@pytest.fixture
def world_clinic_time(clinic: object) -> tuple[datetime, datetime]:
    from thecal.service import Clinic
    from thecal.store import records

    assert isinstance(clinic, Clinic)
    at = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
    with clinic.transaction() as conn:
        site = records.insert_site(conn, "tz", {}, at)
    with clinic.transaction() as conn:
        row = records.get_site(conn, site["id"])
        assert row is not None
        assert conn.execute(text("SELECT 1")).scalar() == 1
    return at, row["created_at"]
