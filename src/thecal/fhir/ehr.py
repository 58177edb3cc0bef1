"""Read a general FHIR R4 Bundle, as a clinic's EHR sends it, into a timeline.

An EHR writes none of thecal's extensions, so every event is recognised from standard elements,
codes and words (``docs/fhir.md`` lists the rules resource by resource):

* Patient: the identifier (thecal's, else the MRN, else the first), birth date, gender, the time
  zone from thecal's or HL7's ``timezone`` extension or ``--timezone``; the etiology from thecal's
  extension, the Conditions (SNOMED CT or words) or ``--etiology``; the weight from the latest
  body-weight Observation (LOINC 29463-7).
* Procedure: implant (the pump and catheter Devices it references), pump replacement, explant,
  catheter revision, MRI (SNOMED CT 113091000 or words; the scan's ``performedPeriod`` gives its
  duration), a pump interrogation; a refill Procedure is read with its MedicationAdministration.
* Device: recognised against the catalog (:mod:`thecal.fhir.devices`).
* MedicationRequest for baclofen: intrathecal with a rate in mass per day (UCUM ``ug/d``, ``mg/d``,
  ``ug/(24.h)``, or ``mcg/day`` and the like) → ``program`` (one instruction: continuous; several
  with ``timeOfDay``: flex); oral → ``oral-baclofen`` in mg/day (a rate, or a dose × frequency).
* MedicationAdministration of intrathecal baclofen: a volume → ``refill`` (concentration from the
  Medication's ingredient strength or its name, the residual from a linked or simultaneous
  Observation, lot and expiry from ``Medication.batch``); a mass → ``bolus`` (bridge, priming,
  patient or clinician, by its words) or, before any implant or when it says so, ``screening-dose``.
* Observation: Modified Ashworth (thecal's code systems, else the words; a muscle group from the
  body site or the words) and Penn, grouped by time into ``assessment`` events; the residual at a
  refill; a reservoir reading → ``interrogation``.
* AllergyIntolerance → the allergy records.

Everything else is listed in the import notes as ``not-imported`` with the reason, never dropped
unseen. What is ambiguous (two pump models, a MAS "1.5", a date without a time) or impossible (a
dose above the absolute daily limit, a refill without the volume withdrawn) is refused with the
resource and the fix.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from thecal import units
from thecal.clinical.medicines import BACLOFEN_WORDS
from thecal.clinical.titration import daily_dose_guardrail
from thecal.errors import InputError, UnitError
from thecal.fhir import codes as c
from thecal.fhir.allergies import read_allergy
from thecal.fhir.common import Index, codes, codings, exts, instant, label, plain, ref_name, words
from thecal.fhir.devices import catheter_of, pump_model_of, role, serial_of
from thecal.fhir.records import Draft
from thecal.timeline import ETIOLOGIES, MAS_GRADES, MAS_MUSCLE_GROUPS, write_datetime

# Condition words → etiology, first match wins (cerebral palsy before "quadriplegia").
_ETIOLOGY_WORDS: Final = (
    (re.compile(r"cerebral palsy"), "cerebral-palsy"),
    (re.compile(r"multiple sclerosis"), "multiple-sclerosis"),
    (re.compile(r"spinal cord injur|injury of (the )?spinal cord|paraplegi|tetraplegi|quadriplegi"),
     "spinal-cord-injury"),
    (re.compile(r"brain injur|head injur|anoxic brain|hypoxic[- ]ischa?emic"), "brain-injury"),
    (re.compile(r"\bstroke\b|cerebrovascular accident|cerebral infarct|intracerebral ha?emorrhage"), "stroke"),
)
_MUSCLE_WORDS: Final = (
    ("hip-adductors", r"hip adductor|adductors? of (the )?hip|thigh adductor"),
    ("hip-flexors", r"hip flexor|iliopsoas"),
    ("hip-extensors", r"hip extensor|gluteus maximus"),
    ("knee-flexors", r"knee flexor|hamstring"),
    ("knee-extensors", r"knee extensor|quadriceps"),
    ("ankle-plantarflexors", r"plantar ?-?flexor|ankle plantar|gastrocnemius|soleus|triceps surae|calf"),
    ("elbow-flexors", r"elbow flexor|biceps"),
    ("elbow-extensors", r"elbow extensor|triceps brachii|\btriceps\b(?! surae)"),
    ("wrist-flexors", r"wrist flexor"),
    ("finger-flexors", r"finger flexor"),
    ("shoulder-adductors", r"shoulder adductor|pectoralis"),
)
_LEFT: Final = re.compile(r"\bleft\b|\blt\b|\(l\)")
_RIGHT: Final = re.compile(r"\bright\b|\brt\b|\(r\)")
_MAS_TOKEN: Final = re.compile(r"(?<![\d.])(1\+|[0-4])(?![\d.]|\+)")
_STRENGTH: Final = re.compile(
    r"(\d+(?:\.\d+)?)\s*(mcg|ug|µg|micrograms?|mg|milligrams?)\s*/\s*(\d+(?:\.\d+)?)?\s*(ml|milliliters?|millilitres?)\b")
_INTRATHECAL: Final = re.compile(r"intrathecal|gablofen")
_ORAL: Final = re.compile(r"\boral|\bpo\b|by mouth|tablet")
_DONE: Final = ("completed",)
_IN_FORCE: Final = ("active", "completed", "stopped", "on-hold")
_OBSERVED: Final = ("final", "amended", "corrected")


def _where(name: str, resource: dict[str, Any], part: str = "") -> str:
    return f"{name}: {ref_name(resource)}{'.' + part if part else ''}"


def _unit_text(q: dict[str, Any]) -> str:
    """A FHIR Quantity's unit as text thecal's units parser reads (UCUM or a printed unit)."""
    unit = str(q.get("code") or q.get("unit") or "").strip()
    unit = re.sub(r"\{[^}]*\}", "", unit)  # UCUM annotations: mg{baclofen}/d
    unit = re.sub(r"/\s*\(\s*24\s*\.?\s*h\s*\)", "/day", unit)
    unit = re.sub(r"/d$", "/day", unit)
    return unit


def _quantity(q: Any, kind: units.Kind, where: str, *, positive: bool = False) -> float:
    """A FHIR Quantity in ``kind``'s canonical unit (mcg, mL, mcg/day, …)."""
    if not isinstance(q, dict) or "value" not in q:
        raise InputError(f"expected a quantity (the {kind.name})", where=where, fix=f"e.g. {kind.example}")
    try:
        value = float(q["value"])
        return units.parse_quantity(f"{plain(value)} {_unit_text(q)}", kind, allow_zero=not positive)
    except (UnitError, TypeError, ValueError) as exc:
        raise InputError(f"{q.get('value')!r} {q.get('code') or q.get('unit')!r} is not a {kind.name}: "
                         f"{getattr(exc, 'message', exc)}", where=where,
                         fix=f"write the {kind.name} with a unit, e.g. {kind.example}") from None


