"""A budget for audit rows that nobody signed in caused (failed logins, 401s, throttling).

Every refusal of a known user is audited. Refusals of anonymous callers are audited too, but at
most :data:`ROWS_PER_WINDOW` per source (client address) per :data:`WINDOW`; beyond that they are
only counted in memory (:meth:`AnonymousAuditBudget.left_out`). So one client
cannot grow the append-only audit table without bound (it used to add 164 rows a second).
The table of sources is bounded too (the least recently seen are forgotten first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Final

ROWS_PER_WINDOW: Final = 20
WINDOW: Final = timedelta(hours=1)
MAX_SOURCES: Final = 10_000


class AnonymousAuditBudget:
    """Thread-safe per-source row budget (in process; each server process has its own)."""

    def __init__(self, rows: int = ROWS_PER_WINDOW, window: timedelta = WINDOW,
                 max_sources: int = MAX_SOURCES) -> None:
        self.rows = rows
        self.window = window
        self.max_sources = max_sources
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, tuple[datetime, int, int]] = OrderedDict()

    def allow(self, source: str | None, now: datetime) -> bool:
        """True when a row for ``source`` may be written now."""
        key = (source or "")[:100]
        with self._lock:
            start, used, left_out = self._seen.pop(key, (now, 0, 0))
            if now - start >= self.window:
                start, used = now, 0
            allowed = used < self.rows
            self._seen[key] = (start, used + 1 if allowed else used,
                               0 if allowed else left_out + 1)
            while len(self._seen) > self.max_sources:
                self._seen.popitem(last=False)
            return allowed

    def left_out(self, source: str | None) -> int:
        with self._lock:
            entry = self._seen.get((source or "")[:100])
            return entry[2] if entry else 0
