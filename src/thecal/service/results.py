"""The typed results the pages read: small frozen dataclasses (:mod:`thecal.service.pages`).

Why a figure is what it is comes as the rules' own :class:`~thecal.limits.Reason` (code,
words, source key, severity) and the twin's findings.

Templates read attributes only, so these are the whole contract between the pages and the rest
of thecal.

Quantities inside the models are floats in canonical units named by the field
(``daily_dose_mcg``, ``volume_ml``); the templates format them with their units. Times are
aware instants as stored (UTC); the templates' ``when``/``day`` filters show them in the
page's display zone (:mod:`thecal.web.rendering`). A result the API answers with is its own
response model (:mod:`thecal.api.responses`): its instants are :data:`Instant`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Final, Literal, TypeVar

from pydantic import GetPydanticSchema, PlainSerializer, WithJsonSchema
from pydantic_core import core_schema

from thecal.clinical.alarms import AlarmMeaning
from thecal.clinical.assessment import MuscleGrades
from thecal.clinical.findings import Finding
from thecal.clinical.refill_due import RefillDue
from thecal.clinical.triage import Urgency
from thecal.limits import Reason
from thecal.service.actors import Actor
from thecal.timeline import Event

if TYPE_CHECKING:
    from thecal.service.cases import Contacts
    from thecal.service.views import RecordedRefill

Role = Literal["clinician", "patient", "caregiver", "admin"]

# Words for people with the instants and days among them kept as values: a page writes each
# in its display zone (the ``words`` filter of :mod:`thecal.web.rendering`), never as ISO text.
Words = tuple[str | datetime | date, ...]

# An aware instant; in JSON as ``datetime.isoformat()`` writes it ("+00:00", not "Z").
Instant = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
                    WithJsonSchema({"type": "string", "format": "date-time"})]


T = TypeVar("T")


def written_core_schema(cls: type[T], write: Callable[[T], dict[str, object]]
                        ) -> core_schema.CoreSchema:
    """How a value the core already writes as JSON sits in an API answer: an instance of
    ``cls`` is written by ``write`` (its ``as_dict``: one writer for the CLI, the stored
    summary and the API); a mapping ``write`` made, to which the answer added a key (the
    chart's last symptom report and its triage), passes as it is."""
    return core_schema.union_schema(
        [core_schema.is_instance_schema(cls), core_schema.dict_schema()],
        serialization=core_schema.plain_serializer_function_ser_schema(
            lambda value: write(value) if isinstance(value, cls) else value))


def written_by(cls: type[T], write: Callable[[T], dict[str, object]],
               schema: Mapping[str, object]) -> GetPydanticSchema:
    """:func:`written_core_schema`, described by the JSON Schema ``schema``."""
    return GetPydanticSchema(lambda _source, _handler: written_core_schema(cls, write),
                             lambda _schema, _handler: dict(schema))


#: A finding of the twin (or of a rule on the record) in an API answer: ``Finding.as_dict``,
#: its figures beside its fields (docs/twin.md lists them per code).
FINDING_SCHEMA: Final = {
    "title": "Finding", "type": "object", "additionalProperties": True,
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "severity": {"type": "string"}, "source": {"type": "string"},
                   "at": {"type": "string", "format": "date-time"},
                   "event_index": {"type": ["integer", "null"]}},
    "required": ["code", "message", "severity", "source", "at"]}
TwinFinding = Annotated[Finding, written_by(Finding, Finding.as_dict, FINDING_SCHEMA)]


@dataclass(frozen=True)
class User:
    user_id: str
    display_name: str
    role: Role
    actor: Actor = field(compare=False, repr=False)  # who acts in the service
    site: str = ""
    patient_ids: tuple[str, ...] = ()  # the patients a patient or caregiver may see
    timezone: str = "UTC"  # IANA zone the pages show times in (the site's; a patient's own)


@dataclass(frozen=True)
class SignedIn:
    """A new session: the opaque token for the cookie and its CSRF token."""

    token: str
    user: User
    csrf_token: str


@dataclass(frozen=True)
class TimelineItem:
    """One stored event as the pages show it (the chart's timeline, the record's history,
    what changed since a form was shown), with the correction that replaced it."""

    event: Event
    seq: int
    recorded_at: datetime
    summary: Words  # the event's fields in words (times as values: the page writes them)
    corrects: str = ""  # a correction: the id of the event it corrects
    corrected_by: str = ""  # the id of the correction that replaced this event

    @property
    def at(self) -> datetime:
        return self.event.at

    @property
    def type(self) -> str:
        return self.event.type

    @property
    def by(self) -> str:
        return self.event.by or ""

    @property
    def reason(self) -> str:
        return self.event.reason or ""

    @property
    def event_id(self) -> str:
        return str(self.event.id or "")

    @property
    def entered_late(self) -> bool:
        """Entered more than five minutes after it happened (the entry time is shown)."""
        return (self.recorded_at - self.at).total_seconds() > 300


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float


