"""``thecal simulate SCENARIO`` and ``thecal scenarios``: run a virtual patient on a timeline."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn

from thecal.cli.common import console, guarded, print_json
from thecal.errors import InputError
from thecal.units import DURATION, parse_quantity

_PROGRESS_SAMPLES = 50_000


def _duration_h(text: str, what: str) -> float:
    try:
        return float(parse_quantity(text, DURATION))
    except InputError as exc:
        raise InputError(exc.message, where=what, fix="write a duration like 15 min or 1 h") \
            from None


def _until(text: str | None, start: datetime, last: datetime,
           option: str = "--until") -> datetime | None:
    """``--until``: an ISO 8601 time with offset, or a duration after the first event."""
    if text is None:
        return None
    if re.match(r"^\d{4}-\d{2}-\d{2}T", text):
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(f"{text!r} is not a time", where=option,
                             fix="write e.g. 2026-03-01T09:00:00+01:00 or 90 days") from None
        if when.tzinfo is None:
            raise InputError(f"{text!r} has no offset", where=option,
                             fix="add the offset, e.g. +01:00")
        return when
    return start + timedelta(hours=_duration_h(text, option))


def register(app: typer.Typer) -> None:
    scenarios_app = typer.Typer(help="Bundled simulation scenarios.", no_args_is_help=True)

    @scenarios_app.command("list")
    @guarded
    def list_scenarios(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """List the bundled scenarios (a name works wherever a scenario file does)."""
        from thecal.sim.scenario import bundled_scenarios, load_scenario

        rows = []
        for name, path in bundled_scenarios().items():
            title = ""
            for line in path.read_text(encoding="utf-8").splitlines()[1:3]:
                if line.startswith("# "):
                    title = line[2:]
                    break
            tl = load_scenario(name)
            rows.append({"name": name, "title": title, "events": len(tl.events)})
        if as_json:
            print_json(rows)
            return
        for row in rows:
            console.print(f"{row['name']:32s} {row['title']}", markup=False)

    app.add_typer(scenarios_app, name="scenarios")

    @app.command("simulate")
    @guarded
    def simulate_command(
        scenario: str = typer.Argument(..., help="Timeline file (.yaml/.json) or bundled name."),
        until: str | None = typer.Option(None, "--until",
                                         help="ISO time with offset, or a duration after the "
                                              "first event (default: 14 days after the last)."),
        every: str = typer.Option("15 min", "--every", help="Sampling interval."),
        out: Path | None = typer.Option(None, "--out", help="Write .csv, .parquet or .json."),
        plot: Path | None = typer.Option(None, "--plot", help="Write a .png plot."),
        plot_from: str | None = typer.Option(None, "--plot-from",
                                             help="Start the plot here (ISO time with offset, or a "
                                                  "duration after the first event); the "
                                                  "simulation still starts at the first event."),
    ) -> None:
        """Replay SCENARIO through the pump twin and a virtual patient; write the trace."""
        from thecal.sim.output import FORMATS, plot_trace, write_trace
        from thecal.sim.scenario import load_scenario, run_scenario

        every_h = _duration_h(every, "--every")
        if every_h <= 0:
            raise InputError("the sampling interval must be positive", where="--every",
                             fix="e.g. --every 15min")
        if out is not None and out.suffix.lower() not in FORMATS:
            raise InputError(f"cannot write {out.name!r}", where="--out",
                             fix="name a .csv, .parquet or .json file")
        if plot is not None and plot.suffix.lower() != ".png":
            raise InputError(f"cannot plot to {plot.name!r}", where="--plot",
                             fix="name a .png file")
        timeline = load_scenario(scenario)
        if not timeline.events:
            raise InputError("the scenario has no events", where=scenario)
        stop = _until(until, timeline.events[0].at, timeline.events[-1].at)
        span_h = ((stop or timeline.events[-1].at + timedelta(days=14))
                  - timeline.events[0].at).total_seconds() / 3600.0
        if span_h / every_h > _PROGRESS_SAMPLES:
            with Progress(TextColumn("simulating"), BarColumn(), console=console,
                          transient=True) as bar:
                task = bar.add_task("sim", total=1.0)
                trace = run_scenario(timeline, stop, every_h=every_h,
                                     progress=lambda f: bar.update(task, completed=f))
        else:
            trace = run_scenario(timeline, stop, every_h=every_h)
        if out is not None:
            write_trace(trace, out)
        if plot is not None:
            start = _until(plot_from, timeline.events[0].at, timeline.events[-1].at,
                           "--plot-from") if plot_from else None
            start_h = ((start - trace.epoch).total_seconds() / 3600.0) if start else None
            plot_trace(trace, plot, title=str(scenario), start_h=start_h)
        c = trace.columns
        last = len(trace) - 1
        summary = {
            "scenario": str(scenario),
            "samples": len(trace),
            "from": trace.times()[0].isoformat() if len(trace) else None,
            "to": trace.times()[-1].isoformat() if len(trace) else None,
            "max_withdrawal_score": round(float(c["withdrawal_score"].max()), 3),
            "max_overdose_score": round(float(c["overdose_score"].max()), 3),
            "min_mas": round(float(c["mas"].min()), 2),
            "max_mas": round(float(c["mas"].max()), 2),
            "final_symptoms": list(trace.symptoms[last]) if last >= 0 else [],
            "symptoms_seen": sorted({s for row in trace.symptoms for s in row}),
            "out": str(out) if out else None,
            "plot": str(plot) if plot else None,
        }
        print_json(summary)

    @app.command("population")
    @guarded
    def population_command(
        scenario: str = typer.Argument(..., help="Timeline file (.yaml/.json) or bundled name."),
        patients: int = typer.Option(1000, "--patients", min=1, help="How many virtual patients."),
        preset: str | None = typer.Option(None, "--preset", help="Population preset (default: the "
                                          "scenario's physiology preset or its etiology)."),
        seed: int | None = typer.Option(None, "--seed", min=0, help="Seed for the draw."),
        window_from: str | None = typer.Option(
            None, "--from", help="Start of the summary window: ISO time with offset, or a "
                                 "duration after the first event (default: the first event)."),
        until: str | None = typer.Option(None, "--until",
                                         help="End of the simulation and of the summary window: "
                                              "ISO time with offset, or a duration after the "
                                              "first event (default: 14 days after the last)."),
        every: str = typer.Option("1 h", "--every", help="Sampling interval of the summaries."),
        compare: str | None = typer.Option(
            None, "--compare", help="A variant to run on the same patients: with-bridge-bolus, "
                                    "without-bridge-bolus, refill-at-alarm, dose-x<F>, or a "
                                    "timeline file; reports paired differences."),
        bootstrap: int = typer.Option(200, "--bootstrap", min=0,
                                      help="Bootstrap resamples for the 95 % intervals (0: none)."),
        backend: str = typer.Option("local", "--backend", help="local or dask."),
        scheduler: str | None = typer.Option(None, "--scheduler",
                                             help="Address of an existing Dask scheduler "
                                                  "(with --backend dask)."),
        workers: int = typer.Option(1, "--workers", min=1,
                                    help="Threads (local) or local Dask workers."),
        block: int = typer.Option(4096, "--block", min=1,
                                  help="Patients per block (does not change the results)."),
        out: Path | None = typer.Option(None, "--out", help="Per-patient rows: .csv or .json."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Run many virtual patients through the scenario's pump history and say how many show
        withdrawal or overdose, and how badly (per-patient rows with --out); with --compare, the
        same patients through a variant too, and the paired differences."""

        from thecal.sim.population import BACKENDS, run_comparison, run_population
        from thecal.sim.scenario import load_scenario
        from thecal.sim.variants import resolve_variant

        every_h = _duration_h(every, "--every")
        if every_h <= 0:
            raise InputError("the sampling interval must be positive", where="--every")
        if out is not None and out.suffix.lower() not in (".csv", ".json"):
            raise InputError(f"cannot write {out.name!r}", where="--out",
                             fix="name a .csv or .json file")
        if backend not in BACKENDS:
            raise InputError(f"unknown backend {backend!r}", where="--backend",
                             fix=f"use one of: {', '.join(BACKENDS)}")
        if scheduler is not None and backend != "dask":
            raise InputError("--scheduler needs --backend dask", where="--scheduler")
        timeline = load_scenario(scenario)
        if not timeline.events:
            raise InputError("the scenario has no events", where=scenario)
        first, last = timeline.events[0].at, timeline.events[-1].at
        stop = _until(until, first, last)
        start = _until(window_from, first, last, option="--from")
        kwargs: dict[str, Any] = dict(patients=patients, preset=preset, seed=seed, until=stop, window_from=start,
                      every_h=every_h, name=str(scenario), backend=backend, scheduler=scheduler,
                      workers=workers, block_patients=block, bootstrap=bootstrap)
        with Progress(TextColumn(f"{patients:,} patients"), BarColumn(), console=console,
                      transient=True, disable=as_json) as bar:
            task = bar.add_task("population", total=1.0)
            kwargs["progress"] = lambda f: bar.update(task, completed=f)
            if compare is not None:
                label, variant = resolve_variant(compare, timeline)
                result: Any = run_comparison(timeline, variant, variant_name=label,
                                             **kwargs)
            else:
                result = run_population(timeline, **kwargs)
        if out is not None:
            result.write(out)
        summary = result.summary()
        if as_json:
            print_json(summary)
            return
        if compare is not None:
            _print_comparison(summary, patients, scenario)
        else:
            _print_population(summary, patients, scenario)
        if out is not None:
            console.print(f"per-patient rows: {out}", markup=False)


