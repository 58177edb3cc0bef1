"""Guardrails and advice that carries its reasons.

A rule or calculator returns an :class:`Advice`: its value plus the :class:`Reason` objects
that shaped it, each with a code, words and a source key (DESIGN.md, "Advice carries its
reasons"; safety-requirements DM-3, DM-8, DM-9).

A :class:`Guardrail` has absolute bounds, which can never be overridden, and recommended
bounds inside them, which can be overridden with a recorded reason (the LoopKit pattern).
Several limits combine as the most restrictive, and every limiting reason is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from thecal.errors import InputError
from thecal.sources import check_source

T = TypeVar("T")


class Severity(StrEnum):
    """How much a reason matters to the person reading it."""

    INFO = "info"
    WARNING = "warning"
    DANGER = "danger"


@dataclass(frozen=True)
class Reason:
    """Why a result is what it is: a stable code, words for people, and a source key."""

    code: str
    message: str
    source: str
    severity: Severity = Severity.INFO
    verified: bool = True

    def __post_init__(self) -> None:
        check_source(self.source)

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "source": self.source,
            "severity": self.severity.value,
            "verified": self.verified,
        }


@dataclass(frozen=True)
class Advice(Generic[T]):
    """A value together with the reasons that shaped it."""

    value: T
    reasons: tuple[Reason, ...] = ()

    def with_reason(self, reason: Reason) -> Advice[T]:
        return Advice(self.value, (*self.reasons, reason))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)


class Classification(StrEnum):
    """Where a value falls against a guardrail."""

    BELOW_ABSOLUTE = "below-absolute"
    BELOW_RECOMMENDED = "below-recommended"
    WITHIN = "within-recommended"
    ABOVE_RECOMMENDED = "above-recommended"
    ABOVE_ABSOLUTE = "above-absolute"

    @property
    def allowed(self) -> bool:
        """Absolute bounds can never be overridden."""
        return self not in (Classification.BELOW_ABSOLUTE, Classification.ABOVE_ABSOLUTE)

    @property
    def needs_override(self) -> bool:
        """Outside the recommended range but inside the absolute one: a reason must be given."""
        return self in (Classification.BELOW_RECOMMENDED, Classification.ABOVE_RECOMMENDED)


@dataclass(frozen=True)
class Guardrail:
    """Absolute bounds ⊇ recommended bounds, in one canonical unit, each with its source."""

    name: str
    unit: str
    absolute_min: float
    absolute_max: float
    recommended_min: float
    recommended_max: float
    source: str
    absolute_source: str = "ASSUMED"

    def __post_init__(self) -> None:
        check_source(self.source)
        check_source(self.absolute_source)
        ordered = (self.absolute_min <= self.recommended_min <= self.recommended_max
                   <= self.absolute_max)
        if not ordered:
            raise ValueError(f"guardrail {self.name}: bounds must nest (absolute ⊇ recommended)")

    def classify(self, value: float) -> Classification:
        if not math.isfinite(value):
            raise InputError(f"{self.name} must be a finite number, got {value!r}")
        if value < self.absolute_min:
            return Classification.BELOW_ABSOLUTE
        if value > self.absolute_max:
            return Classification.ABOVE_ABSOLUTE
        if value < self.recommended_min:
            return Classification.BELOW_RECOMMENDED
        if value > self.recommended_max:
            return Classification.ABOVE_RECOMMENDED
        return Classification.WITHIN

    def check(self, value: float, *, override_reason: str | None = None) -> GuardrailResult:
        """Classify ``value`` and say whether it may be used (with the override reason, if any)."""
        cls = self.classify(value)
        reasons: list[Reason] = []
        if cls is Classification.WITHIN:
            reasons.append(Reason(f"{self.name}-within-recommended",
                                  f"{self.name} {value:g} {self.unit} is within the recommended "
                                  f"{self.recommended_min:g}–{self.recommended_max:g} {self.unit}",
                                  self.source))
        elif cls.needs_override:
            side = "below" if cls is Classification.BELOW_RECOMMENDED else "above"
            reasons.append(Reason(f"{self.name}-{side}-recommended",
                                  f"{self.name} {value:g} {self.unit} is {side} the recommended "
                                  f"{self.recommended_min:g}–{self.recommended_max:g} {self.unit}; "
                                  "it needs a written reason",
                                  self.source, Severity.WARNING))
        else:
            side = "below" if cls is Classification.BELOW_ABSOLUTE else "above"
            reasons.append(Reason(f"{self.name}-{side}-absolute",
                                  f"{self.name} {value:g} {self.unit} is {side} the absolute "
                                  f"limit {self.absolute_min:g}–{self.absolute_max:g} {self.unit}; "
                                  "it cannot be overridden",
                                  self.absolute_source, Severity.DANGER))
        accepted = cls.allowed and (not cls.needs_override or bool(override_reason
                                                                   and override_reason.strip()))
        return GuardrailResult(value=value, classification=cls, accepted=accepted,
                               override_reason=override_reason if cls.needs_override else None,
                               reasons=tuple(reasons))

    def clamp(self, value: float) -> Advice[float]:
        """Clamp into the absolute bounds, never guessing: NaN is refused (DM-8)."""
        cls = self.classify(value)
        if cls is Classification.BELOW_ABSOLUTE:
            return Advice(self.absolute_min, self.check(value).reasons)
        if cls is Classification.ABOVE_ABSOLUTE:
            return Advice(self.absolute_max, self.check(value).reasons)
        return Advice(value, ())


@dataclass(frozen=True)
class GuardrailResult:
    value: float
    classification: Classification
    accepted: bool
    override_reason: str | None
    reasons: tuple[Reason, ...] = field(default=())


@dataclass(frozen=True)
class Limit:
    """One upper limit on a value, with the reason it exists."""

    value: float
    reason: Reason


def most_restrictive(requested: float, limits: list[Limit] | tuple[Limit, ...]) -> Advice[float]:
    """Combine upper limits as a minimum, keeping every reason that limited the request (DM-9).

    The most-limiting reason comes first.
    """
    if not math.isfinite(requested):
        raise InputError(f"requested value must be finite, got {requested!r}")
    limiting = sorted((lim for lim in limits if lim.value < requested), key=lambda lim: lim.value)
    if not limiting:
        return Advice(requested, ())
    return Advice(limiting[0].value, tuple(lim.reason for lim in limiting))