@dataclass(frozen=True)
class Series:
    """One line on a chart: a name, its unit and its points."""

    name: str
    unit: str
    points: tuple[Point, ...]
    source: str = ""


@dataclass(frozen=True)
class ChartSeries:
    """The lines of a chart's pictures; a series with no points is None."""

    reservoir: Series | None = None  # mL, the twin, continued ahead as a projection
    daily_dose: Series | None = None  # mcg/day, the programmed schedule
    mas: Series | None = None  # recorded Modified Ashworth (MAS) grades (1+ at 1.5)
    penn: Series | None = None  # recorded Penn spasm frequency
    csf_level: Series | None = None  # ng/mL, the virtual patient: expected, not measured
    tone: Series | None = None  # expected MAS, the virtual patient


@dataclass(frozen=True)
class EmergencyBanner:
    """An emergency case not yet acknowledged: the chart shows it until someone does."""

    case_id: int
    opened_at: datetime
    symptoms: tuple[str, ...]
    patient_words: str


@dataclass(frozen=True)
class PumpHeader:
    """The pump banner of a patient's pages; the figures are the twin's (None: no pump)."""

    patient_id: str
    name: str
    born: date | None
    etiology: str
    pump: str
    catheter: str
    drug: str
    concentration_mcg_per_ml: float | None = None
    daily_dose_mcg: float | None = None
    reservoir_ml: float | None = None
    reservoir_capacity_ml: float | None = None
    low_reservoir_alarm_ml: float | None = None
    low_reservoir_alarm_at: datetime | None = None
    refill_due_by: datetime | None = None  # an instant, shown as a day in the display zone
    empty_at: datetime | None = None
    mri_flag: str = ""
    allergies: tuple[str, ...] = ()
    alarms_sounding: tuple[str, ...] = ()
    warnings: tuple[Finding, ...] = ()  # the twin's findings at this moment
    version: int = 0  # the record's version this header was read at (forms carry it)
    # the strength in the pump waits for a second signature (issue 11): "" when none waits
    concentration_pending: str = ""
    # allergies-recorded | no-known-allergies | not-recorded (thecal.clinical.medicines)
    allergy_status: str = "not-recorded"
    allergy_statement: Words = ()  # who stated "no known allergies", and when
    baclofen_allergy: bool = False
    oral_medicines: tuple[str, ...] = ()
    reconciliations_due: tuple[str, ...] = ()
    emergency_cases: tuple[EmergencyBanner, ...] = ()


@dataclass(frozen=True)
class PendingItem:
    """A refill waiting for a second clinician's confirmation."""

    pending_id: str
    kind: str
    summary: str
    proposed_by: str  # the display name of who entered it
    expires_at: datetime | None  # when it escalates (it never expires)
    status: str = "waiting"  # waiting | escalated
    reason: str = ""  # "…: second confirmation overdue by 20 min (escalated)"
    event_id: str = ""  # the refill already recorded
    notify_detail: str = ""  # whom the escalation told, and how
    patient_id: str = ""
    patient_name: str = ""


@dataclass(frozen=True)
class Chart:
    header: PumpHeader
    timeline: tuple[TimelineItem, ...]
    reservoir: Series | None = None
    dose_history: Series | None = None
    mas: Series | None = None
    penn: Series | None = None
    csf_level: Series | None = None
    tone: Series | None = None
    pending: tuple[PendingItem, ...] = ()
    # the Modified Ashworth grades per muscle group of the last assessments (clinical.assessment)
    muscle_grades: MuscleGrades | None = None


@dataclass(frozen=True)
class Concentration:
    """One formulary entry: what the concentration picker offers."""

    concentration_mcg_per_ml: float
    label: str


@dataclass(frozen=True)
class ProgramSummary:
    """A program as the confirmation screen shows it, with its 24-hour totals."""

    description: str
    daily_dose_mcg: float
    daily_volume_ml: float
    concentration_mcg_per_ml: float


@dataclass(frozen=True)
class RefillInput:
    """What the clinician entered so far; each step of the wizard adds to it."""

    withdrawn: str = ""
    reason: str = ""  # why the withdrawn residual differs from the expected one
    concentration: str = ""
    added: str = ""
    bridge_bolus_confirmed: bool = False  # "I will program this bridge bolus": recorded with it
    bridge_bolus_declined: bool = False  # recorded without one: the chart keeps the finding
    daily_dose: str = ""
    override_reason: str = ""
    # the pump's own reservoir reading from the programmer, before and after (interrogations)
    pump_reading_before: str = ""
    pump_reading_after: str = ""
    # issue 11: the drug as dispensed, a compounded preparation, a late entry's procedure
    # time (ISO, aware) and the record's version the form was first shown at
    lot: str = ""
    expiry: str = ""
    compounded: bool = False
    compounded_strength: str = ""
    pharmacy: str = ""
    performed_at: str = ""
    shown_version: int | None = None


