"""One pump history, many virtual patients: how a population fares under a scenario.

A researcher or a clinic's safety group asks "if our patients went through this — a missed
refill, a concentration change without a bridge bolus, a catheter leak — how many would
show withdrawal or overdose, and how badly?". :func:`run_population` replays the scenario's
timeline through the pump twin once, then runs ``patients`` virtual patients sampled from a
population preset through the many-patient engine, keeping only per-patient summaries, so
memory grows with patients and not with samples.

Research use:

* **A summary window** (``window_from``/``until``): the patients are simulated from the
  first event (drug-naive), but only the samples in the window are summarised, so the
  untreated baseline and the titration can be left out.
* **Percentiles with bootstrap intervals**: every p5/median/p95 and share comes with its 95 %
  percentile-bootstrap interval, computed exactly (what infinitely many resamples give:
  binomial for a share, order statistics for a percentile); paired differences use
  ``bootstrap`` resamples of the patients.
* **Paired comparisons** (:func:`run_comparison`): a scenario and a variant of it
  (``thecal.sim.variants``) on the same virtual patients, with the paired differences and
  their bootstrap intervals.
* **Reproducible at any scale**: patient ``i`` is drawn from its own random stream, child
  ``i`` of ``SeedSequence(seed).spawn`` (:func:`thecal.physiology.population.sample_streams`),
  and simulated on its own, so the results do not depend on the block size, the number of
  threads or the backend (``local`` or ``dask``, :mod:`thecal.sim.dask_backend`).
"""

from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from thecal.errors import InputError, TimelineError
from thecal.physiology.parameters import FloatArray
from thecal.physiology.population import get_preset, sample_streams
from thecal.schedule import Schedule
from thecal.sim.many import simulate_many
from thecal.sim.scenario import scenario_inputs
from thecal.timeline import Timeline

#: Per-patient columns written by :meth:`PopulationResult.write`.
PATIENT_COLUMNS = ("patient", "min_mas", "max_mas", "mean_effect", "max_withdrawal_score",
                   "max_overdose_score", "hours_in_withdrawal", "hours_in_severe_withdrawal",
                   "hours_with_overdose_signs")
#: The columns summarised with percentiles, and the share columns (hours > 0).
PERCENTILE_COLUMNS = ("hours_in_withdrawal", "hours_in_severe_withdrawal",
                      "max_withdrawal_score", "max_overdose_score", "min_mas", "max_mas",
                      "mean_effect")
SHARES = (("share_with_withdrawal_signs", "hours_in_withdrawal"),
          ("share_with_severe_withdrawal", "hours_in_severe_withdrawal"),
          ("share_with_overdose_signs", "hours_with_overdose_signs"))
MAX_PATIENTS = 10_000_000
#: Patients per block (one task of the local or Dask backend). Results do not depend on it.
BLOCK_PATIENTS = 4096
DEFAULT_BOOTSTRAP = 200
BACKENDS = ("local", "dask")
_BOOTSTRAP_STREAM = 0xB0_07_57_A9  # the bootstrap's own stream, apart from the patients'


@dataclass(frozen=True)
class Arm:
    """One scenario's inputs to the patients (a variant is another arm)."""

    name: str
    csf: Schedule
    oral: Schedule
    tissue: Schedule


@dataclass(frozen=True)
class CohortSpec:
    """Everything a block of patients needs (small and picklable, sent to Dask workers)."""

    preset: str
    seed: int
    overrides: tuple[tuple[str, float], ...]
    arms: tuple[Arm, ...]
    end_h: float
    from_h: float
    every_h: float


