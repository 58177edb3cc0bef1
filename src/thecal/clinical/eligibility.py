"""Eligibility for intrathecal baclofen: is this person a candidate, not yet, or not at all?

:func:`assess_eligibility` reads a candidate record (a mapping, e.g. from a YAML file) and
judges each criterion separately, with patient and clinician words and a source. Missing
information is never read as a pass: a criterion whose information is missing is ``unknown``,
and the verdict is ``candidate`` only when every criterion passes.

Verdict, most decisive first: ``not-a-candidate`` (a criterion excludes ITB) →
``needs-information`` (something required is unknown) → ``not-yet`` (something must happen
first: the screening trial, treating an infection, waiting after a brain injury) →
``candidate``.

Record fields (snake_case; unknown fields are refused so a typo is never silently "missing"):

``etiology``                 one of :data:`thecal.clinical.etiology.ETIOLOGIES`
``spasticity_severity``      ``mild`` | ``moderate`` | ``severe``
``spasticity_interferes``    true if spasticity interferes with function, care, comfort or sleep
``oral_baclofen``            ``{tried, inadequate_response, intolerable_side_effects}`` (bools)
``months_since_brain_injury`` number (needed when the etiology is ``brain-injury``)
``screening_result``         ``positive`` | ``negative`` | ``not-done``
``expected_pump_depth``      text with a unit, e.g. ``"1.5 cm"`` (body habitus)
``active_infection``         bool
``baclofen_allergy``         bool
``age_years``                number
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from thecal.clinical.etiology import ETIOLOGIES
from thecal.errors import InputError
from thecal.sources import check_source
from thecal.units import LENGTH, parse_quantity

MAX_PUMP_DEPTH_CM: Final = 2.5  # LIO-SCR, M-CANCER: contraindicated deeper than 2.5 cm
MIN_AGE_YEARS: Final = 4.0  # RXL-GAB: Gablofen indicated from 4 years
MIN_MONTHS_AFTER_BRAIN_INJURY: Final = 12.0  # RXL-GAB, LIO-SCR: wait ≥ 1 year after TBI

FIELDS: Final = ("etiology", "spasticity_severity", "spasticity_interferes", "oral_baclofen",
                 "months_since_brain_injury", "screening_result", "expected_pump_depth",
                 "active_infection", "baclofen_allergy", "age_years")
ORAL_FIELDS: Final = ("tried", "inadequate_response", "intolerable_side_effects")
_ALLOWED_EXTRA: Final = frozenset({"id", "name", "notes", "format"})


class Outcome(StrEnum):
    """The outcome of one criterion."""

    PASS = "pass"
    NOT_YET = "not-yet"
    EXCLUDES = "excludes"
    UNKNOWN = "unknown"


class Verdict(StrEnum):
    CANDIDATE = "candidate"
    NOT_YET = "not-yet"
    NOT_A_CANDIDATE = "not-a-candidate"
    NEEDS_INFORMATION = "needs-information"


@dataclass(frozen=True)
class Criterion:
    """One criterion's outcome, in words for the patient and for the clinician."""

    code: str
    outcome: Outcome
    patient_words: str
    clinician_words: str
    source: str
    verified: bool = True

    def __post_init__(self) -> None:
        check_source(self.source)

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "outcome": self.outcome.value,
                "patient_words": self.patient_words, "clinician_words": self.clinician_words,
                "source": self.source, "verified": self.verified}


@dataclass(frozen=True)
class EligibilityResult:
    verdict: Verdict
    criteria: tuple[Criterion, ...]

    def by_outcome(self, outcome: Outcome) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.outcome is outcome)

    def as_dict(self) -> dict[str, object]:
        return {"verdict": self.verdict.value,
                "criteria": [c.as_dict() for c in self.criteria]}


# --- reading the record ---------------------------------------------------------------------

def _bool(record: Mapping[str, Any], key: str, where: str = "") -> bool | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InputError(f"{value!r} is not true or false", where=f"{where}{key}",
                         fix="write true or false, or leave the field out if unknown")
    return value


def _number(record: Mapping[str, Any], key: str) -> float | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0:
        raise InputError(f"{value!r} is not a number of zero or more", where=key,
                         fix="write a plain number, e.g. 18")
    return float(value)


