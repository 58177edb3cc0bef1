"""Anchors: the heads of the audit and event chains, written out to be kept elsewhere.

An anchor is a small JSON document (``thecal.anchor/1``) with, for each chain, its row count
and the id and hash of its newest row. Kept where the database's writers cannot reach (a
write-once store, another machine, a printed page), it lets :func:`check_anchor` detect what the
keyed chain alone cannot: the newest rows removed. A later database must still hold the
anchored row with the anchored hash, and at least as many rows.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, select

from thecal.errors import InputError
from thecal.store import audit as audit_store
from thecal.store import events as event_store
from thecal.store.tables import audit, events

FORMAT: Final = "thecal.anchor/1"
_CHAINS: Final = ("audit", "events")


def make_anchor(conn: Connection, at: datetime) -> dict[str, Any]:
    """The current heads of both chains."""
    document: dict[str, Any] = {"format": FORMAT, "at": at.isoformat()}
    for name, head in (("audit", audit_store.head), ("events", event_store.head)):
        rows, last_id, last_hash = head(conn)
        document[name] = {"rows": rows, "last_id": last_id, "hash": last_hash}
    return document


def parse_anchor(text: str, *, where: str = "anchor") -> dict[str, Any]:
    """Read an anchor file's text; InputError naming what is wrong."""
    try:
        data = json.loads(text[:10_000])
    except json.JSONDecodeError:
        raise InputError("the anchor file is not JSON", where=where,
                         fix="pass a file written by `thecal audit anchor`") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"the anchor file is not {FORMAT}", where=where,
                         fix="pass a file written by `thecal audit anchor`")
    for name in _CHAINS:
        part = data.get(name)
        if (not isinstance(part, dict) or not isinstance(part.get("rows"), int)
                or not isinstance(part.get("last_id"), int)
                or not isinstance(part.get("hash"), str)):
            raise InputError(f"the anchor file has no valid {name!r} head", where=where,
                             fix="pass a file written by `thecal audit anchor`")
    return data


@dataclass(frozen=True)
class AnchorReport:
    """Whether the database still holds the anchored heads; the first problem if not."""

    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_anchor(conn: Connection, anchor: dict[str, Any]) -> AnchorReport:
    for name, table, head in (("audit", audit, audit_store.head),
                              ("events", events, event_store.head)):
        part = anchor[name]
        rows, _, _ = head(conn)
        if rows < part["rows"]:
            return AnchorReport(f"the {name} chain has {rows} rows, the anchor {part['rows']}: "
                                "rows were removed")
        if part["last_id"] == 0:
            continue
        stored = conn.execute(select(table.c.hash).where(table.c.id == part["last_id"])
                              ).scalar()
        if stored is None:
            return AnchorReport(f"the anchored {name} row {part['last_id']} is missing: "
                                "rows were removed")
        if not hmac.compare_digest(str(stored), part["hash"]):
            return AnchorReport(f"the anchored {name} row {part['last_id']} has another hash: "
                                "the chain was rewritten")
    return AnchorReport()
