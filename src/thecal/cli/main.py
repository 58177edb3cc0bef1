"""Entry point of the ``thecal`` command.

Each module in ``thecal.cli`` that defines ``register(app)`` adds its commands; new command
groups therefore need no edit here.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

import thecal
import thecal.cli as cli_package

app = typer.Typer(
    name="thecal",
    help="Open software for intrathecal baclofen (ITB) pump therapy. It never programs a "
    "real pump: it records, projects, simulates and advises, and says where each number "
    "comes from.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"thecal {thecal.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """thecal: pump and catheter twin, virtual patient, clinical rules, clinic app."""


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(cli_package.__path__), key=lambda m: m.name):
        if info.name in {"main", "common"} or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"thecal.cli.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


_register_all()


def main() -> None:  # pragma: no cover - console script
    app()
