"""The record is tamper-evident (issue 12, "the event log can be rewritten undetected").

* SQLite: ``INSERT OR REPLACE`` on events or audit is refused (it used to change a recorded
  refill from 2000 to 500 mcg/mL past the UPDATE/DELETE triggers).
* PostgreSQL: the server's role does not own the tables, so it can neither drop the triggers
  nor UPDATE/DELETE/TRUNCATE the log.
* Every event is in a keyed chain: an event changed behind the triggers' back is named by
  ``thecal audit verify``; a row forged and re-hashed without the key is named too; and the
  newest rows removed show against an anchor from ``thecal audit anchor``.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from thecal.cli.main import app
from thecal.service import Clinic, FrozenClock
from thecal.service.testing import World, build_world
from thecal.store import audit, chainkey
from thecal.store import events as event_store
from thecal.store.testing import schema_of

runner = CliRunner()


@pytest.fixture
def world(clinic: Clinic, clock: FrozenClock) -> World:
    """This module's findings depend on the database: SQLite and PostgreSQL."""
    return build_world(clinic, clock)


def _refill_row(clinic: Clinic) -> dict[str, object]:
    with clinic.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM events WHERE type = 'refill' ORDER BY id LIMIT 1")
                           ).mappings().one()
    return dict(row)


def _unprotect(clinic: Clinic) -> None:
    """What an attacker with the owner's rights does first: the triggers out of the way."""
    with clinic.engine.begin() as conn:
        if clinic.backend == "sqlite":
            for name in ("events_no_update", "events_no_delete", "events_no_replace",
                         "audit_no_update", "audit_no_delete", "audit_no_replace"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        else:
            conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_append_only"))
            conn.execute(text("ALTER TABLE audit DISABLE TRIGGER audit_append_only"))


def test_sqlite_insert_or_replace_of_an_event_is_refused(world: World) -> None:
    if world.clinic.backend != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's")
    before = _refill_row(world.clinic)
    forged = json.dumps({**json.loads(str(before["data"])), "concentration": "500 mcg/mL"})
    with pytest.raises(DBAPIError, match="append-only"), world.clinic.engine.begin() as conn:
        conn.execute(text(
            "INSERT OR REPLACE INTO events (id, patient_id, seq, event_id, type, at, author, "
            "reason, corrects, recorded_at, idempotency_key, data) SELECT id, patient_id, seq, "
            "event_id, type, at, author, reason, corrects, recorded_at, idempotency_key, :data "
            "FROM events WHERE id = :id"), {"data": forged, "id": before["id"]})
    assert _refill_row(world.clinic)["data"] == before["data"]
    with pytest.raises(DBAPIError, match="append-only"), world.clinic.engine.begin() as conn:
        conn.execute(text("REPLACE INTO audit SELECT * FROM audit WHERE id = 3"))
    with world.clinic.engine.connect() as conn:
        assert audit.verify_chain(conn).ok and event_store.verify_events(conn).ok


def test_sqlite_replace_refused_even_without_the_connection_pragma(world: World,
                                                                   database_url: str) -> None:
    """A plain sqlite3 connection (no recursive_triggers) meets the BEFORE INSERT trigger."""
    if world.clinic.backend != "sqlite":
        pytest.skip("SQLite only")
    import sqlite3

    path = database_url.removeprefix("sqlite:///")
    row_id = _refill_row(world.clinic)["id"]
    plain = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            plain.execute("INSERT OR REPLACE INTO events SELECT * FROM events WHERE id = ?",
                          (row_id,))
    finally:
        plain.close()


def test_an_altered_event_is_named_by_verify(world: World, database_url: str) -> None:
    ok = runner.invoke(app, ["audit", "verify", "--database", database_url])
    assert ok.exit_code == 0, ok.output
    assert "event chain ok" in ok.output
    row = _refill_row(world.clinic)
    _unprotect(world.clinic)
    with world.clinic.engine.begin() as conn:
        raw = row["data"] if isinstance(row["data"], str) else json.dumps(row["data"])
        forged = raw.replace("500 mcg/mL", "50 mcg/mL")
        assert forged != raw
        conn.execute(text("UPDATE events SET data = :d WHERE id = :id"),
                     {"d": forged, "id": row["id"]})
    broken = runner.invoke(app, ["audit", "verify", "--database", database_url])
    assert broken.exit_code == 1
    assert f"event row {row['id']}" in broken.output and "altered" in broken.output


def test_a_row_forged_and_rehashed_without_the_key_is_named(world: World) -> None:
    """The attacker re-hashes the forged row and every row after it (plain SHA-256 and a
    key of their own): without the server's key the chain does not verify."""
    _unprotect(world.clinic)
    with world.clinic.engine.begin() as conn:
        rows = list(audit.iter_rows(conn))
        rows[4]["actor"] = "mallory"
        previous = rows[3]["hash"]
        for row in rows[4:]:
            row["prev_hash"] = previous
            row["hash"] = hashlib.sha256((previous + "\n" + audit.canonical(row)).encode()
                                         ).hexdigest()
            conn.execute(text("UPDATE audit SET actor = :a, prev_hash = :p, hash = :h "
                              "WHERE id = :id"), {"a": row["actor"], "p": row["prev_hash"],
                                                  "h": row["hash"], "id": row["id"]})
            previous = row["hash"]
    with world.clinic.engine.connect() as conn:
        report = audit.verify_chain(conn)
        assert report.broken_id == rows[4]["id"]
        assert audit.verify_chain(conn, key=b"k" * 32).broken_id == rows[0]["id"]


def test_removing_the_newest_rows_is_caught_by_the_anchor(world: World, database_url: str,
                                                          tmp_path: Path) -> None:
    anchor = tmp_path / "anchor.json"
    made = runner.invoke(app, ["audit", "anchor", "--database", database_url, "--out",
                               str(anchor)])
    assert made.exit_code == 0, made.output
    document = json.loads(anchor.read_text())
    assert document["audit"]["rows"] > 10 and document["events"]["rows"] == 6
    _unprotect(world.clinic)
    with world.clinic.engine.begin() as conn:
        newest = int(conn.execute(text("SELECT max(id) FROM audit")).scalar_one())
        conn.execute(text("DELETE FROM audit WHERE id > :n"), {"n": newest - 3})
        newest_event = int(conn.execute(text("SELECT max(id) FROM events")).scalar_one())
        conn.execute(text("DELETE FROM events WHERE id = :n"), {"n": newest_event})
    alone = runner.invoke(app, ["audit", "verify", "--database", database_url])
    assert alone.exit_code == 0, "truncating the tail leaves a valid chain: the anchor is needed"
    checked = runner.invoke(app, ["audit", "verify", "--database", database_url, "--anchor",
                                  str(anchor)])
    assert checked.exit_code == 1
    assert "anchor check failed" in checked.output and "removed" in checked.output


def test_anchor_file_errors_are_one_line(world: World, database_url: str,
                                         tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{\"format\": \"other\"}")
    result = runner.invoke(app, ["audit", "verify", "--database", database_url, "--anchor",
                                 str(bad)])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith("error:")


def test_key_file_is_made_owner_only_and_a_loose_one_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(chainkey.ENV_VAR, raising=False)
    chainkey.forget_cached_keys()
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    path = chainkey.key_path_for(url)
    assert path == tmp_path / "c.sqlite3.chain-key"
    key = chainkey.load_key(url)
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    chainkey.forget_cached_keys()
    assert chainkey.load_key(url) == key
    os.chmod(path, 0o644)
    chainkey.forget_cached_keys()
    from thecal.errors import InputError

    with pytest.raises(InputError, match="chmod 600"):
        chainkey.load_key(url)
    chainkey.forget_cached_keys()


def test_postgres_app_role_cannot_drop_triggers_or_rewrite(world: World,
                                                           database_url: str) -> None:
    if world.clinic.backend != "postgresql":
        pytest.skip("database roles are PostgreSQL's")
    from thecal.store.roles import grant_app_role

    with world.clinic.engine.begin() as conn:
        grant_app_role(conn, "thecal_app")
        grant_app_role(conn, "thecal_app")  # idempotent
    schema = schema_of(database_url)
    app_url = database_url.replace("postgres@", "thecal_app@", 1)
    assert schema and app_url != database_url
    engine = create_engine(app_url)
    try:
        for statement in ("DROP TRIGGER events_append_only ON events",
                          "ALTER TABLE events DISABLE TRIGGER events_append_only",
                          "UPDATE events SET author = 'mallory'",
                          "DELETE FROM audit", "TRUNCATE events"):
            with pytest.raises(DBAPIError, match=r"owner|permission denied"), engine.begin() as c:
                c.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 6
    finally:
        engine.dispose()


def test_postgres_server_runs_as_the_app_role(database_url: str) -> None:
    """Migrations as the owner, every use case as the role that owns nothing."""
    if not database_url.startswith("postgresql"):
        pytest.skip("database roles are PostgreSQL's")
    from thecal.service import FrozenClock, Settings
    from thecal.service.testing import NOW, build_world
    from thecal.store.roles import grant_app_role

    owner = Clinic.open(Settings(database_url=database_url))
    with owner.engine.begin() as conn:
        grant_app_role(conn, "thecal_app")
    owner.dispose()
    app_url = database_url.replace("postgres@", "thecal_app@", 1)
    clock = FrozenClock(NOW)
    clinic = Clinic.open(Settings(database_url=app_url, owner_database_url=database_url),
                         clock=clock)
    try:
        world = build_world(clinic, clock)
        with clinic.engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == "thecal_app"
            assert audit.verify_chain(conn).ok and event_store.verify_events(conn).ok
        assert world.patient_a
        with pytest.raises(DBAPIError), clinic.engine.begin() as conn:
            conn.execute(text("DROP TABLE audit"))
    finally:
        clinic.dispose()