def _choice(record: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if value not in choices:
        raise InputError(f"{value!r} is not allowed", where=key,
                         fix="use one of: " + ", ".join(choices))
    return str(value)


def _check_fields(record: Mapping[str, Any]) -> None:
    if not isinstance(record, Mapping):
        raise InputError("the candidate record must be a mapping of field to value",
                         fix="write a YAML/JSON object with fields such as etiology: stroke")
    unknown = sorted(str(k) for k in record if k not in FIELDS and k not in _ALLOWED_EXTRA)
    if unknown:
        raise InputError(f"unknown field(s): {', '.join(unknown)}",
                         fix="use: " + ", ".join(FIELDS))
    oral = record.get("oral_baclofen")
    if oral is not None:
        if not isinstance(oral, Mapping):
            raise InputError("oral_baclofen must be a mapping", where="oral_baclofen",
                             fix="e.g. {tried: true, inadequate_response: true, "
                                 "intolerable_side_effects: false}")
        extra = sorted(str(k) for k in oral if k not in ORAL_FIELDS)
        if extra:
            raise InputError(f"unknown field(s): {', '.join(extra)}", where="oral_baclofen",
                             fix="use: " + ", ".join(ORAL_FIELDS))


# --- the criteria ---------------------------------------------------------------------------

def _unknown(code: str, what: str, source: str) -> Criterion:
    return Criterion(code, Outcome.UNKNOWN, f"We still need to know: {what}.",
                     f"Missing information: {what}; not assumed to pass.", source)


def _severity(record: Mapping[str, Any]) -> Criterion:
    code, src = "severe-spasticity", "RXL-GAB"
    severity = _choice(record, "spasticity_severity", ("mild", "moderate", "severe"))
    if severity is None:
        return _unknown(code, "how severe the spasticity is", src)
    if severity == "severe":
        return Criterion(code, Outcome.PASS, "The stiffness is severe.",
                         "Severe spasticity: within the indication.", src)
    return Criterion(code, Outcome.EXCLUDES,
                     "ITB is meant for severe stiffness; other treatments come first.",
                     f"{severity.capitalize()} spasticity: outside the labelled indication "
                     "(severe spasticity).", src)


def _interference(record: Mapping[str, Any]) -> Criterion:
    code, src = "spasticity-interferes", "B-SCREEN"
    interferes = _bool(record, "spasticity_interferes")
    if interferes is None:
        return _unknown(code, "whether the stiffness gets in the way of daily life", src)
    if interferes:
        return Criterion(code, Outcome.PASS,
                         "The stiffness gets in the way of movement, care, comfort or sleep.",
                         "Spasticity interferes with function, care, comfort or sleep: "
                         "treatment goals can be set.", src, verified=False)
    return Criterion(code, Outcome.EXCLUDES,
                     "If the stiffness does not get in the way, a pump is not worth its risks.",
                     "No functional, care or comfort goal: ITB not indicated.", src,
                     verified=False)


def _oral(record: Mapping[str, Any]) -> Criterion:
    code, src = "oral-baclofen-insufficient", "RXL-GAB"
    oral = record.get("oral_baclofen")
    if oral is None:
        return _unknown(code, "whether baclofen tablets were tried and how they worked", src)
    tried = _bool(oral, "tried", "oral_baclofen.")
    inadequate = _bool(oral, "inadequate_response", "oral_baclofen.")
    side = _bool(oral, "intolerable_side_effects", "oral_baclofen.")
    if tried is False:
        return Criterion(code, Outcome.NOT_YET, "Baclofen tablets are usually tried first.",
                         "Oral baclofen not yet tried: ITB is for patients unresponsive to, or "
                         "intolerant of, oral baclofen.", src)
    if tried is None:
        return _unknown(code, "whether baclofen tablets were tried", src)
    if inadequate or side:
        why = " and ".join(w for w, flag in (("did not help enough", inadequate),
                                             ("caused side effects that could not be "
                                              "tolerated", side)) if flag)
        return Criterion(code, Outcome.PASS, f"Baclofen tablets {why}.",
                         "Oral baclofen tried: " + ", ".join(
                             w for w, flag in (("inadequate response", inadequate),
                                               ("intolerable CNS side effects", side)) if flag)
                         + ".", src)
    if inadequate is None or side is None:
        return _unknown(code, "how well baclofen tablets worked and whether they caused side "
                        "effects", src)
    return Criterion(code, Outcome.EXCLUDES,
                     "Baclofen tablets work and are tolerated, so a pump is not needed now.",
                     "Oral baclofen effective and tolerated: ITB not indicated.", src)


def _etiology(record: Mapping[str, Any]) -> tuple[Criterion, ...]:
    src = "RXL-GAB"
    etiology = _choice(record, "etiology", ETIOLOGIES)
    if etiology is None:
        return (_unknown("etiology-known", "the cause of the spasticity", src),)
    known = Criterion("etiology-known", Outcome.PASS, "The cause of the stiffness is known.",
                      f"Etiology {etiology}.", src)
    if etiology != "brain-injury":
        return (known,)
    code = "time-since-brain-injury"
    months = _number(record, "months_since_brain_injury")
    if months is None:
        return (known, _unknown(code, "how many months ago the brain injury happened", src))
    if months < MIN_MONTHS_AFTER_BRAIN_INJURY:
        return (known, Criterion(code, Outcome.NOT_YET,
                                 "After a brain injury, ITB is considered once a year has passed.",
                                 f"{months:g} months since traumatic brain injury: wait at least "
                                 f"{MIN_MONTHS_AFTER_BRAIN_INJURY:g} months.", src))
    return (known, Criterion(code, Outcome.PASS, "More than a year since the brain injury.",
                             f"{months:g} months since traumatic brain injury (≥ 12).", src))


def _age(record: Mapping[str, Any]) -> Criterion:
    code, src = "age", "RXL-GAB"
    age = _number(record, "age_years")
    if age is None:
        return _unknown(code, "the age", src)
    if age < MIN_AGE_YEARS:
        return Criterion(code, Outcome.NOT_YET, "ITB is approved from the age of 4.",
                         f"Age {age:g} y: below the labelled age of 4 years.", src)
    return Criterion(code, Outcome.PASS, "Old enough for ITB.", f"Age {age:g} y (≥ 4).", src)


def _screening(record: Mapping[str, Any]) -> Criterion:
    code, src = "screening-response", "B-SCREEN"
    result = _choice(record, "screening_result", ("positive", "negative", "not-done"))
    if result is None:
        return _unknown(code, "whether a test dose (screening trial) was done and its result",
                        src)
    if result == "positive":
        return Criterion(code, Outcome.PASS, "The test dose helped.",
                         "Positive screening trial.", src)
    if result == "negative":
        return Criterion(code, Outcome.EXCLUDES,
                         "The test doses did not help enough, so a pump is unlikely to help.",
                         "No response to screening up to 100 mcg: not a candidate.", "CCN",
                         verified=False)
    return Criterion(code, Outcome.NOT_YET, "The next step is a test dose in hospital.",
                     "Screening trial not yet done (50, 75, 100 mcg ≥ 24 h apart).", src)


def _depth(record: Mapping[str, Any]) -> Criterion:
    code, src = "pump-depth", "LIO-SCR"
    raw = record.get("expected_pump_depth")
    if raw is None:
        return _unknown(code, "how deep under the skin the pump would sit (body build)", src)
    try:
        depth = parse_quantity(raw, LENGTH)
    except InputError as exc:
        raise exc.located("expected_pump_depth") from None
    if depth > MAX_PUMP_DEPTH_CM:
        return Criterion(code, Outcome.EXCLUDES,
                         "The pump would sit too deep under the skin to be refilled safely.",
                         f"Expected pump depth {depth:g} cm > {MAX_PUMP_DEPTH_CM:g} cm: "
                         "contraindicated.", src)
    return Criterion(code, Outcome.PASS, "The pump can sit close enough under the skin.",
                     f"Expected pump depth {depth:g} cm (≤ {MAX_PUMP_DEPTH_CM:g} cm).", src)


def _infection(record: Mapping[str, Any]) -> Criterion:
    code, src = "no-active-infection", "LIO-SCR"
    infected = _bool(record, "active_infection")
    if infected is None:
        return _unknown(code, "whether there is an infection now", src)
    if infected:
        return Criterion(code, Outcome.NOT_YET, "An infection must be treated before surgery.",
                         "Active infection: implant after it has resolved.", src, verified=False)
    return Criterion(code, Outcome.PASS, "No infection now.", "No active infection.", src,
                     verified=False)


def _allergy(record: Mapping[str, Any]) -> Criterion:
    code, src = "no-baclofen-allergy", "FDA-LAB"
    allergy = _bool(record, "baclofen_allergy")
    if allergy is None:
        return _unknown(code, "whether there is an allergy to baclofen", src)
    if allergy:
        return Criterion(code, Outcome.EXCLUDES, "An allergy to baclofen rules out ITB.",
                         "Hypersensitivity to baclofen: contraindicated.", src, verified=False)
    return Criterion(code, Outcome.PASS, "No allergy to baclofen.",
                     "No known hypersensitivity to baclofen.", src, verified=False)


def assess_eligibility(record: Mapping[str, Any]) -> EligibilityResult:
    """Judge a candidate record; see the module docstring for fields and verdicts."""
    _check_fields(record)
    criteria = (_severity(record), _interference(record), *_etiology(record), _oral(record),
                _age(record), _allergy(record), _infection(record), _depth(record),
                _screening(record))
    outcomes = {c.outcome for c in criteria}
    if Outcome.EXCLUDES in outcomes:
        verdict = Verdict.NOT_A_CANDIDATE
    elif Outcome.UNKNOWN in outcomes:
        verdict = Verdict.NEEDS_INFORMATION
    elif Outcome.NOT_YET in outcomes:
        verdict = Verdict.NOT_YET
    else:
        verdict = Verdict.CANDIDATE
    return EligibilityResult(verdict=verdict, criteria=criteria)
