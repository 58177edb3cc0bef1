"""Small readers shared by the two importers: extensions, words of a CodeableConcept, instants,
references within a Bundle, and numbers written back as timeline text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from thecal.errors import InputError

_DATE_ONLY: Final = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def exts(resource: dict[str, Any]) -> dict[str, Any]:
    return {str(e.get("url")): e for e in resource.get("extension", []) if isinstance(e, dict)}


def ref_name(resource: dict[str, Any]) -> str:
    """``Type/id`` of a resource, as notes and errors name it."""
    return f"{resource.get('resourceType')}/{resource.get('id', '?')}"


def plain(value: float) -> str:
    """A number as timeline text: plain decimal, no exponent, no trailing zeros."""
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"


def codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [x for x in concept.get("coding", []) if isinstance(x, dict)]


def codes(*concepts: Any) -> set[tuple[str, str]]:
    """Every (system, code) of the concepts."""
    return {(str(x.get("system", "")), str(x.get("code", ""))) for cc in concepts for x in codings(cc)}


def words(*concepts: Any) -> str:
    """Every text and display of the concepts (and plain strings), lower case, one line."""
    parts: list[str] = []
    for cc in concepts:
        if isinstance(cc, str):
            parts.append(cc)
        elif isinstance(cc, dict):
            if isinstance(cc.get("text"), str):
                parts.append(cc["text"])
            parts.extend(str(x["display"]) for x in codings(cc) if x.get("display"))
        elif isinstance(cc, list):
            parts.append(words(*cc))
    return " ".join(" ".join(parts).lower().split())


def label(concept: Any) -> str:
    """A concept's own words as written: its text, else its first display, else ""."""
    if not isinstance(concept, dict):
        return ""
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return str(concept["text"]).strip()
    return next((str(x["display"]).strip() for x in codings(concept) if x.get("display")), "")


def instant(value: Any, where: str) -> datetime:
    """A FHIR dateTime/instant as an aware datetime; a bare date (no time, no offset) is refused:
    the timeline orders events to the minute in the patient's clock."""
    if not isinstance(value, str):
        raise InputError("the resource has no time", where=where,
                         fix="give the date and time with its offset, e.g. 2026-01-05T09:00:00+01:00")
    if _DATE_ONLY.match(value.strip()):
        raise InputError(f"{value!r} is a date without a time", where=where,
                         fix="give the date and time with its offset, e.g. 2026-01-05T09:00:00+01:00")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{value!r} is not a FHIR dateTime", where=where) from None
    if parsed.tzinfo is None:
        raise InputError(f"{value!r} has no UTC offset", where=where, fix="add the offset, e.g. +01:00")
    return parsed


class Index:
    """The Bundle's resources by ``Type/id`` and by ``fullUrl`` (references may use either)."""

    def __init__(self, entries: Iterable[tuple[str | None, dict[str, Any]]]) -> None:
        self.by_ref: dict[str, dict[str, Any]] = {}
        for full_url, resource in entries:
            self.by_ref[ref_name(resource)] = resource
            if full_url:
                self.by_ref[full_url] = resource
                tail = "/".join(full_url.rstrip("/").split("/")[-2:])
                self.by_ref.setdefault(tail, resource)

    def get(self, reference: Any) -> dict[str, Any] | None:
        if isinstance(reference, dict):
            reference = reference.get("reference")
        if not isinstance(reference, str):
            return None
        return self.by_ref.get(reference)
