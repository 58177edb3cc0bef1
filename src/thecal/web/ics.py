"""Refill appointments as an iCalendar file (RFC 5545) for the patient's own calendar."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from thecal.service.results import Appointment


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded with CRLF + space (RFC 5545 3.1)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode("utf-8"))
            current = b""
        current += encoded
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(appointments: Sequence[Appointment], *, stamp: datetime) -> str:
    """One VCALENDAR with a VEVENT per appointment, each with a reminder the day before."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//thecal//refill appointments//EN",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    for appt in appointments:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_escape(appt.uid)}",
            f"DTSTAMP:{_utc(stamp)}",
            f"DTSTART:{_utc(appt.starts_at)}",
            f"DTEND:{_utc(appt.ends_at)}",
            f"SUMMARY:{_escape(appt.title)}",
        ]
        if appt.location:
            lines.append(f"LOCATION:{_escape(appt.location)}")
        if appt.description:
            lines.append(f"DESCRIPTION:{_escape(appt.description)}")
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", f"DESCRIPTION:{_escape(appt.title)}",
                  "TRIGGER:-P1D", "END:VALARM", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
