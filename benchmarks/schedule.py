"""Benchmark: propose refill appointments for 2,000 patients over 90 days with CP-SAT.

A synthetic clinic (seeded): six nurses and two physicians; every weekday clinic room 1
(09:00–12:30 and 13:30–17:00, each with a physician), room 2 in the morning (30-minute slots)
and three home-visit rounds in fixed areas. Patients are due at random within the 90 days (a
refill interval is up to 180 days, B-DOSE), a third of them at home (GOUDMAN21: home refills
take a median 26 minutes), a few clinic visits need a physician. Prints JSON: seconds to a
proposal (wall and CPU), the solver status and its reported optimality gap overall and per phase of
the lexicographic solve (book everyone, then comfort), how many were booked or escalated.
Run: ``.venv/bin/python benchmarks/schedule.py [--patients 2000] [--days 90] [--time-limit 60]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from datetime import UTC, datetime, timedelta

from thecal.scheduling import Session, Staff, VisitRequest, propose

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
AREAS = ("north", "south", "east", "west", "centre")


def clinic(days: int) -> tuple[list[Staff], list[Session]]:
    staff = [Staff(f"nurse-{i}", "nurse") for i in range(6)] + [Staff(f"dr-{i}", "physician") for i in range(2)]
    sessions = []
    for d in range(days):
        day = START + timedelta(days=d)
        if day.weekday() >= 5:
            continue
        sessions.append(Session(f"c{d}am", "clinic", day + timedelta(hours=9), day + timedelta(hours=12.5),
                                ("nurse-0", "dr-0"), place="room 1"))
        sessions.append(Session(f"c{d}pm", "clinic", day + timedelta(hours=13.5), day + timedelta(hours=17),
                                ("nurse-1", "dr-1"), place="room 1"))
        sessions.append(Session(f"c{d}am2", "clinic", day + timedelta(hours=9), day + timedelta(hours=12.5),
                                ("nurse-5",), place="room 2"))
        for r in range(3):
            area = AREAS[(d + r) % len(AREAS)]
            sessions.append(Session(f"h{d}r{r}", "home", day + timedelta(hours=9), day + timedelta(hours=16),
                                    (f"nurse-{2 + r}",), place=f"round {area}"))
    return staff, sessions


def patients(n: int, days: int, rng: random.Random) -> list[VisitRequest]:
    out = []
    for i in range(n):
        due = START + timedelta(days=rng.uniform(3, days), hours=0)
        home = rng.random() < 1 / 3
        out.append(VisitRequest(f"p{i}", due, visit_minutes=30, home_visit=home,
                                area=rng.choice(AREAS), needs_physician=not home and rng.random() < 0.05,
                                preferred_weekdays=tuple(sorted(rng.sample(range(5), 2))) if rng.random() < 0.3 else (),
                                earliest=due - timedelta(days=14)))
    return out


def _num(value: float) -> float | None:
    return None if math.isnan(value) else value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    args = parser.parse_args()
    staff, sessions = clinic(args.days)
    requests = patients(args.patients, args.days, random.Random(13))
    t, cpu = time.perf_counter(), time.process_time()
    p = propose(requests, sessions, staff, start=START, time_limit_s=args.time_limit, workers=args.workers, seed=1)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(json.dumps({"patients": args.patients, "days": args.days, "sessions": len(sessions),
                      "workers": args.workers, "time_limit_s": args.time_limit,
                      "seconds_to_proposal": round(wall, 2), "cpu_s": round(cpu, 2), "status": p.status,
                      "objective": _num(p.objective), "best_bound": _num(p.best_bound),
                      "optimality_gap": _num(round(p.gap, 6)), "booked": len(p.bookings),
                      "unscheduled": len(p.unscheduled), "phases": [ph.as_dict() for ph in p.phases],
                      "load_average": [round(x, 2) for x in os.getloadavg()]}, indent=2))


if __name__ == "__main__":
    main()
