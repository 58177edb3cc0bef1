"""``thecal admin``: cross-site administration, only on the server's command line.

These commands act as ``system`` on the database named by ``--database`` (whoever can run them
can read the database anyway); every one is audited like a use case from the web or the API,
with the operating-system user in the audit row's detail. Administrators signed in to the web
or the API manage their own site only.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict

import typer

from thecal.cli.common import console, guarded, print_json
from thecal.cli.db import DATABASE_HELP


def _clinic(database: str | None):  # type: ignore[no-untyped-def]
    from thecal.service import Clinic, Settings

    return Clinic.open(Settings(database_url=database))


def _system():  # type: ignore[no-untyped-def]
    from thecal.service.actors import Actor

    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry
        who = "unknown"
    return Actor(user_id=None, username=f"system:{who}"[:100], role="system", via="system")


def register(app: typer.Typer) -> None:
    admin_app = typer.Typer(help="Cross-site administration on the server (audited).",
                            no_args_is_help=True)

    @admin_app.command("site-create")
    @guarded
    def site_create(name: str = typer.Argument(..., help="The new site's name."),
                    settings: str = typer.Option(None, "--settings",
                                                 help='JSON, e.g. {"timezone": "Europe/Berlin"}'),
                    database: str = typer.Option(None, "--database", help=DATABASE_HELP)
                    ) -> None:
        """Make a site."""
        from thecal.errors import InputError
        from thecal.service import admin

        try:
            parsed = json.loads(settings) if settings else None
        except json.JSONDecodeError:
            raise InputError("--settings is not JSON", where="--settings") from None
        clinic = _clinic(database)
        try:
            print_json(asdict(admin.create_site(clinic, _system(), name, parsed)))
        finally:
            clinic.dispose()

    @admin_app.command("user-create")
    @guarded
    def user_create(username: str = typer.Argument(...),
                    role: str = typer.Option(..., "--role"),
                    site: int = typer.Option(None, "--site"),
                    patient: int = typer.Option(None, "--patient"),
                    display_name: str = typer.Option(None, "--display-name"),
                    database: str = typer.Option(None, "--database", help=DATABASE_HELP)
                    ) -> None:
        """Make a login at any site (the password is asked for, never an argument)."""
        from thecal.service import admin

        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
        clinic = _clinic(database)
        try:
            print_json(asdict(admin.create_user(clinic, _system(), username=username, password=password,
                                                role=role, site_id=site, patient_id=patient,
                                                display_name=display_name)))
        finally:
            clinic.dispose()

    @admin_app.command("user-deactivate")
    @guarded
    def user_deactivate(user_id: int = typer.Argument(...),
                        reason: str = typer.Option(None, "--reason"),
                        database: str = typer.Option(None, "--database", help=DATABASE_HELP)
                        ) -> None:
        """Switch a login off at any site; its sessions and tokens end at once."""
        from thecal.service import admin

        clinic = _clinic(database)
        try:
            print_json(asdict(admin.deactivate_user(clinic, _system(), user_id, reason=reason)))
        finally:
            clinic.dispose()

    @admin_app.command("site-settings")
    @guarded
    def site_settings(site_id: int = typer.Argument(...),
                      settings: str = typer.Argument(..., help="JSON of the settings to change"),
                      database: str = typer.Option(None, "--database", help=DATABASE_HELP)
                      ) -> None:
        """Change a site's settings."""
        from thecal.errors import InputError
        from thecal.service import admin

        try:
            parsed = json.loads(settings)
        except json.JSONDecodeError:
            raise InputError("the settings are not JSON", where="settings") from None
        if not isinstance(parsed, dict):
            raise InputError("the settings are a JSON object", where="settings")
        clinic = _clinic(database)
        try:
            print_json(asdict(admin.update_site_settings(clinic, _system(), site_id, parsed)))
        finally:
            clinic.dispose()
        console.print("", end="")

    app.add_typer(admin_app, name="admin")
