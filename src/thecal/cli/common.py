"""What every command shares: error handling (exit 2, one line), JSON output, Rich console."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from thecal.errors import ThecalError

P = ParamSpec("P")
R = TypeVar("R")

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json(data: Any) -> str:
    """Serialise with ISO datetimes and enum values; keys keep their order."""
    return json.dumps(data, default=_default, indent=2, ensure_ascii=False)


def print_json(data: Any) -> None:
    sys.stdout.write(to_json(data) + "\n")


def fail(message: str) -> typer.Exit:
    """Print one line to stderr and return the exit to raise (code 2: bad input)."""
    err_console.print(f"error: {message}", markup=False, soft_wrap=True)
    return typer.Exit(code=2)


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a ThecalError (or a missing/unreadable file) into one line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ThecalError as exc:
            raise fail(exc.one_line()) from None
        except FileNotFoundError as exc:
            raise fail(f"{exc.filename}: no such file — check the path") from None
        except IsADirectoryError as exc:
            raise fail(f"{exc.filename}: is a folder, not a file — name a file") from None
        except PermissionError as exc:
            raise fail(f"{exc.filename}: permission denied — check the file's permissions") from None
        except UnicodeDecodeError:
            raise fail("the file is not UTF-8 text — save it as UTF-8 JSON or YAML") from None

    return wrapper


def parse_at(text: str | None, *, option: str = "--at") -> datetime:
    """An aware datetime from ``--at`` (ISO 8601 with offset); ``None`` means now, in UTC.

    The faces are the only place that reads the clock; the core is always given the time.
    """

    from thecal.errors import InputError

    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{text!r} is not an ISO 8601 date-time", where=option,
                         fix="write e.g. 2026-04-10T09:00:00+02:00") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"{text!r} has no UTC offset", where=option,
                         fix="add the offset, e.g. 2026-04-10T09:00:00+02:00") from None
    return value


def reasons_table(reasons: Any, title: str = "Why") -> Any:
    """A Rich table of reasons: code, words, source (assumed sources marked)."""
    from rich.table import Table

    table = Table(title=title, show_lines=False, title_justify="left")
    table.add_column("code", style="bold")
    table.add_column("reason")
    table.add_column("source")
    for r in reasons:
        table.add_row(r.code, r.message, r.source + ("" if r.verified else " (assumed)"))
    return table
