"""Latency of the clinic API: worklist and patient projection, p50/p95, SQLite and PostgreSQL.

Synthetic patients are bulk-inserted directly (patients, a six-event timeline each, the
projection summary rows the worklist reads); then the API is called in-process
(FastAPI TestClient, bearer token) as a clinician of the site, which includes
authorisation, the audit row every read writes, and (for the projection) replaying the
timeline through the twin. Prints one JSON object.

    .venv/bin/python benchmarks/api.py                      # 1000 and 10000, both back ends
    .venv/bin/python benchmarks/api.py --patients 1000 --backend sqlite
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert

from thecal.app import create_app
from thecal.service import Clinic, FrozenClock, Settings, issue_api_token
from thecal.service.admin import bootstrap_site, bootstrap_user
from thecal.store.tables import events, patients, projections
from thecal.store.testing import drop_postgres, fresh_postgres, postgres_unavailable_reason

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
PASSWORD = "benchmark-password-1"


def _template(start: datetime) -> list[dict[str, Any]]:
    def at(minutes: float) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    return [
        {"at": at(0), "type": "implant", "pump": "synchromed-ii-40",
         "catheter": {"model": "ascenda", "length_cm": 52}},
        {"at": at(90), "type": "refill", "withdrawn": "0 mL", "added": "40 mL",
         "concentration": "1000 mcg/mL"},
        {"at": at(100), "type": "bolus", "kind": "priming"},
        {"at": at(120), "type": "program", "mode": "continuous", "daily_dose": "150 mcg/day"},
        {"at": at(3 * 1440), "type": "program", "mode": "continuous",
         "daily_dose": "180 mcg/day"},
        {"at": at(10 * 1440), "type": "assessment", "mas": "1+", "penn_frequency": 1},
    ]


def populate(clinic: Clinic, count: int, seed: int = 1) -> int:
    """Insert ``count`` patients with timelines and summaries; return the site id."""
    site_id = bootstrap_site(clinic, "Benchmark site").id
    rng = random.Random(seed)
    # The summary depends only on the timeline shape; compute one per start offset bucket.
    batch = 1000
    created = clinic.now()
    for first in range(0, count, batch):
        n = min(batch, count - first)
        with clinic.transaction() as conn:
            rows = [{"site_id": site_id, "mrn": f"B-{first + i:06d}",
                     "display_name": f"Patient {first + i}", "born": "1975-05-05",
                     "sex": "female", "weight_kg": 70.0, "timezone": "Europe/Berlin",
                     "etiology": "multiple-sclerosis", "version": 6, "created_at": created}
                    for i in range(n)]
            ids = conn.execute(insert(patients).returning(patients.c.id), rows).scalars().all()
            event_rows, summary_rows = [], []
            for pid in ids:
                start = NOW - timedelta(days=rng.randint(20, 300))
                template = _template(start)
                for seq, data in enumerate(template, start=1):
                    event_rows.append({
                        "patient_id": pid, "seq": seq, "event_id": f"e{seq}", "type":
                        data["type"], "at": datetime.fromisoformat(data["at"]),
                        "author": "bench", "reason": None, "corrects": None,
                        "recorded_at": created, "idempotency_key": None,
                        "data": {**data, "id": f"e{seq}", "by": "bench"}})
                due = NOW + timedelta(days=rng.randint(-5, 150))
                summary_rows.append({
                    "patient_id": pid, "version": 6, "computed_at": created,
                    "low_reservoir_alarm_at": due + timedelta(days=10),
                    "empty_at": due + timedelta(days=20), "refill_due_by": due,
                    "elective_replacement_at": NOW + timedelta(days=2000),
                    "alarm_priority": 0, "open_findings": rng.random() < 0.05,
                    "finding_severity": 2 if rng.random() < 0.05 else 0,
                    "triage_urgency": 3 if rng.random() < 0.01 else 0,
                    "triage_at": NOW - timedelta(days=1), "data": {}})
            conn.execute(insert(events), event_rows)
            conn.execute(insert(projections), summary_rows)
    return site_id


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(p95 * 1000, 2), "n": len(ordered)}


def measure(url: str, count: int, requests: int) -> dict[str, Any]:
    clock = FrozenClock(NOW)
    clinic = Clinic.open(Settings(database_url=url), clock=clock)
    try:
        t0 = time.perf_counter()
        site_id = populate(clinic, count)
        load_s = time.perf_counter() - t0
        bootstrap_user(clinic, username="bench", password=PASSWORD, role="clinician",
                       site_id=site_id)
        token = issue_api_token(clinic, "bench", PASSWORD)[0]
        headers = {"Authorization": f"Bearer {token}"}
        app = create_app(clinic.settings, clinic=clinic)
        rng = random.Random(2)
        with TestClient(app) as client:
            worklist: list[float] = []
            for _ in range(requests):
                t = time.perf_counter()
                r = client.get("/api/v1/worklist?limit=100", headers=headers)
                worklist.append(time.perf_counter() - t)
                assert r.status_code == 200 and len(r.json()) == 100, r.text
            projection: list[float] = []
            for _ in range(requests):
                pid = rng.randint(1, count)
                t = time.perf_counter()
                r = client.get(f"/api/v1/patients/{pid}/projection", headers=headers)
                projection.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
        return {"patients": count, "load_s": round(load_s, 2),
                "worklist": _percentiles(worklist), "projection": _percentiles(projection)}
    finally:
        clinic.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args(argv)
    from thecal.service.passwords import use_test_parameters

    use_test_parameters()  # the benchmark measures reads, not password hashing
    results: list[dict[str, Any]] = []
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        for count in args.patients:
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
                    results.append({"backend": backend, **measure(url, count, args.requests)})
            else:
                reason = postgres_unavailable_reason()
                if reason:
                    results.append({"backend": backend, "patients": count, "skipped": reason})
                    continue
                url = fresh_postgres()
                try:
                    results.append({"backend": backend, **measure(url, count, args.requests)})
                finally:
                    drop_postgres(url)
    print(json.dumps({"benchmark": "thecal.api", "python": platform.python_version(),
                      "machine": platform.machine(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
