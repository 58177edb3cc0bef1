"""Benchmark the exact engine: one patient-year against solve_ivp, and many patients at once.

Prints JSON: the speed ratio and largest relative error of the exact engine against
``scipy.integrate.solve_ivp`` (DOP853, each constant-input segment integrated on its own) for
one patient-year with a realistic schedule sampled hourly (``exact_s``: the same patient
again, its decomposition remembered; ``exact_new_patient_s``: decomposition included), and
the throughput of the vectorised engine (patient-years per second, default summaries only,
hourly samples) for 10³, 10⁴ and 10⁵ patients, on one thread and on all cores
(``workers``). Every timing is repeated; ``best`` and ``median`` are reported (the machine
may be shared: best is the engine, median what you get). Run:
``.venv/bin/python benchmarks/engine.py`` (≈ 1 minute on 2 cores); ``--quick`` repeats less.

``cohort`` (also alone with ``--cohort``): the compiled cohort kernel against the numpy cohort
engine and the scipy reference, in one run — seconds per patient-year of each at hourly
samples with the population's summaries (extremes and hours; with and without the mean
effect), their ratio to ``solve_ivp``'s seconds per patient-year (wall and CPU), patient-years
per second per core (wall and CPU time of one thread; each timing the best of several rounds
that run every engine once, so a change in the machine's load hits them alike), the path
``thecal population`` takes (``population_path``: a bundled scenario's pump history through
the kernel and the numpy engine on the same drawn patients, and the whole local backend
with each patient's stream drawn), the Dask scaling efficiency on this machine's cores (a
LocalCluster of 1 and of ``cpus`` workers, ``T1 / (k·Tk)``), the peak memory, and the load
average before and after (the machine may be shared: read the CPU figures).
Run: ``.venv/bin/python benchmarks/engine.py --cohort --quick`` (≈ 30 s).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

from thecal.physiology import patient, readouts, sample
from thecal.schedule import Schedule
from thecal.sim.engine import decomposition, reference_simulate, simulate
from thecal.sim.many import SUMMARY_READOUTS, simulate_many

POPULATION_SUMMARIES = ("effect", "mas", "withdrawal_score", "overdose_score")


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


def timings(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    """Wall-clock seconds of ``repeats`` calls: best and median."""
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t0)
    return {"best": min(seconds), "median": statistics.median(seconds), "repeats": repeats}


def one_patient_year(quick: bool) -> dict[str, object]:
    csf, oral = realistic_year()
    p = patient("adult-spinal", seed=4)
    t = np.arange(0.0, 8760.0, 1.0)

    def exact_run() -> object:
        return simulate(p, csf, t, oral_mg_per_day=oral, start_h=0.0)

    def cold_run() -> object:
        decomposition.cache_clear()  # a patient not seen before: decomposition included
        return exact_run()

    exact_run()  # warm imports
    exact = timings(exact_run, 30 if quick else 100)
    cold = timings(cold_run, 30 if quick else 100)
    states = simulate(p, csf, t, oral_mg_per_day=oral, start_h=0.0).states
    rtol = 1e-10
    ref_states: list[np.ndarray] = []

    def reference_run() -> object:
        ref_states.append(reference_simulate(p, csf, t, oral_mg_per_day=oral, start_h=0.0,
                                             rtol=rtol, atol=rtol * 1e-2).states)
        return None

    ref = timings(reference_run, 1 if quick else 3)
    r = ref_states[0]
    scale = np.maximum(np.abs(r).max(axis=0), 1e-6 * np.abs(r).max())
    return {
        "segments": int(csf.values.size), "samples": int(t.size),
        "exact_s": exact,
        "exact_new_patient_s": cold,
        f"solve_ivp_rtol_{rtol:g}": {
            "seconds": ref,
            "speed_ratio_best": ref["best"] / exact["best"],
            "speed_ratio_median": ref["median"] / exact["median"],
            "speed_ratio_new_patient_median": ref["median"] / cold["median"],
            "max_relative_error": float(np.max(np.abs(states - r) / scale)),
        },
    }


def agreement(pop_n: int = 1000, days: float = 60.0, check: int = 5) -> float:
    """Largest relative difference of the vectorised summaries from the one-patient engine
    (values below 1e-12 compared absolutely) for a few patients."""
    pop = sample("adult-spinal", pop_n, seed=1)
    csf, oral = realistic_year()
    res = simulate_many(pop, csf, end_h=24.0 * days, every_h=1.0, oral_mg_per_day=oral)
    t = np.arange(res.n_samples) * 1.0
    worst = 0.0
    for i in np.linspace(0, pop_n - 1, check).astype(int):
        p = pop.patient(int(i))
        r = readouts(p, simulate(p, csf, t, oral_mg_per_day=oral, start_h=0.0).states)
        for name in SUMMARY_READOUTS:
            v = getattr(r, name)
            st = res.stats[name]
            for fast, exact in ((st.min[i], v.min()), (st.max[i], v.max()),
                                (st.mean[i], v.mean())):
                worst = max(worst, abs(fast - exact) / max(abs(exact), 1e-12))
    return worst


def many(n: int, days: float, workers: int, repeats: int) -> dict[str, object]:
    pop = sample("adult-spinal", n, seed=1)
    csf, oral = realistic_year()

    def run() -> object:
        return simulate_many(pop, csf, end_h=24.0 * days, every_h=1.0, oral_mg_per_day=oral,
                             workers=workers)

    run()  # warm up (first-touch of the work arrays)
    s = timings(run, repeats)
    years = n * days / 365.0
    return {"patients": n, "simulated_days": days, "every_h": 1.0, "workers": workers,
            "seconds": s, "patient_years_per_second_best": years / s["best"],
            "patient_years_per_second_median": years / s["median"]}


def peak_memory(n: int, days: float) -> dict[str, object]:
    """Peak traced memory of a summaries-only run: it should grow with patients, not days."""
    pop = sample("adult-spinal", n, seed=1)
    csf, oral = realistic_year()
    tracemalloc.start()
    simulate_many(pop, csf, end_h=24.0 * days, every_h=1.0, oral_mg_per_day=oral)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"patients": n, "simulated_days": days, "samples_per_patient": int(24 * days) + 1,
            "peak_mib": round(peak / 2**20, 2)}


def _cpu_timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best wall and best CPU seconds (this process) of ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def _rounds(runs: dict[str, Callable[[], object]], repeats: int,
            years: float) -> dict[str, dict[str, float]]:
    """Best wall and CPU time of each run over ``repeats`` rounds (each round runs every one
    once, so a change in the machine's load hits them alike), as seconds per patient-year and
    patient-years per second on one core."""
    for fn in runs.values():
        fn()  # compile / warm up
    wall = {label: np.inf for label in runs}
    cpu = {label: np.inf for label in runs}
    for _ in range(repeats):
        for label, fn in runs.items():
            w, c = _cpu_timed(fn, 1)
            wall[label] = min(wall[label], w)
            cpu[label] = min(cpu[label], c)
    return {label: {"seconds_per_patient_year_wall": wall[label] / years,
                    "seconds_per_patient_year_cpu": cpu[label] / years,
                    "patient_years_per_second_per_core_wall": years / wall[label],
                    "patient_years_per_second_per_core_cpu": years / cpu[label]}
            for label in runs}


def cohort(quick: bool) -> dict[str, object]:
    """The compiled cohort kernel against the numpy engine and solve_ivp, in one run."""
    load_before = os.getloadavg()
    csf, oral = realistic_year()
    n = 1000 if quick else 4000
    pop = sample("adult-spinal", n, seed=1)
    years = float(n)  # one year each
    repeats = 3 if quick else 5

    def year_run(**kw: object) -> Callable[[], object]:
        return lambda: simulate_many(pop, csf, end_h=8760.0, every_h=1.0, oral_mg_per_day=oral,
                                     summarise=POPULATION_SUMMARIES, **kw)  # type: ignore[arg-type]

    runs = _rounds({"kernel_extremes_and_hours": year_run(means=()),
                    "kernel_with_mean_effect": year_run(means=("effect",)),
                    "numpy_engine_population_summaries": year_run(engine="numpy")},
                   repeats, years)
    p = patient("adult-spinal", seed=4)
    t = np.arange(0.0, 8760.0, 1.0)
    ref_wall, ref_cpu = _cpu_timed(lambda: reference_simulate(
        p, csf, t, oral_mg_per_day=oral, start_h=0.0, rtol=1e-10, atol=1e-12), 1 if quick else 2)
    base = runs["numpy_engine_population_summaries"]
    out: dict[str, object] = {
        "patients": n, "simulated_days": 365, "every_h": 1.0,
        "summaries": list(POPULATION_SUMMARIES), "runs": runs,
        "scipy_reference_seconds_per_patient_year": ref_wall,
        "scipy_reference_seconds_per_patient_year_cpu": ref_cpu,
    }
    for label, r in runs.items():
        out[f"ratio_scipy_over_{label}"] = ref_wall / r["seconds_per_patient_year_wall"]
        out[f"ratio_scipy_over_{label}_cpu"] = ref_cpu / r["seconds_per_patient_year_cpu"]
        out[f"speedup_{label}_over_numpy_engine"] = (
            base["seconds_per_patient_year_wall"] / r["seconds_per_patient_year_wall"])
        out[f"speedup_{label}_over_numpy_engine_cpu"] = (
            base["seconds_per_patient_year_cpu"] / r["seconds_per_patient_year_cpu"])
    out["population_path"] = population_path(quick, repeats, ref_cpu)
    out["dask_scaling"] = dask_scaling(quick)
    out["peak_memory"] = [peak_memory(m, d) for m, d in ((10_000, 30.0), (10_000, 365.0))]
    out["load_average_1_5_15_min"] = {"before": [round(x, 2) for x in load_before],
                                      "after": [round(x, 2) for x in os.getloadavg()]}
    return out


def population_path(quick: bool, repeats: int, ref_cpu: float) -> dict[str, object]:
    """What ``thecal population concentration-down-no-bridge`` runs, block by block: the
    engine with the population's summaries (the kernel; the numpy engine for comparison) on
    patients drawn beforehand, and the whole local backend (drawing each patient's stream,
    simulating, collecting the columns), on one core."""
    from datetime import timedelta

    from thecal.physiology.population import sample_streams
    from thecal.sim.population import BLOCK_PATIENTS, CohortSpec, _arm, blocks, run_spec
    from thecal.sim.scenario import load_scenario

    name = "concentration-down-no-bridge"
    timeline = load_scenario(name)
    arm, end_h = _arm(timeline, timeline.events[-1].at + timedelta(days=14), name)
    n = 2 * BLOCK_PATIENTS if quick else 5 * BLOCK_PATIENTS
    years = n * end_h / 8760.0
    drawn = [sample_streams("adult-spinal", 1, lo, hi) for lo, hi in blocks(n)]

    def engine(**kw: object) -> Callable[[], object]:
        def run() -> None:
            for params in drawn:
                simulate_many(params, arm.csf, end_h=end_h, every_h=1.0,
                              oral_mg_per_day=arm.oral, systemic_mcg_per_h=arm.tissue,
                              summarise=POPULATION_SUMMARIES, **kw)  # type: ignore[arg-type]
        return run

    spec = CohortSpec("adult-spinal", 1, (), (arm,), end_h, 0.0, 1.0)
    runs = _rounds({"kernel_population_summaries": engine(means=("effect",)),
                    "numpy_engine_population_summaries": engine(engine="numpy"),
                    "run_spec_local_draw_and_simulate": lambda: run_spec(spec, n)},
                   repeats, years)
    kernel = runs["kernel_population_summaries"]["seconds_per_patient_year_cpu"]
    return {"scenario": name, "patients": n, "simulated_days": round(end_h / 24.0, 2),
            "every_h": 1.0, "summaries": list(POPULATION_SUMMARIES), "means": ["effect"],
            "runs": runs,
            "speedup_kernel_over_numpy_engine_cpu":
                runs["numpy_engine_population_summaries"]["seconds_per_patient_year_cpu"]
                / kernel,
            "ratio_scipy_over_kernel_cpu": ref_cpu / kernel}


def dask_scaling(quick: bool) -> dict[str, object]:
    """Population blocks on a LocalCluster of 1 and of all cores: efficiency T1 / (k·Tk)."""
    from datetime import timedelta

    from thecal.sim.dask_backend import local_cluster
    from thecal.sim.population import CohortSpec, _arm, run_spec
    from thecal.sim.scenario import load_scenario

    timeline = load_scenario("missed-refill-withdrawal")
    stop = timeline.events[0].at + timedelta(days=365)
    arm, end_h = _arm(timeline, stop, "missed-refill-withdrawal")
    spec = CohortSpec("adult-spinal", 1, (), (arm,), end_h, 0.0, 1.0)
    n = 4000 if quick else 16000
    cpus = os.cpu_count() or 1
    seconds: dict[int, float] = {}
    for k in sorted({1, cpus}):
        with local_cluster(k) as cluster:
            run_spec(spec, 256, block_patients=256, backend="dask",
                     scheduler=cluster.scheduler_address)  # warm the workers (compile cache)
            w0 = time.perf_counter()
            run_spec(spec, n, block_patients=1024, backend="dask",
                     scheduler=cluster.scheduler_address)
            seconds[k] = time.perf_counter() - w0
    k = max(seconds)
    return {"patients": n, "simulated_days": 365, "workers": sorted(seconds),
            "seconds": seconds, "patient_years_per_second": {w: n / s for w, s in seconds.items()},
            "efficiency": seconds[1] / (k * seconds[k]) if k > 1 else 1.0}


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    if "--cohort" in sys.argv[1:]:
        print(json.dumps({"machine": {"python": platform.python_version(),
                                      "numpy": np.__version__, "cpus": os.cpu_count()},
                          "cohort": cohort(quick)}, indent=2))
        return
    cpus = os.cpu_count() or 1
    repeats = 2 if quick else 3
    sizes = [(1_000, 365.0), (10_000, 60.0), (100_000, 14.0)]
    vectorised = [many(n, days, 1, repeats) for n, days in sizes]
    if cpus > 1:
        vectorised += [many(n, days, cpus, repeats) for n, days in sizes]
    result = {
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "cpus": cpus},
        "cohort": cohort(quick),
        "one_patient_year": one_patient_year(quick),
        "vectorised": vectorised,
        "vectorised_vs_one_patient_engine_max_relative_difference": agreement(),
        "memory_summaries_only": [peak_memory(n, d) for n, d in
                                  ((10_000, 30.0), (10_000, 120.0), (10_000, 365.0),
                                   (40_000, 30.0))],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
