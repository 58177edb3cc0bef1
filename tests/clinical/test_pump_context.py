"""Symptom vocabulary, the pump context, and its adapter from the twin."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from thecal.clinical.context import PumpContext, pump_context_from_mapping, pump_context_from_twin
from thecal.clinical.symptoms import SYMPTOM_CODES, SYMPTOMS, check_symptom_codes, symptom
from thecal.clinical.triage import Urgency, triage
from thecal.errors import InputError

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

DESIGN_CODES = [
    "increased-spasticity", "itching", "low-blood-pressure", "lightheadedness", "tingling",
    "high-fever", "changed-mental-status", "muscle-rigidity", "drowsiness", "dizziness",
    "breathing-difficulty", "low-body-temperature", "seizures", "loss-of-consciousness",
    "coma", "loose-muscles", "sleepiness", "upset-stomach", "vomiting", "headache", "fever",
    "incision-redness", "incision-swelling", "incision-pain", "bleeding", "bruising",
    "clear-fluid-leak", "stiff-neck", "new-weakness-or-numbness", "pump-alarm-single-tone",
    "pump-alarm-two-tone", "skin-breakdown-over-pump", "pump-moved",
]


def test_vocabulary_matches_design() -> None:
    assert sorted(SYMPTOM_CODES) == sorted(DESIGN_CODES)
    ambiguous = {c for c, s in SYMPTOMS.items() if s.ambiguous}
    assert ambiguous == {"lightheadedness", "dizziness", "headache"}
    assert all(s.patient_words and s.clinician_words for s in SYMPTOMS.values())


def test_unknown_symptom_lists_known_codes() -> None:
    with pytest.raises(InputError) as info:
        symptom("itchy")
    assert "increased-spasticity" in str(info.value) and "pump-moved" in str(info.value)
    assert check_symptom_codes(["itching", "itching", "fever"]) == ("itching", "fever")


def test_context_validation() -> None:
    with pytest.raises(InputError):
        PumpContext(reservoir_empty="yes")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        pump_context_from_mapping({"reservoir_emtpy": True})
    ctx = pump_context_from_mapping({"alarm_sounding": ["motor-stall"]})
    assert ctx.therapy_at_risk and ctx.critical_alarms == ("motor-stall",)
    assert not PumpContext(alarm_sounding=("low-reservoir",)).therapy_at_risk
    assert PumpContext(alarm_sounding=("an-alarm-thecal-does-not-know",)).therapy_at_risk


@dataclass
class _Alarm:
    code: str
    priority: str
    since: datetime


@dataclass
class _FakeState:
    reservoir_ml: float = 10.0
    low_reservoir_alarm_ml: float = 2.0
    pump_state: str = "running"
    alarms: tuple[_Alarm, ...] = ()
    last_refill_at: datetime | None = None
    last_program_change_at: datetime | None = None
    implanted_at: datetime | None = None
    concentration_changed_at: datetime | None = None
    last_mri_at: datetime | None = None
    last_catheter_revision_at: datetime | None = None
    active_faults: tuple[str, ...] = field(default=())


def test_adapter_reads_a_twin_like_state() -> None:
    state = _FakeState(reservoir_ml=0.0, pump_state="empty",
                       alarms=(_Alarm("empty-reservoir", "high", AT - timedelta(hours=5)),),
                       last_refill_at=AT - timedelta(days=60),
                       last_program_change_at=AT - timedelta(days=1),
                       implanted_at=AT - timedelta(weeks=30),
                       last_mri_at=AT - timedelta(hours=30))
    ctx = pump_context_from_twin(state, AT)
    assert ctx.reservoir_empty and ctx.therapy_stopped and ctx.reservoir_low
    assert ctx.alarm_sounding == ("empty-reservoir",)
    assert ctx.refill_within_24h is False
    assert ctx.dose_raised_within_days is True
    assert ctx.mri_within_days is True
    assert ctx.weeks_since_implant == pytest.approx(30)
    assert ctx.catheter_revised_recently is None
    assert triage(["increased-spasticity"], [], ctx).urgency is Urgency.URGENT


def test_adapter_tolerates_missing_attributes_and_hides_injected_faults() -> None:
    ctx = pump_context_from_twin(object(), AT)
    assert ctx == PumpContext()
    state = _FakeState(active_faults=("pocket-fill",))
    assert pump_context_from_twin(state, AT).overdose_suspected is False
    seen = pump_context_from_twin(state, AT, use_injected_faults=True)
    assert seen.overdose_suspected and seen.pump_fault_suspected
    with pytest.raises(InputError):
        pump_context_from_twin(state, datetime(2026, 3, 1, 9))


def test_mri_discharge_alarm_means_overdose_risk() -> None:
    state = _FakeState(alarms=(_Alarm("mri-discharge", "high", AT),))
    ctx = pump_context_from_twin(state, AT)
    assert ctx.overdose_suspected
    assert triage(["drowsiness"], [], ctx).urgency is Urgency.EMERGENCY


TIMELINE = (Path(__file__).parents[1] / "fixtures/continuous-500.yaml").read_text(encoding="utf-8")


def test_adapter_on_the_real_twin(tmp_path: Path) -> None:
    replay_mod = pytest.importorskip("thecal.device.replay")
    from thecal.timeline import load_timeline

    path = tmp_path / "t.yaml"
    path.write_text(TIMELINE, encoding="utf-8")
    timeline = load_timeline(path)
    # 20 mL at 1 mL/day: empty after about 20 days.
    at = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
    state = replay_mod.replay(timeline, until=at).state_at(at)
    ctx = pump_context_from_twin(state, at)
    assert ctx.reservoir_empty and ctx.therapy_at_risk
    assert triage(["itching"], [], ctx).urgency is Urgency.URGENT
    early = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
    ctx_early = pump_context_from_twin(replay_mod.replay(timeline, until=early).state_at(early),
                                       early)
    assert ctx_early.refill_within_24h and ctx_early.weeks_since_implant is not None
    assert triage(["drowsiness"], [], ctx_early).urgency is Urgency.EMERGENCY  # pocket fill?