def run_block(spec: CohortSpec, start: int, stop: int) -> list[dict[str, FloatArray]]:
    """Patients ``start … stop−1`` through every arm: per-patient columns, one dict per arm.

    A pure function of its arguments (each patient's draw depends on the seed and its index
    only): the local and the Dask backend call it on the same blocks.
    """
    params = sample_streams(spec.preset, spec.seed, start, stop, dict(spec.overrides) or None)
    out = []
    for arm in spec.arms:
        x0 = None
        if spec.from_h > 0.0:  # to the start of the window, nothing summarised
            pre = simulate_many(params, arm.csf, end_h=spec.from_h, every_h=spec.from_h,
                                oral_mg_per_day=arm.oral, systemic_mcg_per_h=arm.tissue,
                                summarise=(), engine="kernel")
            x0 = pre.final_states
        result = simulate_many(params, arm.csf, start_h=spec.from_h, end_h=spec.end_h,
                               every_h=spec.every_h, oral_mg_per_day=arm.oral,
                               systemic_mcg_per_h=arm.tissue, x0=x0,
                               summarise=("effect", "mas", "withdrawal_score", "overdose_score"),
                               means=("effect",),  # only the mean effect pays per sample
                               engine="kernel")  # the compiled cohort kernel (summaries only)
        stats = result.stats
        out.append({
            "min_mas": stats["mas"].min, "max_mas": stats["mas"].max,
            "mean_effect": stats["effect"].mean,
            "max_withdrawal_score": stats["withdrawal_score"].max,
            "max_overdose_score": stats["overdose_score"].max,
            "hours_in_withdrawal": result.hours_in_withdrawal,
            "hours_in_severe_withdrawal": result.hours_in_severe_withdrawal,
            "hours_with_overdose_signs": result.hours_with_overdose_signs,
        })
    return out


def blocks(patients: int, block_patients: int = BLOCK_PATIENTS) -> list[tuple[int, int]]:
    size = max(1, int(block_patients))
    return [(lo, min(lo + size, patients)) for lo in range(0, patients, size)]


def run_spec(spec: CohortSpec, patients: int, *, block_patients: int = BLOCK_PATIENTS,
             backend: str = "local", workers: int = 1, scheduler: str | None = None,
             progress: Callable[[float], None] | None = None) -> list[dict[str, FloatArray]]:
    """All patients through every arm, block by block, on the chosen backend."""
    ranges = blocks(patients, block_patients)
    if backend == "dask":
        from thecal.sim.dask_backend import map_blocks

        parts = map_blocks(run_block, spec, ranges, scheduler=scheduler,
                           workers=workers if workers > 1 else None, progress=progress)
    elif backend == "local":
        done = [0]

        def one(r: tuple[int, int]) -> list[dict[str, FloatArray]]:
            part = run_block(spec, *r)
            done[0] += r[1] - r[0]
            if progress is not None:
                progress(done[0] / patients)
            return part

        if workers > 1 and len(ranges) > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(one, ranges))
        else:
            parts = [one(r) for r in ranges]
    else:
        raise InputError(f"unknown backend {backend!r}", where="--backend",
                         fix=f"use one of: {', '.join(BACKENDS)}")
    return [{name: np.concatenate([p[a][name] for p in parts]) for name in parts[0][a]}
            for a in range(len(spec.arms))]


# --------------------------------------------------------------------------- statistics

def _bootstrap_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _BOOTSTRAP_STREAM]))


def _resamples(n: int, count: int, seed: int) -> list[np.ndarray]:
    """``count`` bootstrap resamples of ``n`` patients (index arrays), seeded."""
    rng = _bootstrap_rng(seed)
    return [rng.integers(0, n, size=n) for _ in range(count)]


def _interval(values: Sequence[float] | np.ndarray, digits: int) -> list[float]:
    lo, hi = np.percentile(np.asarray(values, dtype=float), [2.5, 97.5])
    return [round(float(lo), digits), round(float(hi), digits)]


def _quantile_interval(ordered: np.ndarray, q: float, level: float = 0.95) -> list[float]:
    """The percentile-bootstrap interval of the ``q`` quantile, exactly (no resampling).

    With the quantile read as the order statistic ``x_(k)``, ``k = ⌈q·n⌉``, a bootstrap
    resample's quantile is ``x_(J)`` with ``P(J ≤ j) = P(Binomial(n, j/n) ≥ k)`` — the chance
    that at least ``k`` of the ``n`` draws fall at or below ``x_(j)``. The interval is that
    distribution's 2.5 % and 97.5 % points: what infinitely many resamples would give.
    """
    lo, hi = _interval_ranks(ordered.size, q, level)
    return [float(ordered[lo]), float(ordered[hi])]


