"""The timeline, version 1: typed events, validation, JSON/YAML load and save, JSON Schema.

A timeline is a patient block and a list of events (DESIGN.md, "The timeline file"). The
clinic's record of a real patient and a simulation scenario are the same kind of file.

Every event type is declared once, as a table of :class:`FieldSpec` rows; the parser, the
writer and the JSON Schema (``thecal schema timeline``) are all generated from that table,
so they cannot disagree. Errors name the event index and the field (``events[3].added``) and
say how to fix it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, ClassVar, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from thecal import units
from thecal.catalog import PumpModel, catheter_model, formulation_for, pump_model
from thecal.errors import CatalogError, TimelineError, UnitError

FORMAT: Final = "thecal.timeline/1"

ETIOLOGIES: Final = (
    "cerebral-palsy", "multiple-sclerosis", "stroke", "brain-injury", "spinal-cord-injury",
    "other-spinal", "other-cerebral",
)
FAULT_KINDS: Final = (
    "catheter-kink", "catheter-leak", "catheter-disconnection", "catheter-migration",
    "pump-overinfusion", "pump-underinfusion", "motor-stall", "battery-reset", "pocket-fill",
)
BOLUS_KINDS: Final = ("clinician", "bridge", "priming", "patient")
PROGRAM_MODES: Final = ("continuous", "flex", "stopped")
ASPIRATIONS: Final = ("complete", "incomplete")  # refill: was the reservoir drained?
BATTERY_STATES: Final = ("ok", "eri", "eos")  # interrogation: the pump's battery indicator
PUMP_READ_STATES: Final = ("running", "stopped", "stalled")  # interrogation: what the pump shows
MAS_GRADES: Final = ("0", "1", "1+", "2", "3", "4")

# Events that describe the device and therefore need an implanted pump before them.
DEVICE_EVENTS: Final = frozenset({
    "replace-pump", "explant", "catheter-revision", "refill", "program", "bolus",
    "interrogation", "alarm-acknowledged", "fault",
})

_TIME_RE: Final = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_ID_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


# --------------------------------------------------------------------------- value types

@dataclass(frozen=True)
class CatheterSpec:
    """The catheter as implanted: catalog model and length after trimming."""

    model: str
    length_cm: float

    @property
    def volume_ml(self) -> float:
        return catheter_model(self.model).volume_ml(self.length_cm)


@dataclass(frozen=True)
class FlexStep:
    """One flex step: from local clock time ``start`` the pump runs at ``daily_dose_mcg``."""

    start: time
    daily_dose_mcg: float


@dataclass(frozen=True)
class PhysiologySpec:
    """Which virtual patient a simulation attaches (ignored by the clinic)."""

    preset: str
    seed: int | None = None
    overrides: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Patient:
    id: str
    timezone: str
    etiology: str
    born: date | None = None
    sex: str | None = None
    weight_kg: float | None = None
    physiology: PhysiologySpec | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def age_years(self, at: datetime) -> float | None:
        if self.born is None:
            return None
        return (at.date() - self.born).days / 365.25


# --------------------------------------------------------------------------- events

@dataclass(frozen=True)
class Event:
    """Base of every event: when, what type, and optionally id, who and why."""

    at: datetime
    id: str | None = None
    by: str | None = None
    reason: str | None = None

    type: ClassVar[str] = ""


@dataclass(frozen=True)
class Implant(Event):
    pump: str = ""
    catheter: CatheterSpec | None = None
    depth_cm: float | None = None
    low_reservoir_alarm_ml: float | None = None
    serial: str | None = None
    type: ClassVar[str] = "implant"


@dataclass(frozen=True)
class ReplacePump(Event):
    pump: str = ""
    low_reservoir_alarm_ml: float | None = None
    serial: str | None = None
    type: ClassVar[str] = "replace-pump"


@dataclass(frozen=True)
class Explant(Event):
    type: ClassVar[str] = "explant"


@dataclass(frozen=True)
class CatheterRevision(Event):
    catheter: CatheterSpec | None = None
    type: ClassVar[str] = "catheter-revision"


@dataclass(frozen=True)
class Refill(Event):
    withdrawn_ml: float = 0.0
    added_ml: float = 0.0
    concentration_mcg_per_ml: float = 0.0
    compounded: bool = False
    # ``withdrawn_ml`` is the measured residual (the reservoir is drained, SSN / WESEMANN);
    # only an aspiration said to be incomplete keeps an (estimated) residual in the reservoir.
    aspiration: Literal["complete", "incomplete"] = "complete"
    estimated_residual_ml: float | None = None
    # the drug as dispensed: lot and expiry (every refill), the compounding pharmacy
    lot: str | None = None
    expiry: date | None = None
    pharmacy: str | None = None
    type: ClassVar[str] = "refill"

    @property
    def kept_residual_ml(self) -> float:
        """What stays in the reservoir with the new drug: 0 after a complete aspiration."""
        return (self.estimated_residual_ml or 0.0) if self.aspiration == "incomplete" else 0.0


@dataclass(frozen=True)
class Program(Event):
    mode: Literal["continuous", "flex", "stopped"] = "continuous"
    daily_dose_mcg: float | None = None
    steps: tuple[FlexStep, ...] = ()
    type: ClassVar[str] = "program"


@dataclass(frozen=True)
class Bolus(Event):
    kind: Literal["clinician", "bridge", "priming", "patient"] = "clinician"
    dose_mcg: float | None = None
    duration_h: float | None = None
    volume_ml: float | None = None
    type: ClassVar[str] = "bolus"


@dataclass(frozen=True)
class Interrogation(Event):
    """The pump's own readings at an interrogation (each optional): a measurement."""

    reservoir_ml: float | None = None
    alarms: tuple[str, ...] = ()
    daily_dose_mcg: float | None = None  # the programmed 24-h dose the pump shows
    concentration_mcg_per_ml: float | None = None  # the concentration the pump was told
    alarm_date: datetime | None = None  # the pump's own low-reservoir alarm / refill date
    battery: Literal["ok", "eri", "eos"] | None = None
    pump_state: Literal["running", "stopped", "stalled"] | None = None
    type: ClassVar[str] = "interrogation"


@dataclass(frozen=True)
class AlarmAcknowledged(Event):
    alarm: str = ""
    type: ClassVar[str] = "alarm-acknowledged"


