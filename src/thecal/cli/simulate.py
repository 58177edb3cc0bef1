"""``thecal simulate SCENARIO`` and ``thecal scenarios``: run a virtual patient on a timeline."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

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
        until: str | None = typer.Option(None, "--until",
                                         help="ISO time with offset, or a duration after the "
                                              "first event (default: 14 days after the last)."),
        every: str = typer.Option("1 h", "--every", help="Sampling interval of the summaries."),
        out: Path | None = typer.Option(None, "--out", help="Per-patient rows: .csv or .json."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Run many virtual patients through the scenario's pump history and say how many show
        withdrawal or overdose, and how badly (per-patient rows with --out)."""
        from rich.table import Table

        from thecal.sim.population import run_population
        from thecal.sim.scenario import load_scenario

        every_h = _duration_h(every, "--every")
        if every_h <= 0:
            raise InputError("the sampling interval must be positive", where="--every")
        if out is not None and out.suffix.lower() not in (".csv", ".json"):
            raise InputError(f"cannot write {out.name!r}", where="--out",
                             fix="name a .csv or .json file")
        timeline = load_scenario(scenario)
        if not timeline.events:
            raise InputError("the scenario has no events", where=scenario)
        stop = _until(until, timeline.events[0].at, timeline.events[-1].at)
        with Progress(TextColumn(f"{patients:,} patients"), BarColumn(), console=console,
                      transient=True, disable=as_json) as bar:
            task = bar.add_task("population", total=1.0)
            result = run_population(timeline, patients=patients, preset=preset, seed=seed,
                                    until=stop, every_h=every_h, name=str(scenario),
                                    progress=lambda f: bar.update(task, completed=f))
        if out is not None:
            result.write(out)
        summary = result.summary()
        if as_json:
            print_json(summary)
            return
        table = Table(title=f"{patients:,} × {result.preset} — {scenario}", title_justify="left")
        table.add_column("")
        table.add_column("share / median (p5–p95)", justify="right")
        table.add_row("with withdrawal signs", f"{summary['share_with_withdrawal_signs']:.1%}")
        table.add_row("with severe withdrawal", f"{summary['share_with_severe_withdrawal']:.1%}")
        table.add_row("with overdose signs", f"{summary['share_with_overdose_signs']:.1%}")
        for key, label in (("hours_in_withdrawal", "hours in withdrawal"),
                           ("max_withdrawal_score", "worst withdrawal score"),
                           ("max_overdose_score", "worst overdose score"),
                           ("max_mas", "highest Ashworth")):
            q = summary[key]
            table.add_row(label, f"{q['median']:g} ({q['p5']:g}–{q['p95']:g})")
        console.print(table)
        if out is not None:
            console.print(f"per-patient rows: {out}", markup=False)

