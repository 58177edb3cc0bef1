"""Procedures around the pump: MRI and diathermy checklists by pump family, and the card text.

Pump families: ``synchromed`` (SynchroMed II, motor-driven; M-MRI, TGA-MRI), ``prometra``
(Prometra / Prometra II, valve-gated; PROM-MRI, PROM) and ``constant-flow`` (Codman 3000,
Tricumed; CODMAN, FHL). Pump ids look like ``synchromed-ii-20``, ``synchromed-ii-40``,
``prometra-ii-20``, ``prometra-ii-40``, ``constant-flow-*``.

MRI field-strength limits changed over time (clinical-facts 1.31: 1.5 T in 2008 labelling,
3 T under conditions later): thecal does not decide the field strength; the checklist says to
check the current labelling. Diathermy is not covered by the reference material: its items are
marked unverified (source ASSUMED).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from thecal.errors import InputError
from thecal.sources import check_source

PumpFamily = Literal["synchromed", "prometra", "constant-flow"]
KNOWN_PUMPS: Final = ("synchromed-ii-20", "synchromed-ii-40", "prometra-ii-20", "prometra-ii-40",
                      "constant-flow-*")
Phase = Literal["before", "during", "after"]


def pump_family(pump: str) -> PumpFamily:
    """The family of a pump id; an unknown id raises :class:`InputError`."""
    text = str(pump).strip().lower()
    if text.startswith("synchromed"):
        return "synchromed"
    if text.startswith("prometra"):
        return "prometra"
    if text.startswith("constant-flow"):
        return "constant-flow"
    raise InputError(f"unknown pump {pump!r}",
                     fix="use a pump id such as " + ", ".join(KNOWN_PUMPS))


@dataclass(frozen=True)
class ChecklistItem:
    phase: Phase
    code: str
    patient: str
    clinician: str
    source: str
    verified: bool = True

    def __post_init__(self) -> None:
        check_source(self.source)

    def as_dict(self) -> dict[str, object]:
        return {"phase": self.phase, "code": self.code, "patient": self.patient,
                "clinician": self.clinician, "source": self.source, "verified": self.verified}


@dataclass(frozen=True)
class ProcedureChecklist:
    procedure: str
    pump: str
    family: PumpFamily
    items: tuple[ChecklistItem, ...]

    def as_dict(self) -> dict[str, object]:
        return {"procedure": self.procedure, "pump": self.pump, "family": self.family,
                "items": [i.as_dict() for i in self.items]}


_LABEL = ChecklistItem(
    "before", "check-labelling",
    "Tell the MRI department about the pump and show the pump card well before the scan.",
    "Check the current MRI labelling for this pump model (field strength and conditions "
    "changed over time: 1.5 T in 2008 labelling, 3 T under conditions later).", "M-MRI",
    verified=False)


def mri_checklist(pump: str) -> ProcedureChecklist:
    """Before/during/after MRI checklist for ``pump`` (M-MRI, TGA-MRI, PROM-MRI)."""
    family = pump_family(pump)
    items: list[ChecklistItem] = [_LABEL]
    if family == "synchromed":
        items += [
            ChecklistItem("before", "interrogate-before",
                          "The pump is read by the ITB team before the scan.",
                          "Interrogate the pump before the MRI: record reservoir volume, "
                          "program and alarms.", "M-MRI"),
            ChecklistItem("before", "do-not-stop",
                          "The pump is not switched off for the scan.",
                          "Do NOT program 'stopped pump' before the MRI.", "M-MRI"),
            ChecklistItem("during", "motor-stops",
                          "During the scan the pump stops giving medicine and may sound an "
                          "alarm; this is expected.",
                          "The magnetic field stalls the rotor: infusion is suspended during "
                          "exposure and a two-tone alarm may sound.", "M-MRI"),
            ChecklistItem("after", "interrogate-after",
                          "The pump must be read again after the scan, the same day.",
                          "Interrogate after the MRI to confirm the motor restarted; recovery "
                          "may not be logged until a second interrogation. If the pump entered "
                          "telemetry mode while alarming, infusion does not resume until it "
                          "is interrogated.", "TGA-MRI"),
            ChecklistItem("after", "resume-delay",
                          "For the next day, watch for stiffness coming back, itching or "
                          "fever, and call the ITB team at once if they appear.",
                          "Return to proper infusion can be delayed 2–24 h: watch for "
                          "withdrawal (higher risk in ITB patients).", "M-MRI"),
        ]
    elif family == "prometra":
        items += [
            ChecklistItem("before", "interrogate-before",
                          "The pump is checked by the ITB team before the scan.",
                          "Interrogate the pump before the MRI and record the reservoir "
                          "volume.", "PROM-MRI"),
            ChecklistItem("before", "empty-pump",
                          "The pump is emptied before the scan, so the medicine cannot be "
                          "released all at once.",
                          "Empty the reservoir before the MRI: strong fields can open the "
                          "valves and discharge the reservoir and catheter contents at once "
                          "(overdose). Plan bridging for withdrawal while empty.",
                          "PROM-MRI"),
            ChecklistItem("during", "valve-closed",
                          "No medicine is given during the scan.",
                          "Prometra II: the flow-activated valve shuts flow (≤ 10 µL "
                          "delivered).", "PROM"),
            ChecklistItem("after", "reset-refill",
                          "After the scan the team resets and refills the pump.",
                          "Manual reset of the flow-activated valve, refill, and interrogate "
                          "to confirm the program.", "PROM"),
            ChecklistItem("after", "withdrawal-watch",
                          "Until the pump is working again, watch for stiffness coming back, "
                          "itching or fever and call the team at once.",
                          "Watch for withdrawal until delivery is restored.", "PROM-MRI"),
        ]
    else:
        items += [
            ChecklistItem("before", "check-model",
                          "Tell the team the exact pump model; they check its MRI information.",
                          "Constant-flow pumps have no motor to stall; check the "
                          "manufacturer's MRI information for this model (not in thecal's "
                          "reference material).", "ASSUMED", verified=False),
            ChecklistItem("after", "check-after",
                          "After the scan, tell the team if stiffness, itching or drowsiness "
                          "appear.", "Review the patient after the MRI.", "ASSUMED",
                          verified=False),
        ]
    return ProcedureChecklist("mri", pump, family, tuple(items))


def diathermy_checklist(pump: str) -> ProcedureChecklist:
    """Diathermy precautions (unverified: not in the reference material)."""
    family = pump_family(pump)
    items = (
        ChecklistItem("before", "tell-team",
                      "Tell the surgeon or therapist about the pump before any diathermy, "
                      "short-wave, microwave or ultrasound heat treatment.",
                      "Check the manufacturer's labelling on diathermy for this pump before "
                      "use; avoid diathermy over or near the pump and catheter.", "ASSUMED",
                      verified=False),
        ChecklistItem("before", "interrogate-before",
                      "The pump is read by the ITB team before the procedure.",
                      "Interrogate before: record reservoir volume, program and alarms.",
                      "M-MRI", verified=False),
        ChecklistItem("after", "interrogate-after",
                      "The pump is read again after the procedure.",
                      "Interrogate after to confirm the program and delivery; watch for "
                      "withdrawal or overdose signs.", "M-MRI", verified=False),
    )
    return ProcedureChecklist("diathermy", pump, family, items)


def implant_card_warnings(pump: str) -> list[str]:
    """The warnings an implant card carries for a pump model (FDA-LAB, M-MRI, PROM-MRI)."""
    family = pump_family(pump)
    return [
        "Stopping baclofen suddenly can be life-threatening (withdrawal: returning stiffness, "
        "itching, fever, confusion, rigidity). Do not let the pump run empty.",
        "Overdose signs: drowsiness, dizziness, slow breathing, loss of consciousness.",
        "Before an MRI: the pump must be checked before and after the scan"
        + ("; it must be emptied first." if family == "prometra" else "."),
        "Tell every doctor, surgeon and therapist about the pump before any procedure.",
    ]


def implant_card_text(pump: str, *, implant_date: date | None = None,
                      concentration: str | None = None, clinic_phone: str | None = None
                      ) -> str:
    """The text of the patient's implant card (plain text, one fact per line)."""
    lines = [
        "I have an implanted intrathecal baclofen (ITB) pump.",
        f"Pump: {pump}" + (f", implanted {implant_date.isoformat()}" if implant_date else ""),
    ]
    if concentration:
        lines.append(f"Drug: baclofen {concentration}")
    lines += implant_card_warnings(pump)
    if clinic_phone:
        lines.append(f"ITB clinic: {clinic_phone}")
    return "\n".join(lines)
