"""Allergies, current oral antispasticity medicines, and medication reconciliation.

* An allergy to baclofen is a contraindication to ITB (FDA-LAB): recorded on the chart it
  answers the eligibility question, whatever a form says (:func:`baclofen_allergy_recorded`).
* "No known allergies" is a statement someone makes and signs, never the default: a chart
  with nothing recorded says the allergies are not recorded (:func:`allergy_status`).
* Oral antispasticity medicines are kept with their doses; a switch between oral and
  intrathecal baclofen that nobody reconciled has been followed by withdrawal (JARKMS20), so
  every implant, pump replacement and hospital admission asks for a reconciliation
  (:func:`reconciliations_due`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from thecal.errors import InputError
from thecal.limits import Reason, Severity
from thecal.units import DOSE, parse_quantity

# Oral antispasticity medicines a clinic records beside ITB (code: words).
ORAL_ANTISPASTICITY: Final[dict[str, str]] = {
    "baclofen-oral": "baclofen (oral)",
    "tizanidine": "tizanidine",
    "dantrolene": "dantrolene",
    "diazepam": "diazepam",
    "gabapentin": "gabapentin",
    "clonazepam": "clonazepam",
}
BACLOFEN_WORDS: Final = ("baclofen", "lioresal", "gablofen")
MAX_TIMES_PER_DAY: Final = 12


class Occasion(StrEnum):
    """When medicines must be reconciled (JARKMS20)."""

    IMPLANT = "implant"
    PUMP_REPLACEMENT = "pump-replacement"
    ADMISSION = "hospital-admission"


OCCASION_WORDS: Final = {Occasion.IMPLANT: "implant", Occasion.PUMP_REPLACEMENT:
                         "pump replacement", Occasion.ADMISSION: "hospital admission"}


class AllergyStatus(StrEnum):
    RECORDED = "allergies-recorded"
    NONE_KNOWN = "no-known-allergies"
    NOT_RECORDED = "not-recorded"


@dataclass(frozen=True)
class AllergyFact:
    kind: str  # allergy | no-known-allergies
    substance: str
    recorded_at: datetime


@dataclass(frozen=True)
class OralDose:
    """One oral medicine's dose: ``dose_mg`` each time, ``times_per_day``."""

    drug: str
    dose_mg: float
    times_per_day: int

    @property
    def daily_dose_mg(self) -> float:
        return self.dose_mg * self.times_per_day


def is_baclofen(substance: str) -> bool:
    text = substance.strip().lower()
    return any(word in text for word in BACLOFEN_WORDS)


def check_substance(substance: str) -> str:
    text = (substance or "").strip()
    if not text or len(text) > 200:
        raise InputError("name the substance (1–200 characters)", where="substance",
                         fix="e.g. baclofen, penicillin, latex")
    return text


def allergy_status(facts: Iterable[AllergyFact]) -> AllergyStatus:
    """Allergies recorded, "no known allergies" stated, or nothing recorded.

    A "no known allergies" statement older than a recorded allergy never hides it.
    """
    kinds = {f.kind for f in facts}
    if "allergy" in kinds:
        return AllergyStatus.RECORDED
    if "no-known-allergies" in kinds:
        return AllergyStatus.NONE_KNOWN
    return AllergyStatus.NOT_RECORDED


def baclofen_allergy_recorded(facts: Iterable[AllergyFact]) -> bool:
    """A recorded allergy to baclofen: a contraindication to ITB (FDA-LAB)."""
    return any(f.kind == "allergy" and is_baclofen(f.substance) for f in facts)


def parse_oral_dose(drug: str, dose: str, times_per_day: int) -> OralDose:
    """An oral dose from the edge: ``drug`` a code of :data:`ORAL_ANTISPASTICITY`, ``dose``
    text with a unit (``"10 mg"``), ``times_per_day`` 1–12."""
    if drug not in ORAL_ANTISPASTICITY:
        raise InputError(f"unknown oral medicine {drug!r}", where="drug",
                         fix="use one of: " + ", ".join(ORAL_ANTISPASTICITY))
    try:
        mg = parse_quantity(dose, DOSE) / 1000.0
    except InputError as exc:
        raise InputError(exc.message, where="dose", fix="write the dose with its unit, "
                         "e.g. 10 mg") from None
    if mg <= 0:
        raise InputError("the dose must be more than zero", where="dose", fix="e.g. 10 mg")
    if isinstance(times_per_day, bool) or not isinstance(times_per_day, int) \
            or not 1 <= times_per_day <= MAX_TIMES_PER_DAY:
        raise InputError("times a day must be a whole number from 1 to 12",
                         where="times_per_day", fix="e.g. 3")
    return OralDose(drug, mg, times_per_day)


@dataclass(frozen=True)
class ReconciliationDue:
    """An occasion (implant, pump replacement) with no reconciliation recorded after it."""

    occasion: Occasion
    at: datetime
    reason: Reason


def reconciliations_due(occasions: Sequence[tuple[Occasion, datetime]],
                        reconciled: Sequence[tuple[Occasion, datetime]]
                        ) -> tuple[ReconciliationDue, ...]:
    """The occasions not yet reconciled: each implant or pump replacement needs a
    reconciliation of that occasion recorded for it (its ``occasion_at`` at or after it)."""
    due = []
    for occasion, at in occasions:
        done = any(o is occasion and when >= at for o, when in reconciled)
        if not done:
            due.append(ReconciliationDue(occasion, at, Reason(
                "medication-reconciliation-due",
                f"medication reconciliation due after the {OCCASION_WORDS[occasion]}: "
                "check the oral baclofen and other antispasticity medicines against the "
                "intrathecal dose", "JARKMS20", Severity.WARNING)))
    return tuple(due)