@lru_cache(maxsize=64)
def _interval_ranks(n: int, q: float, level: float) -> tuple[int, int]:
    """The order statistics (0-based) bounding :func:`_quantile_interval`: they depend on the
    number of patients and the quantile only, so every column of a run shares them."""
    from scipy.stats import binom

    k = max(1, int(np.ceil(q * n - 1e-12)))
    cdf = binom.sf(k - 1, n, np.arange(1, n + 1) / n)
    tail = (1.0 - level) / 2.0
    lo = min(int(np.searchsorted(cdf, tail)), n - 1)
    hi = min(int(np.searchsorted(cdf, 1.0 - tail)), n - 1)
    return lo, hi


def describe(columns: dict[str, FloatArray], bootstrap: bool = True) -> dict[str, Any]:
    """Shares and percentiles of per-patient columns, each with its 95 % percentile-bootstrap
    interval computed exactly (binomial for shares, order statistics for percentiles)."""
    from scipy.stats import binom

    out: dict[str, Any] = {}
    for key, col in SHARES:
        flag = columns[col] > 0
        n = flag.size
        share = float(flag.mean())
        out[key] = round(share, 4)
        if bootstrap:
            lo, hi = binom.ppf([0.025, 0.975], n, share) / n
            out.setdefault("shares_ci95", {})[key] = [round(float(lo), 4), round(float(hi), 4)]
    for name in PERCENTILE_COLUMNS:
        ordered = np.sort(columns[name])
        points = np.percentile(ordered, [5, 50, 95], method="inverted_cdf")
        entry: dict[str, Any] = {label: round(float(v), 3)
                                 for label, v in zip(("p5", "median", "p95"), points, strict=True)}
        if bootstrap:
            entry["ci95"] = {label: [round(v, 3) for v in _quantile_interval(ordered, q)]
                             for label, q in (("p5", 0.05), ("median", 0.5), ("p95", 0.95))}
        out[name] = entry
    return out


def paired_differences(base: dict[str, FloatArray], variant: dict[str, FloatArray],
                       resamples: list[np.ndarray]) -> dict[str, Any]:
    """Variant − baseline on the same patients: mean differences of every column and
    differences of the shares, each with a 95 % bootstrap interval over the patients (the
    pairs are resampled together), and how many patients fare worse or better."""
    out: dict[str, Any] = {}
    for key, col in SHARES:
        d = (variant[col] > 0).astype(float) - (base[col] > 0).astype(float)
        entry: dict[str, Any] = {"difference": round(float(d.mean()), 4)}
        if resamples:
            entry["ci95"] = _interval([float(d[idx].mean()) for idx in resamples], 4)
        out[key] = entry
    for name in PERCENTILE_COLUMNS:
        d = variant[name] - base[name]
        entry = {"mean_difference": round(float(d.mean()), 4),
                 "median_difference": round(float(np.median(d)), 4),
                 "patients_higher": int(np.sum(d > 0)), "patients_lower": int(np.sum(d < 0))}
        if resamples:
            entry["ci95"] = _interval([float(d[idx].mean()) for idx in resamples], 4)
        out[name] = entry
    return out


# --------------------------------------------------------------------------- results

