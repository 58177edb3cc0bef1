"""The database itself refuses UPDATE and DELETE on events and audit rows (AU-2), on both
back ends; the hash chain names the first tampered row once the trigger is out of the way."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from thecal.service import Clinic
from thecal.service.testing import World
from thecal.store import audit


@pytest.mark.parametrize("statement", [
    "UPDATE events SET author = 'mallory'",
    "DELETE FROM events",
    "UPDATE audit SET actor = 'mallory'",
    "DELETE FROM audit",
])
def test_direct_sql_on_append_only_tables_fails(world: World, statement: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"), world.clinic.engine.begin() as conn:
        conn.execute(text(statement))
    with world.clinic.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 6
        assert audit.verify_chain(conn).ok


def test_truncate_refused_on_postgres(world: World) -> None:
    if world.clinic.backend != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL only")
    with pytest.raises(DBAPIError, match="append-only"), world.clinic.engine.begin() as conn:
        conn.execute(text("TRUNCATE audit"))


def _drop_audit_triggers(clinic: Clinic) -> None:
    with clinic.engine.begin() as conn:
        if clinic.backend == "sqlite":
            conn.execute(text("DROP TRIGGER audit_no_update"))
            conn.execute(text("DROP TRIGGER audit_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_append_only ON audit"))


def test_tampered_row_is_named(world: World) -> None:
    with world.clinic.engine.connect() as conn:
        report = audit.verify_chain(conn)
    assert report.ok and report.rows > 10
    _drop_audit_triggers(world.clinic)
    with world.clinic.engine.begin() as conn:
        conn.execute(text("UPDATE audit SET actor = 'mallory' WHERE id = 7"))
    with world.clinic.engine.connect() as conn:
        report = audit.verify_chain(conn)
    assert not report.ok and report.broken_id == 7
    assert "altered" in (report.problem or "")


def test_deleted_row_is_named(world: World) -> None:
    _drop_audit_triggers(world.clinic)
    with world.clinic.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit WHERE id = 5"))
    with world.clinic.engine.connect() as conn:
        report = audit.verify_chain(conn)
    assert report.broken_id == 6 and "removed" in (report.problem or "")


def test_cli_audit_verify_names_the_tampered_row(world: World, database_url: str) -> None:
    from typer.testing import CliRunner

    from thecal.cli.main import app

    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--database", database_url])
    assert ok.exit_code == 0 and "audit chain ok" in ok.output
    _drop_audit_triggers(world.clinic)
    with world.clinic.engine.begin() as conn:
        conn.execute(text("UPDATE audit SET new_value = '\"tampered\"' WHERE id = 9"))
    broken = runner.invoke(app, ["audit", "verify", "--database", database_url])
    assert broken.exit_code == 1
    assert "row 9" in broken.output


def test_cli_db_upgrade_and_current(database_url: str) -> None:
    from typer.testing import CliRunner

    from thecal.cli.main import app
    from thecal.store.migrate import head_revision

    result = CliRunner().invoke(app, ["db", "upgrade", "--database", database_url])
    assert result.exit_code == 0, result.output
    current = CliRunner().invoke(app, ["db", "current", "--database", database_url])
    assert f"revision {head_revision()} " in current.output
    bad = CliRunner().invoke(app, ["db", "current", "--database", "mysql://x/y"])
    assert bad.exit_code == 2 and "unsupported database" in bad.output
