"""``thecal twin TIMELINE``: the pump and catheter twin's state at a time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.panel import Panel
from rich.table import Table

from thecal import units
from thecal.cli.common import console, guarded, parse_at, print_json
from thecal.timeline import load_timeline

_SEVERITY_STYLE = {"danger": "bold red", "warning": "yellow", "info": "cyan"}
_PRIORITY_MARK = {"high": "[bold red]*** HIGH[/]", "medium": "[yellow]** MEDIUM[/]",
                  "low": "[cyan]* LOW[/]"}


def _when(value: str | None, zone: Any) -> str:
    if value is None:
        return "—"
    return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


@guarded
def twin(
    timeline_file: Path = typer.Argument(..., metavar="TIMELINE",
                                         help="Timeline file (.yaml, .yml or .json)."),
    at: str | None = typer.Option(None, "--at", help="Time to look at (ISO 8601 with offset); "
                                  "default now."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Replay a timeline and show the pump at a time: reservoir, dose, alarms, refill due,
    battery dates, and what looks wrong."""
    from thecal.clinical.projection import project  # the twin loads only when asked for

    timeline = load_timeline(timeline_file)
    when = parse_at(at)
    data = project(timeline, when).as_dict()
    if as_json:
        print_json(data)
        return
    zone = timeline.patient.zone
    pump = data["pump"]
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("patient", f"{timeline.patient.id} ({timeline.patient.etiology})")
    head.add_row("at", _when(data["at"], zone))
    head.add_row("pump", f"{pump['model'] or '—'} — {pump['state']}")
    if pump["reservoir_ml"] is not None:
        head.add_row("reservoir", f"{units.format_number(pump['reservoir_ml'], decimals=2)} mL of "
                     f"{pump['reservoir_capacity_ml']:g} mL")
    views = data["reservoir_views"]
    if views["pump_calculated_ml"] is not None:
        parts = [f"pump-calculated {units.format_number(views['pump_calculated_ml'], decimals=2)}",
                 f"estimate {units.format_number(views['estimate_ml'], decimals=2)}"]
        if views["physical_ml"] is not None:
            parts.append(f"physical {units.format_number(views['physical_ml'], decimals=2)}")
        head.add_row("reservoir views (mL)", " · ".join(parts))
    if data["unaccounted_mcg"]:
        head.add_row("unaccounted drug",
                     f"{units.format_number(data['unaccounted_mcg'], decimals=1)} mcg")
    if pump["concentration_mcg_per_ml"]:
        head.add_row("concentration", units.format_quantity(pump["concentration_mcg_per_ml"],
                                                            units.CONCENTRATION))
    if pump["daily_dose_mcg"] is not None:
        head.add_row("daily dose (24-h total)",
                     units.format_quantity(pump["daily_dose_mcg"], units.DAILY_DOSE, decimals=1))
    if pump["rate_ml_per_day"] is not None:
        head.add_row("flow now", units.format_quantity(pump["rate_ml_per_day"], units.RATE,
                                                       decimals=4))
    head.add_row("delivered to spinal fluid",
                 f"{units.format_number(data['delivered_to_csf_mcg'] or 0, decimals=1)} mcg in all")
    def window(key: str) -> str:
        w = data[key]
        if w["earliest"] is None:
            return ""
        return f"  (earliest {_when(w['earliest'], zone)}, latest {_when(w['latest'], zone)})"

    head.add_row("low-reservoir alarm", _when(data["low_reservoir_alarm_at"], zone)
                 + window("low_reservoir_alarm_window"))
    head.add_row("empty", _when(data["empty_at"], zone) + window("empty_window"))
    head.add_row("[bold]refill due by[/]", f"[bold]{_when(data['refill_due_by'], zone)}[/]")
    if data["days_of_drug_left"] is not None:
        head.add_row("days of drug left", f"{data['days_of_drug_left']:.1f} (pump running fast)")
    head.add_row("elective replacement", _when(data["elective_replacement_at"], zone))
    head.add_row("end of service", _when(data["end_of_service_at"], zone))
    console.print(Panel(head, title="thecal twin", title_align="left"))
    if data["alarms"]:
        alarms = Table(title="Alarms sounding", title_justify="left")
        alarms.add_column("priority")
        alarms.add_column("alarm")
        alarms.add_column("since")
        alarms.add_column("acknowledged")
        for alarm in data["alarms"]:
            alarms.add_row(_PRIORITY_MARK.get(alarm["priority"], alarm["priority"]), alarm["code"],
                           _when(alarm["since"], zone), "yes" if alarm["acknowledged"] else "no")
        console.print(alarms)
    if data["findings"]:
        table = Table(title="What looks wrong", title_justify="left")
        table.add_column("when")
        table.add_column("finding")
        table.add_column("details")
        table.add_column("source")
        for f in data["findings"]:
            style = _SEVERITY_STYLE.get(f["severity"], "")
            table.add_row(_when(f["at"], zone), f"[{style}]{f['code']}[/]", f["message"], f["source"])
        console.print(table)
    else:
        console.print("No findings.")


def register(app: typer.Typer) -> None:
    app.command("twin")(twin)
