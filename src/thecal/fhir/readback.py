"""Read back a Bundle that thecal wrote (:mod:`thecal.fhir.export`): lossless.

Every primary resource carries ``event-type`` and ``event-index``; what FHIR has no element for
is in ``event-detail``. The derived resources (devices, flags, appointments, the refill's
Procedure, provenance) are rebuilt on export, so they are noted as ``derived`` and not read;
AllergyIntolerance is read into the allergy records.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from thecal.errors import InputError
from thecal.fhir import codes as c
from thecal.fhir.allergies import read_allergy
from thecal.fhir.common import exts, plain, ref_name
from thecal.fhir.records import Draft

_OBS_TYPE = {"itb-assessment": "assessment", "symptom-report": "symptoms", "pump-interrogation": "interrogation",
             "alarm-acknowledged": "alarm-acknowledged", "note": "note", "simulated-fault": "fault"}


def written_by_thecal(resources: list[dict[str, Any]]) -> bool:
    """A Bundle thecal wrote: some resource carries the ``event-type`` extension, or the Patient
    carries thecal's time zone and etiology extensions."""
    for r in resources:
        ext = exts(r)
        if c.EXT_EVENT_TYPE in ext or (r.get("resourceType") == "Patient" and c.EXT_ETIOLOGY in ext
                                        and c.EXT_TIMEZONE in ext):
            return True
    return False


def _qv(q: dict[str, Any], unit: str, where: str) -> str:
    if q.get("code", q.get("unit")) != unit:
        raise InputError(f"expected a quantity in {unit}, got {q.get('code') or q.get('unit')!r}", where=where)
    shown = {"ug/d": "mcg/day", "mg/d": "mg/day", "ug/mL": "mcg/mL", "ug": "mcg"}.get(unit, unit)
    return f"{plain(float(q['value']))} {shown}"


def _timing(resource: dict[str, Any], prefix: str, d: dict[str, Any]) -> None:
    """``at`` from ``<prefix>DateTime``, or ``at`` and ``duration`` from ``<prefix>Period``."""
    period = resource.get(f"{prefix}Period")
    if period is None:
        d["at"] = resource[f"{prefix}DateTime"]
        return
    start, end = datetime.fromisoformat(period["start"]), datetime.fromisoformat(period["end"])
    d["at"] = period["start"]
    d["duration"] = f"{plain((end - start).total_seconds() / 60)} min"


def _event_dict(resource: dict[str, Any], where: str) -> dict[str, Any]:
    ext = exts(resource)
    etype = ext[c.EXT_EVENT_TYPE]["valueCode"]
    detail: dict[str, Any] = json.loads(ext[c.EXT_DETAIL]["valueString"]) if c.EXT_DETAIL in ext else {}
    outer = None
    if etype == "correction":
        outer = detail.get("correction", {})
        detail = detail.get("event", {})
    kind = resource["resourceType"]
    d: dict[str, Any] = {}
    if kind == "Procedure":
        d["type"] = resource["code"]["coding"][0]["code"]
        _timing(resource, "performed", d)
    elif kind == "MedicationAdministration":
        code = resource["category"]["coding"][0]["code"]
        dose = resource.get("dosage", {}).get("dose")
        _timing(resource, "effective", d)
        if code == "refill":
            d["type"] = "refill"
            d["added"] = _qv(dose, "mL", f"{where}.dosage.dose")
            d["withdrawn"] = _qv(ext[c.EXT_WITHDRAWN]["valueQuantity"], "mL", where)
            d["concentration"] = _qv(ext[c.EXT_CONCENTRATION]["valueQuantity"], "ug/mL", where)
        elif code == "screening-dose":
            d["type"] = "screening-dose"
            d["dose"] = _qv(dose, "ug", f"{where}.dosage.dose")
        else:
            d["type"], d["kind"] = "bolus", code.removeprefix("bolus-")
            if dose is not None:
                d["dose"] = _qv(dose, "ug", f"{where}.dosage.dose")
    elif kind == "MedicationRequest":
        code = resource["category"][0]["coding"][0]["code"]
        d["at"], d["type"] = resource["authoredOn"], code
        instructions = resource.get("dosageInstruction", [])
        if code == "oral-baclofen":
            d["daily_dose"] = _qv(instructions[0]["doseAndRate"][0]["rateQuantity"], "mg/d", where)
        elif resource["status"] == "stopped":
            d["mode"] = "stopped"
        elif len(instructions) == 1 and "timing" not in instructions[0]:
            d["mode"] = "continuous"
            d["daily_dose"] = _qv(instructions[0]["doseAndRate"][0]["rateQuantity"], "ug/d", where)
        else:
            d["mode"] = "flex"
            d["steps"] = [{"start": i["timing"]["repeat"]["timeOfDay"][0][:5],
                           "daily_dose": _qv(i["doseAndRate"][0]["rateQuantity"], "ug/d", where)}
                          for i in sorted(instructions, key=lambda i: i.get("sequence", 0))]
    elif kind == "Observation":
        d["at"] = resource["effectiveDateTime"]
        d["type"] = _OBS_TYPE[resource["code"]["coding"][0]["code"]]
        _read_components(resource.get("component", []), d, where)
        if "valueString" in resource:
            d["text"] = resource["valueString"]
        if resource.get("note"):
            d["notes"] = resource["note"][0]["text"]
    else:  # pragma: no cover - only primary resources reach here
        raise InputError(f"{kind} is not a timeline event", where=where)
    for ident in resource.get("identifier", []):
        if ident.get("system") == c.ID_EVENT:
            d["id"] = ident["value"]
    performer = resource.get("performer") or []
    if performer:
        d["by"] = performer[0].get("actor", performer[0]).get("display")
    if resource.get("requester"):
        d["by"] = resource["requester"]["display"]
    if resource.get("reasonCode"):
        d["reason"] = resource["reasonCode"][0]["text"]
    d.update(detail)
    if outer is not None:
        return {**outer, "corrects": ext[c.EXT_CORRECTS]["valueString"], "event": d}
    return d


