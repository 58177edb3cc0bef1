"""``thecal schema timeline``: print the JSON Schema of the timeline file."""

from __future__ import annotations

import typer

from thecal.cli.common import print_json
from thecal.timeline import json_schema

schema_app = typer.Typer(help="Print the JSON Schemas of thecal's file formats.",
                         no_args_is_help=True)


@schema_app.command("timeline")
def timeline_schema() -> None:
    """Print the JSON Schema (draft 2020-12) of timeline files, version 1."""
    print_json(json_schema())


def register(app: typer.Typer) -> None:
    app.add_typer(schema_app, name="schema")
