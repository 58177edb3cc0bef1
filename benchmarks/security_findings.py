"""Repeat the findings of the security test (issue 12, "Why") and print how each one ends.

Runs every step through the public surfaces (SQL on the database file, the HTTP app in
process, the ``thecal`` command in a subprocess) on a fresh small clinic, so the same script
can be run against an older checkout (``PYTHONPATH=<old>/src``) to see the findings as they
were. Prints one JSON object.

    .venv/bin/python benchmarks/security_findings.py
    .venv/bin/python benchmarks/security_findings.py --postgres   # also the app-role step
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text

from thecal.service import Clinic, FrozenClock, Settings, issue_api_token, login
from thecal.service.errors import AuthenticationError, ThrottledError
from thecal.service.passwords import use_test_parameters
from thecal.service.testing import NOW, PASSWORD, build_world
from thecal.store import audit as audit_store

try:  # the app factory moved to a neutral module (issue 10)
    from thecal.app import create_app
except ImportError:  # pragma: no cover - older checkouts
    from thecal.api.app import create_app  # type: ignore[no-redef]


def _cli(*args: str, timeout: float = 20.0) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "thecal", *args], capture_output=True,
                              text=True, timeout=timeout, env=os.environ.copy())
    except subprocess.TimeoutExpired:
        return {"exit": None, "outcome": f"still running after {timeout:.0f} s (killed)"}
    output = done.stdout + done.stderr
    return {"exit": done.returncode, "output_bytes": len(output),
            "output_lines": output.count("\n"), "traceback": "Traceback" in output,
            "first_line": output.splitlines()[0][:160] if output else "",
            "last_line": output.splitlines()[-1][:160] if output else "",
            "seconds": round(time.perf_counter() - started, 2)}


def _verify(url: str, *extra: str) -> dict[str, Any]:
    result = _cli("audit", "verify", "--database", url, *extra)
    return {"exit": result["exit"], "says": result.get("last_line")}


def _world(tmp: Path, name: str) -> tuple[Any, str]:
    url = f"sqlite:///{tmp / name}"
    clock = FrozenClock(NOW)
    clinic = Clinic.open(Settings(database_url=url), clock=clock)
    return build_world(clinic, clock), url


def replace_on_sqlite(tmp: Path) -> dict[str, Any]:
    world, url = _world(tmp, "replace.sqlite3")
    with world.clinic.engine.connect() as conn:
        row = conn.execute(text("SELECT id, data FROM events WHERE type = 'refill' LIMIT 1")
                           ).one()
    forged = json.dumps({**json.loads(row[1]), "concentration": "500 mcg/mL"})
    try:
        with world.clinic.engine.begin() as conn:
            conn.execute(text(
                "INSERT OR REPLACE INTO events (id, patient_id, seq, event_id, type, at, author, "
                "reason, corrects, recorded_at, idempotency_key, data) SELECT id, patient_id, "
                "seq, event_id, type, at, author, reason, corrects, recorded_at, "
                "idempotency_key, :d FROM events WHERE id = :id"), {"d": forged, "id": row[0]})
        outcome = "accepted: the recorded refill now reads 500 mcg/mL"
    except Exception as exc:
        outcome = f"refused: {str(getattr(exc, 'orig', exc))[:80]}"
    world.clinic.dispose()
    return {"insert_or_replace": outcome, "verify_after": _verify(url)}


def anchor_after_truncation(tmp: Path) -> dict[str, Any]:
    world, url = _world(tmp, "anchor.sqlite3")
    anchor = tmp / "anchor.json"
    made = _cli("audit", "anchor", "--database", url, "--out", str(anchor))
    with world.clinic.engine.begin() as conn:
        for name in ("audit_no_delete", "audit_no_update"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        newest = int(conn.execute(text("SELECT max(id) FROM audit")).scalar_one())
        conn.execute(text("DELETE FROM audit WHERE id > :n"), {"n": newest - 3})
    world.clinic.dispose()
    result: dict[str, Any] = {"anchor_command": "exists" if made["exit"] == 0 else "missing",
                              "verify_without_anchor": _verify(url)}
    if made["exit"] == 0:
        result["verify_with_anchor"] = _verify(url, "--anchor", str(anchor))
    return result


def app_role_on_postgres() -> dict[str, Any]:
    from thecal.store.testing import drop_postgres, fresh_postgres, postgres_unavailable_reason

    reason = postgres_unavailable_reason()
    if reason:
        return {"skipped": reason}
    url = fresh_postgres()
    try:
        clock = FrozenClock(NOW)
        clinic = Clinic.open(Settings(database_url=url), clock=clock)
        build_world(clinic, clock)
        try:
            from thecal.store.roles import grant_app_role
        except ImportError:
            app_url, how = url, "the app connects as the tables' owner"
        else:
            with clinic.engine.begin() as conn:
                grant_app_role(conn, "thecal_app")
            app_url, how = url.replace("postgres@", "thecal_app@", 1), "app role thecal_app"
        clinic.dispose()
        engine = create_engine(app_url)
        try:
            with engine.begin() as conn:
                conn.execute(text("DROP TRIGGER events_append_only ON events"))
            outcome = "dropped: the append-only trigger is gone"
        except Exception as exc:
            outcome = f"refused: {str(getattr(exc, 'orig', exc)).splitlines()[0][:80]}"
        finally:
            engine.dispose()
        return {"connects_as": how, "drop_trigger": outcome}
    finally:
        drop_postgres(url)


def parallel_guesses(tmp: Path) -> dict[str, Any]:
    world, _ = _world(tmp, "race.sqlite3")

    def guess(i: int) -> str:
        try:
            login(world.clinic, "clinician", f"wrong guess {i:03d}!", client="198.51.100.1")
        except ThrottledError:
            return "throttled"
        except AuthenticationError:
            return "evaluated"
        return "in"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(guess, range(60)))
    try:
        login(world.clinic, "clinician", PASSWORD, client="198.51.100.1")
        owner = "signed in"
    except ThrottledError as exc:
        owner = f"429: {exc.message}"
    except AuthenticationError as exc:
        owner = f"401: {exc.message}"
    try:
        login(world.clinic, "clinician", PASSWORD, client="192.0.2.44")
        elsewhere = "signed in"
    except (ThrottledError, AuthenticationError) as exc:
        elsewhere = f"refused: {exc.message}"
    world.clinic.dispose()
    return {"guesses": 60, "evaluated": outcomes.count("evaluated"),
            "throttled": outcomes.count("throttled"),
            "owner_right_password_same_source": owner,
            "owner_right_password_other_source": elsewhere}


def http_findings(tmp: Path) -> dict[str, Any]:
    world, _ = _world(tmp, "http.sqlite3")
    tokens = {name: issue_api_token(world.clinic, name, PASSWORD)[0] for name in world.users}

    def h(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    result: dict[str, Any] = {}
    app = create_app(world.clinic.settings, clinic=world.clinic)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        url = f"/api/v1/patients/{world.patient_a}/timeline"

        def note(textual: str, version: int) -> dict[str, Any]:
            return {"event": {"at": NOW.isoformat(), "type": "note", "text": textual},
                    "expected_version": version}

        big = client.post(url, json=note("x" * 50_000_000, 3), headers=h("nurse"))
        result["note_50_mb"] = big.status_code
        version = int(client.get(f"/api/v1/patients/{world.patient_a}", headers=h("nurse"))
                      .json()["version"])
        key = {"Idempotency-Key": "why-1"}
        first = client.post(url, json=note("first", version), headers={**h("nurse"), **key})
        second = client.post(url, json=note("different", version),
                             headers={**h("nurse"), **key})
        result["idempotency_reuse_other_body"] = {
            "first": first.status_code, "second": second.status_code,
            "second_returned_first_event": second.status_code < 300
            and second.json().get("id") == first.json().get("id")}
        result["id_2_pow_70"] = client.get(f"/api/v1/patients/{2**70}",
                                           headers=h("clinician")).status_code
        page = client.get("/login")
        result["headers_on_pages"] = {
            name: page.headers.get(name) for name in (
                "content-security-policy", "x-frame-options", "x-content-type-options",
                "referrer-policy", "cache-control")}
        result["api_docs_page"] = client.get("/api/v1/docs").status_code
        weak = client.post("/api/v1/users", json={"username": "weakling", "role": "nurse",
                                                   "site_id": world.site_a,
                                                   "password": "password1234"},
                           headers=h("administrator"))
        result["password1234"] = {"status": weak.status_code,
                                  "echoes_password": "password1234" in weak.text}
        cross = client.post("/api/v1/users", json={"username": "mallory", "role": "clinician",
                                                    "password": PASSWORD,
                                                    "site_id": world.site_b},
                            headers=h("administrator"))
        result["admin_site_a_creates_clinician_at_site_b"] = cross.status_code
        with world.clinic.engine.connect() as conn:
            before = conn.execute(select(func.count()).select_from(audit_store.audit)).scalar()
        for _ in range(200):
            client.get(f"/api/v1/patients/{world.patient_a}")
        with world.clinic.engine.connect() as conn:
            after = conn.execute(select(func.count()).select_from(audit_store.audit)).scalar()
        result["audit_rows_from_200_anonymous_requests"] = int(after or 0) - int(before or 0)
    world.clinic.dispose()
    return result


def twin_files(tmp: Path) -> dict[str, Any]:
    nested = tmp / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    huge = tmp / "huge.json"
    huge.write_text('{"format": "thecal.timeline/1", "patient": {"weight_kg": '
                    + "9" * 100_000 + "}}")
    bomb = tmp / "bomb.yaml"
    body = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        body += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    body += f"format: *{previous}\n"  # the bad value is quoted in the error message
    bomb.write_text(body)
    duplicate = tmp / "dup.yaml"
    fixture = Path(__file__).parents[1] / "tests" / "fixtures" / "continuous-500.yaml"
    duplicate.write_text(fixture.read_text().replace(
        "format: thecal.timeline/1\n", "format: thecal.timeline/1\nformat: thecal.timeline/1\n",
        1))
    return {"nested_json_100000": _cli("twin", str(nested)),
            "integer_100000_digits": _cli("twin", str(huge)),
            f"alias_yaml_{len(body)}_bytes": _cli("twin", str(bomb), timeout=15.0),
            "duplicate_key_yaml": _cli("twin", str(duplicate))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="also the PostgreSQL step")
    args = parser.parse_args()
    use_test_parameters()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        os.environ.setdefault("THECAL_CHAIN_KEY_FILE", str(tmp / "chain.key"))
        report: dict[str, Any] = {
            "sqlite_insert_or_replace": replace_on_sqlite(tmp),
            "delete_newest_audit_rows": anchor_after_truncation(tmp),
            "sixty_parallel_wrong_guesses": parallel_guesses(tmp),
            "http": http_findings(tmp),
            "thecal_twin": twin_files(tmp),
        }
        if args.postgres:
            report["postgres_drop_trigger_as_app"] = app_role_on_postgres()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
