"""Titration: the step limits of the best-practice dosing paper and the daily-dose guardrail.

Step limits (B-DOSE, clinical-facts 3.6, verified): after implant the daily dose is raised by
10–30 % per 24 h in adults with spasticity of spinal origin, by 5–15 % per 24 h in adults of
cerebral origin and in children, and increased at most once per 24 h; increases above 20 % may
be excessive at high doses. Decreases are never limited here: a decrease is how an overdose is
answered.

Daily-dose guardrail (MEDSCAPE2, GAB-SUM, clinical-facts 3.8, secondary sources): the
*recommended* range is where most maintenance doses lie (spinal 300–800, cerebral
90–703 mcg/day; children under 12: 24–1199 mcg/day); outside it a dose needs a written reason.
The *absolute* range is the span of maintenance doses reported at all: at least 12 mcg/day
(spinal), 22 mcg/day (cerebral) or 24 mcg/day (children under 12), and at most 2000 mcg/day.
2000 is the largest reported maintenance dose (the spinal range; "2003" is also quoted, and the
cerebral range reported ends at 1400); thecal takes the lower round figure as the hard ceiling
for every origin so no programmed dose above any reported maintenance dose passes unchecked.
Stopping the pump (program mode ``stopped``) is not a daily dose and is not checked here.

The titration *suggestion* (the next daily dose from the patient's report) and the oral
antispasmodic weaning plan live further down this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Final

from thecal.clinical.etiology import origin
from thecal.clinical.symptoms import check_symptom_codes
from thecal.errors import InputError
from thecal.limits import Classification, Guardrail, Reason, Severity

ADULT_AGE_YEARS: Final = 18.0  # B-DOSE: "children" use the cerebral 5–15 % step
SMALL_CHILD_AGE_YEARS: Final = 12.0  # MEDSCAPE2: the paediatric maintenance range is for < 12 y
MIN_INTERVAL_H: Final = 24.0  # B-DOSE: increase only once per 24 h
HIGH_DOSE_STEP_FRACTION: Final = 0.20  # B-DOSE: > 20 % may be excessive at high doses
_EPS: Final = 1e-9


def _check_age(age_years: float | None) -> float | None:
    if age_years is None:
        return None
    if isinstance(age_years, bool) or not isinstance(age_years, (int, float)) \
            or not math.isfinite(age_years) or age_years < 0 or age_years > 130:
        raise InputError(f"age {age_years!r} is not a plausible age in years",
                         fix="give the age in years (0–130), or leave it unknown")
    return float(age_years)


def _check_dose(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0:
        raise InputError(f"{what} {value!r} must be a finite number of mcg/day, zero or more",
                         fix="write it like '300 mcg/day' at the edge; inside, a float in mcg/day")
    return float(value)


@dataclass(frozen=True)
class StepLimit:
    """How far and how often the daily dose may be raised (fractions of the current dose)."""

    min_fraction: float
    max_fraction: float
    min_interval_h: float = MIN_INTERVAL_H
    reasons: tuple[Reason, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"min_fraction": self.min_fraction, "max_fraction": self.max_fraction,
                "min_interval_h": self.min_interval_h,
                "reasons": [r.as_dict() for r in self.reasons]}


@lru_cache(maxsize=256)  # pure; a record asks the same (etiology, age) for every change
def step_limit(etiology: str, age_years: float | None) -> StepLimit:
    """The titration step limit for an etiology and age (B-DOSE, clinical-facts 3.6).

    Adults (≥ 18 y) of spinal origin: 10–30 % per 24 h. Adults of cerebral origin and children
    (< 18 y): 5–15 % per 24 h. An unknown age is never read as adult: the children's (smaller)
    limit applies, and a reason says so.
    """
    kind = origin(etiology)
    age = _check_age(age_years)
    reasons: list[Reason] = []
    if age is None:
        reasons.append(Reason("titration-age-unknown",
                              "age unknown: the smaller step limit for children (5–15 % per 24 h) "
                              "is applied until the age is recorded", "B-DOSE", Severity.WARNING))
        lo, hi = 0.05, 0.15
    elif age < ADULT_AGE_YEARS:
        reasons.append(Reason("titration-limit-child",
                              f"child ({age:g} y): raise the daily dose by 5–15 % per 24 h at most",
                              "B-DOSE"))
        lo, hi = 0.05, 0.15
    elif kind == "spinal":
        reasons.append(Reason("titration-limit-adult-spinal",
                              "adult, spasticity of spinal origin: raise the daily dose by 10–30 % "
                              "per 24 h at most", "B-DOSE"))
        lo, hi = 0.10, 0.30
    else:
        reasons.append(Reason("titration-limit-adult-cerebral",
                              "adult, spasticity of cerebral origin: raise the daily dose by "
                              "5–15 % per 24 h at most", "B-DOSE"))
        lo, hi = 0.05, 0.15
    reasons.append(Reason("titration-once-per-24h",
                          "increase the daily dose at most once every 24 hours; the full effect of "
                          "a change shows in 1–2 days", "B-DOSE"))
    return StepLimit(min_fraction=lo, max_fraction=hi, min_interval_h=MIN_INTERVAL_H,
                     reasons=tuple(reasons))


@lru_cache(maxsize=256)  # pure, frozen result: asked twice for every programme change
def daily_dose_guardrail(etiology: str, age_years: float | None) -> Guardrail:
    """Recommended and absolute daily-dose bounds in mcg/day (MEDSCAPE2, GAB-SUM; 3.8).

    See the module docstring for why each bound is what it is. An unknown age uses the adult
    range of the etiology's origin.
    """
    kind = origin(etiology)
    age = _check_age(age_years)
    if age is not None and age < SMALL_CHILD_AGE_YEARS:
        return Guardrail(name="daily-dose", unit="mcg/day", absolute_min=24.0,
                         absolute_max=2000.0, recommended_min=24.0, recommended_max=1199.0,
                         source="MEDSCAPE2", absolute_source="GAB-SUM")
    if kind == "spinal":
        return Guardrail(name="daily-dose", unit="mcg/day", absolute_min=12.0,
                         absolute_max=2000.0, recommended_min=300.0, recommended_max=800.0,
                         source="MEDSCAPE2", absolute_source="GAB-SUM")
    return Guardrail(name="daily-dose", unit="mcg/day", absolute_min=22.0,
                     absolute_max=2000.0, recommended_min=90.0, recommended_max=703.0,
                     source="MEDSCAPE2", absolute_source="GAB-SUM")


@dataclass(frozen=True)
class TitrationCheck:
    """Whether a change of the daily dose keeps to the titration limits, and why."""

    allowed: bool
    change_fraction: float
    max_allowed_daily_dose_mcg: float
    reasons: tuple[Reason, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def as_dict(self) -> dict[str, object]:
        return {"allowed": self.allowed, "change_fraction": self.change_fraction,
                "max_allowed_daily_dose_mcg": self.max_allowed_daily_dose_mcg,
                "reasons": [r.as_dict() for r in self.reasons]}


def check_titration_step(previous_daily_dose_mcg: float, new_daily_dose_mcg: float,
                         hours_since_last_change: float | None, etiology: str,
                         age_years: float | None) -> TitrationCheck:
    """Check one change of the daily dose against the step limit and the dose guardrail.

    ``hours_since_last_change`` is the time since the previous dose increase (or change) in
    hours; ``None`` means no earlier change is recorded. An increase above the step limit
    (``titration-step-exceeds-limit``), an increase within 24 h of the last change
    (``titration-too-soon``) or a dose above the absolute ceiling
    (``daily-dose-above-absolute``) is not allowed. Decreases are always allowed (noted as
    ``titration-decrease``).
    """
    previous = _check_dose(previous_daily_dose_mcg, "previous daily dose")
    new = _check_dose(new_daily_dose_mcg, "new daily dose")
    if previous <= 0:
        raise InputError("the previous daily dose must be above zero to judge a titration step",
                         fix="for the first dose after implant use the post-implant start dose")
    if hours_since_last_change is not None and (
            not math.isfinite(hours_since_last_change) or hours_since_last_change < 0):
        raise InputError(f"hours since the last change {hours_since_last_change!r} must be "
                         "zero or more", fix="pass the elapsed hours, or None when unknown")
    limit = step_limit(etiology, age_years)
    guard = daily_dose_guardrail(etiology, age_years)
    change = (new - previous) / previous
    step_cap = previous * (1.0 + limit.max_fraction)
    max_allowed = round(min(step_cap, guard.absolute_max), 6)
    reasons: list[Reason] = []
    allowed = True
    if change > _EPS:
        if change > limit.max_fraction + _EPS:
            allowed = False
            reasons.append(Reason(
                "titration-step-exceeds-limit",
                f"an increase of {change:.0%} is above the {limit.max_fraction:.0%} limit per "
                f"24 h; at most {step_cap:g} mcg/day from {previous:g} mcg/day",
                "B-DOSE", Severity.DANGER))
        elif change < limit.min_fraction - _EPS:
            reasons.append(Reason(
                "titration-step-below-usual",
                f"an increase of {change:.0%} is smaller than the usual "
                f"{limit.min_fraction:.0%}–{limit.max_fraction:.0%} step; that is allowed",
                "B-DOSE"))
        else:
            reasons.append(Reason(
                "titration-step-within-limit",
                f"an increase of {change:.0%} is within the "
                f"{limit.min_fraction:.0%}–{limit.max_fraction:.0%} step per 24 h", "B-DOSE"))
        if hours_since_last_change is None:
            reasons.append(Reason("titration-no-earlier-change",
                                  "no earlier dose change recorded: the 24-hour rule is met",
                                  "B-DOSE"))
        elif hours_since_last_change < limit.min_interval_h - _EPS:
            allowed = False
            reasons.append(Reason(
                "titration-too-soon",
                f"the dose was last changed {hours_since_last_change:g} h ago; increase at most "
                f"once per {limit.min_interval_h:g} h", "B-DOSE", Severity.DANGER))
        if change > HIGH_DOSE_STEP_FRACTION + _EPS and previous > guard.recommended_max:
            reasons.append(Reason(
                "titration-large-step-at-high-dose",
                f"an increase above 20 % at a dose already above {guard.recommended_max:g} "
                "mcg/day may be excessive", "B-DOSE", Severity.WARNING))
    elif change < -_EPS:
        reasons.append(Reason("titration-decrease",
                              f"a decrease of {-change:.0%}: decreases are not limited by the step "
                              "rule; assess the patient within 24 h of any change", "B-DOSE"))
    else:
        reasons.append(Reason("titration-no-change", "the daily dose is unchanged", "B-DOSE"))
    # Only the upper side matters here: early after implant the dose is rightly below the usual
    # maintenance range, and a decrease is never refused.
    cls = guard.classify(new)
    if cls is Classification.ABOVE_ABSOLUTE:
        allowed = False
    if cls in (Classification.ABOVE_ABSOLUTE, Classification.ABOVE_RECOMMENDED):
        reasons.extend(guard.check(new).reasons)
    return TitrationCheck(allowed=allowed, change_fraction=change,
                          max_allowed_daily_dose_mcg=max_allowed, reasons=tuple(reasons))



# ---------------------------------------------------------------------------------------------
# The titration suggestion
# ---------------------------------------------------------------------------------------------

REPORTS: Final = ("too-tight", "about-right", "too-loose")
DEFAULT_DECREASE_FRACTION: Final = 0.10  # ASSUMED: no published decrease step; overridable
RISING_STEPS_WITHOUT_BENEFIT: Final = 3  # ASSUMED: three increases in a row, still too tight
# Side effects a dose reduction answers; every other symptom goes to the triage first.
TITRATION_SIDE_EFFECTS: Final = frozenset({"loose-muscles", "sleepiness", "upset-stomach",
                                           "vomiting", "headache", "dizziness", "drowsiness"})
LOSS_OF_EFFICACY_WORKUP: Final = (
    "history: new noxious stimuli (pressure sores, bladder or bowel problems, ingrown nails, "
    "fractures), missed refills, recent MRI or pump events",
    "examination, including the pump site and the catheter path",
    "look for infection",
    "creatine kinase (CK)",
    "pump interrogation with the reservoir volume against the expected volume (event log, "
    "motor stall)",
    "catheter imaging: X-ray along the catheter, then a contrast study (CT or fluoroscopy) or "
    "indium study; catheter access port aspiration alone is not enough",
)


@dataclass(frozen=True)
class DoseStep:
    """A daily dose that took effect at a time (a program change)."""

    at: datetime
    daily_dose_mcg: float


@dataclass(frozen=True)
class TitrationSuggestion:
    """The next daily dose and why (``action``: increase, hold, decrease, investigate, triage)."""

    action: str
    current_daily_dose_mcg: float
    next_daily_dose_mcg: float
    change_fraction: float
    not_before: datetime | None
    reasons: tuple[Reason, ...]
    workup: tuple[str, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def as_dict(self) -> dict[str, object]:
        return {"action": self.action, "current_daily_dose_mcg": self.current_daily_dose_mcg,
                "next_daily_dose_mcg": self.next_daily_dose_mcg,
                "change_fraction": self.change_fraction, "not_before": self.not_before,
                "reasons": [r.as_dict() for r in self.reasons], "workup": list(self.workup)}


def _floor_01(value: float) -> float:
    """Round down to 0.1 mcg/day: a suggestion is never rounded up past its limit."""
    return math.floor(value * 10.0 + 1e-9) / 10.0


def suggest_titration(current_daily_dose_mcg: float, etiology: str, age_years: float | None,
                      report: str, at: datetime, *, recent_steps: tuple[DoseStep, ...] = (),
                      side_effects: tuple[str, ...] = (), increase_fraction: float | None = None,
                      decrease_fraction: float = DEFAULT_DECREASE_FRACTION
                      ) -> TitrationSuggestion:
    """Suggest the next daily dose from the patient's report, within the step limits.

    ``report`` is ``too-tight`` (spasticity not controlled), ``about-right`` or ``too-loose``;
    ``side_effects`` are symptom codes. ``recent_steps`` are earlier program changes (any
    order). The suggestion never exceeds :func:`step_limit`'s maximum, never raises within
    24 h of the last change, and never raises when the doses keep rising without benefit
    (then it lists the B-TROUBLE loss-of-efficacy work-up instead).
    """
    current = _check_dose(current_daily_dose_mcg, "current daily dose")
    if current <= 0:
        raise InputError("the current daily dose must be above zero",
                         fix="for the first dose after implant use the post-implant start dose")
    if report not in REPORTS:
        raise InputError(f"unknown report {report!r}", fix="use one of: " + ", ".join(REPORTS))
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise InputError("the time of the suggestion needs a time zone",
                         fix="write it with its offset, e.g. 2026-02-01T09:00:00+01:00")
    if not math.isfinite(decrease_fraction) or not 0 < decrease_fraction <= 0.5:
        raise InputError(f"decrease fraction {decrease_fraction!r} must be above 0 and at "
                         "most 0.5", fix="e.g. 0.1 for 10 %")
    codes = check_symptom_codes(side_effects)
    limit = step_limit(etiology, age_years)
    guard = daily_dose_guardrail(etiology, age_years)
    steps = sorted(recent_steps, key=lambda s: s.at)
    for step in steps:
        _check_dose(step.daily_dose_mcg, "daily dose of a recent step")
        if step.at.tzinfo is None or step.at > at:
            raise InputError(f"recent step at {step.at.isoformat()} must have a time zone and "
                             "lie before the suggestion time", fix="check the step times")
    reasons: list[Reason] = list(limit.reasons)

    def result(action: str, new: float, not_before: datetime | None = None,
               workup: tuple[str, ...] = ()) -> TitrationSuggestion:
        return TitrationSuggestion(action=action, current_daily_dose_mcg=current,
                                   next_daily_dose_mcg=new,
                                   change_fraction=round((new - current) / current, 6),
                                   not_before=not_before, reasons=tuple(reasons),
                                   workup=workup)

    urgent = [c for c in codes if c not in TITRATION_SIDE_EFFECTS]
    if urgent:
        reasons.append(Reason("titration-triage-first",
                              f"{', '.join(urgent)}: not a titration question; triage these "
                              "symptoms first (thecal triage)", "B-TROUBLE", Severity.DANGER))
        return result("triage", current)

    side = [c for c in codes if c in TITRATION_SIDE_EFFECTS]
    if side or report == "too-loose":
        why = ", ".join(side) if side else "muscles too loose"
        if report == "too-tight":
            reasons.append(Reason("titration-side-effects-and-tight",
                                  "side effects while spasticity is still not controlled: "
                                  "reduce for safety and look for a cause", "B-TROUBLE",
                                  Severity.WARNING))
        new = _floor_01(current * (1.0 - decrease_fraction))
        reasons.append(Reason("titration-decrease-for-side-effects",
                              f"{why}: reduce the daily dose by {decrease_fraction:.0%} "
                              "(decreases are not limited by the step rule); assess within "
                              "24 h", "ASSUMED", Severity.WARNING, verified=False))
        return result("decrease", new)

    if report == "about-right":
        reasons.append(Reason("titration-hold", "spasticity controlled without side effects: "
                              "keep the daily dose", "B-DOSE"))
        return result("hold", current)

    # too tight, no side effects
    doses = [s.daily_dose_mcg for s in steps] + [current]
    rises = 0
    for before, after in zip(reversed(doses[:-1]), reversed(doses[1:]), strict=True):
        if after > before + 1e-9:
            rises += 1
        else:
            break
    if rises >= RISING_STEPS_WITHOUT_BENEFIT or current > guard.recommended_max:
        why = (f"{rises} increases in a row" if rises >= RISING_STEPS_WITHOUT_BENEFIT
               else f"a dose above {guard.recommended_max:g} mcg/day")
        reasons.append(Reason("titration-rising-without-benefit",
                              f"{why} and spasticity is still not controlled: suspect a "
                              "catheter problem or tolerance; work up before raising further",
                              "B-TROUBLE", Severity.WARNING))
        return result("investigate", current, workup=LOSS_OF_EFFICACY_WORKUP)

    if steps:
        since_h = (at - steps[-1].at).total_seconds() / 3600.0
        if since_h < limit.min_interval_h - _EPS:
            not_before = steps[-1].at + timedelta(hours=limit.min_interval_h)
            reasons.append(Reason("titration-too-soon",
                                  f"the dose was last changed {since_h:.1f} h ago; the next "
                                  f"increase not before {not_before.isoformat()}", "B-DOSE",
                                  Severity.WARNING))
            return result("hold", current, not_before=not_before)

    fraction = (limit.min_fraction + limit.max_fraction) / 2 if increase_fraction is None \
        else increase_fraction
    if not math.isfinite(fraction) or fraction <= 0:
        raise InputError(f"increase fraction {fraction!r} must be above zero", fix="e.g. 0.2")
    if fraction > limit.max_fraction:
        reasons.append(Reason("titration-step-reduced-to-limit",
                              f"the requested {fraction:.0%} step is reduced to the "
                              f"{limit.max_fraction:.0%} limit", "B-DOSE", Severity.WARNING))
        fraction = limit.max_fraction
    if current > guard.recommended_max * 0.9 and fraction > HIGH_DOSE_STEP_FRACTION:
        fraction = HIGH_DOSE_STEP_FRACTION
        reasons.append(Reason("titration-high-dose-step", "near the top of the usual range: "
                              "steps above 20 % may be excessive", "B-DOSE"))
    new = _floor_01(min(current * (1.0 + fraction), guard.absolute_max))
    if new <= current:
        reasons.append(Reason("titration-at-ceiling",
                              f"the daily dose is at the {guard.absolute_max:g} mcg/day ceiling",
                              guard.absolute_source, Severity.DANGER, verified=False))
        return result("investigate", current, workup=LOSS_OF_EFFICACY_WORKUP)
    check = check_titration_step(current, new, None, etiology, age_years)
    reasons.extend(r for r in check.reasons if r.code != "titration-no-earlier-change")
    reasons.append(Reason("titration-assess", "assess within 24 h; the full effect shows in "
                          "1–2 days", "M-UK-QA"))
    return result("increase", new)


# ---------------------------------------------------------------------------------------------
# Oral antispasmodic weaning (B-DOSE, clinical-facts 3.16)
# ---------------------------------------------------------------------------------------------

DEFAULT_WEANING_STEP_DAYS: Final = 7  # ASSUMED: the interval between steps is the clinic's choice


@dataclass(frozen=True)
class OralDrug:
    name: str
    daily_dose_mg: float


@dataclass(frozen=True)
class WeaningStep:
    on: date
    drug: str
    daily_dose_mg: float
    assess_by: date

    def as_dict(self) -> dict[str, object]:
        return {"on": self.on, "drug": self.drug, "daily_dose_mg": self.daily_dose_mg,
                "assess_by": self.assess_by}


@dataclass(frozen=True)
class WeaningPlan:
    steps: tuple[WeaningStep, ...]
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, object]:
        return {"steps": [s.as_dict() for s in self.steps],
                "reasons": [r.as_dict() for r in self.reasons]}


def oral_weaning_plan(drugs: tuple[OralDrug, ...] | list[OralDrug], start: date, *,
                      fraction: float = 0.25,
                      step_days: int = DEFAULT_WEANING_STEP_DAYS) -> WeaningPlan:
    """Wean oral antispasmodics one at a time, cutting 25–50 % of the starting dose per step.

    Drugs are weaned in the order given; the next drug starts only after the previous one is
    stopped. Every change is assessed within 24 h (B-DOSE).
    """
    if not drugs:
        raise InputError("no oral drugs to wean", fix="give at least one drug and its dose")
    if not math.isfinite(fraction) or not 0.25 - _EPS <= fraction <= 0.5 + _EPS:
        raise InputError(f"step {fraction!r} must be 0.25–0.5 of the starting dose",
                         fix="B-DOSE: cut oral baclofen by 25–50 % per step")
    if isinstance(step_days, bool) or not isinstance(step_days, int) or step_days < 1:
        raise InputError(f"step interval {step_days!r} must be a whole number of days ≥ 1",
                         fix="e.g. 7")
    steps: list[WeaningStep] = []
    day = start
    n_steps = math.ceil(1.0 / fraction - _EPS)
    for drug in drugs:
        dose = drug.daily_dose_mg
        if isinstance(dose, bool) or not isinstance(dose, (int, float)) \
                or not math.isfinite(dose) or dose <= 0:
            raise InputError(f"{drug.name}: daily dose {dose!r} mg must be above zero",
                             fix="e.g. '60 mg/day'")
        for i in range(1, n_steps + 1):
            remaining = max(0.0, round(dose * (1.0 - fraction * i), 2))
            steps.append(WeaningStep(on=day, drug=drug.name, daily_dose_mg=remaining,
                                     assess_by=day + timedelta(days=1)))
            day = day + timedelta(days=step_days)
    reasons = (
        Reason("weaning-one-at-a-time", "wean oral antispasmodics one drug at a time",
               "B-DOSE"),
        Reason("weaning-step", f"cut by {fraction:.0%} of the starting dose per step "
               "(B-DOSE: 25–50 % for oral baclofen)", "B-DOSE"),
        Reason("weaning-assess", "assess within 24 h of every change", "B-DOSE"),
        Reason("weaning-interval", f"{step_days} days between steps (a clinic choice)",
               "ASSUMED", verified=False),
    )
    return WeaningPlan(steps=tuple(steps), reasons=reasons)
