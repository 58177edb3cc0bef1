"""``thecal demo --database URL`` then ``thecal schedule propose --json``: the JSON shape of the issue,
every booking before its due date, and bad input as one error line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path


def _thecal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "thecal", *args], capture_output=True, text=True, check=False)


def test_demo_then_propose(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    made = _thecal("demo", "--database", url)
    assert made.returncode == 0 and "Demo clinic created" in made.stdout
    today = datetime.now(UTC).date().isoformat()
    out = _thecal("schedule", "propose", "--database", url, "--from", today, "--days", "14", "--json",
                  "--time-limit", "5")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"bookings", "unscheduled"}
    assert data["bookings"], "the demo has refills due within two weeks"
    for b in data["bookings"]:
        assert set(b) == {"patient_id", "start", "end", "session_id", "refill_due_by", "reason"}
        assert datetime.fromisoformat(b["end"]) <= datetime.fromisoformat(b["refill_due_by"])
    for u in data["unscheduled"]:
        assert set(u) == {"patient_id", "refill_due_by", "reason"} and "escalated" in u["reason"]
    again = _thecal("demo", "--database", url)
    assert again.returncode == 0 and "already present" in again.stdout
    bad = _thecal("schedule", "propose", "--database", url, "--from", "next week", "--days", "14")
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: --from:") and len(bad.stderr.splitlines()) == 1