@dataclass(frozen=True)
class PopulationResult:
    """Per-patient summaries of a population run, and the figures that describe them."""

    scenario: str
    preset: str
    seed: int
    patients: int
    start: datetime  # the first event: the patients start drug-naive here
    end: datetime
    every_h: float
    columns: dict[str, FloatArray]
    window_start: datetime | None = None  # summaries from here (None: from the start)
    bootstrap: int = DEFAULT_BOOTSTRAP
    backend: str = "local"
    _resamples: list[np.ndarray] = field(default_factory=list, repr=False, compare=False)

    def resamples(self) -> list[np.ndarray]:
        if not self._resamples and self.bootstrap > 0:
            self._resamples.extend(_resamples(self.patients, self.bootstrap, self.seed))
        return self._resamples

    def summary(self) -> dict[str, Any]:
        head = {
            "scenario": self.scenario, "preset": self.preset, "seed": self.seed,
            "patients": self.patients, "from": (self.window_start or self.start).isoformat(),
            "to": self.end.isoformat(), "simulated_from": self.start.isoformat(),
            "every_h": self.every_h, "backend": self.backend,
            "bootstrap": {"interval": "95 % percentile bootstrap",
                          "shares_and_percentiles": "exact (binomial / order statistics)",
                          "paired_differences_resamples": self.bootstrap},
        }
        return {**head, **describe(self.columns, self.bootstrap > 0)}

    def write(self, path: str | Path) -> Path:
        """Per-patient rows as ``.csv``, or rows plus the summary as ``.json``."""
        return _write_rows(path, self.patients, [("", self.columns)], self.summary())


@dataclass(frozen=True)
class ComparisonResult:
    """A scenario and a variant on the same virtual patients."""

    baseline: PopulationResult
    variant: PopulationResult
    variant_name: str

    def summary(self) -> dict[str, Any]:
        return {"baseline": self.baseline.summary(), "variant": self.variant.summary(),
                "variant_name": self.variant_name,
                "paired_differences": paired_differences(
                    self.baseline.columns, self.variant.columns, self.baseline.resamples()),
                "difference_is": "variant − baseline, same patients"}

    def write(self, path: str | Path) -> Path:
        return _write_rows(path, self.baseline.patients,
                           [("", self.baseline.columns),
                            (f"{self.variant_name}:", self.variant.columns)], self.summary())


def _write_rows(path: str | Path, patients: int, arms: list[tuple[str, dict[str, FloatArray]]],
                summary: dict[str, Any]) -> Path:
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise InputError(f"cannot write {out.name!r}", where="--out",
                         fix="name a .csv or .json file")
    header = ["patient"] + [prefix + name for prefix, _ in arms for name in PATIENT_COLUMNS[1:]]
    rows = np.column_stack([np.arange(1, patients + 1, dtype=float)]
                           + [cols[name] for _, cols in arms for name in PATIENT_COLUMNS[1:]])
    if suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow([int(row[0]), *(f"{v:.6g}" for v in row[1:])])
    else:
        data = {"summary": summary,
                "patients": [dict(zip(header, [int(r[0]), *map(float, r[1:])], strict=True))
                             for r in rows]}
        out.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return out


# --------------------------------------------------------------------------- running

@dataclass(frozen=True)
class _Setup:
    preset: str
    seed: int
    overrides: tuple[tuple[str, float], ...]
    start: datetime
    end: datetime
    window_start: datetime | None
    end_h: float
    from_h: float


def _setup(timeline: Timeline, patients: int, preset: str | None, seed: int | None,
           until: datetime | None, window_from: datetime | None, every_h: float) -> _Setup:
    if not timeline.events:
        raise TimelineError("the scenario has no events", where="events")
    if not 1 <= patients <= MAX_PATIENTS:
        raise InputError(f"patients must be from 1 to {MAX_PATIENTS:,}", where="--patients")
    if every_h <= 0:
        raise InputError("the sampling interval must be positive", where="--every")
    spec = timeline.patient.physiology
    chosen = preset or (spec.preset if spec is not None else timeline.patient.etiology)
    get_preset(chosen)  # refuse an unknown preset with the list of known ones
    draw_seed = seed if seed is not None else (spec.seed if spec is not None else None)
    if draw_seed is None:
        draw_seed = secrets.randbits(63)  # a fresh draw, reported so it can be repeated
    overrides = tuple(sorted(spec.overrides.items())) if spec is not None \
        and spec.preset == chosen and spec.overrides else ()
    epoch = timeline.events[0].at
    stop = until or timeline.events[-1].at + timedelta(days=14)
    if stop <= epoch:
        raise InputError("the end is not after the first event", where="--until")
    from_h = 0.0
    if window_from is not None:
        from_h = (window_from - epoch).total_seconds() / 3600.0
        if from_h < 0:
            raise InputError("the window starts before the first event", where="--from")
        if window_from >= stop:
            raise InputError("the window starts at or after its end", where="--from",
                             fix="choose --from before --until")
    zone = timeline.patient.zone
    return _Setup(chosen, int(draw_seed), overrides, epoch.astimezone(zone),
                  stop.astimezone(zone), None if window_from is None else
                  window_from.astimezone(zone), (stop - epoch).total_seconds() / 3600.0, from_h)


