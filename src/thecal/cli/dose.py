"""``thecal dose convert``: daily dose ⇄ flow rate ⇄ concentration."""

from __future__ import annotations

import typer
from rich.table import Table

from thecal import units
from thecal.cli.common import console, guarded, print_json
from thecal.clinical import dose as dose_rules
from thecal.errors import InputError

dose_app = typer.Typer(help="Dose calculators.", no_args_is_help=True)


@dose_app.command("convert")
@guarded
def convert(
    daily_dose: str | None = typer.Option(None, "--daily-dose", help='e.g. "300 mcg/day"'),
    rate: str | None = typer.Option(None, "--rate", help='e.g. "0.6 mL/day"'),
    concentration: str | None = typer.Option(None, "--concentration", help='e.g. "500 mcg/mL"'),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Give any two of daily dose, rate and concentration; thecal works out the third."""
    given = [x is not None for x in (daily_dose, rate, concentration)]
    if sum(given) != 2:
        raise InputError("give exactly two of --daily-dose, --rate and --concentration",
                         fix='e.g. --daily-dose "300 mcg/day" --concentration "500 mcg/mL"')
    if daily_dose is not None and concentration is not None:
        d, c = units.daily_dose(daily_dose), units.concentration(concentration)
        r = dose_rules.rate_ml_per_day(d, c)
    elif rate is not None and concentration is not None:
        r, c = units.rate(rate), units.concentration(concentration)
        d = dose_rules.daily_dose_mcg(r, c)
    else:
        assert daily_dose is not None and rate is not None
        d, r = units.daily_dose(daily_dose), units.rate(rate)
        c = dose_rules.concentration_mcg_per_ml(d, r)
    result = {"daily_dose_mcg": d, "rate_ml_per_day": r, "concentration_mcg_per_ml": c,
              "rate_ml_per_h": r / 24.0}
    if as_json:
        print_json(result)
        return
    table = Table(title="Dose, rate and concentration", title_justify="left")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("daily dose", units.format_quantity(d, units.DAILY_DOSE, decimals=4))
    table.add_row("flow rate", units.format_quantity(r, units.RATE, decimals=6))
    table.add_row("concentration", units.format_quantity(c, units.CONCENTRATION, decimals=4))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(dose_app, name="dose")
