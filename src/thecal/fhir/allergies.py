"""AllergyIntolerance in and out of thecal's allergy records (both importers read them here).

A refuted, entered-in-error or resolved entry is not an allergy on the chart: it is listed in the
import notes, not kept. "No known allergies" is SNOMED CT 716186003 or the words (NKA, NKDA).
"""

from __future__ import annotations

import re
from typing import Any, Final

from thecal.fhir import codes as c
from thecal.fhir.common import codes, codings, instant, label, words
from thecal.fhir.records import AllergyRecord

_NONE_KNOWN: Final = re.compile(r"\bno known (drug )?allerg|\bnkda\b|\bnka\b")


def _status(concept: Any) -> str:
    found = [str(x.get("code")) for x in codings(concept) if x.get("code")]
    return found[0] if found else ""


def read_allergy(resource: dict[str, Any], where: str) -> tuple[AllergyRecord | None, str]:
    """The allergy record, or None and why it is not one."""
    verification = _status(resource.get("verificationStatus"))
    if verification in ("refuted", "entered-in-error"):
        return None, f"verification status {verification}: not an allergy on the chart"
    clinical = _status(resource.get("clinicalStatus"))
    if clinical in ("inactive", "resolved"):
        return None, f"clinical status {clinical}: not a current allergy"
    concept = resource.get("code")
    text = words(concept)
    by = ""
    recorder = resource.get("recorder")
    if isinstance(recorder, dict) and isinstance(recorder.get("display"), str):
        by = recorder["display"]
    written = resource.get("recordedDate")
    # a recorded date without a time (common in EHRs) is not kept rather than given an invented time
    recorded = instant(written, f"{where}.recordedDate") if isinstance(written, str) and "T" in written else None
    if (c.SNOMED, c.SCT_NO_KNOWN_ALLERGY) in codes(concept) or _NONE_KNOWN.search(text):
        return AllergyRecord("no-known-allergies", label(concept) or "no known allergies", "", recorded, by), \
            "no known allergies"
    substance = label(concept)
    if not substance:
        return None, "the allergy names no substance (code.text or a coding's display)"
    reactions = [label(m) for r in resource.get("reaction", []) if isinstance(r, dict)
                 for m in r.get("manifestation", [])]
    reaction = "; ".join(x for x in reactions if x)
    return AllergyRecord("allergy", str(substance), reaction, recorded, by), f"allergy to {substance}"