def _ci(summary: dict[str, Any], key: str, part: str) -> str:
    ci = summary[key].get("ci95", {}).get(part)
    return f" [{ci[0]:g}, {ci[1]:g}]" if ci else ""


def _print_population(summary: dict[str, Any], patients: int, scenario: str) -> None:
    from rich.table import Table

    table = Table(title=f"{patients:,} × {summary['preset']} — {scenario}, "
                        f"{summary['from'][:16]} to {summary['to'][:16]}", title_justify="left")
    table.add_column("")
    table.add_column("share / median (p5–p95) [95 % CI of the median]", justify="right")
    shares_ci = summary.get("shares_ci95", {})
    for key, label in (("share_with_withdrawal_signs", "with withdrawal signs"),
                       ("share_with_severe_withdrawal", "with severe withdrawal"),
                       ("share_with_overdose_signs", "with overdose signs")):
        ci = shares_ci.get(key)
        extra = f" [{ci[0]:.1%}, {ci[1]:.1%}]" if ci else ""
        table.add_row(label, f"{summary[key]:.1%}{extra}")
    for key, label in (("hours_in_withdrawal", "hours in withdrawal"),
                       ("max_withdrawal_score", "worst withdrawal score"),
                       ("max_overdose_score", "worst overdose score"),
                       ("min_mas", "lowest MAS"),
                       ("max_mas", "highest MAS")):
        q = summary[key]
        table.add_row(label, f"{q['median']:g} ({q['p5']:g}–{q['p95']:g}){_ci(summary, key, 'median')}")
    console.print(table)


