"""Benchmark the exact engine: one patient-year against solve_ivp, and many patients at once.

Prints JSON: the speed ratio and largest relative error of the exact engine against
``scipy.integrate.solve_ivp`` (DOP853, each constant-input segment integrated on its own) for
one patient-year with a realistic schedule sampled hourly, and the throughput of the
vectorised engine (patient-years per second, summaries only, hourly samples) for 10³, 10⁴ and
10⁵ patients. Run: ``.venv/bin/python benchmarks/engine.py`` (≈ 1–2 minutes on 2 cores).
"""

from __future__ import annotations

import json
import os
import platform
import time

import numpy as np

from thecal.physiology import patient, sample
from thecal.schedule import Schedule
from thecal.sim.engine import reference_simulate, simulate
from thecal.sim.many import simulate_many


def realistic_year() -> tuple[Schedule, Schedule]:
    """Titration, flex day/night steps, refills with boluses, a two-day interruption."""
    segs: list[tuple[float, float, float]] = []
    daily, day = 100.0, 0
    while day < 365:
        t = 24.0 * day
        if day == 200:
            segs.append((t, t + 48.0, 0.0))
            day += 2
            continue
        if day < 10:
            daily *= 1.2
        elif day % 45 == 0:
            daily *= 1.1
        if day % 60 == 30:
            segs += [(t, t + 1 / 3, 0.0), (t + 1 / 3, t + 5 / 6, daily / 24.0 + 100.0),
                     (t + 5 / 6, t + 7.0, daily / 24.0), (t + 7.0, t + 24.0, 1.3 * daily / 24.0)]
        else:
            segs += [(t, t + 7.0, 0.8 * daily / 24.0), (t + 7.0, t + 24.0, 1.1 * daily / 24.0)]
        day += 1
    oral = Schedule.from_segments([(0.0, 240.0, 60.0), (240.0, 480.0, 30.0),
                                   (480.0, 720.0, 15.0)])
    return Schedule.from_segments(segs), oral


def best_of(fn: object, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best


def one_patient_year() -> dict[str, object]:
    csf, oral = realistic_year()
    p = patient("adult-spinal", seed=4)
    t = np.arange(0.0, 8760.0, 1.0)
    simulate(p, csf, t, oral_mg_per_day=oral, start_h=0.0)  # warm imports
    exact_s = best_of(lambda: simulate(p, csf, t, oral_mg_per_day=oral, start_h=0.0), 20)
    exact = simulate(p, csf, t, oral_mg_per_day=oral, start_h=0.0).states
    out: dict[str, object] = {"segments": int(csf.values.size), "samples": int(t.size),
                              "exact_s": exact_s}
    for rtol in (1e-10,):
        t0 = time.perf_counter()
        ref = reference_simulate(p, csf, t, oral_mg_per_day=oral, start_h=0.0, rtol=rtol,
                                 atol=rtol * 1e-2).states
        ref_s = time.perf_counter() - t0
        scale = np.maximum(np.abs(ref).max(axis=0), 1e-6 * np.abs(ref).max())
        out[f"solve_ivp_rtol_{rtol:g}"] = {
            "seconds": ref_s,
            "speed_ratio": ref_s / exact_s,
            "max_relative_error": float(np.max(np.abs(exact - ref) / scale)),
        }
    return out


def many(n: int, days: float) -> dict[str, object]:
    pop = sample("adult-spinal", n, seed=1)
    csf, oral = realistic_year()
    t0 = time.perf_counter()
    simulate_many(pop, csf, end_h=24.0 * days, every_h=1.0, oral_mg_per_day=oral)
    seconds = time.perf_counter() - t0
    return {"patients": n, "simulated_days": days, "every_h": 1.0, "seconds": seconds,
            "patient_years_per_second": n * days / 365.0 / seconds}


def main() -> None:
    result = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "one_patient_year": one_patient_year(),
        "vectorised": [many(1_000, 182.0), many(10_000, 30.0), many(100_000, 7.0)],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
