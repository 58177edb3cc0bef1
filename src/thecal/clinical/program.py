"""Programs as a clinician reads them: the 24-hour total, shown beside the previous one.

Every schedule shows its 24-hour total next to the previous programme's, so that a flex step
entered per hour instead of per day cannot pass unseen (safety-requirements DM-5, ISMP).

:func:`assess_program_change` composes the rules a program change is checked against: the
24-hour comparison, the daily-dose guardrail of the etiology and age, the titration step
limit, and whether a written reason is needed (outside the recommended range or step) or the
change is refused (outside the absolute bounds). The service only loads the record, asks it,
and writes what it answers.

Its ``decision`` is one of three (issue 11, point 6):

* ``allowed`` — it may be sent by the clinician alone; never while a danger reason stands;
* ``second-clinician`` — a step beyond the recommended titration step (B-DOSE 3.6) but within
  the absolute step, a programme that stops the pump, or any other danger reason that is not a
  refusal: a second clinician confirms it with their own password before it is sent;
* ``refused`` — outside the absolute daily-dose bounds, a step beyond the absolute step (a
  site setting, default :data:`ABSOLUTE_STEP_MULTIPLE` × the recommended step), or an increase
  inside the 24 hours after the last change (the start dose included, B-DOSE 3.6): it cannot
  be sent at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import time
from typing import Any, Final, Literal

from thecal.clinical.dose import rate_ml_per_day
from thecal.clinical.titration import (
    TitrationCheck,
    check_titration_step,
    daily_dose_guardrail,
    step_limit,
)
from thecal.limits import Classification, Reason, Severity
from thecal.timeline import FlexStep, Program, event_to_dict
from thecal.units import format_number


def _hours_between(a: time, b: time | None) -> float:
    start = a.hour + a.minute / 60
    end = 24.0 if b is None else b.hour + b.minute / 60
    return end - start


def daily_total_mcg(program: Program) -> float:
    """The drug a program delivers in one 24-hour (local) day, in mcg.

    Continuous: its daily dose. Flex: each step's daily dose weighted by the hours it runs.
    Stopped: zero.
    """
    if program.mode == "stopped":
        return 0.0
    if program.mode == "continuous":
        assert program.daily_dose_mcg is not None
        return program.daily_dose_mcg
    return flex_daily_total_mcg(program.steps)


def flex_daily_total_mcg(steps: tuple[FlexStep, ...]) -> float:
    total = 0.0
    for i, step in enumerate(steps):
        nxt = steps[i + 1].start if i + 1 < len(steps) else None
        total += step.daily_dose_mcg * _hours_between(step.start, nxt) / 24.0
    return total


@dataclass(frozen=True)
class ProgramLine:
    """One row of the side-by-side comparison."""

    label: str
    old: str
    new: str


@dataclass(frozen=True)
class ProgramComparison:
    """Old and new programme side by side, with their 24-hour totals and the change."""

    old_daily_total_mcg: float
    new_daily_total_mcg: float
    change_mcg: float
    change_fraction: float | None
    old_rate_ml_per_day: float | None
    new_rate_ml_per_day: float | None
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "old_daily_total_mcg": self.old_daily_total_mcg,
            "new_daily_total_mcg": self.new_daily_total_mcg,
            "change_mcg": self.change_mcg,
            "change_fraction": self.change_fraction,
            "old_rate_ml_per_day": self.old_rate_ml_per_day,
            "new_rate_ml_per_day": self.new_rate_ml_per_day,
            "reasons": [r.as_dict() for r in self.reasons],
        }


def compare_programs(old: Program | None, new: Program,
                     concentration_mcg_per_ml: float | None) -> ProgramComparison:
    """Compare a new programme with the one it replaces (24-hour totals and mean rates)."""
    old_total = daily_total_mcg(old) if old is not None else 0.0
    new_total = daily_total_mcg(new)
    change = new_total - old_total
    fraction = change / old_total if old_total > 0 else None
    conc = concentration_mcg_per_ml
    old_rate = rate_ml_per_day(old_total, conc) if conc else None
    new_rate = rate_ml_per_day(new_total, conc) if conc else None
    reasons = [Reason("daily-total-shown",
                      f"24-hour total {old_total:g} → {new_total:g} mcg/day", "ISMP")]
    if new.mode == "stopped":
        reasons.append(Reason("therapy-stopped",
                              "this programme stops the pump: the patient receives no baclofen "
                              "and is at risk of withdrawal", "FDA-LAB", Severity.DANGER))
    if old_total > 0 and new_total >= 2 * old_total:
        reasons.append(Reason("daily-total-doubled",
                              f"the new 24-hour total is {new_total / old_total:.1f}× the old one; "
                              "check the units of every step", "ISMP", Severity.DANGER))
    return ProgramComparison(old_total, new_total, change, fraction, old_rate, new_rate,
                             tuple(reasons))


def program_view(program: Program | None) -> dict[str, Any] | None:
    """A program as shown side by side: mode, dose or steps, time, and its 24-hour total."""
    if program is None:
        return None
    data = event_to_dict(program)
    view = {k: v for k, v in data.items() if k in ("mode", "daily_dose", "steps", "at")}
    view["daily_total_mcg"] = daily_total_mcg(program)
    return view


_ABSOLUTE = (Classification.ABOVE_ABSOLUTE, Classification.BELOW_ABSOLUTE)

# ASSUMED: no source publishes an absolute titration step. The default refuses a step beyond
# twice the recommended maximum step of B-DOSE 3.6 (spinal adults 60 %, cerebral and children
# 30 % per 24 h); a site sets its own multiple (site setting ``titration_absolute_step_multiple``).
ABSOLUTE_STEP_MULTIPLE: Final = 2.0
ABSOLUTE_STEP_SETTING: Final = "titration_absolute_step_multiple"
Decision = Literal["allowed", "second-clinician", "refused"]
# Danger reasons that refuse a change outright (the others can be co-signed).
_REFUSING_CODES: Final = frozenset({"titration-too-soon", "titration-step-exceeds-absolute",
                                    "daily-dose-above-absolute", "daily-dose-below-absolute"})


@dataclass(frozen=True)
class ProgramChangeAssessment:
    """What a program change would do, against every rule it is checked by.

    ``allowed`` is False only outside the absolute daily-dose bounds (``refusal`` says why:
    it cannot be sent, with or without a reason). ``needs_reason`` is True outside the
    recommended range or beyond the titration step. ``classification`` and ``titration`` are
    None for a stopped program (the comparison flags it as ``therapy-stopped``), and
    ``titration`` is None when there is no running previous program to step from.
    ``decision`` (see the module docstring) decides; ``allowed`` is True only when the
    decision is ``allowed``, and then no reason of any part is a danger.
    """

    old: Program | None
    new: Program
    comparison: ProgramComparison
    classification: Classification | None
    guardrail_reasons: tuple[Reason, ...]
    titration: TitrationCheck | None
    needs_reason: bool
    allowed: bool
    absolute_min_mcg: float
    absolute_max_mcg: float
    concentration_mcg_per_ml: float | None = None
    refusal: str = ""
    decision: Decision = "allowed"
    step_reasons: tuple[Reason, ...] = ()  # the absolute-step and co-signature reasons

    @property
    def new_daily_total_mcg(self) -> float:
        return self.comparison.new_daily_total_mcg

    @property
    def needs_second_clinician(self) -> bool:
        return self.decision == "second-clinician"

    @property
    def all_reasons(self) -> tuple[Reason, ...]:
        titration = self.titration.reasons if self.titration is not None else ()
        return (self.comparison.reasons + self.guardrail_reasons + titration
                + self.step_reasons)

    @property
    def danger_reasons(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.all_reasons if r.severity is Severity.DANGER)

    def as_dict(self) -> dict[str, Any]:
        guardrail = None if self.classification is None else {
            "classification": self.classification.value,
            "reasons": [r.as_dict() for r in self.guardrail_reasons]}
        out: dict[str, Any] = {
            "old": program_view(self.old),
            "new": program_view(self.new),
            "comparison": self.comparison.as_dict(),
            "allowed": self.allowed,
            "guardrail": guardrail,
            "titration": self.titration.as_dict() if self.titration is not None else None,
            "needs_reason": self.needs_reason,
            "concentration_mcg_per_ml": self.concentration_mcg_per_ml,
            "decision": self.decision,
            "needs_second_clinician": self.needs_second_clinician,
            "step_reasons": [r.as_dict() for r in self.step_reasons],
            "danger_reasons": [r.as_dict() for r in self.danger_reasons],
        }
        if not self.allowed:
            out["refusal"] = self.refusal
        return out


def assess_program_change(old: Program | None, new: Program, *,
                          concentration_mcg_per_ml: float | None, etiology: str,
                          age_years: float | None, hours_since_last_change: float | None,
                          absolute_step_multiple: float = ABSOLUTE_STEP_MULTIPLE
                          ) -> ProgramChangeAssessment:
    """Check ``new`` (replacing ``old``) against the comparison, guardrail and titration rules.

    ``hours_since_last_change`` is the time since ``old`` was programmed (None: unknown).
    Outside the absolute bounds the answer is ``decision="refused"`` with ``refusal`` words (a
    face shows them; the service refuses to send it); nothing here raises for a dose value.

    >>> from datetime import UTC, datetime
    >>> at = datetime(2026, 1, 1, tzinfo=UTC)
    >>> a = assess_program_change(Program(at, daily_dose_mcg=157.0),
    ...                           Program(at, daily_dose_mcg=1500.0), concentration_mcg_per_ml=500,
    ...                           etiology="spinal-cord-injury", age_years=40,
    ...                           hours_since_last_change=72)
    >>> a.decision, a.allowed
    ('refused', False)
    """
    if not absolute_step_multiple >= 1.0:
        raise ValueError("the absolute step multiple must be at least 1 (the recommended step)")
    comparison = compare_programs(old, new, concentration_mcg_per_ml)
    guard = daily_dose_guardrail(etiology, age_years)
    new_total = daily_total_mcg(new)

    def result(**kw: Any) -> ProgramChangeAssessment:
        out = ProgramChangeAssessment(
            old=old, new=new, comparison=comparison,
            absolute_min_mcg=guard.absolute_min, absolute_max_mcg=guard.absolute_max,
            concentration_mcg_per_ml=concentration_mcg_per_ml, **kw)
        # the invariant: never allowed while a danger reason stands
        if out.decision == "allowed" and out.danger_reasons:
            out = replace(out, decision="second-clinician", allowed=False)
        return out

    if new.mode == "stopped":
        return result(classification=None, guardrail_reasons=(), titration=None,
                      needs_reason=False, allowed=True)
    classification = guard.classify(new_total)
    reasons = guard.check(new_total).reasons
    if classification in _ABSOLUTE:
        return result(classification=classification, guardrail_reasons=reasons,
                      titration=None, needs_reason=False, allowed=False, decision="refused",
                      refusal=(f"a 24-hour total of {format_number(new_total)} mcg/day is "
                               "outside the absolute daily-dose bounds "
                               f"({guard.absolute_min:g}–{guard.absolute_max:g} mcg/day): it "
                               "cannot be sent, with or without a reason"))
    needs_reason = classification is not Classification.WITHIN
    titration = None
    old_total = daily_total_mcg(old) if old is not None else 0.0
    step_reasons: list[Reason] = []
    decision: Decision = "allowed"
    refusal = ""
    if old is not None and old.mode != "stopped" and old_total > 0:
        titration = check_titration_step(old_total, new_total, hours_since_last_change,
                                         etiology, age_years)
        needs_reason = needs_reason or not titration.allowed
        limit = step_limit(etiology, age_years)
        absolute_fraction = limit.max_fraction * absolute_step_multiple
        change = (new_total - old_total) / old_total
        codes = set(titration.codes)
        if change > absolute_fraction + 1e-9:
            decision = "refused"
            cap = old_total * (1 + absolute_fraction)
            step_reasons.append(Reason(
                "titration-step-exceeds-absolute",
                f"an increase of {change:.0%} is beyond the absolute step of "
                f"{absolute_fraction:.0%} per 24 h (at most {format_number(cap)} mcg/day from "
                f"{format_number(old_total)} mcg/day): it cannot be sent", "B-DOSE",
                Severity.DANGER, verified=False))
            refusal = step_reasons[-1].message
        elif "titration-too-soon" in codes:
            decision = "refused"
            refusal = next(r.message for r in titration.reasons if r.code == "titration-too-soon")
        elif "titration-step-exceeds-limit" in codes:
            decision = "second-clinician"
            step_reasons.append(Reason(
                "titration-step-needs-second-clinician",
                "a step beyond the recommended titration step: a second clinician confirms it "
                "with their own password before it is sent", "B-DOSE", Severity.WARNING))
        if any(r.code in _REFUSING_CODES for r in titration.reasons):
            decision = "refused"
            refusal = refusal or "the titration rules refuse this change"
    return result(classification=classification, guardrail_reasons=reasons,
                  titration=titration, needs_reason=needs_reason,
                  allowed=decision == "allowed", decision=decision, refusal=refusal,
                  step_reasons=tuple(step_reasons))