def _read_components(components: list[dict[str, Any]], d: dict[str, Any], where: str) -> None:
    for comp in components:
        coding = comp["code"]["coding"][0]
        ccode = coding["code"]
        if coding.get("system") == c.CS_MAS_MUSCLE:
            d.setdefault("mas_by_muscle", {})[ccode] = comp["valueCodeableConcept"]["coding"][0]["code"]
        elif ccode == "mas":
            d["mas"] = comp["valueCodeableConcept"]["coding"][0]["code"]
        elif ccode == "penn-frequency":
            d["penn_frequency"] = comp["valueInteger"]
        elif ccode == "penn-severity":
            d["penn_severity"] = comp["valueInteger"]
        elif ccode == "symptom-report":
            d.setdefault("codes", []).append(comp["valueCodeableConcept"]["coding"][0]["code"])
        elif ccode == "reservoir":
            d["reservoir"] = _qv(comp["valueQuantity"], "mL", where)
        elif ccode == "alarm":
            if d["type"] == "alarm-acknowledged":
                d["alarm"] = comp["valueString"]
            else:
                d.setdefault("alarms", []).append(comp["valueString"])


def _patient_block(pr: dict[str, Any], where: str) -> dict[str, Any]:
    pext = exts(pr)
    ident = next((i["value"] for i in pr.get("identifier", []) if i.get("system") == c.ID_PATIENT), pr.get("id"))
    if c.EXT_TIMEZONE not in pext or c.EXT_ETIOLOGY not in pext:
        raise InputError("the Patient needs the thecal timezone and etiology extensions", where=where)
    block: dict[str, Any] = {"id": ident}
    if "birthDate" in pr:
        block["born"] = pr["birthDate"]
    if "gender" in pr:
        block["sex"] = pr["gender"]
    if c.EXT_WEIGHT in pext:
        block["weight_kg"] = float(pext[c.EXT_WEIGHT]["valueDecimal"])
    block["timezone"] = pext[c.EXT_TIMEZONE]["valueString"]
    block["etiology"] = pext[c.EXT_ETIOLOGY]["valueCode"]
    if c.EXT_PHYSIOLOGY in pext:
        block["physiology"] = json.loads(pext[c.EXT_PHYSIOLOGY]["valueString"])
    return block


def read_thecal_bundle(patient: dict[str, Any], resources: list[dict[str, Any]], *, name: str) -> Draft:
    """The patient block, events, allergies and notes of a Bundle written by
    :func:`thecal.fhir.timeline_to_bundle`, in the order of the original file."""
    draft = Draft(_patient_block(patient, f"{name}: {ref_name(patient)}"))
    draft.note(ref_name(patient), "used", "the patient block")
    primary: list[tuple[int, dict[str, Any]]] = []
    for r in resources:
        if r is patient:
            continue
        ext = exts(r)
        if c.EXT_EVENT_TYPE in ext:
            primary.append((int(ext[c.EXT_EVENT_INDEX]["valueInteger"]), r))
            draft.note(ref_name(r), "event", ext[c.EXT_EVENT_TYPE]["valueCode"])
        elif r.get("resourceType") == "AllergyIntolerance":
            record, words = read_allergy(r, f"{name}: {ref_name(r)}")
            if record is not None:
                draft.allergies.append(record)
            draft.note(ref_name(r), "allergy" if record else "not-imported", words)
        else:
            draft.note(ref_name(r), "derived", "written by thecal from the events; rebuilt on export")
    primary.sort(key=lambda pair: pair[0])
    for _index, r in primary:
        where = f"{name}: {ref_name(r)}"
        try:
            draft.add_event(_event_dict(r, where), ref_name(r))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise InputError(f"cannot read this resource as a timeline event ({exc!r})", where=where) from None
    return draft
