"""``thecal refill …``: the refill plan, the residual check and the bridge bolus."""

from __future__ import annotations

import typer
from rich.table import Table

from thecal import units
from thecal.catalog import catheter_model, pump_model
from thecal.cli.common import console, guarded, parse_at, print_json, reasons_table
from thecal.clinical import dose as dose_rules
from thecal.clinical import refill as refill_rules
from thecal.errors import InputError

refill_app = typer.Typer(help="Refill calculators.", no_args_is_help=True)


def _local(value: object) -> str:
    return "—" if value is None else value.isoformat(timespec="minutes")  # type: ignore[attr-defined]


@refill_app.command("plan")
@guarded
def plan(
    pump: str = typer.Option(..., "--pump", help="Pump model, e.g. synchromed-ii-40."),
    reservoir: str = typer.Option(..., "--reservoir", help='Volume now, e.g. "38 mL".'),
    daily_dose: str | None = typer.Option(None, "--daily-dose", help='e.g. "280 mcg/day".'),
    concentration: str | None = typer.Option(None, "--concentration",
                                             help='e.g. "2000 mcg/mL" (with --daily-dose).'),
    rate: str | None = typer.Option(None, "--rate", help='Flow instead of dose, "0.14 mL/day".'),
    at: str | None = typer.Option(None, "--at", help="Time of the reservoir reading (ISO 8601 "
                                  "with offset); default now."),
    last_refill: str | None = typer.Option(None, "--last-refill",
                                           help="When the drug went in; default --at."),
    alarm: str | None = typer.Option(None, "--alarm", help="Low-reservoir alarm volume; default "
                                     "from the catalog (2 mL)."),
    max_interval_days: float | None = typer.Option(None, "--max-interval-days",
                                                   help="Drug limit; default 180 days."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Days to the low-reservoir alarm, the alarm and empty dates, and the refill-due date."""
    model = pump_model(pump)
    if rate is not None:
        if daily_dose is not None:
            raise InputError("give either --rate or --daily-dose with --concentration, not both")
        daily_volume = units.rate(rate)
    elif daily_dose is not None and concentration is not None:
        daily_volume = dose_rules.rate_ml_per_day(units.daily_dose(daily_dose),
                                                  units.concentration(concentration))
    elif model.constant_rate_ml_per_day is not None:
        daily_volume = model.constant_rate_ml_per_day
    else:
        raise InputError("give --daily-dose and --concentration, or --rate",
                         fix='e.g. --daily-dose "280 mcg/day" --concentration "2000 mcg/mL"')
    volume_ml = units.volume(reservoir)
    if volume_ml > model.reservoir_ml:
        raise InputError(f"{reservoir} is more than the {model.reservoir_ml:g} mL reservoir",
                         where="--reservoir")
    when = parse_at(at)
    result = refill_rules.plan_refill(
        at=when, reservoir_ml=volume_ml, daily_volume_ml=daily_volume,
        low_reservoir_alarm_ml=units.volume(alarm) if alarm else model.low_reservoir_alarm_ml,
        accuracy_fraction=model.accuracy_fraction,
        last_refill_at=parse_at(last_refill, option="--last-refill") if last_refill else when,
        max_interval_days=max_interval_days)
    if as_json:
        print_json({"pump": model.id, **result.as_dict()})
        return
    table = Table(title=f"Refill plan — {model.name}", title_justify="left")
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("reservoir now", units.format_quantity(result.reservoir_ml, units.VOLUME))
    table.add_row("daily volume", units.format_quantity(result.daily_volume_ml, units.RATE, decimals=4))
    table.add_row("days to the low-reservoir alarm",
                  "—" if result.days_to_alarm is None else f"{result.days_to_alarm:.1f}")
    table.add_row(f"low-reservoir alarm ({result.low_reservoir_alarm_ml:g} mL)",
                  _local(result.low_reservoir_alarm_at))
    table.add_row("empty", _local(result.empty_at))
    table.add_row("[bold]refill due by[/bold]", f"[bold]{_local(result.refill_due_by)}[/bold]")
    console.print(table)
    console.print(reasons_table(result.reasons))


@refill_app.command("check")
@guarded
def check(
    pump: str = typer.Option(..., "--pump", help="Pump model, e.g. synchromed-ii-20."),
    expected: str = typer.Option(..., "--expected", help='Expected residual, e.g. "5.2 mL".'),
    withdrawn: str = typer.Option(..., "--withdrawn", help='Withdrawn residual, "6.4 mL".'),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Compare the withdrawn residual with the expected one (MAINO thresholds)."""
    model = pump_model(pump)
    result = refill_rules.check_residual(expected_residual_ml=units.volume(expected),
                                         withdrawn_ml=units.volume(withdrawn),
                                         reservoir_capacity_ml=model.reservoir_ml)
    if as_json:
        print_json(result.as_dict())
        return
    verdict = "[bold red]DISCREPANCY[/bold red]" if result.flagged else "[green]as expected[/green]"
    console.print(f"Residual: {verdict} ({result.discrepancy_ml:+.2f} mL, "
                  f"threshold ±{result.threshold_ml:g} mL)")
    console.print(reasons_table(result.reasons))


@refill_app.command("bridge")
@guarded
def bridge(
    pump: str = typer.Option(..., "--pump", help="Pump model."),
    catheter: str = typer.Option(..., "--catheter", help="Catheter model, e.g. ascenda."),
    length_cm: float = typer.Option(..., "--length-cm", help="Catheter length after trimming."),
    old_concentration: str = typer.Option(..., "--old-concentration", help='"500 mcg/mL"'),
    new_concentration: str = typer.Option(..., "--new-concentration", help='"2000 mcg/mL"'),
    old_daily_dose: str = typer.Option(..., "--old-daily-dose", help='"300 mcg/day"'),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Bridge bolus for a concentration change at refill (volume, duration, dose)."""
    model = pump_model(pump)
    cath = catheter_model(catheter)
    if not 0 < length_cm <= cath.max_length_cm:
        raise InputError(f"--length-cm must be above 0 and at most {cath.max_length_cm:g}")
    result = refill_rules.bridge_bolus(
        old_concentration_mcg_per_ml=units.concentration(old_concentration),
        new_concentration_mcg_per_ml=units.concentration(new_concentration),
        old_daily_dose_mcg=units.daily_dose(old_daily_dose),
        dead_volume_ml=refill_rules.dead_volume_ml(model, cath.volume_ml(length_cm)))
    if as_json:
        print_json(result.as_dict())
        return
    if not result.needed:
        console.print("No bridge bolus needed: the concentration is unchanged.")
    else:
        console.print(f"Bridge bolus: {result.volume_ml:.4f} mL over {result.duration_h:.2f} h "
                      f"({result.rate_ml_per_day:.4g} mL/day), delivering {result.dose_mcg:.1f} mcg "
                      "of the old drug")
    console.print(reasons_table(result.reasons))


def register(app: typer.Typer) -> None:
    app.add_typer(refill_app, name="refill")
