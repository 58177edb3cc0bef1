"""One pump history, many virtual patients: how a population fares under a scenario.

A researcher or a clinic's safety group asks "if our patients went through this — a missed
refill, a concentration change without a bridge bolus, a catheter leak — how many would
show withdrawal or overdose, and how badly?". :func:`run_population` replays the scenario's
timeline through the pump twin once, then runs ``patients`` virtual patients sampled from a
population preset through the many-patient engine, keeping only per-patient summaries, so
memory grows with patients and not with samples.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from thecal.errors import InputError, TimelineError
from thecal.physiology.parameters import FloatArray
from thecal.physiology.population import get_preset, sample
from thecal.sim.many import simulate_many
from thecal.sim.scenario import scenario_inputs
from thecal.timeline import Timeline

#: Per-patient columns written by :meth:`PopulationResult.write`.
PATIENT_COLUMNS = ("patient", "min_mas", "max_mas", "mean_effect", "max_withdrawal_score",
                   "max_overdose_score", "hours_in_withdrawal", "hours_in_severe_withdrawal",
                   "hours_with_overdose_signs")
MAX_PATIENTS = 10_000_000


@dataclass(frozen=True)
class PopulationResult:
    """Per-patient summaries of a population run, and the figures that describe them."""

    scenario: str
    preset: str
    seed: int | None
    patients: int
    start: datetime
    end: datetime
    every_h: float
    columns: dict[str, FloatArray]

    def summary(self) -> dict[str, Any]:
        c = self.columns

        def pct(values: FloatArray) -> dict[str, float]:
            p5, p50, p95 = np.percentile(values, [5, 50, 95])
            return {"p5": round(float(p5), 3), "median": round(float(p50), 3),
                    "p95": round(float(p95), 3)}

        def share(mask: np.ndarray) -> float:
            return round(float(np.mean(mask)), 4)

        return {
            "scenario": self.scenario, "preset": self.preset, "seed": self.seed,
            "patients": self.patients, "from": self.start.isoformat(), "to": self.end.isoformat(),
            "every_h": self.every_h,
            "share_with_withdrawal_signs": share(c["hours_in_withdrawal"] > 0),
            "share_with_severe_withdrawal": share(c["hours_in_severe_withdrawal"] > 0),
            "share_with_overdose_signs": share(c["hours_with_overdose_signs"] > 0),
            "hours_in_withdrawal": pct(c["hours_in_withdrawal"]),
            "hours_in_severe_withdrawal": pct(c["hours_in_severe_withdrawal"]),
            "max_withdrawal_score": pct(c["max_withdrawal_score"]),
            "max_overdose_score": pct(c["max_overdose_score"]),
            "min_mas": pct(c["min_mas"]),
            "max_mas": pct(c["max_mas"]),
        }

    def write(self, path: str | Path) -> Path:
        """Per-patient rows as ``.csv``, or rows plus the summary as ``.json``."""
        out = Path(path)
        suffix = out.suffix.lower()
        if suffix not in (".csv", ".json"):
            raise InputError(f"cannot write {out.name!r}", where="--out",
                             fix="name a .csv or .json file")
        rows = np.column_stack([np.arange(1, self.patients + 1, dtype=float)]
                               + [self.columns[name] for name in PATIENT_COLUMNS[1:]])
        if suffix == ".csv":
            with out.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(PATIENT_COLUMNS)
                for row in rows:
                    writer.writerow([int(row[0]), *(f"{v:.6g}" for v in row[1:])])
        else:
            data = {"summary": self.summary(),
                    "patients": [dict(zip(PATIENT_COLUMNS, [int(r[0]), *map(float, r[1:])],
                                          strict=True)) for r in rows]}
            out.write_text(json.dumps(data, indent=1), encoding="utf-8")
        return out


def run_population(timeline: Timeline, *, patients: int, preset: str | None = None,
                   seed: int | None = None, until: datetime | None = None,
                   every_h: float = 1.0, name: str = "scenario",
                   progress: Callable[[float], None] | None = None,
                   workers: int = 1) -> PopulationResult:
    """Run ``patients`` virtual patients of ``preset`` through the scenario's pump history.

    ``preset`` defaults to the timeline's ``patient.physiology.preset``, else the preset of
    its etiology; ``seed`` defaults to the timeline's physiology seed (``None``: a fresh draw).
    """
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
    stop = until or timeline.events[-1].at + timedelta(days=14)
    replayed, csf, oral, tissue = scenario_inputs(timeline, stop)
    population = sample(chosen, patients, draw_seed,
                        dict(spec.overrides) if spec is not None and spec.preset == chosen else None)
    result = simulate_many(population, csf, end_h=replayed.end_h, every_h=every_h,
                           oral_mg_per_day=oral, systemic_mcg_per_h=tissue,
                           summarise=("effect", "mas", "withdrawal_score", "overdose_score"),
                           progress=progress, workers=workers)
    stats = result.stats
    columns: dict[str, FloatArray] = {
        "min_mas": stats["mas"].min, "max_mas": stats["mas"].max,
        "mean_effect": stats["effect"].mean,
        "max_withdrawal_score": stats["withdrawal_score"].max,
        "max_overdose_score": stats["overdose_score"].max,
        "hours_in_withdrawal": result.hours_in_withdrawal,
        "hours_in_severe_withdrawal": result.hours_in_severe_withdrawal,
        "hours_with_overdose_signs": result.hours_with_overdose_signs,
    }
    return PopulationResult(scenario=name, preset=chosen, seed=draw_seed, patients=patients,
                            start=replayed.epoch.astimezone(timeline.patient.zone),
                            end=replayed.datetime_at(replayed.end_h).astimezone(timeline.patient.zone),
                            every_h=every_h, columns=columns)
