"""``thecal demo`` (the demo site without serving) and ``thecal schedule propose``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import typer

from thecal.cli.common import console, guarded, print_json
from thecal.cli.db import DATABASE_HELP


def _demo(database: str | None) -> str:
    from thecal.demo import SITE_TIMEZONE, create_demo
    from thecal.demo.calendar import create_demo_calendar
    from thecal.service import Clinic, Settings

    clinic = Clinic.open(Settings(database_url=database))
    try:
        result = create_demo(clinic)
        create_demo_calendar(clinic, result.site_id, result.patient_ids, SITE_TIMEZONE)
        return result.summary()
    finally:
        clinic.dispose()


def register(app: typer.Typer) -> None:
    @app.command("demo")
    @guarded
    def demo(database: str = typer.Option(None, "--database", help=DATABASE_HELP)) -> None:
        """Create the demo site (the one `thecal serve --demo` serves) without serving it."""
        console.print(_demo(database), markup=False)

    schedule_app = typer.Typer(help="The refill clinic's calendar: propose appointments.", no_args_is_help=True)

    @schedule_app.command("propose")
    @guarded
    def propose_cmd(
        database: str = typer.Option(None, "--database", help=DATABASE_HELP),
        start: str = typer.Option(..., "--from", help="First day to plan (YYYY-MM-DD, the site's time zone)."),
        days: int = typer.Option(14, "--days", help="How many days to plan."),
        time_limit: float = typer.Option(10.0, "--time-limit", help="Seconds the solver may take."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Propose refill appointments for every patient due in the period; explain the rest."""
        from sqlalchemy import select

        from thecal.errors import InputError
        from thecal.service import Clinic, Settings
        from thecal.service import scheduling as calendar
        from thecal.service.actors import SYSTEM
        from thecal.store.tables import sites

        try:
            first = date.fromisoformat(start)
        except ValueError:
            raise InputError(f"{start!r} is not a date", where="--from", fix="write e.g. 2026-03-02") from None
        clinic = Clinic.open(Settings(database_url=database))
        try:
            with clinic.transaction() as conn:
                site = conn.execute(select(sites).order_by(sites.c.id).limit(1)).mappings().first()
            if site is None:
                raise InputError("the database has no clinic site", where="--database",
                                 fix="create one (e.g. `thecal demo --database URL`)")
            zone = ZoneInfo(site["settings"].get("timezone", "UTC"))
            actor = replace(SYSTEM, site_id=int(site["id"]))
            proposal = calendar.propose_schedule(clinic, actor, start=datetime.combine(first, time(0), tzinfo=zone),
                                                 days=days, time_limit_s=time_limit)
        finally:
            clinic.dispose()
        if as_json:
            print_json(proposal.as_dict())
            return
        for b in proposal.bookings:
            console.print(f"{b.start.astimezone(zone):%a %Y-%m-%d %H:%M}  {b.mrn:10} {b.display_name:24} "
                          f"{b.place} — {b.reason}", markup=False)
        for u in proposal.unscheduled:
            console.print(f"NOT BOOKED  {u.mrn:10} {u.display_name:24} {u.reason}", markup=False)

    app.add_typer(schedule_app, name="schedule")