def _print_comparison(summary: dict[str, Any], patients: int, scenario: str) -> None:
    from rich.table import Table

    base, var, diff = summary["baseline"], summary["variant"], summary["paired_differences"]
    table = Table(title=f"{patients:,} × {base['preset']} — {scenario} vs "
                        f"{summary['variant_name']} (same patients)", title_justify="left")
    for col in ("", "baseline", summary["variant_name"], "difference [95 % CI]"):
        table.add_column(col, justify="right" if col else "left")
    for key, label in (("share_with_withdrawal_signs", "with withdrawal signs"),
                       ("share_with_severe_withdrawal", "with severe withdrawal"),
                       ("share_with_overdose_signs", "with overdose signs")):
        d = diff[key]
        ci = d.get("ci95")
        table.add_row(label, f"{base[key]:.1%}", f"{var[key]:.1%}",
                      f"{d['difference']:+.1%}" + (f" [{ci[0]:+.1%}, {ci[1]:+.1%}]" if ci else ""))
    for key, label in (("hours_in_withdrawal", "hours in withdrawal (mean diff.)"),
                       ("max_withdrawal_score", "worst withdrawal score"),
                       ("max_overdose_score", "worst overdose score"),
                       ("max_mas", "highest MAS")):
        d = diff[key]
        ci = d.get("ci95")
        table.add_row(label, f"{base[key]['median']:g}", f"{var[key]['median']:g}",
                      f"{d['mean_difference']:+g}" + (f" [{ci[0]:+g}, {ci[1]:+g}]" if ci else ""))
    console.print(table)