# Modified Ashworth is graded per muscle group (clinical-facts 5.7: MAS-Y, MAS-G; 9.8: REHAB-IG).
# The groups are ASSUMED: the reference names no list, so thecal fixes the groups usually tested
# for lower- and upper-limb spasticity, each on the left and on the right.
MAS_MUSCLES: Final = (
    "shoulder-adductors", "elbow-flexors", "elbow-extensors", "wrist-flexors", "finger-flexors",
    "hip-flexors", "hip-extensors", "hip-adductors", "knee-flexors", "knee-extensors",
    "ankle-plantarflexors",
)
MAS_MUSCLE_GROUPS: Final = tuple(f"{m}-{side}" for m in MAS_MUSCLES for side in ("left", "right"))


@dataclass(frozen=True)
class Assessment(Event):
    mas: str | None = None
    penn_frequency: int | None = None
    penn_severity: int | None = None
    notes: str | None = None
    # MAS grade per muscle group, in MAS_MUSCLE_GROUPS order: ((group, grade), ...)
    mas_by_muscle: tuple[tuple[str, str], ...] | None = None
    type: ClassVar[str] = "assessment"


@dataclass(frozen=True)
class Symptoms(Event):
    codes: tuple[str, ...] = ()
    type: ClassVar[str] = "symptoms"


@dataclass(frozen=True)
class Mri(Event):
    duration_h: float = 0.0
    type: ClassVar[str] = "mri"


@dataclass(frozen=True)
class Diathermy(Event):
    duration_h: float = 0.0
    type: ClassVar[str] = "diathermy"


@dataclass(frozen=True)
class OralBaclofen(Event):
    daily_dose_mg: float = 0.0
    type: ClassVar[str] = "oral-baclofen"


@dataclass(frozen=True)
class ScreeningDose(Event):
    dose_mcg: float = 0.0
    responded: bool | None = None
    type: ClassVar[str] = "screening-dose"


@dataclass(frozen=True)
class Note(Event):
    text: str = ""
    type: ClassVar[str] = "note"


@dataclass(frozen=True)
class Correction(Event):
    corrects: str = ""
    event: Event | None = None
    type: ClassVar[str] = "correction"


@dataclass(frozen=True)
class Fault(Event):
    kind: str = ""
    severity: float | None = None
    duration_h: float | None = None
    type: ClassVar[str] = "fault"


# --------------------------------------------------------------------------- field specs

Parser = Callable[[Any], Any]
Writer = Callable[[Any], Any]


@dataclass(frozen=True)
class FieldSpec:
    """One field of an event in the file: its key, attribute, parser, writer and schema."""

    key: str
    attr: str
    parse: Parser
    write: Writer
    schema: dict[str, Any]
    required: bool = False


def _quantity(kind: units.Kind, *, positive: bool = False) -> tuple[Parser, Writer, dict[str, Any]]:
    def parse(value: Any) -> float:
        return units.parse_quantity(value, kind, allow_zero=not positive)

    def write(value: float) -> str:
        if kind is units.DURATION:
            minutes = value * 60.0
            if abs(minutes - round(minutes)) < 1e-9:
                return f"{round(minutes)} min"
        return units.format_quantity(value, kind, decimals=9)

    schema = {"type": "string", "description": f"{kind.name} with its unit",
              "examples": [kind.example], "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*\S.*$"}
    return parse, write, schema


def _q(key: str, attr: str, kind: units.Kind, *, required: bool = False,
       positive: bool = False) -> FieldSpec:
    parse, write, schema = _quantity(kind, positive=positive)
    return FieldSpec(key, attr, parse, write, schema, required)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UnitError("expected non-empty text")
    return value


def _iso_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise UnitError(f"{value!r} is not a date", fix="write it like 2027-06-30") from None


def _choice(options: Sequence[str]) -> Parser:
    def parse(value: Any) -> str:
        if value not in options:
            raise UnitError(f"{value!r} is not allowed", fix=f"use one of: {', '.join(options)}")
        return str(value)
    return parse


def _identity(value: Any) -> Any:
    return value


def _number_plain(lo: float, hi: float, what: str) -> Parser:
    """A plain number for fields whose key names the unit (``length_cm: 52``)."""

    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise UnitError(f"expected a number for {what}")
        if isinstance(value, str):
            number = units.parse_number(value, what=what)
        elif isinstance(value, (int, float)):
            number = float(value)
        else:
            raise UnitError(f"expected a number for {what}")
        if not (lo <= number <= hi):
            raise UnitError(f"{what} {number:g} is outside {lo:g}–{hi:g}")
        return number
    return parse


def _int_range(lo: int, hi: int) -> Parser:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not (lo <= value <= hi):
            raise UnitError(f"{value!r} is not a whole number from {lo} to {hi}")
        return value
    return parse


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise UnitError(f"{value!r} is not true or false")
    return value


def _clock(value: Any) -> time:
    if isinstance(value, str):
        match = _TIME_RE.match(value.strip())
        if match:
            return time(int(match[1]), int(match[2]))
    raise UnitError(f"{value!r} is not a clock time", fix="write it as \"HH:MM\", e.g. \"07:00\"")