@dataclass(frozen=True)
class RefillProposal:
    """The service's answer for a refill in progress: every figure the steps show (a figure
    not entered yet, or refused, is left at its default)."""

    expected_residual_ml: float
    old_concentration_mcg_per_ml: float
    capacity_ml: float
    old_program: ProgramSummary
    withdrawn_ml: float | None = None
    discrepancy: bool = False
    discrepancy_reasons: tuple[Reason, ...] = ()
    new_concentration_mcg_per_ml: float | None = None
    added_ml: float | None = None
    concentration_change: bool = False
    bridge_bolus: str | None = None  # words for the bridge bolus, None when none is needed
    bridge_bolus_reasons: tuple[Reason, ...] = ()
    new_program: ProgramSummary | None = None
    program_reasons: tuple[Reason, ...] = ()
    needs_override_reason: bool = False
    allowed: bool = True  # False: beyond an absolute bound, cannot be recorded
    low_reservoir_alarm_at: datetime | None = None
    refill_due_by: datetime | None = None  # an instant, shown as a day in the display zone
    errors: dict[str, str] = field(default_factory=dict)  # form field → message
    # the volume that fills the reservoir to capacity after the withdrawal, and why
    suggested_added_ml: float | None = None
    suggested_added: str = ""
    # residual left behind mixing with a new strength: the dose every programme step delivers
    mixing_reasons: tuple[Reason, ...] = ()
    # the reservoir views before the refill (docs/twin.md), shown where they differ
    pump_calculated_ml: float | None = None
    estimate_ml: float | None = None
    physical_ml: float | None = None
    views_differ: bool = False
    unaccounted_ml: float = 0.0  # what the pump calculated beyond what was drained
    programmer_instruction: str = ""  # which volume to enter into the programmer


@dataclass(frozen=True)
class RefillSummary:
    """A recorded refill (the printout) and the figures its steps showed, with the bridge
    bolus recorded for it (None: none on the record)."""

    record: RecordedRefill
    proposal: RefillProposal
    bridge_bolus: TimelineItem | None = None


@dataclass(frozen=True)
class ProgramProposal:
    old_program: ProgramSummary
    new_program: ProgramSummary | None
    change_fraction: float | None
    classification: str  # within-recommended | above-recommended | above-absolute | ...
    needs_override_reason: bool
    allowed: bool
    reasons: tuple[Reason, ...]
    errors: dict[str, str] = field(default_factory=dict)
    refusal: str = ""  # why it cannot be sent (beyond an absolute bound)
    decision: str = "allowed"  # allowed | second-clinician | refused (clinical.program)
    needs_second_clinician: bool = False  # a step beyond the recommended titration step


@dataclass(frozen=True)
class TriageAnswer:
    urgency: Urgency
    headline: str
    what_to_do: tuple[str, ...]
    reasons: tuple[Reason, ...] = ()
    interrogate_pump: bool = False
    # every piece of advice shows the clinic's and the emergency number as tel: links
    clinic_phone: str = ""
    clinic_tel: str = ""
    emergency_number: str = ""
    emergency_tel: str = ""


@dataclass(frozen=True)
class Symptom:
    code: str
    patient_words: str
    clinician_words: str
    group: str


@dataclass(frozen=True)
class InboxItem:
    report_id: str
    patient_id: str
    patient_name: str
    at: datetime
    symptoms: tuple[str, ...]
    answer: TriageAnswer


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    text: str
    status: Literal["met", "not-met", "unknown", "done", "todo"] = "unknown"
    detail: str = ""
    source: str = ""
    # the answers a form offers ((value, words), ...); None: a free number; () : not a question
    choices: tuple[tuple[str, str], ...] | None = ()
    answer: str = ""


@dataclass(frozen=True)
class Checklist:
    title: str
    items: tuple[ChecklistItem, ...]
    verdict: str = ""
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class TeamMember:
    """A member of a care team in the clinical vocabulary (``thecal.clinical.care_team``)."""

    name: str
    team_role: str
    title: str
    contact: str = ""
    responsibilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class MyPump:
    header: PumpHeader
    days_of_drug_left: float | None
    alarms: tuple[AlarmMeaning, ...]  # thecal.clinical.alarms: what each alarm sound means
    clinic_phone: str = ""
    # the refill-due date at this moment: overdue, due today or due (clinical.refill_due)
    refill_due: RefillDue | None = None
    # the clinic's and the emergency number with their tel: links (site settings)
    contacts: Contacts | None = None


@dataclass(frozen=True)
class ImplantCard:
    patient_name: str
    born: date | None
    pump: str
    catheter: str
    drug: str
    concentration: str
    implanted_on: date | None
    clinic: str
    clinic_phone: str
    warnings: tuple[str, ...]
    emergency_number: str = ""  # the site's (setting emergency_number)


@dataclass(frozen=True)
class PatientHome:
    """Everything a patient's (or caregiver's) home pages show."""

    pump: MyPump
    card: ImplantCard | None  # None before the implant
    recovery: Checklist  # the calendar of refill dates: thecal.service.calendar
