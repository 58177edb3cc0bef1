"""``thecal serve``: the clinic server (JSON API + web pages) with uvicorn.

The database is migrated on start. Session cookies are ``Secure``; bound to a loopback
address without TLS (local development) the flag is turned off so a browser on
``http://127.0.0.1`` keeps the session — on any other address it stays on.
"""

from __future__ import annotations

import ipaddress

import typer

from thecal.cli.common import console, guarded
from thecal.cli.db import DATABASE_HELP


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def register(app: typer.Typer) -> None:
    @app.command("serve")
    @guarded
    def serve(
        demo: bool = typer.Option(False, "--demo", help="Create the demo site (once) and print "
                                                        "its logins."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port."),
        database: str = typer.Option(None, "--database", help=DATABASE_HELP),
        smtp_host: str = typer.Option(None, "--smtp-host", envvar="THECAL_SMTP_HOST",
                                      help="SMTP server for notices (on-call e-mail)."),
        smtp_port: int = typer.Option(25, "--smtp-port", envvar="THECAL_SMTP_PORT", min=1,
                                      max=65535, help="SMTP port."),
    ) -> None:
        """Run the clinic server (API under /api/v1, pages at /)."""
        import uvicorn

        from thecal.app import create_app
        from thecal.service import Clinic, Settings

        settings = Settings(database_url=database, cookie_secure=not is_loopback(host),
                            smtp_host=smtp_host or None, smtp_port=smtp_port)
        clinic = Clinic.open(settings)
        if demo:
            from thecal.demo import SITE_TIMEZONE, create_demo

            result = create_demo(clinic)
            from thecal.demo.calendar import create_demo_calendar

            create_demo_calendar(clinic, result.site_id, result.patient_ids, SITE_TIMEZONE)
            console.print(result.summary(), markup=False)
        app_ = create_app(settings, clinic=clinic)
        console.print(f"thecal clinic on http://{host}:{port}/ (API: /api/v1, OpenAPI: "
                      "/api/v1/openapi.json)", markup=False)
        uvicorn.run(app_, host=host, port=port, log_level="warning")
