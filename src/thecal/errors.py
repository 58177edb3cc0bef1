"""The few exceptions thecal raises on purpose.

Every message says what was wrong and what to do instead. Faces (CLI, API, web) turn a
``ThecalError`` into exit code 2, a 4xx answer or a form message; they never show a traceback.
"""

from __future__ import annotations

import re
from typing import Final

QUOTE_LIMIT: Final = 40  # characters of a bad value an error message quotes
MESSAGE_LIMIT: Final = 400
_LONG_QUOTE: Final = re.compile(r"""(['"])([^'"]{""" + str(QUOTE_LIMIT) + r"""})[^'"]+(?:\1|$)""")


def short_text(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` with every quoted value cut to a short prefix and the whole bounded, so an
    error never repeats a huge submitted value (or floods a log)."""
    text = _LONG_QUOTE.sub(lambda m: f"{m.group(1)}{m.group(2)}…{m.group(1)}", text[:20_000])
    return text if len(text) <= limit else text[:limit] + "…"


class ThecalError(Exception):
    """Base of every deliberate thecal error.

    ``where`` names the place of the problem (a file, ``events[3].added``, a form field);
    ``fix`` says what to do about it.
    """

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.message = short_text(message)
        self.where = short_text(where, 200) if where is not None else None
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The error as one line: ``where: message; fix``."""
        text = self.message
        if self.where:
            text = f"{self.where}: {text}"
        if self.fix:
            text = f"{text} — {self.fix}"
        return text

    def located(self, where: str) -> ThecalError:
        """The same error with ``where`` prefixed (``events[3]`` + ``added``)."""
        combined = f"{where}.{self.where}" if self.where else where
        return type(self)(self.message, where=combined, fix=self.fix)


class InputError(ThecalError):
    """Input that cannot be accepted: a malformed quantity, an unknown code, a missing field."""


class UnitError(InputError):
    """A quantity that is not text with a unit of the expected dimension."""


class TimelineError(InputError):
    """A timeline that breaks a rule (an event before the implant, an overfilled reservoir)."""


class CatalogError(InputError):
    """An unknown pump, catheter or drug formulation, or a catalog file that breaks its schema."""


class NotFoundError(ThecalError):
    """A record that does not exist (or that the caller may not know exists)."""


class PermissionDeniedError(ThecalError):
    """The caller's role or relation to the record does not allow this."""


class ConflictError(ThecalError):
    """A write based on a stale version of the record."""
