"""Benchmark: replay a ten-year timeline (100 refills, 500 program changes) through the twin.

Prints its figures as JSON: the replay time, the number of schedule steps, the time of a
``state_at`` with its forward projection, and ``project()`` with findings, the three reservoir
views and the earliest/latest windows. ``replays_per_projection`` and
``state_at_per_projection`` count the work inside one ``project()``: the views and windows
come from the one replay and the one state (its delivery curve), never from extra replays.

Times are CPU seconds of this process (``time.process_time``), best of :data:`RUNS`, so other
work on a shared machine does not inflate them; the wall-clock best (``*_wall_s``) and the
load average at the start are printed beside them. Deterministic (seeded).
Run: ``.venv/bin/python benchmarks/twin.py``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import thecal.clinical.projection as projection_module
from thecal.clinical.projection import project
from thecal.device.replay import Replay, replay
from thecal.timeline import parse_timeline, save_timeline

START = datetime.fromisoformat("2026-01-05T09:00:00+01:00")
RUNS = 15


def ten_year_timeline(seed: int = 7) -> Any:
    rng = random.Random(seed)
    events: list[dict[str, Any]] = [
        {"at": START.isoformat(), "type": "implant", "pump": "synchromed-ii-40",
         "catheter": {"model": "ascenda", "length_cm": 52}},
        {"at": (START + timedelta(minutes=30)).isoformat(), "type": "refill",
         "withdrawn": "0 mL", "added": "40 mL", "concentration": "500 mcg/mL"},
        {"at": (START + timedelta(minutes=40)).isoformat(), "type": "bolus", "kind": "priming"},
    ]
    span = timedelta(days=3650)
    # 100 refills evenly spaced (every ~36.5 days: 40 mL lasts > 36 days below 540 mcg/day)
    for k in range(1, 101):
        at = START + span * k / 101
        events.append({"at": at.isoformat(), "type": "refill", "withdrawn": "40 mL",
                       "added": "38 mL", "concentration": "500 mcg/mL"})
    # 500 program changes, every third one a flex program
    for k in range(500):
        at = START + timedelta(hours=2) + span * k / 500 + timedelta(minutes=7)
        if k % 3 == 2:
            steps = [{"start": "00:00", "daily_dose": f"{rng.randint(150, 300)} mcg/day"},
                     {"start": "07:00", "daily_dose": f"{rng.randint(250, 450)} mcg/day"},
                     {"start": "13:30", "daily_dose": f"{rng.randint(200, 400)} mcg/day"},
                     {"start": "22:00", "daily_dose": f"{rng.randint(150, 300)} mcg/day"}]
            events.append({"at": at.isoformat(), "type": "program", "mode": "flex",
                           "steps": steps})
        else:
            events.append({"at": at.isoformat(), "type": "program", "mode": "continuous",
                           "daily_dose": f"{rng.randint(150, 450)} mcg/day"})
    # the battery's elective replacement comes at 7 years − 90 days: replace at 6.5 years
    swap = START + timedelta(days=2374)
    events += [{"at": swap.isoformat(), "type": "replace-pump", "pump": "synchromed-ii-40"},
               {"at": (swap + timedelta(minutes=20)).isoformat(), "type": "refill",
                "withdrawn": "0 mL", "added": "40 mL", "concentration": "500 mcg/mL"},
               {"at": (swap + timedelta(minutes=25)).isoformat(), "type": "bolus",
                "kind": "priming"},
               {"at": (swap + timedelta(minutes=30)).isoformat(), "type": "program",
                "mode": "continuous", "daily_dose": "300 mcg/day"}]
    events.sort(key=lambda e: datetime.fromisoformat(e["at"]))
    return parse_timeline({"format": "thecal.timeline/1",
                           "patient": {"id": "bench", "timezone": "Europe/Berlin",
                                       "etiology": "spinal-cord-injury"},
                           "events": events})


def _timed(work: Any) -> tuple[Any, list[float], list[float]]:
    """Run ``work`` :data:`RUNS` times: its last result, CPU seconds and wall seconds."""
    cpu, wall = [], []
    result = None
    for _ in range(RUNS):
        c0, w0 = time.process_time(), time.perf_counter()
        result = work()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return result, cpu, wall


def main() -> None:
    load = os.getloadavg()
    timeline = ten_year_timeline()
    until = START + timedelta(days=3652)
    project(timeline, until)  # warm the caches (flex days, catalog) as a running clinic has
    result, times, wall_times = _timed(lambda: replay(timeline, until))
    assert result is not None
    t0 = time.perf_counter()
    state = result.state_at(until - timedelta(days=200))
    state_s = time.perf_counter() - t0
    balance = result.mass_balance(result.end_h)

    # The whole answer of `thecal twin`: replay + refill plan + findings (in process) ...
    projection, project_times, project_wall = _timed(lambda: project(timeline, until))
    # Count the replays and state projections inside one project() call.
    counts = {"replay": 0, "state_at": 0}
    real_state_at = Replay.state_at

    def counting_replay(*args: Any, **kwargs: Any) -> Any:
        counts["replay"] += 1
        return replay(*args, **kwargs)

    def counting_state_at(self: Replay, at: datetime) -> Any:
        counts["state_at"] += 1
        return real_state_at(self, at)

    projection_module.replay = counting_replay
    Replay.state_at = counting_state_at  # type: ignore[method-assign]
    try:
        counted = project(timeline, until)
    finally:
        projection_module.replay = replay
        Replay.state_at = real_state_at  # type: ignore[method-assign]
    data = counted.as_dict()
    # ... and the command itself, as a person runs it (interpreter start and imports included).
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ten-years.yaml"
        save_timeline(timeline, path)
        cli_times = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "thecal", "twin", str(path), "--at",
                            until.isoformat(), "--json"], check=True, capture_output=True)
            cli_times.append(time.perf_counter() - t0)
    print(json.dumps({
        "benchmark": "twin.replay ten-year timeline",
        "events": len(timeline.events),
        "refills": 101,
        "program_changes": 500,
        "load_average_1_5_15_min": [round(x, 2) for x in load],
        "replay_best_s": round(min(times), 4),
        "replay_median_s": round(sorted(times)[len(times) // 2], 4),
        "replay_best_wall_s": round(min(wall_times), 4),
        "csf_schedule_steps": int(result.csf_delivery.values.size),
        "flow_schedule_steps": int(result.flow_ml_per_day.values.size),
        "state_at_with_projection_s": round(state_s, 4),
        "projected_empty_at": None if state.empty_at is None else state.empty_at.isoformat(),
        "mass_balance_residual_mcg": balance.residual_mcg,
        "drug_added_mcg": balance.added_mcg,
        "alarms_logged": len(result.alarm_log),
        "project_with_findings_best_s": round(min(project_times), 4),
        "project_with_findings_median_s": round(sorted(project_times)[len(project_times) // 2], 4),
        "project_with_findings_best_wall_s": round(min(project_wall), 4),
        "findings": len(projection.findings),
        "replays_per_projection": counts["replay"],
        "state_at_per_projection": counts["state_at"],
        "reservoir_views": data["reservoir_views"],
        "low_reservoir_alarm_window": data["low_reservoir_alarm_window"],
        "empty_window": data["empty_window"],
        "days_of_drug_left": data["days_of_drug_left"],
        "refill_due_by": data["refill_due_by"],
        "unaccounted_mcg": data["unaccounted_mcg"],
        "thecal_twin_cli_best_s": round(min(cli_times), 4),
        "thecal_twin_cli_median_s": round(sorted(cli_times)[1], 4),
    }, indent=2))


if __name__ == "__main__":
    main()
