"""What FHIR exchange carries besides the timeline: appointments and allergies going out, and the
import's answer coming back (the timeline, the allergies, and a note for every resource read)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from thecal.timeline import Timeline

AllergyKind = Literal["allergy", "no-known-allergies"]
Outcome = Literal["event", "used", "allergy", "derived", "not-imported"]
OUTCOMES: Final = ("event", "used", "allergy", "derived", "not-imported")


@dataclass(frozen=True)
class AppointmentRecord:
    """A booked clinic appointment to include in the export (from the clinic's calendar)."""

    id: str
    start: datetime
    end: datetime
    status: str  # booked | cancelled | fulfilled | noshow
    description: str = ""


@dataclass(frozen=True)
class AllergyRecord:
    """An allergy on the chart, or the signed statement "no known allergies".

    The timeline file has no allergies: the clinic keeps them (``service/medicines.py``), the
    export writes them as AllergyIntolerance, and the import hands them back here.
    """

    kind: AllergyKind
    substance: str
    reaction: str = ""
    recorded_at: datetime | None = None
    recorded_by: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "substance": self.substance, "reaction": self.reaction,
                "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
                "recorded_by": self.recorded_by}


@dataclass(frozen=True)
class ImportNote:
    """What the import did with one resource of the Bundle.

    ``event``: it became a timeline event; ``used``: its data went into an event or the patient
    block (a Device into the implant, a residual volume into the refill); ``allergy``: it is in
    :attr:`ImportResult.allergies`; ``derived``: thecal wrote it from the events and rebuilds it on
    export; ``not-imported``: the timeline has no place for it, and ``detail`` says why.
    """

    resource: str  # "Observation/bp-1"
    outcome: Outcome
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"resource": self.resource, "outcome": self.outcome, "detail": self.detail}


@dataclass(frozen=True)
class ImportResult:
    """A Bundle read into thecal: the validated timeline, the allergies, one note per resource."""

    timeline: Timeline
    allergies: tuple[AllergyRecord, ...]
    notes: tuple[ImportNote, ...]
    source: Literal["thecal", "ehr"]

    @property
    def not_imported(self) -> tuple[ImportNote, ...]:
        return tuple(n for n in self.notes if n.outcome == "not-imported")

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "patient_id": self.timeline.patient.id,
                "events": len(self.timeline.events), "allergies": [a.as_dict() for a in self.allergies],
                "resources": [n.as_dict() for n in self.notes]}


@dataclass
class Draft:
    """An importer's work before the timeline is validated: the patient block and event mappings
    (each with the resource it came from, so a refusal names the resource), allergies, notes."""

    block: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    allergies: list[AllergyRecord] = field(default_factory=list)
    notes: list[ImportNote] = field(default_factory=list)

    def add_event(self, event: dict[str, Any], source: str) -> None:
        self.events.append(event)
        self.sources.append(source)

    def note(self, resource: str, outcome: Outcome, detail: str) -> None:
        self.notes.append(ImportNote(resource, outcome, detail))