def _arm(timeline: Timeline, stop: datetime, name: str) -> tuple[Arm, float]:
    replayed, csf, oral, tissue = scenario_inputs(timeline, stop)
    return Arm(name, csf, oral, tissue), float(replayed.end_h)


def run_population(timeline: Timeline, *, patients: int, preset: str | None = None,
                   seed: int | None = None, until: datetime | None = None,
                   window_from: datetime | None = None, every_h: float = 1.0,
                   name: str = "scenario", progress: Callable[[float], None] | None = None,
                   workers: int = 1, backend: str = "local", scheduler: str | None = None,
                   block_patients: int = BLOCK_PATIENTS,
                   bootstrap: int = DEFAULT_BOOTSTRAP) -> PopulationResult:
    """Run ``patients`` virtual patients of ``preset`` through the scenario's pump history.

    ``preset`` defaults to the timeline's ``patient.physiology.preset``, else the preset of
    its etiology; ``seed`` defaults to the timeline's physiology seed (else a fresh one,
    reported in the result). Summaries cover ``window_from`` (default: the first event) to
    ``until`` (default: 14 days after the last event).
    """
    s = _setup(timeline, patients, preset, seed, until, window_from, every_h)
    arm, end_h = _arm(timeline, s.end, name)
    spec = CohortSpec(s.preset, s.seed, s.overrides, (arm,), end_h, s.from_h, every_h)
    (columns,) = run_spec(spec, patients, block_patients=block_patients, backend=backend,
                          workers=workers, scheduler=scheduler, progress=progress)
    return PopulationResult(scenario=name, preset=s.preset, seed=s.seed, patients=patients,
                            start=s.start, end=s.end, every_h=every_h, columns=columns,
                            window_start=s.window_start, bootstrap=bootstrap, backend=backend)


def run_comparison(timeline: Timeline, variant: Timeline, *, variant_name: str, patients: int,
                   preset: str | None = None, seed: int | None = None,
                   until: datetime | None = None, window_from: datetime | None = None,
                   every_h: float = 1.0, name: str = "scenario",
                   progress: Callable[[float], None] | None = None, workers: int = 1,
                   backend: str = "local", scheduler: str | None = None,
                   block_patients: int = BLOCK_PATIENTS,
                   bootstrap: int = DEFAULT_BOOTSTRAP) -> ComparisonResult:
    """The scenario and its variant on the same virtual patients (same seed, same streams),
    over the same window; :meth:`ComparisonResult.summary` gives the paired differences."""
    s = _setup(timeline, patients, preset, seed, until, window_from, every_h)
    if not variant.events or variant.events[0].at != timeline.events[0].at:
        raise InputError("the variant must start with the scenario's first event",
                         where="--compare", fix="keep the implant where it is")
    base_arm, end_h = _arm(timeline, s.end, name)
    var_arm, _ = _arm(variant, s.end, variant_name)
    spec = CohortSpec(s.preset, s.seed, s.overrides, (base_arm, var_arm), end_h, s.from_h,
                      every_h)
    base, var = run_spec(spec, patients, block_patients=block_patients, backend=backend,
                         workers=workers, scheduler=scheduler, progress=progress)

    def result(cols: dict[str, FloatArray], label: str) -> PopulationResult:
        return PopulationResult(scenario=label, preset=s.preset, seed=s.seed,
                                patients=patients, start=s.start, end=s.end, every_h=every_h,
                                columns=cols, window_start=s.window_start,
                                bootstrap=bootstrap, backend=backend)

    baseline = result(base, name)
    other = result(var, variant_name)
    other._resamples.extend(baseline.resamples())  # the same resamples: paired
    return ComparisonResult(baseline, other, variant_name)