def _is_baclofen(*concepts: Any) -> bool:
    return (c.SNOMED, c.SCT_BACLOFEN) in codes(*concepts) or any(w in words(*concepts) for w in BACLOFEN_WORDS)


def _first_code(concept: Any) -> str:
    found = [str(x.get("code")) for x in codings(concept) if x.get("code")]
    return found[0] if found else ""


@dataclass
class _Assessment:
    """MAS and Penn observations at one instant, becoming one assessment event."""

    at: datetime
    fields: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)


class EhrReader:
    """One Bundle's resources, read once (see the module docstring)."""

    def __init__(self, patient: dict[str, Any], resources: list[dict[str, Any]], index: Index, *, name: str,
                 timezone: str | None, etiology: str | None) -> None:
        self.patient, self.resources, self.index, self.name = patient, resources, index, name
        self.timezone_option, self.etiology_option = timezone, etiology
        self.notes: dict[str, tuple[str, str]] = {}
        self.etiology = "other-spinal"
        self.timed: list[tuple[datetime, int, dict[str, Any], str]] = []  # (at, order, event, source)

    # ---------------------------------------------------------------- notes and events

    def note(self, resource: dict[str, Any], outcome: str, detail: str) -> None:
        self.notes.setdefault(ref_name(resource), (outcome, detail))

    def event(self, at: datetime, order: int, event: dict[str, Any], resource: dict[str, Any]) -> None:
        event = {"at": write_datetime(at), **event}
        ident = resource.get("id")
        if isinstance(ident, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", ident):
            event.setdefault("id", ident)
        self.timed.append((at, order, event, ref_name(resource)))
        self.note(resource, "event", event["type"])

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r.get("resourceType") == kind]

    # ---------------------------------------------------------------- the whole Bundle

    def read(self) -> Draft:
        block = self._patient_block()
        draft = Draft(block)
        self.note(self.patient, "used", "the patient block")
        for r in self.resources:
            if r is not self.patient and not self._about_patient(r):
                raise InputError("the resource is about another patient than the Patient of the Bundle",
                                 where=_where(self.name, r), fix="send one patient's record per Bundle")
        self._weight(block)
        pump_times = self._procedures()
        self._requests()
        self._administrations(pump_times)
        self._observations()
        for r in self.of_type("AllergyIntolerance"):
            record, detail = read_allergy(r, _where(self.name, r))
            if record is not None:
                draft.allergies.append(record)
            self.note(r, "allergy" if record else "not-imported", detail)
        if any(a.kind == "allergy" for a in draft.allergies):
            draft.allergies[:] = [a for a in draft.allergies if a.kind == "allergy"]  # an allergy outranks "none known"
        ids: set[str] = set()
        for at, _order, event, source in sorted(self.timed, key=lambda t: (t[0], t[1])):
            if event.get("id") in ids:
                event.pop("id")
            ids.add(event.get("id", ""))
            event["at"] = write_datetime(at)
            draft.add_event(event, source)
        for r in self.resources:
            outcome, detail = self.notes.get(ref_name(r), ("not-imported", _no_place(r)))
            draft.note(ref_name(r), outcome, detail)  # type: ignore[arg-type]
        return draft

    def _about_patient(self, r: dict[str, Any]) -> bool:
        """False when the resource's subject is a Patient other than the Bundle's."""
        for key in ("subject", "patient"):
            target = r.get(key)
            reference = target.get("reference") if isinstance(target, dict) else None
            if not isinstance(reference, str):
                continue
            found = self.index.get(reference)
            if found is not None:
                return found is self.patient
            tail = reference.rstrip("/").split("/")
            if len(tail) >= 2 and tail[-2] == "Patient":
                return tail[-1] == self.patient.get("id")
        return True

    # ---------------------------------------------------------------- patient

    def _patient_block(self) -> dict[str, Any]:
        p, where = self.patient, _where(self.name, self.patient)
        idents = [i for i in p.get("identifier", []) if isinstance(i, dict) and i.get("value")]
        mrn = [i for i in idents if (c.V2_IDENTIFIER_TYPE, "MR") in codes(i.get("type"))]
        own = [i for i in idents if i.get("system") == c.ID_PATIENT]
        chosen = (own or mrn or idents or [{"value": p.get("id")}])[0]["value"]
        if not chosen:
            raise InputError("the Patient has no identifier and no id", where=where, fix="add the MRN as an identifier")
        block: dict[str, Any] = {"id": str(chosen)}
        born = p.get("birthDate")
        if isinstance(born, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", born):
            block["born"] = born
        if p.get("gender") in ("female", "male", "other"):
            block["sex"] = p["gender"]
        block["timezone"] = self._timezone(where)
        block["etiology"] = self.etiology = self._etiology(where)
        return block

    def _timezone(self, where: str) -> str:
        ext = exts(self.patient)
        given = ext.get(c.EXT_TIMEZONE, {}).get("valueString") or ext.get(c.HL7_TIMEZONE, {}).get("valueCode")
        if given and self.timezone_option and given != self.timezone_option:
            raise InputError(f"the time zone of the Patient is {given}, --timezone says {self.timezone_option}",
                             where=where, fix="leave out --timezone, or correct the record")
        zone = given or self.timezone_option
        if not zone:
            raise InputError("the Patient has no time zone (flex doses follow the clock of the patient)", where=where,
                             fix="pass --timezone, e.g. --timezone Europe/Berlin, or add the HL7 timezone "
                                 f"extension ({c.HL7_TIMEZONE})")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(f"{zone!r} is not an IANA time zone", where=where, fix="e.g. Europe/Berlin") from None
        return str(zone)

    def _etiology(self, where: str) -> str:
        own = exts(self.patient).get(c.EXT_ETIOLOGY, {}).get("valueCode")
        found: dict[str, list[str]] = defaultdict(list)
        for cond in self.of_type("Condition"):
            if _first_code(cond.get("verificationStatus")) in ("refuted", "entered-in-error"):
                self.note(cond, "not-imported", "refuted or entered in error")
                continue
            etiology = next((e for (sys, code) in codes(cond.get("code")) if sys == c.SNOMED
                             for k, e in c.SCT_ETIOLOGY.items() if k == code), None)
            text = words(cond.get("code"))
            etiology = etiology or next((e for pattern, e in _ETIOLOGY_WORDS if pattern.search(text)), None)
            if etiology is None:
                self.note(cond, "not-imported", "a condition that is not an etiology thecal records")
            else:
                found[etiology].append(ref_name(cond))
        chosen = self.etiology_option or own
        if chosen is None:
            if len(found) > 1:
                raise InputError(f"the Conditions name more than one origin of the spasticity ({', '.join(found)})",
                                 where=where, fix=f"pass --etiology, one of: {', '.join(ETIOLOGIES)}")
            if not found:
                raise InputError("the Bundle does not say the origin of the spasticity", where=where,
                                 fix=f"pass --etiology, one of: {', '.join(ETIOLOGIES)}")
            chosen = next(iter(found))
        if chosen not in ETIOLOGIES:
            raise InputError(f"unknown etiology {chosen!r}", where="--etiology",
                             fix=f"use one of: {', '.join(ETIOLOGIES)}")
        for etiology, refs in found.items():
            for ref in refs:
                detail = "the patient's etiology" if etiology == chosen else f"{etiology}: not the etiology chosen"
                self.notes.setdefault(ref, ("used" if etiology == chosen else "not-imported", detail))
        return str(chosen)

    def _weight(self, block: dict[str, Any]) -> None:
        weights = []  # (date as written, resource): a weight needs no time of day
        for obs in self.of_type("Observation"):
            weight = (c.LOINC, c.LOINC_BODY_WEIGHT) in codes(obs.get("code")) or words(obs.get("code")) == "body weight"
            if weight and obs.get("status") in _OBSERVED and "valueQuantity" in obs:
                weights.append((str(obs.get("effectiveDateTime", ""))[:10], obs))
        for _day, obs in weights:
            self.note(obs, "not-imported", "an earlier body weight (the latest is kept)")
        if weights:
            _day, obs = max(weights, key=lambda w: w[0])
            kg = units.parse_quantity(f"{plain(float(obs['valueQuantity']['value']))} "
                                      f"{_unit_text(obs['valueQuantity'])}", units.MASS)
            block["weight_kg"] = round(kg, 3)
            self.notes[ref_name(obs)] = ("used", "the patient's weight (the latest)")

    # ---------------------------------------------------------------- procedures and devices

    def _procedures(self) -> list[tuple[datetime, str]]:
        """Device procedures become events; returns (time, "in"/"out") of the pump being in place."""
        pump_times: list[tuple[datetime, str]] = []
        devices_used: set[str] = set()
        procs = []
        for proc in self.of_type("Procedure"):
            kind = _procedure_kind(proc)
            if kind is None:  # its time is not read: an unrelated record never blocks the import
                self.note(proc, "not-imported", "not a procedure of ITB therapy thecal records")
                continue
            if kind == "refill":
                continue  # read with its MedicationAdministration
            if proc.get("status") not in _DONE:
                self.note(proc, "not-imported", f"status {proc.get('status')!r}: only completed procedures happened")
                continue
            period = proc.get("performedPeriod")
            at = instant(period.get("start") if isinstance(period, dict) else proc.get("performedDateTime"),
                         f"{_where(self.name, proc)}.performed")
            procs.append((at, kind, proc))
        procs.sort(key=lambda item: item[0])
        in_place = False
        for at, kind, proc in procs:
            where = _where(self.name, proc)
            if kind in ("implant", "replace-pump"):  # the record decides: a pump in place is replaced
                kind = "replace-pump" if in_place else "implant"
            event: dict[str, Any] = {"type": kind}
            if kind == "mri":  # the pump stalls for the scan: its length matters
                event["duration"] = _duration(proc.get("performedPeriod"), at, f"{where}.performedPeriod", "an MRI")
            elif kind in ("implant", "replace-pump", "catheter-revision"):
                event.update(self._procedure_devices(proc, kind, where, devices_used))
            self._common(event, proc)
            self.event(at, 0, event, proc)
            if kind in ("implant", "replace-pump"):
                in_place = True
                pump_times.append((at, "in"))
            elif kind == "explant":
                in_place = False
                pump_times.append((at, "out"))
        for dev in self.of_type("Device"):
            if ref_name(dev) not in devices_used and ref_name(dev) not in self.notes:
                kind_ = role(dev)
                if kind_ is None:
                    self.note(dev, "not-imported", "a device thecal does not model")
                else:
                    self.note(dev, "not-imported", f"a {kind_} that no implant, replacement or revision "
                                                   "Procedure references: its dates are unknown")
        for use in self.of_type("DeviceUseStatement"):
            device = self.index.get(use.get("device"))
            if device is not None and ref_name(device) in devices_used:
                self.note(use, "used", "the device's use, recorded by its procedure")
        return pump_times

    def _procedure_devices(self, proc: dict[str, Any], kind: str, where: str, used: set[str]) -> dict[str, Any]:
        referenced = [self.index.get(f.get("manipulated")) for f in proc.get("focalDevice", []) if isinstance(f, dict)]
        referenced += [self.index.get(u) for u in proc.get("usedReference", [])]
        devices = [d for d in referenced if d is not None and d.get("resourceType") == "Device"]
        if not devices:  # no reference: the Bundle's only unused ITB devices
            devices = [d for d in self.of_type("Device") if ref_name(d) not in used and role(d) is not None]
        pumps = [d for d in devices if role(d) == "pump"]
        catheters = [d for d in devices if role(d) == "catheter"]
        out: dict[str, Any] = {}
        if kind in ("implant", "replace-pump"):
            if len(pumps) != 1:
                raise InputError(f"the {kind} names {len(pumps)} pump Devices; it needs exactly one", where=where,
                                 fix="reference the implanted pump's Device in focalDevice.manipulated")
            out["pump"] = pump_model_of(pumps[0], _where(self.name, pumps[0]))
            serial = serial_of(pumps[0])
            if serial:
                out["serial"] = serial
            used.add(ref_name(pumps[0]))
            self.note(pumps[0], "used", f"the pump of the {kind}")
        if kind == "implant" or (kind == "catheter-revision" and catheters):
            if len(catheters) != 1:
                raise InputError(f"the {kind} names {len(catheters)} catheter Devices; it needs exactly one",
                                 where=where, fix="add the catheter's Device (model and length in cm) and "
                                                  "reference it in focalDevice.manipulated")
            out["catheter"] = catheter_of(catheters[0], _where(self.name, catheters[0]))
            used.add(ref_name(catheters[0]))
            self.note(catheters[0], "used", f"the catheter of the {kind}")
        return out

    def _common(self, event: dict[str, Any], resource: dict[str, Any]) -> None:
        who = resource.get("performer") or []
        actor = who[0].get("actor", who[0]) if who and isinstance(who[0], dict) else None
        requester = resource.get("requester")
        for person in (actor, requester):
            if isinstance(person, dict) and isinstance(person.get("display"), str) and person["display"].strip():
                event.setdefault("by", person["display"].strip())
        reason = [label(r) for r in resource.get("reasonCode", [])]
        if reason and reason[0]:
            event["reason"] = reason[0]

    # ---------------------------------------------------------------- medication requests

    def _requests(self) -> None:
        for req in self.of_type("MedicationRequest"):
            where = _where(self.name, req)
            medication = self._medication(req)
            if not _is_baclofen(*medication):
                self.note(req, "not-imported", "not baclofen")
                continue
            if req.get("status") not in _IN_FORCE or req.get("intent") in ("proposal", "plan"):
                self.note(req, "not-imported", f"status {req.get('status')!r}, intent {req.get('intent')!r}: "
                                               "never in force")
                continue
            instructions = [d for d in req.get("dosageInstruction", []) if isinstance(d, dict)]
            route = words(*[d.get("route") for d in instructions], *medication)
            bounds: dict[str, Any] = next((d["timing"]["repeat"]["boundsPeriod"] for d in instructions
                           if isinstance(d.get("timing", {}).get("repeat", {}).get("boundsPeriod"), dict)), {})
            start = bounds.get("start") or req.get("authoredOn")
            at = instant(start, f"{where}.authoredOn")
            oral = bool(_ORAL.search(route)) and not ((c.SNOMED, c.SCT_INTRATHECAL) in codes(
                *[d.get("route") for d in instructions]) or "intrathecal" in route)
            event: dict[str, Any]
            if oral:
                event = {"type": "oral-baclofen", "daily_dose": f"{plain(self._oral_mg_per_day(instructions, where))} "
                                                                "mg/day"}
            elif _INTRATHECAL.search(route) or (c.SNOMED, c.SCT_INTRATHECAL) in codes(
                    *[d.get("route") for d in instructions]):
                event = {"type": "program", **self._program(instructions, where)}
            else:
                raise InputError("baclofen without a route: intrathecal or oral?", where=where,
                                 fix="give dosageInstruction.route (SNOMED CT 72607000 for intrathecal)")
            self._common(event, req)
            self.event(at, 3, event, req)
            end = bounds.get("end")
            if oral and end and req.get("status") in ("stopped", "completed"):
                stop = instant(end, f"{where}.boundsPeriod.end")
                self.timed.append((stop, 3, {"at": write_datetime(stop), "type": "oral-baclofen",
                                             "daily_dose": "0 mg/day", "reason": "oral baclofen stopped"},
                                   ref_name(req)))

    def _rate(self, instruction: dict[str, Any], where: str) -> float:
        """The daily dose of one instruction, in mcg/day."""
        for dr in instruction.get("doseAndRate", []):
            if "rateQuantity" in dr:
                return _quantity(dr["rateQuantity"], units.DAILY_DOSE, where)
            if "rateRatio" in dr:
                num, den = dr["rateRatio"].get("numerator"), dr["rateRatio"].get("denominator")
                mcg = _quantity(num, units.DOSE, where)
                days = _quantity(den, units.DURATION, where, positive=True) / 24.0
                return mcg / days
        raise InputError("the intrathecal order has no rate", where=where,
                         fix="give doseAndRate.rateQuantity in UCUM ug/d (or mg/d)")

    def _program(self, instructions: list[dict[str, Any]], where: str) -> dict[str, Any]:
        limit = daily_dose_guardrail(self.etiology, None).absolute_max
        timed = [d for d in instructions if d.get("timing", {}).get("repeat", {}).get("timeOfDay")]
        if len(instructions) == 1 and not timed:
            dose = self._rate(instructions[0], f"{where}.dosageInstruction[0]")
            self._check_dose(dose, limit, where)
            return {"mode": "continuous", "daily_dose": f"{plain(dose)} mcg/day"}
        if len(timed) != len(instructions) or not timed:
            raise InputError("a program of several instructions needs a timeOfDay on each (flex steps)", where=where,
                             fix="give timing.repeat.timeOfDay for every step, or send one instruction")
        steps = []
        for i, d in enumerate(sorted(timed, key=lambda d: d["timing"]["repeat"]["timeOfDay"][0])):
            dose = self._rate(d, f"{where}.dosageInstruction[{i}]")
            self._check_dose(dose, limit, where)
            steps.append({"start": str(d["timing"]["repeat"]["timeOfDay"][0])[:5],
                          "daily_dose": f"{plain(dose)} mcg/day"})
        return {"mode": "flex", "steps": steps}

    def _check_dose(self, dose: float, limit: float, where: str) -> None:
        if dose > limit:
            raise InputError(f"{plain(dose)} mcg/day is above the absolute intrathecal limit of "
                             f"{plain(limit)} mcg/day (GAB-SUM)", where=where,
                             fix="check the unit (ug/d, not mg/d); a dose this high is entered in thecal "
                                 "by hand, with its reason")

    def _oral_mg_per_day(self, instructions: list[dict[str, Any]], where: str) -> float:
        total = 0.0
        for i, d in enumerate(instructions):
            here = f"{where}.dosageInstruction[{i}]"
            rate = [dr for dr in d.get("doseAndRate", []) if "rateQuantity" in dr]
            if rate:
                total += _quantity(rate[0]["rateQuantity"], units.ORAL_DAILY_DOSE, here)
                continue
            dose = [dr for dr in d.get("doseAndRate", []) if "doseQuantity" in dr]
            repeat = d.get("timing", {}).get("repeat", {})
            per = {"d": 1.0, "h": 24.0, "wk": 1 / 7}.get(str(repeat.get("periodUnit")))
            if not dose or not repeat.get("frequency") or not repeat.get("period") or per is None:
                raise InputError("the oral baclofen order gives no daily dose", where=here,
                                 fix="give doseAndRate.rateQuantity in mg/d, or a doseQuantity with "
                                     "timing.repeat frequency, period and periodUnit")
            mg = _quantity(dose[0]["doseQuantity"], units.DOSE, here) / 1000.0
            total += mg * float(repeat["frequency"]) / float(repeat["period"]) * per
        return total

    # ---------------------------------------------------------------- administrations

    def _medication(self, resource: dict[str, Any]) -> list[Any]:
        """The medication's concepts: the CodeableConcept, or the referenced Medication's code and
        ingredients (the Medication is then noted as used)."""
        if "medicationCodeableConcept" in resource:
            return [resource["medicationCodeableConcept"]]
        med = self.index.get(resource.get("medicationReference"))
        reference = (resource.get("medicationReference") or {}).get("reference", "")
        if med is None and reference.startswith("#"):
            med = next((x for x in resource.get("contained", []) if f"#{x.get('id')}" == reference), None)
        if med is None:
            return []
        if med.get("id") and self.index.get(ref_name(med)) is med:
            self.notes.setdefault(ref_name(med), ("used", "the drug of a baclofen order or administration"))
        return [med.get("code"), *[i.get("itemCodeableConcept") for i in med.get("ingredient", [])], med]

    def _administrations(self, pump_times: list[tuple[datetime, str]]) -> None:
        residuals = self._residuals()
        filled_since: set[datetime] = set()  # implants whose first fill has been read
        given = []
        for ma in self.of_type("MedicationAdministration"):
            medication = self._medication(ma)
            concepts = [m for m in medication if not (isinstance(m, dict) and m.get("resourceType"))]
            if not _is_baclofen(*concepts):
                self.note(ma, "not-imported", "not baclofen")
                continue
            if ma.get("status") not in _DONE:
                self.note(ma, "not-imported", f"status {ma.get('status')!r}: not given")
                continue
            route = words((ma.get("dosage") or {}).get("route"), *concepts)
            if _ORAL.search(route) and "intrathecal" not in route:
                self.note(ma, "not-imported", "one oral dose (oral baclofen is recorded as a daily dose order)")
                continue
            period = ma.get("effectivePeriod")
            at = instant(period.get("start") if isinstance(period, dict) else ma.get("effectiveDateTime"),
                         f"{_where(self.name, ma)}.effective")
            given.append((at, ma, medication))
        for at, ma, medication in sorted(given, key=lambda item: item[0]):
            where = _where(self.name, ma)
            dosage = ma.get("dosage") or {}
            period = ma.get("effectivePeriod")
            dose = dosage.get("dose")
            unit = _unit_text(dose) if isinstance(dose, dict) else ""
            since = max((t for t, what in pump_times if t <= at and what == "in"), default=None)
            if since is not None and any(what == "out" and since < t <= at for t, what in pump_times):
                since = None
            if _dimension(unit) == "volume":
                event = self._refill(ma, medication, dose, at, where, residuals, since, filled_since)
                order = 1
            else:
                event = self._bolus(ma, dose, period, at, where, in_place=since is not None)
                order = 2
            self._common(event, ma)
            self.event(at, order, event, ma)
            part_of = [self.index.get(p) for p in ma.get("partOf", [])]
            for proc in part_of:
                if proc is not None and proc.get("resourceType") == "Procedure":
                    self.notes[ref_name(proc)] = ("used", "the refill's procedure (read with the administration)")
        for proc in self.of_type("Procedure"):
            if _procedure_kind(proc) == "refill" and ref_name(proc) not in self.notes:
                self.note(proc, "not-imported", "a refill Procedure with no MedicationAdministration: the "
                                                "volumes and concentration are unknown")

    def _residuals(self) -> dict[str, tuple[float, dict[str, Any], datetime]]:
        """Residual-volume Observations by the reference they are partOf and by instant."""
        out: dict[str, tuple[float, dict[str, Any], datetime]] = {}
        for obs in self.of_type("Observation"):
            text = words(obs.get("code"))
            if not re.search(r"residual|withdrawn|aspirated", text) or obs.get("status") not in _OBSERVED:
                continue
            where = _where(self.name, obs)
            at = instant(obs.get("effectiveDateTime"), f"{where}.effectiveDateTime")
            ml = _quantity(obs.get("valueQuantity"), units.VOLUME, f"{where}.valueQuantity")
            for part in obs.get("partOf", []):
                target = self.index.get(part)
                if target is not None:
                    out[ref_name(target)] = (ml, obs, at)
            out.setdefault(_instant_key(at), (ml, obs, at))
        return out

    def _refill(self, ma: dict[str, Any], medication: list[Any], dose: Any, at: datetime, where: str,
                residuals: dict[str, tuple[float, dict[str, Any], datetime]], since: datetime | None,
                filled: set[datetime]) -> dict[str, Any]:
        added = _quantity(dose, units.VOLUME, f"{where}.dosage.dose")
        event: dict[str, Any] = {"type": "refill", "added": f"{plain(added)} mL",
                                 "concentration": f"{plain(self._concentration(medication, where))} mcg/mL"}
        keys = [ref_name(ma), *[ref_name(p) for p in (self.index.get(x) for x in ma.get("partOf", []))
                                if p is not None], _instant_key(at)]
        match = next((residuals[k] for k in keys if k in residuals), None)
        if match is not None:
            ml, obs, _ = match
            event["withdrawn"] = f"{plain(ml)} mL"
            self.notes[ref_name(obs)] = ("used", "the volume withdrawn at the refill")
        elif since is not None and since not in filled:
            event["withdrawn"] = "0 mL"  # the first fill of a new pump: nothing to withdraw
        else:
            raise InputError("the refill does not say the volume withdrawn (the residual aspirated)", where=where,
                             fix="add an Observation of the residual volume in mL with partOf this "
                                 "administration (or at the same time)")
        if since is not None:
            filled.add(since)
        batch = next((m.get("batch") for m in medication if isinstance(m, dict) and m.get("resourceType")
                      and isinstance(m.get("batch"), dict)), None)
        if batch:
            if batch.get("lotNumber"):
                event["lot"] = str(batch["lotNumber"])
            if batch.get("expirationDate"):
                event["expiry"] = str(batch["expirationDate"])[:10]
        return event

    def _concentration(self, medication: list[Any], where: str) -> float:
        """mcg/mL from the Medication's ingredient strength, else from a strength in its words."""
        found: set[float] = set()
        for m in medication:
            if isinstance(m, dict) and m.get("resourceType") == "Medication":
                for ing in m.get("ingredient", []):
                    strength = ing.get("strength") if isinstance(ing, dict) else None
                    if isinstance(strength, dict):
                        mcg = _quantity(strength.get("numerator"), units.DOSE, f"{where}.medication.strength")
                        ml = _quantity(strength.get("denominator"), units.VOLUME, f"{where}.medication.strength",
                                       positive=True)
                        found.add(round(mcg / ml, 9))
        if not found:
            for value, unit, per, _ml in _STRENGTH.findall(words(*[m for m in medication if not (
                    isinstance(m, dict) and m.get("resourceType"))])):
                mcg = units.parse_quantity(f"{value} {'mg' if unit.startswith('m') and 'mc' not in unit else 'mcg'}",
                                           units.DOSE)
                found.add(round(mcg / float(per or 1), 9))
        if len(found) > 1:
            shown = ", ".join(plain(f) for f in sorted(found))
            raise InputError(f"the drug names more than one concentration ({shown} mcg/mL)", where=where,
                             fix="send one Medication with one ingredient strength")
        if not found:
            raise InputError("the refill does not say the concentration of the drug", where=where,
                             fix="give the Medication's ingredient strength (e.g. 2000 ug per 1 mL) or name it "
                                 "(\"baclofen 2 mg/mL intrathecal\")")
        return found.pop()

    def _bolus(self, ma: dict[str, Any], dose: Any, period: Any, at: datetime, where: str, *,
               in_place: bool) -> dict[str, Any]:
        dosage = ma.get("dosage") or {}
        text = words(dosage.get("text", ""), ma.get("category"), *ma.get("reasonCode", []),
                     *[n.get("text", "") for n in ma.get("note", []) if isinstance(n, dict)])
        if re.search(r"bridg", text):
            kind = "bridge"
        elif re.search(r"prim(e|ing)", text):
            kind = "priming"
        elif re.search(r"screen|trial|test dose", text) or not in_place:
            mcg = _quantity(dose, units.DOSE, f"{where}.dosage.dose", positive=True)
            self.notes[ref_name(ma)] = ("event", "screening-dose" + ("" if in_place or re.search(
                r"screen|trial|test dose", text) else " (given before any pump was implanted)"))
            return {"type": "screening-dose", "dose": f"{plain(mcg)} mcg"}
        elif re.search(r"\bptm\b|patient[- ]activated|patient bolus|personal therapy manager", text):
            kind = "patient"
        else:
            kind = "clinician"
        event: dict[str, Any] = {"type": "bolus", "kind": kind}
        if kind in ("bridge", "priming"):
            if dose is not None:
                self.notes[ref_name(ma)] = ("event", f"bolus ({kind}): thecal computes a {kind} bolus from the "
                                                      "catheter volume, so the dose written is not kept")
            return event
        event["dose"] = f"{plain(_quantity(dose, units.DOSE, f'{where}.dosage.dose', positive=True))} mcg"
        if kind == "clinician":
            event["duration"] = _duration(period, at, f"{where}.effectivePeriod", "a clinician bolus")
        return event

    # ---------------------------------------------------------------- observations

    def _observations(self) -> None:
        groups: dict[datetime, _Assessment] = {}
        for obs in self.of_type("Observation"):
            if ref_name(obs) in self.notes:
                continue
            where = _where(self.name, obs)
            kind = _observation_kind(obs)
            if kind is None:
                residual = re.search(r"residual|withdrawn|aspirated", words(obs.get("code")))
                self.note(obs, "not-imported", "a residual volume that matches no refill" if residual
                          else "an observation with no place in the timeline")
                continue
            if obs.get("status") not in _OBSERVED:
                self.note(obs, "not-imported", f"status {obs.get('status')!r}: not a result")
                continue
            period = obs.get("effectivePeriod")
            at = instant(period.get("start") if isinstance(period, dict) else
                         obs.get("effectiveDateTime") or obs.get("effectiveInstant"), f"{where}.effective")
            if kind == "reservoir":
                ml = _quantity(obs.get("valueQuantity"), units.VOLUME, f"{where}.valueQuantity")
                self.event(at, 4, {"type": "interrogation", "reservoir": f"{plain(ml)} mL"}, obs)
                continue
            group = groups.setdefault(at, _Assessment(at))
            fields, skipped = self._assessment_fields(obs, where)
            for key, value in fields:
                _merge(group.fields, key, value, where)
            if obs.get("note"):
                notes = "; ".join(n.get("text", "") for n in obs["note"] if isinstance(n, dict) and n.get("text"))
                if notes:
                    group.fields["notes"] = "; ".join(x for x in (group.fields.get("notes"), notes) if x)
            group.sources.append(ref_name(obs))
            self.note(obs, "event", "assessment" + (f" (not imported: {'; '.join(skipped)})" if skipped else ""))
        for at, group in sorted(groups.items()):
            event = {"at": write_datetime(at), "type": "assessment", **group.fields}
            self.timed.append((at, 5, event, ", ".join(group.sources)))

    def _assessment_fields(self, obs: dict[str, Any], where: str) -> tuple[list[tuple[str, Any]], list[str]]:
        """The assessment fields an Observation (or each component of a panel) gives, and the words
        of the components that have no place in the timeline."""
        out: list[tuple[str, Any]] = []
        skipped: list[str] = []
        comps = [x for x in obs.get("component", []) if isinstance(x, dict)]
        parts = comps if comps and _observation_kind(obs) == "panel" else [obs]
        for i, part in enumerate(parts):
            here = f"{where}.component[{i}]" if part is not obs else where
            kind = _observation_kind(part)
            if kind == "mas":
                group = _muscle_group(part, obs.get("bodySite") if part is obs else None, here)
                grade = _mas_grade(part, here)
                out.append(((f"mas_by_muscle.{group}" if group else "mas"), grade))
            elif kind in ("penn-frequency", "penn-severity"):
                top = 4 if kind == "penn-frequency" else 3
                out.append((kind.replace("-", "_"), _small_int(part, 0 if top == 4 else 1, top, here)))
            elif part is not obs:
                skipped.append(label(part.get("code")) or "a component")
        return out, skipped


def _duration(period: Any, at: datetime, where: str, what: str) -> str:
    """The minutes from ``at`` to the end of a FHIR Period, as timeline text."""
    if not isinstance(period, dict) or not period.get("end"):
        raise InputError(f"{what} needs its duration", where=where, fix="give the period with start and end")
    end = instant(period["end"], f"{where}.end")
    if end <= at:
        raise InputError("the period ends before it starts", where=where)
    return f"{plain((end - at).total_seconds() / 60)} min"


def _instant_key(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _dimension(unit: str) -> str | None:
    for name, kind in (("volume", units.VOLUME), ("mass", units.DOSE)):
        try:
            units.parse_quantity(f"1 {unit}", kind)
            return name
        except UnitError:
            continue
    return None


def _merge(fields: dict[str, Any], key: str, value: Any, where: str) -> None:
    if key.startswith("mas_by_muscle."):
        groups = fields.setdefault("mas_by_muscle", {})
        group = key.split(".", 1)[1]
        if groups.get(group, value) != value:
            raise InputError(f"two different MAS grades for {group} at the same time", where=where,
                             fix="send one grade per muscle group per assessment")
        groups[group] = value
        return
    if fields.get(key, value) != value:
        raise InputError(f"two different values of {key} at the same time", where=where,
                         fix="send one value per assessment")
    fields[key] = value


def _procedure_kind(proc: dict[str, Any]) -> str | None:
    concept = proc.get("code")
    text = words(concept, proc.get("category"))
    if (c.SNOMED, c.SCT_MRI) in codes(concept) or re.search(r"\bmri\b|magnetic resonance", text):
        return "mri"
    if re.search(r"\brefill", text):
        return "refill"
    pump = re.search(r"\bpump\b|synchromed|prometra|drug delivery system", text)
    if pump:
        if re.search(r"remov|explant", text) and not re.search(r"replac|exchange", text):
            return "explant"
        if re.search(r"implant|insert|placement|replac|exchange|revision of (the )?pump", text):
            return "implant"  # or replace-pump: decided by whether a pump is in place
        if re.search(r"interrogat|analysis|reprogram", text):
            return "interrogation"
        return None
    if "catheter" in text and re.search(r"revis|replac|reposition|exchange|implant|insert", text):
        return "catheter-revision"
    return None


def _observation_kind(obs: dict[str, Any]) -> str | None:
    concept = obs.get("code")
    found = codes(concept)
    own = {code for sys, code in found if sys in (c.CS_ASSESSMENT, c.CS_MAS_MUSCLE)}
    if own & {"itb-assessment"}:
        return "panel"
    if own & {"mas", *MAS_MUSCLE_GROUPS}:
        return "mas"
    if own & {"penn-frequency", "penn-severity"}:
        return next(iter(own & {"penn-frequency", "penn-severity"}))
    text = words(concept)
    if "ashworth" in text or re.search(r"\bmas\b", text):
        return "mas"
    if "penn" in text:
        return "penn-severity" if "severity" in text else "penn-frequency"
    if re.search(r"reservoir", text) and "valueQuantity" in obs:
        return "reservoir"
    if "spasticity" in text and obs.get("component"):
        return "panel"
    return None


def _muscle_group(obs: dict[str, Any], body_site: Any, where: str) -> str | None:
    own = [code for sys, code in codes(obs.get("code"), body_site) if sys == c.CS_MAS_MUSCLE]
    if own:
        return own[0]
    text = words(obs.get("code"), body_site)
    groups = [g for g, pattern in _MUSCLE_WORDS if re.search(pattern, text)]
    if not groups:
        if body_site is not None:
            raise InputError(f"the body site {words(body_site)!r} is not a muscle group thecal records", where=where,
                             fix=f"use one of: {', '.join(MAS_MUSCLE_GROUPS)}")
        return None
    if len(groups) > 1:
        raise InputError(f"the observation names more than one muscle group ({', '.join(groups)})", where=where,
                         fix="send one Observation per muscle group")
    sides = [s for s, pattern in (("left", _LEFT), ("right", _RIGHT)) if pattern.search(text)]
    if len(sides) != 1:
        raise InputError(f"the {groups[0].replace('-', ' ')} grade does not say one side (left or right)", where=where,
                         fix="name the side in the body site or the code's text")
    return f"{groups[0]}-{sides[0]}"


def _mas_grade(part: dict[str, Any], where: str) -> str:
    own = [code for sys, code in codes(part.get("valueCodeableConcept")) if sys == c.CS_MAS]
    if own and own[0] in MAS_GRADES:
        return own[0]
    if isinstance(part.get("valueInteger"), int) and not isinstance(part.get("valueInteger"), bool):
        value: Any = part["valueInteger"]
        text = str(value)
    elif isinstance(part.get("valueQuantity"), dict):
        value = part["valueQuantity"].get("value")
        text = plain(float(value)) if isinstance(value, int | float) else str(value)
    else:
        text = part.get("valueString") or words(part.get("valueCodeableConcept"))
    tokens = set(_MAS_TOKEN.findall(str(text)))
    if len(tokens) != 1 or re.search(r"\d\.\d", str(text)):
        raise InputError(f"{text!r} is not one Modified Ashworth grade", where=where,
                         fix='send the grade as text, one of 0, 1, "1+", 2, 3, 4 (never 1.5 for 1+)')
    return tokens.pop()


def _small_int(part: dict[str, Any], lo: int, hi: int, where: str) -> int:
    value: Any = part.get("valueInteger")
    if value is None and isinstance(part.get("valueQuantity"), dict):
        value = part["valueQuantity"].get("value")
    if value is None:
        text = part.get("valueString") or words(part.get("valueCodeableConcept"))
        digits = re.findall(r"(?<![\d.])\d(?![\d.])", str(text))
        value = int(digits[0]) if len(digits) == 1 else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise InputError(f"{value!r} is not a whole number from {lo} to {hi}", where=where,
                         fix=f"send the Penn score as valueInteger {lo}–{hi}")
    return value


def _no_place(r: dict[str, Any]) -> str:
    kind = r.get("resourceType")
    return {"Encounter": "an encounter (visits are not timeline events)",
            "Practitioner": "a person: their name is kept on the events they performed",
            "PractitionerRole": "a role: not part of the timeline",
            "Organization": "an organisation: not part of the timeline",
            "Location": "a place: not part of the timeline",
            "Flag": "a flag: thecal derives its own (MRI precautions, withdrawal risk)",
            "Appointment": "an appointment: the clinic's calendar keeps appointments, not the timeline",
            "Provenance": "the sender's provenance: thecal records its own",
            "MedicationStatement": "a statement, not an order: record oral baclofen as a MedicationRequest",
            "Medication": "a drug no baclofen order or administration uses",
            "DeviceUseStatement": "the use of a device no implant Procedure references",
            "Condition": "a condition that is not an etiology thecal records",
            }.get(str(kind), f"{kind}: no timeline equivalent")

