"""``thecal audit verify``: recompute the audit hash chain and name the first broken row."""

from __future__ import annotations

import typer

from thecal.cli.common import console, err_console, guarded, print_json
from thecal.cli.db import DATABASE_HELP


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help="The audit trail (hash-chained, append-only).",
                            no_args_is_help=True)

    @audit_app.command("verify")
    @guarded
    def verify_cmd(database: str = typer.Option(None, "--database", help=DATABASE_HELP),
                   json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Check every audit row's hash and link; exit 1 naming the first broken row."""
        from thecal.store.audit import verify_chain  # the database loads only when asked for
        from thecal.store.db import database_url, make_engine

        engine = make_engine(database_url(database))
        try:
            with engine.connect() as conn:
                report = verify_chain(conn)
        finally:
            engine.dispose()
        if json_out:
            print_json(report.as_dict())
        elif report.ok:
            console.print(f"audit chain ok: {report.rows} rows verified", markup=False)
        else:
            err_console.print(f"audit chain broken at row {report.broken_id}: "
                              f"{report.problem}", markup=False)
        if not report.ok:
            raise typer.Exit(code=1)

    app.add_typer(audit_app, name="audit")
