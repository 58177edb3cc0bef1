"""Crash test (DU-1, DU-4): writers append through HTTP while the server is SIGKILLed.

After the kill every acknowledged event is in the database, SQLite's integrity check says
``ok``, the audit chain verifies, and a restarted server serves the record again. Runs on
SQLite, and on PostgreSQL where it is reachable.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select, text

from thecal.service import Clinic, FrozenClock, Settings, issue_api_token
from thecal.service.admin import bootstrap_patient
from thecal.service.testing import NOW, PASSWORD, build_world
from thecal.store.audit import verify_chain
from thecal.store.db import make_engine
from thecal.store.tables import events

pytestmark = pytest.mark.slow
WRITERS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", "from thecal.cli.main import app; app()", "serve",
         "--database", url, "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_ready(port: int, timeout: float = 150.0) -> None:  # a loaded 2-core machine
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1).is_success:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def _writer(port: int, token: str, patient_id: int, acked: list[str],
            stop: threading.Event) -> None:
    url = f"http://127.0.0.1:{port}/api/v1/patients/{patient_id}/timeline"
    headers = {"Authorization": f"Bearer {token}"}
    version, n = 0, 0
    with httpx.Client(timeout=5) as client:
        while not stop.is_set():
            key = f"w{patient_id}-{n}"
            body = {"event": {"at": NOW.isoformat(), "type": "note", "text": key},
                    "expected_version": version}
            try:
                response = client.post(url, json=body, headers={**headers,
                                                                "Idempotency-Key": key})
            except httpx.HTTPError:
                return  # the server is gone; this write was never acknowledged
            if response.status_code == 201:
                acked.append(response.json()["id"])
                version, n = version + 1, n + 1
            elif response.status_code == 409:
                version = client.get(url, headers=headers).json()["version"]
            else:
                raise AssertionError(response.text)


def test_acknowledged_events_survive_sigkill(database_url: str) -> None:
    clock = FrozenClock(NOW)
    clinic = Clinic.open(Settings(database_url=database_url), clock=clock)
    world = build_world(clinic, clock)
    patient_ids = [bootstrap_patient(clinic, world.site_a, {
        "mrn": f"W-{i}", "display_name": f"Writer {i}", "born": "1980-01-01",
        "timezone": "Europe/Berlin", "etiology": "stroke"}).id for i in range(WRITERS)]
    clock.set(datetime.now(UTC))  # the server runs on the real clock
    token = issue_api_token(clinic, "nurse", PASSWORD)[0]
    clinic.dispose()

    port = _free_port()
    server = _start(database_url, port)
    try:
        _wait_ready(port)
        acked: list[list[str]] = [[] for _ in patient_ids]
        stop = threading.Event()
        threads = [threading.Thread(target=_writer, args=(port, token, pid, acked[i], stop))
                   for i, pid in enumerate(patient_ids)]
        for t in threads:
            t.start()
        time.sleep(random.uniform(1.5, 3.0))
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
    assert sum(len(a) for a in acked) > 0, "no write was acknowledged before the kill"

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            for pid, ids in zip(patient_ids, acked, strict=True):
                stored = set(conn.execute(select(events.c.event_id)
                                          .where(events.c.patient_id == pid)).scalars())
                missing = set(ids) - stored
                assert not missing, f"acknowledged but lost: {sorted(missing)}"
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert verify_chain(conn).ok
    finally:
        engine.dispose()

    server = _start(database_url, port)
    try:
        _wait_ready(port)
        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/patients/{patient_ids[0]}/timeline",
                      headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert r.status_code == 200 and r.json()["version"] >= len(acked[0])
    finally:
        server.terminate()
        server.wait(timeout=10)