def _codes(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise UnitError("expected a non-empty list of codes", fix="e.g. [itching, tingling]")
    return tuple(value)


def _str_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UnitError("expected a list of codes")
    return tuple(value)


def _catheter(value: Any) -> CatheterSpec:
    if not isinstance(value, dict):
        raise UnitError("expected {model: ..., length_cm: ...}")
    unknown = set(value) - {"model", "length_cm"}
    if unknown:
        raise UnitError(f"unknown key {sorted(unknown)[0]!r}", fix="use model and length_cm")
    if "model" not in value or "length_cm" not in value:
        raise UnitError("needs model and length_cm", fix="e.g. {model: ascenda, length_cm: 52}")
    model = catheter_model(_text(value["model"]))
    length = _number_plain(1, model.max_length_cm, "length_cm")(value["length_cm"])
    return CatheterSpec(model=model.id, length_cm=length)


def _write_catheter(spec: CatheterSpec) -> dict[str, Any]:
    return {"model": spec.model, "length_cm": spec.length_cm}


def _steps(value: Any) -> tuple[FlexStep, ...]:
    if not isinstance(value, list) or not value:
        raise UnitError("flex needs a non-empty list of steps",
                        fix='e.g. [{start: "00:00", daily_dose: 220 mcg/day}]')
    steps: list[FlexStep] = []
    for i, raw in enumerate(value):
        if not isinstance(raw, dict) or set(raw) != {"start", "daily_dose"}:
            raise UnitError(f"step {i} needs exactly start and daily_dose")
        try:
            steps.append(FlexStep(_clock(raw["start"]), units.daily_dose(raw["daily_dose"])))
        except UnitError as exc:
            raise UnitError(f"steps[{i}]: {exc.message}", fix=exc.fix) from None
    starts = [s.start for s in steps]
    if starts != sorted(starts) or len(set(starts)) != len(starts):
        raise UnitError("flex step start times must be increasing and distinct")
    if starts[0] != time(0, 0):
        raise UnitError('the first flex step must start at "00:00" so every hour has a dose')
    return tuple(steps)


def _write_steps(steps: tuple[FlexStep, ...]) -> list[dict[str, str]]:
    return [{"start": s.start.strftime("%H:%M"),
             "daily_dose": units.format_quantity(s.daily_dose_mcg, units.DAILY_DOSE, decimals=6)}
            for s in steps]


def _mas_by_muscle(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not value:
        raise UnitError("expected a mapping of muscle group to MAS grade",
                        fix='e.g. {hip-adductors-left: "2", knee-extensors-right: "1+"}')
    for group, grade in value.items():
        if group not in MAS_MUSCLE_GROUPS:
            raise UnitError(f"unknown muscle group {group!r}",
                            fix=f"use one of: {', '.join(MAS_MUSCLE_GROUPS)}")
        if grade not in MAS_GRADES:
            raise UnitError(f"{grade!r} is not a MAS grade for {group}",
                            fix=f'write the grade as text, one of: {", ".join(MAS_GRADES)} (e.g. "1+")')
    return tuple((g, str(value[g])) for g in MAS_MUSCLE_GROUPS if g in value)


def _severity(value: Any) -> float:
    return _number_plain(0.0, 1.0, "severity")(value)


_STEP_SCHEMA: Final = {
    "type": "array", "minItems": 1,
    "items": {"type": "object", "additionalProperties": False, "required": ["start", "daily_dose"],
              "properties": {"start": {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]$"},
                             "daily_dose": {"type": "string", "examples": ["220 mcg/day"]}}}}
_CATHETER_SCHEMA: Final = {
    "type": "object", "additionalProperties": False, "required": ["model", "length_cm"],
    "properties": {"model": {"type": "string"}, "length_cm": {"type": "number", "exclusiveMinimum": 0}}}

_STR = {"type": "string"}

EVENT_FIELDS: Final[dict[str, tuple[type[Event], tuple[FieldSpec, ...]]]] = {
    "implant": (Implant, (
        FieldSpec("pump", "pump", lambda v: pump_model(_text(v)).id, _identity, _STR, True),
        FieldSpec("catheter", "catheter", _catheter, _write_catheter, _CATHETER_SCHEMA, True),
        FieldSpec("depth_cm", "depth_cm", _number_plain(0, 10, "depth_cm"), _identity,
                  {"type": "number", "minimum": 0}),
        _q("low_reservoir_alarm", "low_reservoir_alarm_ml", units.VOLUME),
        FieldSpec("serial", "serial", _text, _identity, _STR),
    )),
    "replace-pump": (ReplacePump, (
        FieldSpec("pump", "pump", lambda v: pump_model(_text(v)).id, _identity, _STR, True),
        _q("low_reservoir_alarm", "low_reservoir_alarm_ml", units.VOLUME),
        FieldSpec("serial", "serial", _text, _identity, _STR),
    )),
    "explant": (Explant, ()),
    "catheter-revision": (CatheterRevision, (
        FieldSpec("catheter", "catheter", _catheter, _write_catheter, _CATHETER_SCHEMA),
    )),
    "refill": (Refill, (
        _q("withdrawn", "withdrawn_ml", units.VOLUME, required=True),
        _q("added", "added_ml", units.VOLUME, required=True),
        _q("concentration", "concentration_mcg_per_ml", units.CONCENTRATION, required=True,
           positive=True),
        FieldSpec("compounded", "compounded", _bool, _identity, {"type": "boolean"}),
        FieldSpec("aspiration", "aspiration", _choice(ASPIRATIONS), _identity,
                  {"enum": list(ASPIRATIONS)}),
        _q("estimated_residual", "estimated_residual_ml", units.VOLUME),
        FieldSpec("lot", "lot", _text, _identity, _STR),
        FieldSpec("expiry", "expiry", _iso_date, lambda v: v.isoformat(),
                  {"type": "string", "format": "date"}),
        FieldSpec("pharmacy", "pharmacy", _text, _identity, _STR),
    )),
    "program": (Program, (
        FieldSpec("mode", "mode", _choice(PROGRAM_MODES), _identity,
                  {"enum": list(PROGRAM_MODES)}, True),
        _q("daily_dose", "daily_dose_mcg", units.DAILY_DOSE),
        FieldSpec("steps", "steps", _steps, _write_steps, _STEP_SCHEMA),
    )),
    "bolus": (Bolus, (
        FieldSpec("kind", "kind", _choice(BOLUS_KINDS), _identity, {"enum": list(BOLUS_KINDS)},
                  True),
        _q("dose", "dose_mcg", units.DOSE, positive=True),
        _q("duration", "duration_h", units.DURATION, positive=True),
        _q("volume", "volume_ml", units.VOLUME, positive=True),
    )),
    "interrogation": (Interrogation, (
        _q("reservoir", "reservoir_ml", units.VOLUME),
        FieldSpec("alarms", "alarms", _str_list, list, {"type": "array", "items": _STR}),
        _q("daily_dose", "daily_dose_mcg", units.DAILY_DOSE),
        _q("concentration", "concentration_mcg_per_ml", units.CONCENTRATION, positive=True),
        FieldSpec("alarm_date", "alarm_date", lambda v: _datetime(v), lambda v: write_datetime(v),
                  {"type": "string", "format": "date-time"}),
        FieldSpec("battery", "battery", _choice(BATTERY_STATES), _identity,
                  {"enum": list(BATTERY_STATES)}),
        FieldSpec("pump_state", "pump_state", _choice(PUMP_READ_STATES), _identity,
                  {"enum": list(PUMP_READ_STATES)}),
    )),
    "alarm-acknowledged": (AlarmAcknowledged, (
        FieldSpec("alarm", "alarm", _text, _identity, _STR, True),
    )),
    "assessment": (Assessment, (
        FieldSpec("mas", "mas", _choice(MAS_GRADES), _identity, {"enum": list(MAS_GRADES)}),
        FieldSpec("penn_frequency", "penn_frequency", _int_range(0, 4), _identity,
                  {"type": "integer", "minimum": 0, "maximum": 4}),
        FieldSpec("penn_severity", "penn_severity", _int_range(1, 3), _identity,
                  {"type": "integer", "minimum": 1, "maximum": 3}),
        FieldSpec("notes", "notes", _text, _identity, _STR),
        FieldSpec("mas_by_muscle", "mas_by_muscle", _mas_by_muscle, dict,
                  {"type": "object", "minProperties": 1, "additionalProperties": False,
                   "properties": {g: {"enum": list(MAS_GRADES)} for g in MAS_MUSCLE_GROUPS},
                   "examples": [{"hip-adductors-left": "2", "knee-extensors-right": "1+"}]}),
    )),
    "symptoms": (Symptoms, (
        FieldSpec("codes", "codes", _codes, list, {"type": "array", "minItems": 1, "items": _STR},
                  True),
    )),
    "mri": (Mri, (_q("duration", "duration_h", units.DURATION, required=True, positive=True),)),
    "diathermy": (Diathermy, (
        _q("duration", "duration_h", units.DURATION, required=True, positive=True),)),
    "oral-baclofen": (OralBaclofen, (
        _q("daily_dose", "daily_dose_mg", units.ORAL_DAILY_DOSE, required=True),)),
    "screening-dose": (ScreeningDose, (
        _q("dose", "dose_mcg", units.DOSE, required=True, positive=True),
        FieldSpec("responded", "responded", _bool, _identity, {"type": "boolean"}),
    )),
    "note": (Note, (FieldSpec("text", "text", _text, _identity, _STR, True),)),
    "correction": (Correction, (
        FieldSpec("corrects", "corrects", _text, _identity, _STR, True),
        # "event" is handled specially (a nested event).
    )),
    "fault": (Fault, (
        FieldSpec("kind", "kind", _choice(FAULT_KINDS), _identity, {"enum": list(FAULT_KINDS)},
                  True),
        FieldSpec("severity", "severity", _severity, _identity,
                  {"type": "number", "minimum": 0, "maximum": 1}),
        _q("duration", "duration_h", units.DURATION, positive=True),
    )),
}
EVENT_TYPES: Final = tuple(EVENT_FIELDS)
_COMMON_KEYS: Final = ("at", "type", "id", "by", "reason")


# --------------------------------------------------------------------------- parsing

def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise UnitError(f"{value!r} is not an ISO 8601 date-time",
                            fix="write e.g. 2026-01-05T09:00:00+01:00") from None
    else:
        raise UnitError(f"{value!r} is not a date-time", fix="write e.g. 2026-01-05T09:00:00+01:00")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise UnitError(f"{value!s} has no UTC offset",
                        fix="add the offset, e.g. 2026-01-05T09:00:00+01:00")
    return parsed


def write_datetime(value: datetime) -> str:
    return value.isoformat()


def parse_event(data: Any, index: int | None = None, *, where: str | None = None) -> Event:
    """Parse one event mapping (timeline v1) into its typed event.

    Raises :class:`TimelineError` whose ``where`` names the event index and field.
    """
    loc = where if where is not None else (f"events[{index}]" if index is not None else "event")
    if not isinstance(data, dict):
        raise TimelineError("an event must be a mapping with at least 'at' and 'type'", where=loc)
    etype = data.get("type")
    if etype not in EVENT_FIELDS:
        raise TimelineError(f"unknown event type {etype!r}", where=f"{loc}.type",
                            fix=f"use one of: {', '.join(EVENT_TYPES)}")
    cls, specs = EVENT_FIELDS[etype]
    known = set(_COMMON_KEYS) | {s.key for s in specs} | ({"event"} if etype == "correction" else set())
    for key in data:
        if key not in known:
            raise TimelineError(f"unknown field {key!r} for a {etype} event", where=f"{loc}.{key}",
                                fix=f"allowed fields: {', '.join(sorted(known))}")
    if "at" not in data:
        raise TimelineError("missing the event time", where=f"{loc}.at",
                            fix="add at: 2026-01-05T09:00:00+01:00")
    values: dict[str, Any] = {}
    try:
        values["at"] = _datetime(data["at"])
    except UnitError as exc:
        raise TimelineError(exc.message, where=f"{loc}.at", fix=exc.fix) from None
    for key in ("id", "by", "reason"):
        if key in data and data[key] is not None:
            if not isinstance(data[key], str) or not data[key].strip():
                raise TimelineError(f"{key} must be non-empty text", where=f"{loc}.{key}")
            if key == "id" and not _ID_RE.match(data[key]):
                raise TimelineError("id must be 1–64 letters, digits, '.', '_', ':' or '-'",
                                    where=f"{loc}.id")
            values[key] = data[key]
    for spec in specs:
        if spec.key not in data or data[spec.key] is None:
            if spec.required:
                raise TimelineError(f"missing required field {spec.key!r}",
                                    where=f"{loc}.{spec.key}",
                                    fix=_example_for(spec))
            continue
        try:
            values[spec.attr] = spec.parse(data[spec.key])
        except (UnitError, CatalogError) as exc:
            raise TimelineError(exc.message, where=f"{loc}.{spec.key}", fix=exc.fix) from None
    if etype == "correction":
        if "event" not in data:
            raise TimelineError("a correction needs the corrected event", where=f"{loc}.event",
                                fix="add event: {type: ..., at: ..., ...}")
        inner = parse_event(data["event"], where=f"{loc}.event")
        if isinstance(inner, Correction):
            raise TimelineError("a correction cannot contain a correction", where=f"{loc}.event")
        values["event"] = inner
    event = cls(**values)
    _check_event(event, loc)
    return event


def _example_for(spec: FieldSpec) -> str:
    examples = spec.schema.get("examples")
    if examples:
        return f"add {spec.key}: {examples[0]}"
    if "enum" in spec.schema:
        return f"add {spec.key}: one of {', '.join(spec.schema['enum'])}"
    return f"add {spec.key}"


def _check_event(event: Event, loc: str) -> None:
    """Rules that concern one event alone."""
    if isinstance(event, Program):
        if event.mode == "continuous":
            if event.daily_dose_mcg is None or event.steps:
                raise TimelineError("a continuous program needs daily_dose and no steps",
                                    where=f"{loc}.daily_dose", fix="add daily_dose: 100 mcg/day")
        elif event.mode == "flex":
            if not event.steps or event.daily_dose_mcg is not None:
                raise TimelineError("a flex program needs steps and no daily_dose",
                                    where=f"{loc}.steps",
                                    fix='add steps: [{start: "00:00", daily_dose: 200 mcg/day}]')
        elif event.daily_dose_mcg is not None or event.steps:
            raise TimelineError("a stopped program takes no dose", where=f"{loc}.mode")
    elif isinstance(event, Bolus):
        if event.kind in ("clinician", "patient"):
            if event.dose_mcg is None:
                raise TimelineError(f"a {event.kind} bolus needs a dose", where=f"{loc}.dose",
                                    fix="add dose: 50 mcg")
            if event.kind == "clinician" and event.duration_h is None:
                raise TimelineError("a clinician bolus needs a duration", where=f"{loc}.duration",
                                    fix="add duration: 30 min")
        elif event.dose_mcg is not None:
            raise TimelineError(f"a {event.kind} bolus takes its volume from the catheter; "
                                "it has no dose", where=f"{loc}.dose")
    elif isinstance(event, Refill):
        if event.added_ml == 0 and event.withdrawn_ml == 0:
            raise TimelineError("a refill withdraws or adds something", where=f"{loc}.added")
        if event.aspiration == "incomplete" and event.estimated_residual_ml is None:
            raise TimelineError("an incomplete aspiration needs the estimated residual left in "
                                "the reservoir", where=f"{loc}.estimated_residual",
                                fix="add estimated_residual: 2 mL")
        if event.aspiration != "incomplete" and event.estimated_residual_ml is not None:
            raise TimelineError("an estimated residual belongs to an incomplete aspiration",
                                where=f"{loc}.aspiration", fix="add aspiration: incomplete")
        if event.pharmacy is not None and not event.compounded:
            raise TimelineError("a pharmacy names where a compounded preparation was made",
                                where=f"{loc}.pharmacy", fix="add compounded: true")
        try:
            formulation_for(event.concentration_mcg_per_ml, compounded=event.compounded)
        except CatalogError as exc:
            raise TimelineError(exc.message, where=f"{loc}.concentration", fix=exc.fix) from None
    elif isinstance(event, Fault):
        needs_severity = event.kind in ("catheter-kink", "catheter-leak", "catheter-migration",
                                        "pump-overinfusion", "pump-underinfusion", "pocket-fill")
        if needs_severity and event.severity is None:
            raise TimelineError(f"a {event.kind} fault needs a severity from 0 to 1",
                                where=f"{loc}.severity", fix="add severity: 0.5")


def event_to_dict(event: Event) -> dict[str, Any]:
    """Write an event back in the timeline v1 form (quantities as text with units)."""
    out: dict[str, Any] = {"at": write_datetime(event.at), "type": event.type}
    for key in ("id", "by", "reason"):
        value = getattr(event, key)
        if value is not None:
            out[key] = value
    _, specs = EVENT_FIELDS[event.type]
    for spec in specs:
        value = getattr(event, spec.attr)
        if value is None or (spec.attr in ("steps", "alarms") and not value):
            continue
        if (spec.attr == "compounded" and not value) or (
                spec.attr == "aspiration" and value == "complete"):
            continue
        out[spec.key] = spec.write(value)
    if isinstance(event, Correction) and event.event is not None:
        out["event"] = event_to_dict(event.event)
    return out


# --------------------------------------------------------------------------- timeline

@dataclass(frozen=True)
class Timeline:
    """A patient and their events in time order (file order kept among equal times)."""

    patient: Patient
    events: tuple[Event, ...]

    def __post_init__(self) -> None:
        order = sorted(range(len(self.events)), key=lambda i: (self.events[i].at, i))
        if order != list(range(len(self.events))):
            object.__setattr__(self, "events", tuple(self.events[i] for i in order))

    @property
    def epoch(self) -> datetime | None:
        """The UTC instant of the first event (t_h = 0 for the twin and the simulator)."""
        return self.events[0].at.astimezone(UTC) if self.events else None

    def effective_events(self) -> list[tuple[int, Event]]:
        """Events with corrections applied, as ``(index, event)`` in time order.

        A correction replaces the event whose ``id`` it names by its ``event`` (which keeps
        the corrected event's id); the correction itself is not returned. ``index`` is the
        position of the original event (or of the correction, for its replacement).
        """
        cached = self.__dict__.get("_effective")
        if cached is not None:
            return list(cached)
        replacements: dict[str, tuple[int, Event]] = {}
        for i, ev in enumerate(self.events):
            if isinstance(ev, Correction) and ev.event is not None:
                replacements[ev.corrects] = (i, replace(ev.event, id=ev.corrects))
        out: list[tuple[int, Event]] = []
        for i, ev in enumerate(self.events):
            if isinstance(ev, Correction):
                continue
            if ev.id is not None and ev.id in replacements:
                out.append(replacements[ev.id])
            else:
                out.append((i, ev))
        if replacements:
            out.sort(key=lambda pair: (pair[1].at, pair[0]))
        # The events are immutable: the effective list is computed once per timeline.
        object.__setattr__(self, "_effective", tuple(out))
        return out

    def with_event(self, event: Event) -> Timeline:
        """A new timeline with ``event`` appended, validated as a whole."""
        new = Timeline(self.patient, (*self.events, event))
        validate(new)
        return new

    def until(self, at: datetime) -> Timeline:
        """The events at or before ``at``."""
        return Timeline(self.patient, tuple(e for e in self.events if e.at <= at))


def parse_patient(data: Any, *, where: str = "patient") -> Patient:
    """The patient block of a timeline; also how a clinic checks a patient it registers
    (:mod:`thecal.service.patients`: there the fields stand alone, ``where=""``)."""
    def at(key: str) -> str:
        return f"{where}.{key}" if where else key

    if not isinstance(data, dict):
        raise TimelineError("the patient block is missing or not a mapping", where=where or None,
                            fix="add patient: {id: ..., timezone: Europe/Berlin, etiology: ...}")
    allowed = {"id", "born", "sex", "weight_kg", "timezone", "etiology", "physiology"}
    for key in data:
        if key not in allowed:
            raise TimelineError(f"unknown field {key!r}", where=at(key),
                                fix=f"allowed fields: {', '.join(sorted(allowed))}")
    for key in ("id", "timezone", "etiology"):
        if key not in data:
            raise TimelineError(f"missing {key}", where=at(key))
    pid = data["id"]
    if not isinstance(pid, (str, int)) or isinstance(pid, bool) or not str(pid).strip():
        raise TimelineError("id must be text", where=at("id"))
    born = data.get("born")
    if born is not None:
        if isinstance(born, str):
            try:
                born = date.fromisoformat(born)
            except ValueError:
                raise TimelineError(f"{born!r} is not a date", where=at("born"),
                                    fix="write e.g. 1979-04-02") from None
        if not isinstance(born, date) or isinstance(born, datetime):
            raise TimelineError("born must be a date like 1979-04-02", where=at("born"))
    tz = data["timezone"]
    try:
        if not isinstance(tz, str):
            raise ZoneInfoNotFoundError
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimelineError(f"{tz!r} is not an IANA time zone", where=at("timezone"),
                            fix="write e.g. Europe/Berlin or America/New_York") from None
    etiology = data["etiology"]
    if etiology not in ETIOLOGIES:
        raise TimelineError(f"unknown etiology {etiology!r}", where=at("etiology"),
                            fix=f"use one of: {', '.join(ETIOLOGIES)}")
    weight = data.get("weight_kg")
    if weight is not None:
        try:
            weight = _number_plain(1, 400, "weight_kg")(weight)
        except UnitError as exc:
            raise TimelineError(exc.message, where=at("weight_kg")) from None
    sex = data.get("sex")
    if sex is not None and sex not in ("female", "male", "other"):
        raise TimelineError(f"unknown sex {sex!r}", where=at("sex"),
                            fix="use female, male or other, or leave it out")
    physiology = None
    if data.get("physiology") is not None:
        physiology = _physiology(data["physiology"])
    return Patient(id=str(pid), timezone=tz, etiology=etiology, born=born, sex=sex,
                   weight_kg=weight, physiology=physiology)


def _physiology(data: Any) -> PhysiologySpec:
    if not isinstance(data, dict) or "preset" not in data:
        raise TimelineError("physiology needs a preset", where="patient.physiology",
                            fix="e.g. physiology: {preset: adult-spinal, seed: 17}")
    allowed = {"preset", "seed", "overrides"}
    for key in data:
        if key not in allowed:
            raise TimelineError(f"unknown field {key!r}", where=f"patient.physiology.{key}")
    preset = data["preset"]
    if not isinstance(preset, str):
        raise TimelineError("preset must be text", where="patient.physiology.preset")
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise TimelineError("seed must be a whole number ≥ 0", where="patient.physiology.seed")
    overrides = data.get("overrides") or {}
    if not isinstance(overrides, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in overrides.items()):
        raise TimelineError("overrides must map parameter names to numbers",
                            where="patient.physiology.overrides")
    return PhysiologySpec(preset=preset, seed=seed,
                          overrides={k: float(v) for k, v in overrides.items()})


def parse_timeline(data: Any) -> Timeline:
    """Parse and validate a timeline mapping (the content of a timeline file)."""
    if not isinstance(data, dict):
        raise TimelineError("a timeline file must be a mapping with format, patient and events")
    if data.get("format") != FORMAT:
        raise TimelineError(f"format must be {FORMAT!r}, got {data.get('format')!r}",
                            where="format", fix=f"put format: {FORMAT} at the top")
    for key in data:
        if key not in ("format", "patient", "events"):
            raise TimelineError(f"unknown top-level field {key!r}", where=key,
                                fix="a timeline has format, patient and events")
    patient = parse_patient(data.get("patient"))
    raw_events = data.get("events")
    if raw_events is None:
        raw_events = []
    if not isinstance(raw_events, list):
        raise TimelineError("events must be a list", where="events")
    events = tuple(parse_event(raw, i) for i, raw in enumerate(raw_events))
    timeline = Timeline(patient=patient, events=events)
    validate(timeline, original_order=events)
    return timeline


def validate(timeline: Timeline, *, original_order: Sequence[Event] | None = None) -> None:
    """Rules across events: ids unique, corrections point back, devices implanted first.

    Rules that need the reservoir's content (overfill at a refill) are the twin's: it raises
    :class:`TimelineError` naming the event when it replays one.
    """
    listing = list(original_order) if original_order is not None else list(timeline.events)
    index_of = {id(ev): i for i, ev in enumerate(listing)}

    def loc(ev: Event) -> str:
        return f"events[{index_of.get(id(ev), '?')}]"

    seen: dict[str, Event] = {}
    for ev in listing:
        if ev.id is not None:
            if ev.id in seen:
                raise TimelineError(f"duplicate event id {ev.id!r}", where=f"{loc(ev)}.id",
                                    fix="give every event its own id")
            seen[ev.id] = ev
    corrected: set[str] = set()
    for ev in listing:
        if isinstance(ev, Correction):
            target = seen.get(ev.corrects)
            if target is None:
                raise TimelineError(f"corrects {ev.corrects!r}, but no event has that id",
                                    where=f"{loc(ev)}.corrects", fix="name the id of an earlier event")
            if isinstance(target, Correction):
                raise TimelineError("a correction corrects an event, not a correction",
                                    where=f"{loc(ev)}.corrects")
            if ev.corrects in corrected:
                raise TimelineError(f"event {ev.corrects!r} is corrected twice",
                                    where=f"{loc(ev)}.corrects",
                                    fix="correct the latest correction's event instead")
            corrected.add(ev.corrects)
            if ev.at < target.at:
                raise TimelineError("a correction is recorded after the event it corrects",
                                    where=f"{loc(ev)}.at")

    in_place: PumpModel | None = None
    for _, ev in timeline.effective_events():
        check_device_event(ev, in_place, loc(ev) if id(ev) in index_of else "events")
        if isinstance(ev, Implant | ReplacePump):
            in_place = pump_model(ev.pump)
        elif isinstance(ev, Explant):
            in_place = None


# --------------------------------------------------------------------------- device rules

def check_device_event(event: Event, in_place: PumpModel | None, where: str,
                       lookup: Callable[[str], PumpModel] = pump_model) -> None:
    """The device rules one event must keep, given the pump in place before it (None: none).

    The one checker of these rules: :func:`validate` applies it to every timeline it loads and
    the twin (``thecal.device``) to every event it replays, so a file, the API and the CLI
    refuse the same event in the same words. ``where`` names the event (``events[4]``); the
    error adds the field. ``lookup`` finds the pump model of an implant or a new pump. Rules
    that need the twin's state (a rate the pump cannot run at the drug's concentration, a
    bolus before any drug) are the twin's alone.
    """
    if isinstance(event, Implant):
        if in_place is not None:
            raise TimelineError("a second implant while a pump is in place",
                                where=f"{where}.type",
                                fix="use replace-pump, or record the explant first")
        new = lookup(event.pump)
        _check_alarm_volume(event.low_reservoir_alarm_ml, new, where)
        if event.depth_cm is not None and event.depth_cm > new.max_depth_cm:
            raise TimelineError(f"the pump may sit no deeper than {new.max_depth_cm:g} cm "
                                f"(LIO-SCR); got {event.depth_cm:g} cm", where=f"{where}.depth_cm",
                                fix="check the depth, or choose another pump site")
        return
    if event.type not in DEVICE_EVENTS:
        return
    if in_place is None:
        raise TimelineError(f"{event.type} with no pump in place (before the implant or after "
                            "the explant)", where=f"{where}.at",
                            fix="record the implant first, or check the date")
    if isinstance(event, ReplacePump):
        _check_alarm_volume(event.low_reservoir_alarm_ml, lookup(event.pump), where)
    elif isinstance(event, Program):
        if not in_place.programmable:
            raise TimelineError(f"{in_place.name} is not programmable: its flow is fixed",
                                where=f"{where}.mode",
                                fix="remove the program event; change the dose by concentration")
        if event.mode == "flex" and len(event.steps) > in_place.max_flex_steps_per_day:
            raise TimelineError(f"{in_place.name} allows at most "
                                f"{in_place.max_flex_steps_per_day} flex steps a day; this "
                                f"program has {len(event.steps)}", where=f"{where}.steps",
                                fix="merge steps")
    elif isinstance(event, Bolus):
        if not in_place.programmable:
            raise TimelineError(f"{in_place.name} cannot give a bolus: its flow is fixed",
                                where=f"{where}.kind", fix="remove the bolus event")
    elif isinstance(event, Refill):
        _check_refill_possible(event, in_place.reservoir_ml, where)


def _check_alarm_volume(alarm_ml: float | None, pump: PumpModel, where: str) -> None:
    if alarm_ml is not None and not 0 < alarm_ml < pump.reservoir_ml:
        raise TimelineError("the low-reservoir alarm must be above 0 and below the reservoir "
                            f"volume ({units.format_number(pump.reservoir_ml)} mL)",
                            where=f"{where}.low_reservoir_alarm",
                            fix="set the alarm volume the pump is programmed with, e.g. 2 mL")


# A syringe reading of the aspirated residual may exceed the reservoir by this fraction of its
# volume before it is physically impossible (ASSUMED: syringe graduation and the fluid in the
# needle and port; no labelled figure was read). 5 % is 1 mL for a 20 mL and 2 mL for a 40 mL
# pump, the size of a discrepancy Maino treats as consequential (MAINO).
WITHDRAWAL_TOLERANCE_FRACTION: Final = 0.05


def withdrawal_limit_ml(reservoir_ml: float) -> float:
    """The most that can be aspirated from a reservoir of this size (its volume + tolerance)."""
    return reservoir_ml * (1.0 + WITHDRAWAL_TOLERANCE_FRACTION)


def _check_refill_possible(ev: Refill, capacity_ml: float, where: str) -> None:
    """Refuse only what cannot have happened: a refill is a measurement, never a contradiction
    of the twin's belief (DESIGN "Measurements correct the twin")."""
    kept = ev.kept_residual_ml
    if ev.added_ml + kept > capacity_ml * (1 + 1e-9):
        left = f"{units.format_number(kept)} mL left + " if kept else ""
        raise TimelineError(f"{left}adding {units.format_number(ev.added_ml)} mL overfills the "
                            f"{units.format_number(capacity_ml)} mL reservoir",
                            where=f"{where}.added",
                            fix=f"add at most {units.format_number(max(capacity_ml - kept, 0))} mL")
    limit = withdrawal_limit_ml(capacity_ml)
    if ev.withdrawn_ml > limit + 1e-9:
        raise TimelineError(
            f"{units.format_number(ev.withdrawn_ml)} mL withdrawn from a "
            f"{units.format_number(capacity_ml)} mL reservoir (at most "
            f"{units.format_number(limit)} mL can be aspirated): the syringe has probably drawn "
            "spinal or pocket fluid", where=f"{where}.withdrawn",
            fix="stop, check the needle placement (template, reservoir port), and record the "
                "volume actually drained from the reservoir")


def timeline_to_dict(timeline: Timeline) -> dict[str, Any]:
    p = timeline.patient
    patient: dict[str, Any] = {"id": p.id}
    if p.born is not None:
        patient["born"] = p.born.isoformat()
    if p.sex is not None:
        patient["sex"] = p.sex
    if p.weight_kg is not None:
        patient["weight_kg"] = p.weight_kg
    patient["timezone"] = p.timezone
    patient["etiology"] = p.etiology
    if p.physiology is not None:
        phys: dict[str, Any] = {"preset": p.physiology.preset}
        if p.physiology.seed is not None:
            phys["seed"] = p.physiology.seed
        if p.physiology.overrides:
            phys["overrides"] = dict(p.physiology.overrides)
        patient["physiology"] = phys
    return {"format": FORMAT, "patient": patient,
            "events": [event_to_dict(e) for e in timeline.events]}


# --------------------------------------------------------------------------- files

_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present


MAX_DEPTH: Final = 32  # nesting of lists and mappings in a timeline file
MAX_INT_DIGITS: Final = 30  # no figure in a timeline needs more digits
MAX_FILE_BYTES: Final = 20 * 1024 * 1024


class _Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """Safe YAML that keeps timestamps as text, so offsets are checked by our parser, and
    refuses a duplicate key and an integer of more than :data:`MAX_INT_DIGITS` digits."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base class reports it
                break
            if duplicate:
                raise _Refused(f"the key {str(key)[:40]!r} appears twice in one mapping "
                               f"(line {key_node.start_mark.line + 1})",
                               "keep one of them")
            seen.add(key)
        return dict(super().construct_mapping(node, deep=deep))

    def construct_yaml_int(self, node: Any) -> int:
        _check_digits(str(node.value))
        return int(super().construct_yaml_int(node))


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)


class _Refused(Exception):
    """A file refused before it is parsed as a timeline (message, fix)."""

    def __init__(self, message: str, fix: str) -> None:
        self.message, self.fix = message, fix
        super().__init__(message)


def _check_digits(text: str) -> None:
    digits = sum(ch.isdigit() for ch in text[:MAX_INT_DIGITS + 10])
    if digits > MAX_INT_DIGITS:
        raise _Refused(f"a number with more than {MAX_INT_DIGITS} digits",
                       "no timeline figure is that large; check the file")


def _json_int(text: str) -> int:
    _check_digits(text)
    return int(text)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"the key {key[:40]!r} appears twice in one object",
                           "keep one of them")
        result[key] = value
    return result


def _check_yaml_shape(text: str) -> None:
    """Refuse aliases (``*name``: an alias bomb expands a few hundred bytes to gigabytes) and
    nesting deeper than :data:`MAX_DEPTH`, from the event stream, before anything is built."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            raise _Refused("YAML aliases (*name) are not accepted in a timeline",
                           "write the value out where it is used")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels",
                               "a timeline is a mapping of events, a few levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_json_depth(text: str) -> None:
    """Nesting of ``[``/``{`` outside strings, counted without recursion."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels",
                               "a timeline is a mapping of events, a few levels deep")
        elif ch in "]}":
            depth -= 1


# YAML 1.1 reads an unquoted 07:30 as the base-60 number 450 and 2026-01-05T09:00 as a
# timestamp: both stay text here, so a clock time or an offset is never guessed.
_INT_NO_BASE60 = re.compile(r"""^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$""")
_Loader.yaml_implicit_resolvers = {
    key: [(tag, _INT_NO_BASE60 if tag == "tag:yaml.org,2002:int" else regexp)
          for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def loads(text: str, *, suffix: str = ".yaml", name: str = "<text>") -> Timeline:
    """Parse timeline text (JSON or YAML by ``suffix``); errors are prefixed with ``name``."""
    is_json = suffix.lower() == ".json"
    try:
        if is_json:
            _check_json_depth(text)
            data = json.loads(text, parse_int=_json_int, object_pairs_hook=_json_object)
        else:
            _check_yaml_shape(text)
            data = yaml.load(text, Loader=_Loader)
    except _Refused as exc:
        raise TimelineError(exc.message, where=name, fix=exc.fix) from None
    except (json.JSONDecodeError, yaml.YAMLError, ValueError, RecursionError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise TimelineError(f"not valid {'JSON' if is_json else 'YAML'}: {detail}",
                            where=name, fix="fix the syntax at the place named") from None
    try:
        return parse_timeline(data)
    except TimelineError as exc:
        raise exc.located(name) if exc.where else TimelineError(exc.message, where=name,
                                                               fix=exc.fix) from None


def load_timeline(path: str | Path) -> Timeline:
    """Load a timeline file (``.json``, ``.yaml`` or ``.yml``)."""
    p = Path(path)
    if p.suffix.lower() not in (".json", ".yaml", ".yml"):
        raise TimelineError("a timeline file ends in .json, .yaml or .yml", where=str(p))
    if p.is_file() and p.stat().st_size > MAX_FILE_BYTES:
        raise TimelineError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                            where=str(p), fix="a timeline file is a few kilobytes to megabytes")
    return loads(p.read_text(encoding="utf-8"), suffix=p.suffix, name=str(p))


def dumps(timeline: Timeline, *, fmt: Literal["yaml", "json"] = "yaml") -> str:
    data = timeline_to_dict(timeline)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_timeline(timeline: Timeline, path: str | Path) -> None:
    """Write a timeline atomically (temp file + rename); JSON or YAML by suffix."""
    p = Path(path)
    fmt: Literal["yaml", "json"] = "json" if p.suffix.lower() == ".json" else "yaml"
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(dumps(timeline, fmt=fmt), encoding="utf-8")
    tmp.replace(p)


# --------------------------------------------------------------------------- schema

def json_schema() -> dict[str, Any]:
    """The JSON Schema of timeline v1, generated from the event field tables."""
    common = {
        "at": {"type": "string", "format": "date-time",
               "description": "ISO 8601 with a UTC offset"},
        "id": {"type": "string", "pattern": _ID_RE.pattern},
        "by": {"type": "string"},
        "reason": {"type": "string"},
    }
    variants = []
    for etype, (_, specs) in EVENT_FIELDS.items():
        props: dict[str, Any] = {"type": {"const": etype}, **common}
        required = ["at", "type"]
        for spec in specs:
            props[spec.key] = spec.schema
            if spec.required:
                required.append(spec.key)
        if etype == "correction":
            props["event"] = {"$ref": "#/$defs/event"}
            required.append("event")
        variants.append({"title": etype, "type": "object", "additionalProperties": False,
                         "properties": props, "required": required})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://thecal.example/schema/timeline-1.json",
        "title": "thecal timeline, version 1",
        "type": "object",
        "additionalProperties": False,
        "required": ["format", "patient", "events"],
        "properties": {
            "format": {"const": FORMAT},
            "patient": {
                "type": "object", "additionalProperties": False,
                "required": ["id", "timezone", "etiology"],
                "properties": {
                    "id": {"type": ["string", "integer"]},
                    "born": {"type": "string", "format": "date"},
                    "sex": {"enum": ["female", "male", "other"]},
                    "weight_kg": {"type": "number", "exclusiveMinimum": 0},
                    "timezone": {"type": "string", "description": "IANA time zone"},
                    "etiology": {"enum": list(ETIOLOGIES)},
                    "physiology": {
                        "type": "object", "additionalProperties": False, "required": ["preset"],
                        "properties": {"preset": {"type": "string"},
                                       "seed": {"type": "integer", "minimum": 0},
                                       "overrides": {"type": "object",
                                                     "additionalProperties": {"type": "number"}}}},
                },
            },
            "events": {"type": "array", "items": {"$ref": "#/$defs/event"}},
        },
        "$defs": {"event": {"oneOf": variants}},
    }


__all__ = [
    "ASPIRATIONS",
    "BATTERY_STATES",
    "BOLUS_KINDS",
    "DEVICE_EVENTS",
    "ETIOLOGIES",
    "EVENT_FIELDS",
    "EVENT_TYPES",
    "FAULT_KINDS",
    "FORMAT",
    "MAS_GRADES",
    "MAS_MUSCLES",
    "MAS_MUSCLE_GROUPS",
    "PROGRAM_MODES",
    "PUMP_READ_STATES",
    "WITHDRAWAL_TOLERANCE_FRACTION",
    "AlarmAcknowledged",
    "Assessment",
    "Bolus",
    "CatheterRevision",
    "CatheterSpec",
    "Correction",
    "Diathermy",
    "Event",
    "Explant",
    "Fault",
    "FieldSpec",
    "FlexStep",
    "Implant",
    "Interrogation",
    "Mri",
    "Note",
    "OralBaclofen",
    "Patient",
    "PhysiologySpec",
    "Program",
    "Refill",
    "ReplacePump",
    "ScreeningDose",
    "Symptoms",
    "Timeline",
    "check_device_event",
    "dumps",
    "event_to_dict",
    "json_schema",
    "load_timeline",
    "loads",
    "parse_event",
    "parse_patient",
    "parse_timeline",
    "save_timeline",
    "timeline_to_dict",
    "validate",
    "withdrawal_limit_ml",
    "write_datetime"
]
