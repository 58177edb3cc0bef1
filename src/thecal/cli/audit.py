"""``thecal audit verify`` / ``anchor``: check the keyed audit and event chains, export heads."""

from __future__ import annotations

from pathlib import Path

import typer

from thecal.cli.common import console, err_console, guarded, print_json
from thecal.cli.db import DATABASE_HELP


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help="The audit trail and event log (keyed hash chains, "
                                 "append-only).", no_args_is_help=True)

    @audit_app.command("verify")
    @guarded
    def verify_cmd(database: str = typer.Option(None, "--database", help=DATABASE_HELP),
                   anchor: Path = typer.Option(None, "--anchor", help="An anchor file from "
                                               "`thecal audit anchor`: also detect the newest "
                                               "rows removed."),
                   json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Check every audit row and event (hash and link); exit 1 naming the first broken."""
        from thecal.errors import InputError
        from thecal.store.anchor import check_anchor, parse_anchor
        from thecal.store.audit import verify_chain  # the database loads only when asked for
        from thecal.store.db import database_url, make_engine
        from thecal.store.events import verify_events

        anchored = None
        if anchor is not None:
            try:
                anchored = parse_anchor(anchor.read_text(encoding="utf-8"), where=str(anchor))
            except OSError as exc:
                raise InputError(f"cannot read the anchor file ({exc.strerror})",
                                 where=str(anchor)) from None
        engine = make_engine(database_url(database))
        try:
            with engine.connect() as conn:
                report = verify_chain(conn)
                events = verify_events(conn)
                anchor_report = check_anchor(conn, anchored) if anchored is not None else None
        finally:
            engine.dispose()
        ok = report.ok and events.ok and (anchor_report is None or anchor_report.ok)
        if json_out:
            print_json({"ok": ok, "audit": report.as_dict(), "events": events.as_dict(),
                        "anchor": None if anchor_report is None else
                        {"ok": anchor_report.ok, "problem": anchor_report.problem}})
        else:
            if report.ok:
                console.print(f"audit chain ok: {report.rows} rows verified", markup=False)
            else:
                err_console.print(f"audit chain broken at row {report.broken_id}: "
                                  f"{report.problem}", markup=False)
            if events.ok:
                console.print(f"event chain ok: {events.rows} events verified", markup=False)
            else:
                err_console.print(f"event chain broken at event row {events.broken_id}: "
                                  f"{events.problem}", markup=False)
            if anchor_report is not None:
                if anchor_report.ok:
                    console.print("anchor ok: the anchored heads are present", markup=False)
                else:
                    err_console.print(f"anchor check failed: {anchor_report.problem}",
                                      markup=False)
        if not ok:
            raise typer.Exit(code=1)

    @audit_app.command("anchor")
    @guarded
    def anchor_cmd(database: str = typer.Option(None, "--database", help=DATABASE_HELP),
                   out: Path = typer.Option(None, "--out", help="Write the anchor here "
                                            "(default: print it).")) -> None:
        """Export the chains' heads (row count, newest id and hash) to keep somewhere safe."""
        import json
        from datetime import UTC, datetime

        from thecal.store.anchor import make_anchor
        from thecal.store.db import database_url, make_engine

        engine = make_engine(database_url(database))
        try:
            with engine.connect() as conn:
                document = make_anchor(conn, datetime.now(UTC))
        finally:
            engine.dispose()
        text = json.dumps(document, indent=2) + "\n"
        if out is None:
            console.print(text, markup=False, end="")
        else:
            out.write_text(text, encoding="utf-8")
            console.print(f"anchor written to {out}: audit {document['audit']['rows']} rows, "
                          f"events {document['events']['rows']} rows", markup=False)

    app.add_typer(audit_app, name="audit")
