"""Triage: golden vignettes from the reference (clinical-facts 1.10–1.11, 2.5–2.6, 3.23, 5.1–5.4;
safety-requirements TR-1 … TR-5) and the monotonicity property (TR-4)."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.clinical.context import PumpContext
from thecal.clinical.symptoms import GROUPS, SYMPTOM_CODES, codes_in_group
from thecal.clinical.triage import (
    ACTIONS,
    CAUSES,
    MODIFIERS,
    RULES,
    RULESET_VERSION,
    SYMPTOM_EVIDENCE,
    Urgency,
    triage,
)
from thecal.errors import InputError
from thecal.sources import SOURCES

E, U, S, R = Urgency.EMERGENCY, Urgency.URGENT, Urgency.SOON, Urgency.ROUTINE
EMPTY = PumpContext(reservoir_empty=True)
STOPPED = PumpContext(therapy_stopped=True)
AFTER_REFILL = PumpContext(refill_within_24h=True)
DOSE_UP = PumpContext(dose_raised_within_days=True)
RECENT_IMPLANT = PumpContext(weeks_since_implant=2)
AFTER_MRI = PumpContext(mri_within_days=True)


def test_tables_are_complete() -> None:
    assert set(SYMPTOM_EVIDENCE) == set(SYMPTOM_CODES)
    assert all(set(w) <= set(CAUSES) for w in SYMPTOM_EVIDENCE.values())
    assert all(r.source in SOURCES for r in RULES.values())
    assert all(a.source in SOURCES for a in ACTIONS.values())
    assert RULESET_VERSION


@pytest.mark.parametrize(("symptoms", "modifiers", "context", "urgency", "top_cause"), [
    # Severe withdrawal is always an emergency (TR-1).
    (["high-fever"], [], None, E, "withdrawal-or-underdose"),
    (["muscle-rigidity"], [], None, E, "withdrawal-or-underdose"),
    (["changed-mental-status", "increased-spasticity"], [], EMPTY, E, "withdrawal-or-underdose"),
    # Dangerous overdose signs are emergencies (TR-2).
    (["breathing-difficulty"], [], None, E, "overdose"),
    (["coma"], [], AFTER_REFILL, E, "overdose"),
    # Early withdrawal.
    # A single early sign is same-day work (issue 11: the causes do not resolve on their own).
    (["increased-spasticity"], [], None, U, "withdrawal-or-underdose"),
    (["tingling"], [], None, U, "withdrawal-or-underdose"),
    (["itching"], [], None, U, "withdrawal-or-underdose"),
    # Fever, whichever box, with an early sign or a pump running dry or alarming: emergency.
    (["fever", "itching"], [], None, E, "withdrawal-or-underdose"),
    (["fever", "increased-spasticity"], [], RECENT_IMPLANT, E, None),
    (["fever"], [], PumpContext(refill_overdue=True), E, None),
    (["fever"], [], PumpContext(reservoir_low=True), E, None),
    (["fever"], [], PumpContext(alarm_sounding=("low-reservoir",)), E, None),
    (["fever", "pump-alarm-single-tone"], [], None, E, None),
    (["fever"], ["missed-refill"], None, E, None),
    (["increased-spasticity", "tingling"], [], None, U, "withdrawal-or-underdose"),
    # Early withdrawal with an empty or failing pump: at least urgent.
    (["increased-spasticity"], [], EMPTY, U, "withdrawal-or-underdose"),
    (["tingling"], [], PumpContext(alarm_sounding=("motor-stall",)), U,
     "withdrawal-or-underdose"),
    (["increased-spasticity"], [], AFTER_MRI, U, "withdrawal-or-underdose"),
    (["increased-spasticity"], [], PumpContext(reservoir_low=True), U,
     "withdrawal-or-underdose"),
    # … and with a high-risk patient: emergency (FDA-LAB).
    (["increased-spasticity"], ["sci-t6-or-above"], EMPTY, E, "withdrawal-or-underdose"),
    (["increased-spasticity"], ["prior-withdrawal"], None, U, "withdrawal-or-underdose"),
    # Overdose signs; after a refill → pocket fill suspicion (M-POCKET).
    (["drowsiness"], [], None, S, "overdose"),
    (["drowsiness"], [], AFTER_REFILL, E, "overdose"),
    (["dizziness"], [], AFTER_REFILL, E, "overdose"),
    (["drowsiness"], [], DOSE_UP, U, "overdose"),
    (["drowsiness", "dizziness"], [], None, U, "overdose"),
    (["low-body-temperature"], [], None, U, "overdose"),
    # Side effects.
    (["loose-muscles"], [], None, S, "drug-side-effect"),
    (["upset-stomach"], [], None, R, "drug-side-effect"),
    (["vomiting"], [], None, S, "drug-side-effect"),
    # After surgery.
    (["fever"], [], RECENT_IMPLANT, U, "surgical-site-infection-or-meningitis"),
    (["fever", "stiff-neck"], [], None, E, "surgical-site-infection-or-meningitis"),
    (["fever", "headache"], [], RECENT_IMPLANT, E, "surgical-site-infection-or-meningitis"),
    (["incision-redness"], [], RECENT_IMPLANT, U, "surgical-site-infection-or-meningitis"),
    (["clear-fluid-leak"], [], RECENT_IMPLANT, U, "spinal-fluid-leak"),
    (["clear-fluid-leak", "fever"], [], RECENT_IMPLANT, E, "surgical-site-infection-or-meningitis"),
    (["new-weakness-or-numbness"], [], None, E, "device-problem"),
    (["bruising"], [], None, R, "surgical-site-infection-or-meningitis"),
    (["incision-pain"], [], None, S, "surgical-site-infection-or-meningitis"),
    # Device.
    (["pump-alarm-two-tone"], [], None, U, "device-problem"),
    (["pump-alarm-single-tone"], [], None, S, "device-problem"),
    # The pump beeps while the refill is overdue or the reservoir is low: it may be (nearly)
    # empty and withdrawal can begin within hours — same day, whichever tone (M-PUMP 1.10,
    # 1.11; COFFEY02). Issue 11's walk-through: this was "soon" with "call today" in its words.
    (["pump-alarm-single-tone"], [], PumpContext(refill_overdue=True), U, "device-problem"),
    (["pump-alarm-single-tone"], [], PumpContext(reservoir_low=True), U, "device-problem"),
    (["pump-alarm-single-tone"], ["missed-refill"], None, U, "device-problem"),
    (["pump-alarm-two-tone"], [], PumpContext(refill_overdue=True), U, "device-problem"),
    (["pump-alarm-two-tone", "itching"], [], None, U, "withdrawal-or-underdose"),
    (["skin-breakdown-over-pump"], [], None, U, "device-problem"),
    (["pump-moved"], [], None, S, "device-problem"),
    # Context alone.
    ([], [], EMPTY, U, "device-problem"),
    ([], [], PumpContext(reservoir_low=True), S, None),
    ([], ["missed-refill"], None, S, None),
    ([], [], None, R, None),
])
def test_vignettes(symptoms: list[str], modifiers: list[str], context: PumpContext | None,
                   urgency: Urgency, top_cause: str | None) -> None:
    result = triage(symptoms, modifiers, context)
    assert result.urgency is urgency, result.rule_ids
    if top_cause is None:
        assert not result.causes or result.causes[0].code
    else:
        assert result.causes[0].code == top_cause, result.causes
    assert result.rules and result.actions
    assert result.advice_patient and result.advice_clinician
    if urgency is E:
        assert result.actions[0].code == "call-emergency"
    # Never reassures: every answer says what to do if things change.
    assert "Call emergency services" in result.advice_patient


# --- the ambiguous codes under different pump contexts -------------------------------------

@pytest.mark.parametrize("code", ["seizures", "loss-of-consciousness", "coma"])
@pytest.mark.parametrize("context", [None, EMPTY, AFTER_REFILL, STOPPED, DOSE_UP])
def test_dangerous_ambiguous_signs_are_emergencies_with_interrogation(
        code: str, context: PumpContext | None) -> None:
    result = triage([code], [], context)
    assert result.urgency is E
    assert "TR-AMBIGUOUS-DANGER" in result.rule_ids
    assert "interrogate-pump" in [a.code for a in result.actions]


def test_seizures_without_context_cannot_be_told_apart() -> None:
    result = triage(["seizures"])
    assert result.withdrawal_or_overdose_unclear
    assert "cannot be told apart" in result.advice_clinician
    # An empty pump tips it towards withdrawal; a fresh refill towards overdose.
    assert triage(["seizures"], [], EMPTY).causes[0].code == "withdrawal-or-underdose"
    assert triage(["seizures"], [], AFTER_REFILL).causes[0].code == "overdose"


@pytest.mark.parametrize(("context", "urgency", "top"), [
    (None, U, None),
    (EMPTY, U, "withdrawal-or-underdose"),
    (AFTER_REFILL, E, "overdose"),
    (DOSE_UP, U, "overdose"),
])
def test_lightheadedness(context: PumpContext | None, urgency: Urgency, top: str | None) -> None:
    result = triage(["lightheadedness"], [], context)
    assert result.urgency is urgency
    assert "interrogate-pump" in [a.code for a in result.actions]
    if top is None:
        assert result.withdrawal_or_overdose_unclear
        assert "cannot be told" in result.advice_patient
    else:
        assert result.causes[0].code == top
        assert not result.withdrawal_or_overdose_unclear


@pytest.mark.parametrize(("context", "urgency", "top"), [
    (None, S, "overdose"),
    (AFTER_REFILL, E, "overdose"),
    (DOSE_UP, U, "overdose"),
    (EMPTY, U, "device-problem"),
])
def test_dizziness(context: PumpContext | None, urgency: Urgency, top: str) -> None:
    result = triage(["dizziness"], [], context)
    assert result.urgency is urgency
    assert result.causes[0].code in {top, "drug-side-effect"}


@pytest.mark.parametrize(("context", "urgency", "top"), [
    (None, S, "spinal-fluid-leak"),
    (RECENT_IMPLANT, U, "spinal-fluid-leak"),
    (PumpContext(catheter_revised_recently=True), U, "spinal-fluid-leak"),
    (PumpContext(weeks_since_implant=52), S, "spinal-fluid-leak"),
])
def test_headache(context: PumpContext | None, urgency: Urgency, top: str) -> None:
    result = triage(["headache"], [], context)
    assert result.urgency is urgency
    assert result.causes[0].code == top


def test_every_group_is_covered() -> None:
    for group in GROUPS:
        for code in codes_in_group(group):
            assert triage([code]).urgency is not None


def test_unknown_codes_refused_with_list() -> None:
    with pytest.raises(InputError, match="itching"):
        triage(["itchy"])
    with pytest.raises(InputError, match="sci-t6-or-above"):
        triage(["itching"], ["paraplegia"])
    with pytest.raises(InputError):
        triage("itching")  # type: ignore[arg-type]


def test_deterministic() -> None:
    a = triage(["itching", "drowsiness", "fever"], ["prior-withdrawal"], EMPTY).as_dict()
    b = triage(["fever", "drowsiness", "itching"], ["prior-withdrawal"], EMPTY).as_dict()
    assert a["urgency"] == b["urgency"] and a["causes"] == b["causes"]
    assert [r["id"] for r in a["rules"]] == [r["id"] for r in b["rules"]]


# --- monotonicity (TR-4) -------------------------------------------------------------------

_BOOL_FIELDS = [f.name for f in fields(PumpContext)
                if f.name not in ("alarm_sounding", "weeks_since_implant")]


@st.composite
def contexts(draw: st.DrawFn) -> PumpContext:
    values: dict[str, object] = {name: draw(st.sampled_from([None, False, True]))
                                 for name in _BOOL_FIELDS}
    values["alarm_sounding"] = draw(st.one_of(st.none(), st.lists(st.sampled_from(
        ["low-reservoir", "elective-replacement", "motor-stall", "empty-reservoir",
         "something-new"]), max_size=2).map(tuple)))
    values["weeks_since_implant"] = draw(st.one_of(st.none(), st.floats(0, 600)))
    return PumpContext(**values)  # type: ignore[arg-type]


@st.composite
def worsened(draw: st.DrawFn, ctx: PumpContext) -> PumpContext:
    changes: dict[str, object] = {}
    for name in _BOOL_FIELDS:
        if draw(st.booleans()):
            changes[name] = True
    if draw(st.booleans()):
        extra = draw(st.sampled_from(["low-reservoir", "motor-stall", "empty-reservoir",
                                      "something-new"]))
        changes["alarm_sounding"] = (*(ctx.alarm_sounding or ()), extra)
    if draw(st.booleans()):
        weeks = draw(st.floats(0, 600))
        changes["weeks_since_implant"] = (weeks if ctx.weeks_since_implant is None
                                          else min(weeks, ctx.weeks_since_implant))
    return replace(ctx, **changes)  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None)
@given(data=st.data(),
       symptoms=st.lists(st.sampled_from(SYMPTOM_CODES), max_size=5, unique=True),
       modifiers=st.lists(st.sampled_from(list(MODIFIERS)), max_size=3, unique=True),
       extra_symptoms=st.lists(st.sampled_from(SYMPTOM_CODES), max_size=3),
       extra_modifiers=st.lists(st.sampled_from(list(MODIFIERS)), max_size=2))
def test_urgency_never_lowered(data: st.DataObject, symptoms: list[str], modifiers: list[str],
                               extra_symptoms: list[str], extra_modifiers: list[str]) -> None:
    ctx = data.draw(contexts())
    base = triage(symptoms, modifiers, ctx).urgency
    more = triage(symptoms + extra_symptoms, modifiers + extra_modifiers, ctx).urgency
    assert more.rank >= base.rank
    worse_ctx = data.draw(worsened(ctx))
    worse = triage(symptoms + extra_symptoms, modifiers + extra_modifiers, worse_ctx).urgency
    assert worse.rank >= more.rank


@settings(max_examples=200, deadline=None)
@given(symptoms=st.lists(st.sampled_from(SYMPTOM_CODES), min_size=1, max_size=4, unique=True))
def test_dangerous_signs_always_emergency(symptoms: list[str]) -> None:
    dangerous = {"high-fever", "changed-mental-status", "muscle-rigidity", "breathing-difficulty",
                 "seizures", "loss-of-consciousness", "coma"}
    result = triage(symptoms)
    if dangerous & set(symptoms):
        assert result.urgency is E
    if result.withdrawal_or_overdose_unclear:
        assert "interrogate-pump" in [a.code for a in result.actions]


def test_every_rule_can_fire() -> None:
    """Each rule is one record (condition, urgency, actions, source): search small reports for
    one that fires it, so a rule whose condition can never hold fails here."""
    import dataclasses
    import itertools

    from thecal.clinical.context import PumpContext
    from thecal.clinical.symptoms import SYMPTOMS
    from thecal.clinical.triage import ACTIONS, NOTHING_RULE, TriageFacts, triage

    codes = sorted(SYMPTOMS)
    reports = [frozenset(c) for c in itertools.chain(
        ((code,) for code in codes), itertools.combinations(codes, 2))]
    contexts = [PumpContext()] + [
        dataclasses.replace(PumpContext(), **{f.name: value})
        for f in dataclasses.fields(PumpContext)
        for value in ((True,) if f.type in ("bool | None",) else
                      ((1.0,) if "float" in str(f.type) else (("low-reservoir",),)))
        if f.type in ("bool | None", "float | None", "tuple[str, ...] | None")]
    modifiers = [frozenset(), frozenset({"sci-t6-or-above"}), frozenset({"missed-refill"})]
    unfired = {rid for rid in RULES if rid != NOTHING_RULE}
    for ctx, mods, report in itertools.product(contexts, modifiers, reports):
        facts = TriageFacts.of(report, mods, ctx)
        unfired -= {rid for rid in unfired if RULES[rid].fires(facts)}
        if not unfired:
            break
    assert unfired == set()
    assert triage([], [], PumpContext()).rule_ids == (NOTHING_RULE,)
    assert all(code in ACTIONS for rule in RULES.values() for code in rule.actions)


# --- the words and the urgency agree -------------------------------------------------------

# How soon a patient is told to act, by the words that say it (an "if …" clause is a condition
# for later, not a time: "call emergency services if they appear").
TIME_WORDS = {E: ("emergency services now",), U: ("today", "at once"),
              S: ("within the next day",), R: ("next visit",)}


def _stated_urgency(words: str) -> Urgency | None:
    """The most urgent time the words give unconditionally (None: they give none)."""
    clauses = [c for sentence in words.split(". ") for c in sentence.split(", and ")]
    plain = [c for c in clauses if " if " not in f" {c.lower()} "]
    found = [u for u, phrases in TIME_WORDS.items() if any(p in c for c in plain for p in phrases)]
    return max(found, key=lambda u: u.rank) if found else None


@pytest.mark.parametrize("code", sorted(ACTIONS))
def test_every_action_declares_the_time_its_words_give(code: str) -> None:
    action = ACTIONS[code]
    assert _stated_urgency(action.patient) is action.within, (code, action.patient)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_no_rule_carries_words_more_urgent_than_itself(rule_id: str) -> None:
    """An action that says "today" never comes with a "soon" rule, "now" never below
    emergency, "within the next day" never with a routine one."""
    rule = RULES[rule_id]
    for code in rule.actions:
        stated = _stated_urgency(ACTIONS[code].patient)
        assert stated is None or stated.rank <= rule.urgency.rank, (rule_id, code)


def test_a_rule_with_hastier_words_than_its_urgency_is_refused() -> None:
    from thecal.clinical.triage import Rule

    with pytest.raises(ValueError, match="more haste"):
        Rule("TR-TEST", S, "a test rule", "ASSUMED", actions=("contact-itb-team-today",))


@settings(max_examples=300, deadline=None)
@given(data=st.data(),
       symptoms=st.lists(st.sampled_from(SYMPTOM_CODES), max_size=4, unique=True),
       modifiers=st.lists(st.sampled_from(list(MODIFIERS)), max_size=2, unique=True))
def test_the_answer_words_never_disagree_with_its_urgency(
        data: st.DataObject, symptoms: list[str], modifiers: list[str]) -> None:
    """What the patient reads says as much haste as the urgency, never more and never less:
    the headline gives the urgency's time, and an action's own time is the urgency's (the
    words of a later time are left out; the clinician still sees the action)."""
    result = triage(symptoms, modifiers, data.draw(contexts()))
    headline = result.advice_patient.split(". ")[0]
    assert any(p in result.advice_patient for p in TIME_WORDS[result.urgency]), headline
    for action in result.actions:
        stated = _stated_urgency(action.patient)
        assert stated is None or stated is result.urgency, (result.urgency, action.code,
                                                             result.rule_ids)
    assert result.actions and all(a.clinician or a.patient for a in result.actions)


def test_the_pump_beeps_with_the_refill_overdue_reads_today() -> None:
    """The walk-through's answer: same day in the urgency and in every word."""
    result = triage(["pump-alarm-single-tone"], [], PumpContext(refill_overdue=True))
    assert result.urgency is U and "TR-D-ALARM-RUNNING-DRY" in result.rule_ids
    assert "within the next day" not in result.advice_patient + " ".join(
        a.patient for a in result.actions)
    assert "call the ITB team today" in " ".join(a.patient for a in result.actions)
    # the same beep with nothing known about the pump stays "soon", in words that say so
    plain = triage(["pump-alarm-single-tone"])
    assert plain.urgency is S and "today" not in " ".join(a.patient for a in plain.actions)
