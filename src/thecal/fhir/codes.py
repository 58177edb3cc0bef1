"""Code systems and extension addresses thecal uses in FHIR R4.

No LOINC code was found for the Modified Ashworth Scale or the Penn Spasm Frequency Scale;
FHIR guides define local code systems for them, with "1+" a code of its own (clinical-facts
9.8: NINDS, REHAB-IG). thecal ships :func:`assessment_code_system`, a CodeSystem resource for
those scales and for the other local codes it writes (event types, bolus kinds, symptom codes).
"""

from __future__ import annotations

from typing import Any, Final

from thecal.timeline import BOLUS_KINDS, EVENT_TYPES, MAS_GRADES, MAS_MUSCLE_GROUPS

BASE: Final = "https://thecal.invalid/fhir"  # .invalid: a name no one can register (RFC 2606)
CS_ASSESSMENT: Final = f"{BASE}/CodeSystem/itb-assessment"
CS_EVENT: Final = f"{BASE}/CodeSystem/timeline-event"
CS_MAS: Final = f"{BASE}/CodeSystem/mas-grade"
CS_MAS_MUSCLE: Final = f"{BASE}/CodeSystem/mas-muscle-group"
CS_BOLUS: Final = f"{BASE}/CodeSystem/bolus-kind"
CS_SYMPTOM: Final = f"{BASE}/CodeSystem/symptom"
CS_FLAG: Final = f"{BASE}/CodeSystem/flag"
ID_PATIENT: Final = f"{BASE}/NamingSystem/patient-id"
ID_EVENT: Final = f"{BASE}/NamingSystem/event-id"
EXT: Final = f"{BASE}/StructureDefinition"
EXT_EVENT_TYPE: Final = f"{EXT}/event-type"
EXT_EVENT_INDEX: Final = f"{EXT}/event-index"
EXT_DETAIL: Final = f"{EXT}/event-detail"
EXT_CORRECTS: Final = f"{EXT}/corrects"
EXT_TIMEZONE: Final = f"{EXT}/timezone"
EXT_ETIOLOGY: Final = f"{EXT}/etiology"
EXT_PHYSIOLOGY: Final = f"{EXT}/physiology"
EXT_WEIGHT: Final = f"{EXT}/weight-kg"
EXT_CONCENTRATION: Final = f"{EXT}/concentration"
EXT_WITHDRAWN: Final = f"{EXT}/withdrawn"
EXT_CATHETER_LENGTH: Final = f"{EXT}/catheter-length"
UCUM: Final = "http://unitsofmeasure.org"
SNOMED: Final = "http://snomed.info/sct"
LOINC: Final = "http://loinc.org"
HL7_TIMEZONE: Final = "http://hl7.org/fhir/StructureDefinition/timezone"  # valueCode, an IANA zone
V2_IDENTIFIER_TYPE: Final = "http://terminology.hl7.org/CodeSystem/v2-0203"
ALLERGY_CLINICAL: Final = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION: Final = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"

# SNOMED CT and LOINC codes thecal writes or recognises (each read in public FHIR material;
# everything else is recognised by its words).
SCT_NO_KNOWN_ALLERGY: Final = "716186003"  # No known allergy (situation)
SCT_BACLOFEN: Final = "387342009"  # Baclofen (substance)
SCT_INTRATHECAL: Final = "72607000"  # Intrathecal route
SCT_MRI: Final = "113091000"  # Magnetic resonance imaging (procedure)
SCT_ETIOLOGY: Final = {"24700007": "multiple-sclerosis", "128188000": "cerebral-palsy",
                       "230690007": "stroke", "127295002": "brain-injury"}
LOINC_BODY_WEIGHT: Final = "29463-7"

MAS_DISPLAY: Final = {"0": "no increase in tone", "1": "slight increase, catch and release",
                      "1+": "slight increase, catch and minimal resistance",
                      "2": "more marked increase through most of the range",
                      "3": "considerable increase, passive movement difficult", "4": "rigid"}
ASSESSMENT_CODES: Final = {
    "itb-assessment": "Spasticity assessment at an ITB visit",
    "mas": "Modified Ashworth Scale grade",
    "penn-frequency": "Penn Spasm Frequency Scale (0–4)",
    "penn-severity": "Penn spasm severity (1–3)",
    "symptom-report": "Patient-reported symptoms",
    "pump-interrogation": "Pump interrogation readings",
    "alarm-acknowledged": "Pump alarm acknowledged",
    "note": "Clinic note",
    "simulated-fault": "Injected device fault (simulation only)",
    "reservoir": "Reservoir volume read from the pump",
    "alarm": "Active pump alarm",
}


def assessment_code_system() -> dict[str, Any]:
    """The local CodeSystem for the scales and observations (a FHIR R4 CodeSystem resource)."""
    return {
        "resourceType": "CodeSystem", "id": "itb-assessment", "url": CS_ASSESSMENT,
        "name": "ThecalItbAssessment", "status": "active", "content": "complete",
        "description": "Local codes for ITB spasticity assessments (no LOINC code exists for MAS or "
                       "Penn; NINDS, REHAB-IG) and the other observations thecal records.",
        "concept": [{"code": c, "display": d} for c, d in ASSESSMENT_CODES.items()],
    }


def mas_code_system() -> dict[str, Any]:
    return {"resourceType": "CodeSystem", "id": "mas-grade", "url": CS_MAS, "name": "ThecalMasGrade",
            "status": "active", "content": "complete",
            "description": "Modified Ashworth Scale grades; 1+ is a grade of its own (REHAB-IG).",
            "concept": [{"code": g, "display": MAS_DISPLAY[g]} for g in MAS_GRADES]}


MUSCLE_WORDS: Final = {g: g.replace("-", " ") for g in MAS_MUSCLE_GROUPS}


def mas_muscle_code_system() -> dict[str, Any]:
    """One code per muscle group and side: "the Modified Ashworth grade of this group"."""
    return {"resourceType": "CodeSystem", "id": "mas-muscle-group", "url": CS_MAS_MUSCLE,
            "name": "ThecalMasMuscleGroup", "status": "active", "content": "complete",
            "description": "Modified Ashworth grade of one muscle group on one side (MAS is graded per "
                           "muscle group: MAS-Y, REHAB-IG); the value is a code of the mas-grade system.",
            "concept": [{"code": g, "display": f"Modified Ashworth grade, {w}"} for g, w in MUSCLE_WORDS.items()]}


def event_code_system() -> dict[str, Any]:
    return {"resourceType": "CodeSystem", "id": "timeline-event", "url": CS_EVENT, "name": "ThecalTimelineEvent",
            "status": "active", "content": "complete",
            "concept": [{"code": t} for t in EVENT_TYPES] + [{"code": f"bolus-{k}"} for k in BOLUS_KINDS]}
