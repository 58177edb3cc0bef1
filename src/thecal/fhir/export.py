"""A timeline as a FHIR R4 Bundle (``fhir.resources`` R4B models validate every resource).

Export (:func:`timeline_to_bundle`): the patient block becomes a Patient; every event becomes
one *primary* resource carrying the extensions ``event-type`` and ``event-index`` (its place in
the file): Procedure (implant, replace-pump, explant, catheter-revision, mri, diathermy),
MedicationAdministration (refill, bolus, screening-dose), MedicationRequest (program in UCUM
``ug/d``, oral-baclofen in ``mg/d``) or Observation (assessment, symptoms, interrogation,
alarm-acknowledged, note, fault). An assessment writes the overall Modified Ashworth grade and one
component per muscle group (local code systems). An implant or pump replacement adds Device
resources for the pump and catheter and a DeviceUseStatement; a refill adds a Procedure. Derived
Flags (MRI precautions for an implanted pump, withdrawal risk), the clinic's Appointments and its
allergies (AllergyIntolerance, "no known allergies" coded SNOMED CT 716186003) are added; one
Provenance names thecal as the author of the export.

Fields with a FHIR home are written there (``docs/fhir.md`` lists them resource by resource);
what FHIR has no element for (a fault's severity, a refill's lot) is kept in the ``event-detail``
extension as the timeline's own JSON, so the import (:mod:`thecal.fhir.readback`) is lossless.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from fhir.resources.R4B import get_fhir_model_class

from thecal.catalog import catheter_model, pump_model
from thecal.clinical.medicines import is_baclofen
from thecal.errors import InputError
from thecal.fhir import codes as c
from thecal.fhir.records import AllergyRecord, AppointmentRecord
from thecal.timeline import (
    Bolus,
    CatheterRevision,
    Correction,
    Diathermy,
    Event,
    Implant,
    Mri,
    ReplacePump,
    Timeline,
    event_to_dict,
    timeline_to_dict,
    write_datetime,
)

PROCEDURE_EVENTS: Final = ("implant", "replace-pump", "explant", "catheter-revision", "mri", "diathermy")
ADMINISTRATION_EVENTS: Final = ("refill", "bolus", "screening-dose")
REQUEST_EVENTS: Final = ("program", "oral-baclofen")
OBSERVATION_EVENTS: Final = ("assessment", "symptoms", "interrogation", "alarm-acknowledged", "note", "fault")
_FHIR_ID: Final = re.compile(r"[^A-Za-z0-9\-.]")
_BACLOFEN_IT: Final = {"text": "baclofen intrathecal"}
_BACLOFEN_ORAL: Final = {"text": "baclofen oral"}


def _fid(text: str) -> str:
    return _FHIR_ID.sub("-", text)[:64] or "x"


def _ext(url: str, **value: Any) -> dict[str, Any]:
    return {"url": url, **value}


def _qty(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": c.UCUM, "code": unit}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _code(code: str, text: str | None = None) -> dict[str, Any]:
    return {"coding": [_coding(c.CS_EVENT, code)], "text": text or code}


def _structured(event: Event) -> tuple[dict[str, Any], set[str]]:
    """The resource body for ``event`` and the timeline keys it carries in FHIR elements."""
    t = event.type
    at = write_datetime(event.at)
    carried = {"at", "type", "id", "by", "reason"}
    body: dict[str, Any]
    if t in PROCEDURE_EVENTS:
        body = {"resourceType": "Procedure", "status": "completed", "code": _code(t),
                "performedDateTime": at}
        if isinstance(event, Mri | Diathermy):
            end = event.at + timedelta(hours=event.duration_h)
            body.pop("performedDateTime")
            body["performedPeriod"] = {"start": at, "end": write_datetime(end)}
            carried.add("duration")
        if event.reason:
            body["reasonCode"] = [{"text": event.reason}]
    elif t in ADMINISTRATION_EVENTS:
        body = {"resourceType": "MedicationAdministration", "status": "completed",
                "medicationCodeableConcept": _BACLOFEN_IT, "effectiveDateTime": at,
                "category": _code(t if not isinstance(event, Bolus) else f"bolus-{event.kind}")}
        dosage: dict[str, Any] = {"route": {"text": "intrathecal"}}
        if t == "refill":
            ev: Any = event
            dosage["dose"] = _qty(ev.added_ml, "mL")
            body["extension"] = [_ext(c.EXT_CONCENTRATION, valueQuantity=_qty(ev.concentration_mcg_per_ml, "ug/mL")),
                                 _ext(c.EXT_WITHDRAWN, valueQuantity=_qty(ev.withdrawn_ml, "mL"))]
            carried |= {"added", "concentration", "withdrawn"}
        elif t == "screening-dose":
            dosage["dose"] = _qty(event.dose_mcg, "ug")  # type: ignore[attr-defined]
            carried.add("dose")
        else:
            b: Any = event
            carried.add("kind")
            if b.dose_mcg is not None:
                dosage["dose"] = _qty(b.dose_mcg, "ug")
                carried.add("dose")
            if b.duration_h is not None:
                body.pop("effectiveDateTime")
                body["effectivePeriod"] = {"start": at, "end": write_datetime(b.at + timedelta(hours=b.duration_h))}
                carried.add("duration")
        body["dosage"] = dosage
        if event.reason:
            body["reasonCode"] = [{"text": event.reason}]
    elif t in REQUEST_EVENTS:
        p: Any = event
        body = {"resourceType": "MedicationRequest", "intent": "order", "authoredOn": at,
                "status": "active", "category": [_code(t)]}
        if t == "oral-baclofen":
            body["medicationCodeableConcept"] = _BACLOFEN_ORAL
            body["dosageInstruction"] = [{"route": {"text": "oral"},
                                          "doseAndRate": [{"rateQuantity": _qty(p.daily_dose_mg, "mg/d")}]}]
            carried.add("daily_dose")
        else:
            body["medicationCodeableConcept"] = _BACLOFEN_IT
            carried.add("mode")
            if p.mode == "stopped":
                body["status"] = "stopped"
            elif p.mode == "continuous":
                body["dosageInstruction"] = [{"route": {"text": "intrathecal"}, "text": "continuous",
                                              "doseAndRate": [{"rateQuantity": _qty(p.daily_dose_mcg, "ug/d")}]}]
                carried.add("daily_dose")
            else:
                body["dosageInstruction"] = [
                    {"sequence": i + 1, "route": {"text": "intrathecal"}, "text": "flex step",
                     "timing": {"repeat": {"timeOfDay": [s.start.strftime("%H:%M:%S")]}},
                     "doseAndRate": [{"rateQuantity": _qty(s.daily_dose_mcg, "ug/d")}]}
                    for i, s in enumerate(p.steps)]
                carried.add("steps")
        if event.reason:
            body["reasonCode"] = [{"text": event.reason}]
    else:
        body = {"resourceType": "Observation", "status": "final", "effectiveDateTime": at,
                "code": {"coding": [_coding(c.CS_ASSESSMENT, _OBS_CODE[t], c.ASSESSMENT_CODES[_OBS_CODE[t]])],
                         "text": c.ASSESSMENT_CODES[_OBS_CODE[t]]}}
        carried.discard("reason")
        body["component"] = list(_components(event, carried))
        if not body["component"]:
            del body["component"]
        if t == "note":
            body["valueString"] = event.text  # type: ignore[attr-defined]
            carried.add("text")
        if t == "assessment" and event.notes:  # type: ignore[attr-defined]
            body["note"] = [{"text": event.notes}]  # type: ignore[attr-defined]
            carried.add("notes")
    if event.by:
        actor = {"actor": {"display": event.by}}
        if body["resourceType"] == "Observation":
            body["performer"] = [{"display": event.by}]
        elif body["resourceType"] == "MedicationRequest":
            body["requester"] = {"display": event.by}
        else:
            body["performer"] = [actor]
    if event.id:
        body["identifier"] = [{"system": c.ID_EVENT, "value": event.id}]
    return body, carried


_OBS_CODE: Final = {"assessment": "itb-assessment", "symptoms": "symptom-report",
                    "interrogation": "pump-interrogation", "alarm-acknowledged": "alarm-acknowledged",
                    "note": "note", "fault": "simulated-fault"}


def _components(event: Event, carried: set[str]) -> Iterable[dict[str, Any]]:
    def comp(code: str, **value: Any) -> dict[str, Any]:
        return {"code": {"coding": [_coding(c.CS_ASSESSMENT, code, c.ASSESSMENT_CODES.get(code))]}, **value}

    e: Any = event
    if event.type == "assessment":
        if e.mas is not None:
            carried.add("mas")
            yield comp("mas", valueCodeableConcept={"coding": [_coding(c.CS_MAS, e.mas, c.MAS_DISPLAY[e.mas])],
                                                    "text": e.mas})
        if e.penn_frequency is not None:
            carried.add("penn_frequency")
            yield comp("penn-frequency", valueInteger=e.penn_frequency)
        if e.penn_severity is not None:
            carried.add("penn_severity")
            yield comp("penn-severity", valueInteger=e.penn_severity)
        if e.mas_by_muscle is not None:
            carried.add("mas_by_muscle")
            for group, grade in e.mas_by_muscle:
                yield {"code": {"coding": [_coding(c.CS_MAS_MUSCLE, group, f"Modified Ashworth grade, "
                                                                           f"{c.MUSCLE_WORDS[group]}")]},
                       "valueCodeableConcept": {"coding": [_coding(c.CS_MAS, grade, c.MAS_DISPLAY[grade])],
                                                "text": grade}}
    elif event.type == "symptoms":
        carried.add("codes")
        for code in e.codes:
            yield comp("symptom-report", valueCodeableConcept={"coding": [_coding(c.CS_SYMPTOM, code)], "text": code})
    elif event.type == "interrogation":
        if e.reservoir_ml is not None:
            carried.add("reservoir")
            yield comp("reservoir", valueQuantity=_qty(e.reservoir_ml, "mL"))
        carried.add("alarms")
        for alarm in e.alarms:
            yield comp("alarm", valueString=alarm)
    elif event.type == "alarm-acknowledged":
        carried.add("alarm")
        yield comp("alarm", valueString=e.alarm)


def _devices(event: Implant | ReplacePump | CatheterRevision, patient_ref: str, index: int,
             ) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(event, Implant | ReplacePump):
        pump = pump_model(event.pump)
        dev: dict[str, Any] = {"resourceType": "Device", "id": f"pump-{index}", "status": "active",
                               "manufacturer": pump.manufacturer,
                               "deviceName": [{"name": pump.name, "type": "model-name"}],
                               "modelNumber": pump.id, "type": {"text": "implantable intrathecal drug pump"},
                               "patient": {"reference": patient_ref}}
        if event.serial:
            dev["serialNumber"] = event.serial
        out.append(dev)
        out.append({"resourceType": "DeviceUseStatement", "id": f"pump-use-{index}", "status": "active",
                    "subject": {"reference": patient_ref}, "device": {"reference": f"Device/pump-{index}"},
                    "timingDateTime": write_datetime(event.at), "bodySite": {"text": "abdominal wall"}})
    catheter = getattr(event, "catheter", None)
    if catheter is not None:
        model = catheter_model(catheter.model)
        out.append({"resourceType": "Device", "id": f"catheter-{index}", "status": "active",
                    "manufacturer": model.manufacturer, "deviceName": [{"name": model.name, "type": "model-name"}],
                    "modelNumber": model.id, "type": {"text": "intrathecal catheter"},
                    "patient": {"reference": patient_ref},
                    "property": [{"type": {"text": "length"}, "valueQuantity": [_qty(catheter.length_cm, "cm")]}]})
    return out


def _validated(resource: dict[str, Any]) -> dict[str, Any]:
    model = get_fhir_model_class(resource["resourceType"])
    try:
        obj = model.model_validate(resource)
    except Exception as exc:  # pydantic's ValidationError: say which resource
        name = f"{resource['resourceType']}/{resource.get('id')}"
        raise InputError(f"{name} is not valid FHIR R4: {str(exc).splitlines()[0]}", where=name) from None
    return dict(json.loads(obj.model_dump_json(exclude_none=True)))


def _flags(timeline: Timeline, patient_ref: str) -> list[dict[str, Any]]:
    pumps = [e for e in timeline.events if isinstance(e, Implant | ReplacePump)]
    if not pumps:
        return []
    since = write_datetime(pumps[0].at)
    return [
        {"resourceType": "Flag", "id": "mri-precautions", "status": "active", "subject": {"reference": patient_ref},
         "category": [{"text": "safety"}], "period": {"start": since},
         "code": {"coding": [_coding(c.CS_FLAG, "mri-precautions")],
                  "text": "Implanted intrathecal pump: follow the pump's MRI instructions and check it after a scan"}},
        {"resourceType": "Flag", "id": "withdrawal-risk", "status": "active", "subject": {"reference": patient_ref},
         "category": [{"text": "clinical"}], "period": {"start": since},
         "code": {"coding": [_coding(c.CS_FLAG, "withdrawal-risk")],
                  "text": "Intrathecal baclofen: abrupt interruption can cause life-threatening withdrawal"}},
    ]


def _allergy(index: int, record: AllergyRecord, patient_ref: str) -> dict[str, Any]:
    """An allergy, or the statement "no known allergies", as an AllergyIntolerance."""
    status = {"clinicalStatus": {"coding": [_coding(c.ALLERGY_CLINICAL, "active")]},
              "verificationStatus": {"coding": [_coding(c.ALLERGY_VERIFICATION, "confirmed")]}}
    out: dict[str, Any] = {"resourceType": "AllergyIntolerance", "id": f"allergy-{index}", **status,
                           "patient": {"reference": patient_ref}}
    if record.kind == "no-known-allergies":
        out["code"] = {"coding": [_coding(c.SNOMED, c.SCT_NO_KNOWN_ALLERGY, "No known allergy")],
                       "text": record.substance or "no known allergies"}
    else:
        out["type"] = "allergy"
        out["code"] = {"text": record.substance}
        if is_baclofen(record.substance):  # a contraindication to ITB (FDA-LAB): coded for the EHR
            out["code"]["coding"] = [_coding(c.SNOMED, c.SCT_BACLOFEN, "Baclofen (substance)")]
            out["criticality"] = "high"
        if record.reaction:
            out["reaction"] = [{"manifestation": [{"text": record.reaction}]}]
    if record.recorded_at is not None:
        out["recordedDate"] = record.recorded_at.isoformat()
    if record.recorded_by:
        out["recorder"] = {"display": record.recorded_by}
    return out


def timeline_to_bundle(timeline: Timeline, *, recorded_at: datetime,
                       appointments: Sequence[AppointmentRecord] = (),
                       allergies: Sequence[AllergyRecord] = ()) -> dict[str, Any]:
    """The timeline as a validated FHIR R4 collection Bundle (JSON-ready).

    ``appointments`` and ``allergies`` come from the clinic's records (a timeline file has
    neither); with no allergy record nothing is written about allergies (never "none known").
    """
    p = timeline.patient
    pid = _fid(p.id)
    ref = f"Patient/{pid}"
    patient: dict[str, Any] = {"resourceType": "Patient", "id": pid,
                               "identifier": [{"system": c.ID_PATIENT, "value": p.id}],
                               "extension": [_ext(c.EXT_TIMEZONE, valueString=p.timezone),
                                             _ext(c.EXT_ETIOLOGY, valueCode=p.etiology)]}
    if p.born is not None:
        patient["birthDate"] = p.born.isoformat()
    if p.sex is not None:
        patient["gender"] = p.sex
    if p.weight_kg is not None:
        patient["extension"].append(_ext(c.EXT_WEIGHT, valueDecimal=p.weight_kg))
    block = timeline_to_dict(timeline)["patient"]
    if "physiology" in block:
        patient["extension"].append(_ext(c.EXT_PHYSIOLOGY, valueString=json.dumps(block["physiology"])))
    resources = [patient]
    for index, event in enumerate(timeline.events):
        resources.extend(_event_resources(event, index, ref))
    resources.extend(_flags(timeline, ref))
    resources.extend(_allergy(i, a, ref) for i, a in enumerate(allergies))
    for a in appointments:
        resources.append({"resourceType": "Appointment", "id": _fid(f"appointment-{a.id}"), "status": a.status,
                          "start": a.start.isoformat(), "end": a.end.isoformat(),
                          "description": a.description or "ITB pump refill",
                          "serviceType": [{"text": "intrathecal pump refill"}],
                          "participant": [{"actor": {"reference": ref}, "status": "accepted"}]})
    resources.append({"resourceType": "Provenance", "id": "export",
                      "target": [{"reference": f"{r['resourceType']}/{r['id']}"} for r in resources],
                      "recorded": recorded_at.isoformat(),
                      "activity": {"text": "exported from the thecal timeline"},
                      "agent": [{"who": {"display": "thecal"}}]})
    entries = [{"fullUrl": f"{c.BASE}/{r['resourceType']}/{r['id']}", "resource": _validated(r)} for r in resources]
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": recorded_at.isoformat(), "entry": entries}
    get_fhir_model_class("Bundle").model_validate(bundle)
    return bundle


def _event_resources(event: Event, index: int, ref: str) -> list[dict[str, Any]]:
    inner = event.event if isinstance(event, Correction) and event.event is not None else event
    body, carried = _structured(inner)
    file_form = event_to_dict(inner)
    detail = {k: v for k, v in file_form.items() if k not in carried}
    body["id"] = f"event-{index}"
    exts = [_ext(c.EXT_EVENT_TYPE, valueCode=event.type), _ext(c.EXT_EVENT_INDEX, valueInteger=index)]
    if isinstance(event, Correction):
        exts.append(_ext(c.EXT_CORRECTS, valueString=event.corrects))
        outer = {k: v for k, v in event_to_dict(event).items() if k not in ("event", "corrects")}
        detail = {"correction": outer, **({"event": detail} if detail else {})}
    if detail:
        exts.append(_ext(c.EXT_DETAIL, valueString=json.dumps(detail, sort_keys=True)))
    body["extension"] = [*body.get("extension", []), *exts]
    body["subject"] = {"reference": ref}
    out = [body]
    if isinstance(inner, Implant | ReplacePump | CatheterRevision):
        devices = _devices(inner, ref, index)
        out.extend(devices)
        if body["resourceType"] == "Procedure":
            body["focalDevice"] = [{"manipulated": {"reference": f"Device/{d['id']}"}}
                                   for d in devices if d["resourceType"] == "Device"]
    if inner.type == "refill":
        out.append({"resourceType": "Procedure", "id": f"event-{index}-procedure", "status": "completed",
                    "code": _code("refill", "pump refill"), "subject": {"reference": ref},
                    "performedDateTime": write_datetime(inner.at)})
        body["partOf"] = [{"reference": f"Procedure/event-{index}-procedure"}]
    return out


__all__ = ["timeline_to_bundle"]
