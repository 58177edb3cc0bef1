"""Symptom triage: what a symptom report means given the risk modifiers and the pump's state.

The rules are deterministic, versioned (:data:`RULESET_VERSION`) and listed in :data:`RULES`,
each with an id, the urgency it sets as a floor, and its source. The urgency of a report is
the highest floor of the rules that fire. Every rule's condition only asks whether something
*is present* (a symptom, a modifier, a known pump problem), never whether it is absent or
unknown, so adding a symptom, a modifier or a worsening pump state can never lower the
urgency (safety-requirements TR-4; property-tested).

Principles (safety-requirements D, TR-1 … TR-5):

* never reassure: severe withdrawal signs (FDA-LAB) and dangerous overdose signs (PILL) are
  emergencies; every answer, even a routine one, says what to do if things change;
* ambiguity is not resolved by guessing (TR-3, FPN): when withdrawal and overdose cannot be
  told apart the answer says so and asks for the pump to be interrogated, at emergency
  urgency where either is dangerous (seizures, loss of consciousness, coma);
* early withdrawal signs with an empty, stopped, faulty or critically alarming pump are at
  least urgent (NSURG04, M-PUMP, AL-5); overdose signs within 24 h of a refill raise the
  suspicion of a pocket fill (M-POCKET, TGA-POCKET).

The causes are ranked by weights that the symptoms and the pump state give them (each
normalised to a share of 1); the weights order the work-up, they are not probabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final

from thecal.clinical.context import PumpContext
from thecal.clinical.symptoms import check_symptom_codes, codes_in_group
from thecal.errors import InputError
from thecal.sources import check_source

RULESET_VERSION: Final = "thecal.triage/1.2"


class Urgency(StrEnum):
    """How soon someone must act, lowest first."""

    ROUTINE = "routine"
    SOON = "soon"
    URGENT = "urgent"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        return _URGENCY_ORDER.index(self)


_URGENCY_ORDER: Final = (Urgency.ROUTINE, Urgency.SOON, Urgency.URGENT, Urgency.EMERGENCY)

# --- vocabularies ---------------------------------------------------------------------------

CAUSES: Final[dict[str, tuple[str, str]]] = {
    # code: (patient words, clinician words)
    "withdrawal-or-underdose": ("not enough medicine reaching the spine (withdrawal)",
                                "ITB withdrawal / underdosing"),
    "overdose": ("too much medicine", "baclofen overdose"),
    "surgical-site-infection-or-meningitis": ("an infection of a wound, the pump pocket or "
                                              "around the spine",
                                              "surgical-site / pocket infection or meningitis"),
    "spinal-fluid-leak": ("spinal fluid leaking", "CSF leak"),
    "drug-side-effect": ("a side effect of the medicine", "baclofen adverse effect"),
    "device-problem": ("a problem with the pump or its tube", "pump or catheter malfunction"),
}
_W, _OD, _INF, _LEAK, _SE, _DEV = CAUSES

MODIFIERS: Final[dict[str, tuple[str, str]]] = {
    # code: (words, source)
    "sci-t6-or-above": ("spinal cord injury at T6 or above: higher risk of severe withdrawal "
                        "(and autonomic dysreflexia)", "FDA-LAB"),
    "communication-difficulty": ("cannot easily report symptoms: higher risk that withdrawal is "
                                 "missed", "FDA-LAB"),
    "prior-withdrawal": ("has had baclofen withdrawal before: higher risk", "FDA-LAB"),
    "missed-refill": ("a refill appointment was missed: the reservoir may be low or empty",
                      "M-PUMP"),
}
HIGH_RISK_MODIFIERS: Final = frozenset({"sci-t6-or-above", "communication-difficulty",
                                        "prior-withdrawal"})

WITHDRAWAL_EARLY: Final = frozenset(codes_in_group("withdrawal-early"))
WITHDRAWAL_SEVERE: Final = frozenset(codes_in_group("withdrawal-severe"))
OVERDOSE: Final = frozenset(codes_in_group("overdose"))
SIDE_EFFECT: Final = frozenset(codes_in_group("side-effect"))
OVERDOSE_DANGEROUS: Final = frozenset({"breathing-difficulty", "seizures",
                                       "loss-of-consciousness", "coma"})
# Fit both overdose and severe withdrawal (TR-3, FPN): the pump must be read to tell them apart.
DANGEROUS_EITHER: Final = frozenset({"seizures", "loss-of-consciousness", "coma",
                                     "changed-mental-status"})
FEVERS: Final = frozenset({"fever", "high-fever"})
PUMP_ALARMS: Final = frozenset({"pump-alarm-single-tone", "pump-alarm-two-tone"})

# How much each symptom points at each cause (before the pump state weighs in).
SYMPTOM_EVIDENCE: Final[dict[str, dict[str, float]]] = {
    "increased-spasticity": {_W: 2.0, _DEV: 1.0, _INF: 0.5},
    "itching": {_W: 3.0},
    "low-blood-pressure": {_W: 2.0, _OD: 1.0},
    "lightheadedness": {_W: 1.5, _OD: 1.5},
    "tingling": {_W: 1.5},
    "high-fever": {_W: 3.0, _INF: 2.0},
    "changed-mental-status": {_W: 2.0, _OD: 2.0, _INF: 1.0},
    "muscle-rigidity": {_W: 3.0},
    "drowsiness": {_OD: 2.0, _SE: 1.0},
    "dizziness": {_OD: 1.5, _SE: 1.5},
    "breathing-difficulty": {_OD: 3.0},
    "low-body-temperature": {_OD: 2.0},
    "seizures": {_OD: 2.0, _W: 2.0, _INF: 0.5},
    "loss-of-consciousness": {_OD: 2.5, _W: 1.5},
    "coma": {_OD: 3.0, _W: 1.5},
    "loose-muscles": {_SE: 2.0, _OD: 1.0},
    "sleepiness": {_SE: 2.0, _OD: 1.0},
    "upset-stomach": {_SE: 2.0},
    "vomiting": {_SE: 1.5, _INF: 0.5, _LEAK: 0.5},
    "headache": {_SE: 1.0, _LEAK: 1.5, _INF: 1.0},
    "fever": {_INF: 2.5, _W: 1.0},
    "incision-redness": {_INF: 3.0},
    "incision-swelling": {_INF: 2.0, _LEAK: 1.5},
    "incision-pain": {_INF: 1.5},
    "bleeding": {_INF: 1.0},
    "bruising": {_INF: 0.5},
    "clear-fluid-leak": {_LEAK: 3.0, _INF: 1.0},
    "stiff-neck": {_INF: 3.0, _LEAK: 1.0},
    "new-weakness-or-numbness": {_DEV: 2.0, _INF: 1.5, _OD: 1.0},
    "pump-alarm-single-tone": {_DEV: 2.0, _W: 0.5},
    "pump-alarm-two-tone": {_DEV: 3.0, _W: 2.0},
    "skin-breakdown-over-pump": {_DEV: 2.5, _INF: 2.0},
    "pump-moved": {_DEV: 3.0},
}


@dataclass(frozen=True)
class Action:
    """Something to do, in words for the patient and for the clinician.

    ``within`` is how soon the patient's words tell them to act (None: they set no time, or
    only "if this appears, …"): a rule never carries an action whose words are more urgent
    than the rule, and an answer never shows the patient words that give more time than its
    urgency (see :func:`triage`), so the advice and the urgency cannot disagree.
    """

    code: str
    patient: str
    clinician: str
    source: str
    within: Urgency | None = None

    def __post_init__(self) -> None:
        check_source(self.source)

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "patient": self.patient, "clinician": self.clinician,
                "source": self.source}


ACTIONS: Final[dict[str, Action]] = {a.code: a for a in (
    # the emergency number is the site's (setting ``emergency_number``), shown beside the
    # advice as a tel: link by every face; the words name no country's number
    Action("call-emergency",
           "Call emergency services now. Say that you have an intrathecal baclofen pump and "
           "show the pump card.",
           "Emergency assessment now (airway, breathing, circulation, temperature); inform the "
           "ITB team.", "FDA-LAB", Urgency.EMERGENCY),
    Action("interrogate-pump",
           "The pump needs to be read with the programmer as soon as possible. Bring the pump "
           "card and the date of the last refill.",
           "Interrogate the pump: reservoir volume against the expected volume, programmed "
           "dose and mode, alarm and event log (motor stall), last refill and program change.",
           "B-TROUBLE"),
    Action("restore-itb", "",
           "If delivery stopped or fell, restore intrathecal baclofen as soon as possible: "
           "after a short interruption resume the previous dose schedule; oral baclofen "
           "10–20 mg every 6 h as an adjunct for longer interruptions; cyproheptadine or "
           "diazepam as further adjuncts.", "B-TROUBLE"),
    Action("manage-overdose", "",
           "Suspected overdose: support breathing (intubate if needed), remove the residual "
           "solution from the pump reservoir; physostigmine and lumbar CSF drainage have been "
           "used.", "PILL"),
    Action("check-pocket-fill", "",
           "Overdose signs within 24 h of a refill: suspect a pocket fill. Check the refill "
           "record (volume withdrawn against expected, volume added) and observe for "
           "progression.", "M-POCKET"),
    Action("review-recent-dose-change", "",
           "Review the last program change or concentration change (bridge bolus, rate "
           "arithmetic); a dose reduction may be needed.", "B-DOSE"),
    Action("check-bridge-bolus", "",
           "The concentration changed recently: check that a bridge bolus was programmed.",
           "B-DOSE"),
    Action("check-after-mri",
           "Tell the ITB team about the MRI: the pump must be checked afterwards.",
           "Interrogate after the MRI to confirm the motor restarted (recovery can take "
           "2–24 h and may not be logged until a second interrogation).", "M-MRI"),
    Action("refill-or-replace",
           "The pump needs a refill (or replacement) now: call the ITB team today.",
           "Refill the reservoir or arrange pump replacement today; watch for withdrawal.",
           "M-PUMP", Urgency.URGENT),
    # The reservoir is running low but the pump is not alarming and nothing is felt: a refill
    # within days, before the alarm volume (withdrawal signs began 1–7 days before the
    # residual reached 2.1–3.8 mL, NSURG04).
    Action("book-refill",
           "The pump needs a refill soon: call the ITB team within the next day to book it.",
           "Book a refill within days, before the reservoir reaches the low-reservoir alarm "
           "volume.", "NSURG04", Urgency.SOON),
    Action("contact-itb-team-today",
           "Contact your ITB team today. If you cannot reach them, go to an emergency "
           "department.",
           "Same-day assessment by the ITB team.", "FDA-LAB", Urgency.URGENT),
    Action("contact-surgical-team",
           "Call the surgical team at once about the wound or the signs after surgery.",
           "Same-day surgical review of the wound and pump pocket; temperature and "
           "inflammatory markers; look for infection or CSF leak.", "GIL", Urgency.URGENT),
    Action("tell-surgical-team",
           "Tell the surgical team about the wound within the next day.",
           "Surgical review of the wound within days.", "GIL", Urgency.SOON),
    Action("suspect-meningitis", "",
           "Consider meningitis: emergency assessment, blood cultures, CSF analysis when "
           "safe.", "GIL"),
    Action("catheter-workup", "",
           "Loss-of-efficacy work-up: history, examination, catheter imaging (X-ray, contrast "
           "study), look for noxious stimuli and infection, CK, pump interrogation with "
           "reservoir volume.", "B-TROUBLE"),
    Action("review-side-effects",
           "Tell your ITB clinic within the next day; the dose may need adjusting.",
           "Review for dose-related adverse effects; consider a dose reduction.", "B-DOSE",
           Urgency.SOON),
    Action("watch-after-refill",
           "For 24 hours after a refill, watch for unusual drowsiness, dizziness or slow "
           "breathing, and call emergency services if they appear.",
           "Post-refill overdose watch (pocket fill risk).", "M-POCKET"),
    Action("mention-at-next-visit",
           "Mention it at your next visit, and call the ITB team if anything changes.",
           "Note for the next visit.", "ASSUMED", Urgency.ROUTINE),
)}

@dataclass(frozen=True)
class TriageFacts:
    """What the rules read: the report, the risk modifiers, the pump, and what follows."""

    symptoms: frozenset[str]
    modifiers: frozenset[str]
    ctx: PumpContext
    early: frozenset[str]  # early withdrawal signs reported
    overdose: frozenset[str]  # overdose signs reported
    high_risk: bool  # a modifier of high risk of severe withdrawal
    pump_failing: bool  # the pump is known to be at risk, or a two-tone alarm is heard
    fever: bool

    @classmethod
    def of(cls, symptoms: frozenset[str], modifiers: frozenset[str],
           ctx: PumpContext) -> TriageFacts:
        return cls(symptoms, modifiers, ctx, symptoms & WITHDRAWAL_EARLY, symptoms & OVERDOSE,
                   bool(modifiers & HIGH_RISK_MODIFIERS),
                   ctx.therapy_at_risk or "pump-alarm-two-tone" in symptoms,
                   bool(symptoms & FEVERS))


@dataclass(frozen=True)
class Rule:
    """One triage rule as one record: its id, the urgency it sets, why, its source, when it
    fires (``when``, over :class:`TriageFacts`) and what to do then (``actions``, codes of
    :data:`ACTIONS`)."""

    id: str
    urgency: Urgency
    description: str
    source: str
    verified: bool = True
    when: Callable[[TriageFacts], object] = field(default=lambda f: False, compare=False,
                                                  repr=False, kw_only=True)
    actions: tuple[str, ...] = field(default=(), kw_only=True)

    def __post_init__(self) -> None:
        check_source(self.source)
        unknown = [code for code in self.actions if code not in ACTIONS]
        if unknown or not self.actions:
            raise ValueError(f"triage rule {self.id}: unknown or missing actions {unknown}")
        hurried = [code for code in self.actions if (within := ACTIONS[code].within) is not None
                   and within.rank > self.urgency.rank]
        if hurried:
            raise ValueError(f"triage rule {self.id} ({self.urgency.value}): the words of "
                             f"{hurried} ask for more haste than the rule's urgency")

    def fires(self, facts: TriageFacts) -> bool:
        return bool(self.when(facts))

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "urgency": self.urgency.value, "description": self.description,
                "source": self.source, "verified": self.verified}


_E, _U, _S, _R = Urgency.EMERGENCY, Urgency.URGENT, Urgency.SOON, Urgency.ROUTINE

RULES: Final[dict[str, Rule]] = {r.id: r for r in (
    Rule("TR-W-SEVERE", _E, "severe withdrawal sign (high fever, altered mental status, "
         "rigidity): can progress to rhabdomyolysis, organ failure and death", "FDA-LAB",
         when=lambda f: f.symptoms & WITHDRAWAL_SEVERE,
         actions=("call-emergency", "interrogate-pump", "restore-itb")),
    Rule("TR-OD-DANGER", _E, "dangerous overdose sign (respiratory depression, seizures, "
         "loss of consciousness, coma)", "PILL", verified=False,
         when=lambda f: f.symptoms & OVERDOSE_DANGEROUS,
         actions=("call-emergency", "interrogate-pump", "manage-overdose")),
    Rule("TR-AMBIGUOUS-DANGER", _E, "a dangerous sign that fits both overdose and severe "
         "withdrawal: cannot be told apart without reading the pump", "FPN", verified=False,
         when=lambda f: f.symptoms & DANGEROUS_EITHER,
         actions=("call-emergency", "interrogate-pump")),
    # A single early sign is same-day work: its causes (an empty or stopped pump, a catheter
    # problem, a missed refill) do not resolve on their own, and withdrawal evolves over
    # 1–3 days and can become fulminant (COFFEY02; early signs: MEYTHALER03, NSWIKI).
    Rule("TR-W-EARLY", _U, "early withdrawal / underdose sign: the causes do not resolve on "
         "their own and withdrawal can progress within 1–3 days", "COFFEY02",
         when=lambda f: f.early,
         actions=("contact-itb-team-today", "interrogate-pump")),
    # Fever is a later withdrawal sign (MEYTHALER03, FDA-LAB): with an early sign, or with a
    # pump that may be running dry or alarming, it is read as withdrawal until the pump has
    # been read, whichever fever box was ticked (``high-fever`` or the post-operative
    # ``fever``).
    Rule("TR-W-FEVER", _E, "fever together with an early withdrawal sign: the picture of "
         "withdrawal progressing", "MEYTHALER03",
         when=lambda f: f.fever and f.early,
         actions=("call-emergency", "interrogate-pump", "restore-itb")),
    Rule("TR-W-FEVER-PUMP", _E, "fever with a refill overdue, a low reservoir or a pump alarm: "
         "withdrawal must be ruled out at once", "FDA-LAB",
         when=lambda f: f.fever and (f.ctx.refill_overdue or f.ctx.reservoir_low
                                     or f.ctx.reservoir_empty or f.ctx.alarm_sounding
                                     or "missed-refill" in f.modifiers
                                     or f.symptoms & PUMP_ALARMS),
         actions=("call-emergency", "interrogate-pump", "refill-or-replace", "restore-itb")),
    Rule("TR-W-ITCH", _U, "itching without rash is very suggestive of early withdrawal",
         "NSWIKI", verified=False,
         when=lambda f: "itching" in f.symptoms,
         actions=("contact-itb-team-today", "interrogate-pump")),
    Rule("TR-W-PATTERN", _U, "two or more early withdrawal signs together", "FDA-LAB",
         when=lambda f: len(f.early) >= 2,
         actions=("contact-itb-team-today", "interrogate-pump", "restore-itb")),
    Rule("TR-W-PUMP", _U, "early withdrawal sign with an empty, stopped, faulty or critically "
         "alarming pump", "M-PUMP",
         when=lambda f: f.early and f.pump_failing,
         actions=("contact-itb-team-today", "interrogate-pump", "refill-or-replace", "restore-itb")),
    Rule("TR-W-PUMP-HIGH-RISK", _E, "early withdrawal sign with a failing pump in a patient "
         "at high risk of severe withdrawal", "FDA-LAB",
         when=lambda f: f.early and f.pump_failing and f.high_risk,
         actions=("call-emergency", "interrogate-pump", "restore-itb")),
    Rule("TR-W-LOW-RESERVOIR", _U, "early withdrawal sign with a low reservoir: withdrawal "
         "can begin before the reservoir is empty", "NSURG04",
         when=lambda f: f.early and f.ctx.reservoir_low,
         actions=("contact-itb-team-today", "refill-or-replace")),
    Rule("TR-W-MRI", _U, "early withdrawal sign after an MRI: the pump motor may not have "
         "restarted", "M-MRI",
         when=lambda f: f.early and f.ctx.mri_within_days,
         actions=("contact-itb-team-today", "check-after-mri", "interrogate-pump")),
    Rule("TR-W-CONCENTRATION", _U, "early withdrawal sign after a concentration change "
         "(was a bridge bolus given?)", "B-DOSE",
         when=lambda f: f.early and f.ctx.concentration_changed_recently,
         actions=("contact-itb-team-today", "check-bridge-bolus", "interrogate-pump")),
    Rule("TR-W-REVISION", _U, "early withdrawal sign after a catheter revision", "B-TROUBLE",
         when=lambda f: f.early and f.ctx.catheter_revised_recently,
         actions=("contact-itb-team-today", "catheter-workup")),
    Rule("TR-W-MISSED-REFILL", _U, "early withdrawal sign after a missed refill", "M-PUMP",
         when=lambda f: f.early and ("missed-refill" in f.modifiers or f.ctx.refill_overdue),
         actions=("contact-itb-team-today", "refill-or-replace")),
    Rule("TR-OD-SIGN", _S, "overdose sign (drowsiness, light-headedness, dizziness, low "
         "body temperature)", "PILL", verified=False,
         when=lambda f: f.overdose,
         actions=("interrogate-pump",)),
    Rule("TR-OD-HYPOTHERMIA", _U, "low body temperature", "PILL", verified=False,
         when=lambda f: "low-body-temperature" in f.symptoms,
         actions=("contact-itb-team-today", "interrogate-pump")),
    Rule("TR-OD-PATTERN", _U, "two or more overdose signs together", "PILL", verified=False,
         when=lambda f: len(f.overdose) >= 2,
         actions=("contact-itb-team-today", "interrogate-pump")),
    Rule("TR-OD-POCKET-FILL", _E, "overdose sign within 24 h of a refill: suspect a pocket "
         "fill (drug injected into the tissue around the pump)", "M-POCKET",
         when=lambda f: f.overdose and f.ctx.refill_within_24h,
         actions=("call-emergency", "check-pocket-fill", "manage-overdose")),
    Rule("TR-OD-DEVICE", _E, "overdose sign after the pump may have released a large dose "
         "(MRI discharge of a valve-gated pump, over-infusion)", "PROM-MRI",
         when=lambda f: f.overdose and f.ctx.overdose_suspected,
         actions=("call-emergency", "interrogate-pump", "manage-overdose")),
    Rule("TR-C-OVERDOSE-RISK", _U, "the pump may have released a large dose: watch for "
         "overdose", "PROM-MRI",
         when=lambda f: f.ctx.overdose_suspected,
         actions=("contact-itb-team-today", "interrogate-pump")),
    Rule("TR-OD-DOSE-CHANGE", _U, "overdose sign after a recent dose increase or "
         "concentration change", "B-DOSE",
         when=lambda f: f.overdose and (f.ctx.dose_raised_within_days or f.ctx.concentration_changed_recently),
         actions=("contact-itb-team-today", "review-recent-dose-change")),
    Rule("TR-MIXED", _U, "signs that fit both withdrawal and overdose: read the pump before "
         "changing anything", "FPN", verified=False,
         when=lambda f: ((f.early and f.overdose) or "lightheadedness" in f.symptoms
                         or (f.symptoms & WITHDRAWAL_SEVERE and f.overdose)),
         actions=("contact-itb-team-today", "interrogate-pump")),
    Rule("TR-HIGH-RISK", _U, "withdrawal or overdose sign in a patient at high risk (SCI at "
         "T6 or above, communication difficulty, prior withdrawal)", "FDA-LAB",
         when=lambda f: f.high_risk and (f.early or f.overdose or f.symptoms & WITHDRAWAL_SEVERE),
         actions=("contact-itb-team-today", "interrogate-pump")),
    Rule("TR-SE", _S, "possible drug side effect", "GAB-PT",
         when=lambda f: f.symptoms & (SIDE_EFFECT - {"upset-stomach"}),
         actions=("review-side-effects",)),
    Rule("TR-SE-MILD", _R, "mild stomach upset", "GAB-PT",
         when=lambda f: "upset-stomach" in f.symptoms,
         actions=("mention-at-next-visit",)),
    Rule("TR-S-MENINGITIS", _E, "fever with stiff neck, headache or confusion (or stiff neck "
         "with headache): suspect meningitis", "GIL", verified=False,
         when=lambda f: ((f.fever and f.symptoms & {"stiff-neck", "headache",
                                                     "changed-mental-status"})
                         or ("stiff-neck" in f.symptoms and "headache" in f.symptoms)),
         actions=("call-emergency", "suspect-meningitis")),
    Rule("TR-S-LEAK-FEVER", _E, "clear fluid leak with fever: infection risk around the "
         "spine", "CP-PMC", verified=False,
         when=lambda f: f.fever and "clear-fluid-leak" in f.symptoms,
         actions=("call-emergency", "suspect-meningitis", "contact-surgical-team")),
    Rule("TR-S-NEW-DEFICIT", _E, "new weakness or numbness", "GIL", verified=False,
         when=lambda f: "new-weakness-or-numbness" in f.symptoms,
         actions=("call-emergency", "interrogate-pump", "catheter-workup")),
    Rule("TR-S-CALL-AT-ONCE", _U, "fever, wound redness or swelling, bleeding, clear fluid "
         "leak, stiff neck: call at once", "GIL",
         when=lambda f: f.symptoms & {"fever", "incision-redness", "incision-swelling",
                                      "bleeding", "clear-fluid-leak", "stiff-neck"},
         actions=("contact-surgical-team",)),
    Rule("TR-S-HEADACHE-RECENT", _U, "headache within weeks of surgery: possible spinal fluid "
         "leak", "CP-PMC", verified=False,
         when=lambda f: "headache" in f.symptoms and f.ctx.recent_surgery,
         actions=("contact-surgical-team",)),
    Rule("TR-S-WOUND-PAIN", _S, "wound pain", "GIL",
         when=lambda f: "incision-pain" in f.symptoms,
         actions=("tell-surgical-team",)),
    Rule("TR-S-BRUISING", _R, "bruising around a wound", "GIL",
         when=lambda f: "bruising" in f.symptoms,
         actions=("mention-at-next-visit",)),
    Rule("TR-D-TWO-TONE", _U, "two-tone (critical) alarm: the medicine may no longer be "
         "flowing", "M-PUMP",
         when=lambda f: "pump-alarm-two-tone" in f.symptoms,
         actions=("contact-itb-team-today", "interrogate-pump", "refill-or-replace")),
    Rule("TR-D-SINGLE-TONE", _S, "single-tone (non-critical) alarm: low reservoir or "
         "replacement due", "M-PUMP",
         when=lambda f: "pump-alarm-single-tone" in f.symptoms,
         actions=("interrogate-pump",)),
    # An alarm heard while the refill is overdue or the reservoir is known to be low: the
    # reservoir may be (nearly) empty — the single tone is the low-reservoir alarm (1.10), the
    # two-tone an empty reservoir (1.11, M-PUMP, GIL) — and withdrawal can begin within hours,
    # evolving over 1–3 days (5.1, COFFEY02): same day, whichever tone.
    Rule("TR-D-ALARM-RUNNING-DRY", _U, "pump alarm with a refill overdue or a low reservoir: "
         "the reservoir may be (nearly) empty and withdrawal can begin within hours", "M-PUMP",
         when=lambda f: f.symptoms & PUMP_ALARMS and (
             f.ctx.refill_overdue or f.ctx.reservoir_low or f.ctx.reservoir_empty
             or "missed-refill" in f.modifiers),
         actions=("contact-itb-team-today", "interrogate-pump", "refill-or-replace")),
    Rule("TR-D-SKIN", _U, "skin breakdown over the pump: infection or erosion", "GIL",
         verified=False,
         when=lambda f: "skin-breakdown-over-pump" in f.symptoms,
         actions=("contact-surgical-team",)),
    Rule("TR-D-MOVED", _S, "the pump seems to have moved", "GIL", verified=False,
         when=lambda f: "pump-moved" in f.symptoms,
         actions=("interrogate-pump",)),
    Rule("TR-C-THERAPY-AT-RISK", _U, "the pump is known to be empty, stopped, faulty or "
         "critically alarming: withdrawal will follow", "M-PUMP",
         when=lambda f: f.ctx.therapy_at_risk,
         actions=("contact-itb-team-today", "interrogate-pump", "refill-or-replace")),
    Rule("TR-C-LOW-RESERVOIR", _S, "low reservoir: refill due", "NSURG04",
         when=lambda f: f.ctx.reservoir_low or f.ctx.non_critical_alarms,
         actions=("book-refill",)),
    Rule("TR-C-MISSED-REFILL", _S, "missed refill: the reservoir may be low or empty",
         "M-PUMP",
         when=lambda f: "missed-refill" in f.modifiers or f.ctx.refill_overdue,
         actions=("book-refill",)),
    Rule("TR-C-MRI", _S, "recent MRI: the pump must be interrogated afterwards", "M-MRI",
         when=lambda f: f.ctx.mri_within_days,
         actions=("check-after-mri",)),
    Rule("TR-C-AFTER-REFILL", _R, "within 24 h of a refill: watch for overdose signs",
         "M-POCKET",
         when=lambda f: f.ctx.refill_within_24h,
         actions=("watch-after-refill",)),
    Rule("TR-NOTHING", _R, "no symptom and no known pump problem reported", "ASSUMED",
         actions=("mention-at-next-visit",)),
)}


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CauseWeight:
    """One possible cause and its share of the weight of evidence (0–1)."""

    code: str
    weight: float
    patient_words: str
    clinician_words: str

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "weight": self.weight, "patient_words": self.patient_words,
                "clinician_words": self.clinician_words}


@dataclass(frozen=True)
class TriageResult:
    """The answer of :func:`triage`."""

    urgency: Urgency
    causes: tuple[CauseWeight, ...]
    actions: tuple[Action, ...]
    advice_patient: str
    advice_clinician: str
    rules: tuple[Rule, ...]
    withdrawal_or_overdose_unclear: bool
    symptoms: tuple[str, ...]
    modifiers: tuple[str, ...]
    context: PumpContext = field(default_factory=PumpContext)
    ruleset_version: str = RULESET_VERSION

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)

    def as_dict(self) -> dict[str, object]:
        return {
            "urgency": self.urgency.value,
            "causes": [c.as_dict() for c in self.causes],
            "actions": [a.as_dict() for a in self.actions],
            "advice": {"patient": self.advice_patient, "clinician": self.advice_clinician},
            "rules": [r.as_dict() for r in self.rules],
            "withdrawal_or_overdose_unclear": self.withdrawal_or_overdose_unclear,
            "symptoms": list(self.symptoms),
            "modifiers": list(self.modifiers),
            "context": self.context.as_dict(),
            "ruleset_version": self.ruleset_version,
        }


# --- the rules ------------------------------------------------------------------------------


def check_modifiers(modifiers: Iterable[str]) -> tuple[str, ...]:
    """Validate risk-modifier codes (unknown → :class:`InputError` listing the known ones)."""
    seen: dict[str, None] = {}
    for code in modifiers:
        if code not in MODIFIERS:
            raise InputError(f"unknown risk modifier {code!r}",
                             fix="use one of: " + ", ".join(MODIFIERS))
        seen.setdefault(code, None)
    return tuple(seen)


# The rule that answers when no other rule fires.
NOTHING_RULE: Final = "TR-NOTHING"


def _fired_rules(facts: TriageFacts) -> tuple[Rule, ...]:
    """The rules whose conditions hold, in :data:`RULES` order (:data:`NOTHING_RULE` if none)."""
    fired = tuple(rule for rule in RULES.values() if rule.fires(facts))
    return fired or (RULES[NOTHING_RULE],)


def _cause_weights(symptoms: frozenset[str], modifiers: frozenset[str],
                   ctx: PumpContext) -> dict[str, float]:
    score = dict.fromkeys(CAUSES, 0.0)
    for code in sorted(symptoms):
        for cause, weight in SYMPTOM_EVIDENCE[code].items():
            score[cause] += weight
    # The pump state multiplies what the symptoms already suggest …
    if ctx.therapy_at_risk:
        score[_W] *= 2.0
    if ctx.reservoir_low or "missed-refill" in modifiers:
        score[_W] *= 1.5
    if ctx.mri_within_days:
        score[_W] *= 1.5
    if ctx.catheter_revised_recently:
        score[_W] *= 1.5
    if ctx.concentration_changed_recently:
        score[_W] *= 1.5
        score[_OD] *= 1.5
    if ctx.refill_within_24h:
        score[_OD] *= 2.0
    if ctx.dose_raised_within_days:
        score[_OD] *= 2.0
    if ctx.overdose_suspected:
        score[_OD] = score[_OD] * 2.0 + 1.0
    if ctx.recent_surgery:
        score[_INF] *= 2.0
        score[_LEAK] *= 2.0
    # … and a known device problem is evidence on its own.
    if ctx.therapy_at_risk:
        score[_W] += 1.0
        score[_DEV] += 2.0
    if ctx.pump_fault_suspected:
        score[_DEV] += 1.0
    if ctx.mri_within_days:
        score[_DEV] += 0.5
    return score


def _ranked(score: dict[str, float]) -> tuple[CauseWeight, ...]:
    total = sum(score.values())
    if total <= 0:
        return ()
    order = list(CAUSES)
    ranked = sorted((c for c in score if score[c] > 0), key=lambda c: (-score[c], order.index(c)))
    return tuple(CauseWeight(c, round(score[c] / total, 3), *CAUSES[c]) for c in ranked)


_PATIENT_HEADLINE: Final[dict[Urgency, str]] = {
    Urgency.EMERGENCY: "This may be an emergency. Call emergency services now and say that you "
                       "have an intrathecal baclofen pump.",
    Urgency.URGENT: "Contact your ITB team today. If you cannot reach them, go to an emergency "
                    "department. Do not wait to see whether it passes.",
    Urgency.SOON: "Contact your ITB clinic within the next day.",
    Urgency.ROUTINE: "Nothing here needs action today; mention it at your next visit.",
}
_ESCALATE: Final = ("Call emergency services at once if fever, confusion, very stiff muscles, "
                    "a seizure, slow or difficult breathing, or fainting appear. Never stop or "
                    "wait out a pump problem.")


def _in_answer(action: Action, urgency: Urgency) -> Action:
    """``action`` as an answer of ``urgency`` shows it: patient words that would give the
    patient more time than the urgency ("within the next day" in a same-day answer) are left
    out — the headline says how soon — and the clinician keeps the action."""
    if action.within is not None and action.within.rank < urgency.rank and action.patient:
        return replace(action, patient="")
    return action


def triage(symptoms: Sequence[str], modifiers: Sequence[str] = (),
           context: PumpContext | None = None) -> TriageResult:
    """Triage a symptom report (codes of DESIGN.md) given risk modifiers and the pump state.

    Unknown symptom or modifier codes raise :class:`InputError` with the known codes.
    """
    if isinstance(symptoms, str) or isinstance(modifiers, str):
        raise InputError("symptoms and modifiers must be lists of codes, not one string",
                         fix="e.g. ['itching', 'increased-spasticity']")
    codes = check_symptom_codes(symptoms)
    mods = check_modifiers(modifiers)
    ctx = context if context is not None else PumpContext()
    sym_set, mod_set = frozenset(codes), frozenset(mods)

    fired = _fired_rules(TriageFacts.of(sym_set, mod_set, ctx))
    urgency = max((r.urgency for r in fired), key=lambda u: u.rank)
    causes = _ranked(_cause_weights(sym_set, mod_set, ctx))

    weights = {c.code: c.weight for c in causes}
    w, od = weights.get(_W, 0.0), weights.get(_OD, 0.0)
    unclear = w > 0 and od > 0 and max(w, od) < 2 * min(w, od)

    action_codes: dict[str, None] = {}
    if urgency is Urgency.EMERGENCY:
        action_codes["call-emergency"] = None
    if unclear:
        action_codes["interrogate-pump"] = None
    for rule in fired:
        for code in rule.actions:
            action_codes.setdefault(code, None)
    if urgency is Urgency.EMERGENCY:
        action_codes.pop("mention-at-next-visit", None)
    actions = tuple(_in_answer(ACTIONS[c], urgency) for c in action_codes)

    patient = [_PATIENT_HEADLINE[urgency]]
    clinician = [f"Urgency {urgency.value} ({', '.join(r.id for r in fired)}; ruleset "
                 f"{RULESET_VERSION})."]
    if unclear:
        patient.append("From these signs alone it cannot be told whether too little or too much "
                       "medicine is reaching the spine: the pump must be read before anything "
                       "is changed.")
        clinician.append("Withdrawal and overdose cannot be told apart from these signs: "
                         "interrogate the pump (reservoir volume, programmed dose, event log) "
                         "before changing the dose.")
    if causes and not unclear:
        patient.append(f"The first thing to check: {causes[0].patient_words}.")
    if causes:
        clinician.append("Causes to consider, in order: " + "; ".join(
            f"{c.clinician_words} ({c.weight:.2f})" for c in causes) + ".")
    high = sorted(mod_set & HIGH_RISK_MODIFIERS)
    if high:
        clinician.append("High-risk modifiers: " + ", ".join(high) + ".")
    patient.append(_ESCALATE)
    return TriageResult(urgency=urgency, causes=causes, actions=actions,
                        advice_patient=" ".join(patient), advice_clinician=" ".join(clinician),
                        rules=fired, withdrawal_or_overdose_unclear=unclear, symptoms=codes,
                        modifiers=mods, context=ctx)
