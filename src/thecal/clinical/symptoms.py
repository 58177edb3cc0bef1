"""The symptom-code vocabulary (DESIGN.md, "Symptom codes") as data.

Each code has the groups it belongs to, words for patients and words for clinicians, and the
source of its grouping. Codes are kebab-case and used everywhere (files, API, pages, triage).
Some codes belong to more than one group (``lightheadedness``, ``dizziness``, ``headache``);
the triage (:mod:`thecal.clinical.triage`) weighs them with the pump's state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from thecal.errors import InputError
from thecal.sources import check_source

GROUPS: Final[dict[str, str]] = {
    "withdrawal-early": "early withdrawal / underdose",
    "withdrawal-severe": "severe withdrawal",
    "overdose": "overdose",
    "side-effect": "drug side effect",
    "after-surgery": "after surgery",
    "device": "device",
}


@dataclass(frozen=True)
class Symptom:
    """One symptom code with its groups and the words people read."""

    code: str
    groups: tuple[str, ...]
    patient_words: str
    clinician_words: str
    source: str

    def __post_init__(self) -> None:
        check_source(self.source)
        for group in self.groups:
            if group not in GROUPS:
                raise ValueError(f"symptom {self.code}: unknown group {group!r}")

    @property
    def ambiguous(self) -> bool:
        """True when the code belongs to more than one group."""
        return len(self.groups) > 1

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "groups": list(self.groups),
                "patient_words": self.patient_words, "clinician_words": self.clinician_words,
                "source": self.source}


_W_EARLY = "withdrawal-early"
_W_SEVERE = "withdrawal-severe"
_OD = "overdose"
_SE = "side-effect"
_SURG = "after-surgery"
_DEV = "device"

SYMPTOMS: Final[dict[str, Symptom]] = {s.code: s for s in (
    # Withdrawal, early / underdose (FDA-LAB boxed warning; NSWIKI; MEYTHALER03)
    Symptom("increased-spasticity", (_W_EARLY,),
            "My stiffness or spasms are back or worse",
            "increase or return of spasticity / spasms", "FDA-LAB"),
    Symptom("itching", (_W_EARLY,),
            "Itching, without a rash", "pruritus (without rash)", "FDA-LAB"),
    Symptom("low-blood-pressure", (_W_EARLY,),
            "Low blood pressure", "hypotension", "FDA-LAB"),
    Symptom("lightheadedness", (_W_EARLY, _OD),
            "Feeling light-headed or faint", "light-headedness", "FDA-LAB"),
    Symptom("tingling", (_W_EARLY,),
            "Tingling or pins and needles", "paraesthesia", "FDA-LAB"),
    # Withdrawal, severe (FDA-LAB; NSWIKI; COFFEY02)
    Symptom("high-fever", (_W_SEVERE,),
            "A high temperature (fever)", "high fever / hyperthermia", "FDA-LAB"),
    Symptom("changed-mental-status", (_W_SEVERE,),
            "Confused, not themselves, hard to wake or agitated",
            "altered mental status", "FDA-LAB"),
    Symptom("muscle-rigidity", (_W_SEVERE,),
            "Muscles very stiff and rigid", "exaggerated rebound spasticity / muscle rigidity",
            "FDA-LAB"),
    # Overdose (PILL, US label copy; clinical-facts 3.23)
    Symptom("drowsiness", (_OD,), "Very drowsy", "drowsiness / somnolence", "PILL"),
    Symptom("dizziness", (_OD, _SE), "Dizzy", "dizziness", "PILL"),
    Symptom("breathing-difficulty", (_OD,),
            "Slow, shallow or difficult breathing", "respiratory depression", "PILL"),
    Symptom("low-body-temperature", (_OD,),
            "Body feels cold, low temperature", "hypothermia", "PILL"),
    Symptom("seizures", (_OD,), "A seizure (fit)", "seizures", "PILL"),
    Symptom("loss-of-consciousness", (_OD,),
            "Fainted or passed out", "loss of consciousness", "PILL"),
    Symptom("coma", (_OD,), "Cannot be woken", "coma", "PILL"),
    # Drug side effects (GAB-PT patient page; STATPEARLS)
    Symptom("loose-muscles", (_SE,),
            "Muscles too loose or floppy, legs give way", "hypotonia", "GAB-PT"),
    Symptom("sleepiness", (_SE,), "Sleepy", "sleepiness", "GAB-PT"),
    Symptom("upset-stomach", (_SE,), "Upset stomach or nausea", "nausea", "GAB-PT"),
    Symptom("vomiting", (_SE,), "Vomiting (being sick)", "vomiting", "GAB-PT"),
    Symptom("headache", (_SE, _SURG), "Headache", "headache", "GAB-PT"),
    # After surgery (GIL discharge information)
    Symptom("fever", (_SURG,), "A temperature (fever)", "fever", "GIL"),
    Symptom("incision-redness", (_SURG,),
            "Redness around a wound", "erythema at an incision", "GIL"),
    Symptom("incision-swelling", (_SURG,),
            "Swelling around a wound or the pump", "swelling at an incision / pump pocket", "GIL"),
    Symptom("incision-pain", (_SURG,),
            "Pain at a wound that is getting worse", "incisional pain", "GIL"),
    Symptom("bleeding", (_SURG,), "Bleeding from a wound", "wound bleeding", "GIL"),
    Symptom("bruising", (_SURG,), "Bruising around a wound", "bruising", "GIL"),
    Symptom("clear-fluid-leak", (_SURG,),
            "Clear fluid leaking from a wound, or a swelling of fluid over the back or pump",
            "possible CSF leak (clear drainage, fluid collection)", "GIL"),
    Symptom("stiff-neck", (_SURG,), "A stiff neck", "neck stiffness (meningism)", "GIL"),
    Symptom("new-weakness-or-numbness", (_SURG,),
            "New weakness or numbness", "new motor or sensory deficit", "GIL"),
    # Device (M-PUMP, M-ADV, GIL)
    Symptom("pump-alarm-single-tone", (_DEV,),
            "The pump beeps (a single tone)",
            "non-critical alarm (low reservoir, elective replacement, memory)", "M-PUMP"),
    Symptom("pump-alarm-two-tone", (_DEV,),
            "The pump sounds a two-tone alarm",
            "critical alarm (empty reservoir, end of service, motor stall, critical memory "
            "error): the medicine is no longer flowing", "M-PUMP"),
    Symptom("skin-breakdown-over-pump", (_DEV,),
            "The skin over the pump is thin, broken or sore",
            "skin erosion over the pump", "GIL"),
    Symptom("pump-moved", (_DEV,),
            "The pump seems to have moved or turned", "pump migration / flip", "GIL"),
)}

SYMPTOM_CODES: Final[tuple[str, ...]] = tuple(SYMPTOMS)


def known_codes_text() -> str:
    """The known symptom codes, comma-separated (for error messages)."""
    return ", ".join(SYMPTOM_CODES)


def symptom(code: str) -> Symptom:
    """The :class:`Symptom` for ``code``; an unknown code raises :class:`InputError`."""
    try:
        return SYMPTOMS[code]
    except (KeyError, TypeError):
        raise InputError(f"unknown symptom code {code!r}",
                         fix="use one of: " + known_codes_text()) from None


def check_symptom_codes(codes: Iterable[str]) -> tuple[str, ...]:
    """Validate codes, dropping repeats but keeping first-seen order."""
    seen: dict[str, None] = {}
    for code in codes:
        seen.setdefault(symptom(code).code, None)
    return tuple(seen)


def codes_in_group(group: str) -> tuple[str, ...]:
    """Every code that belongs to ``group``."""
    if group not in GROUPS:
        raise InputError(f"unknown symptom group {group!r}", fix="use one of: " + ", ".join(GROUPS))
    return tuple(s.code for s in SYMPTOMS.values() if group in s.groups)


# Headings for patients and carers, one per group (the pages list each code under its first
# group; the words are the project's own).
GROUP_PATIENT_WORDS: Final[dict[str, str]] = {
    "withdrawal-early": "Signs that too little medicine may be reaching the spine",
    "withdrawal-severe": "Serious signs: the medicine may have stopped",
    "overdose": "Signs that too much medicine may be reaching the spine",
    "side-effect": "Side effects",
    "after-surgery": "After an operation on the pump or tube",
    "device": "The pump itself",
}
