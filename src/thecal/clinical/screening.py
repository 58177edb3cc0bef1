"""The screening trial: test doses, what to observe and when, the response rule, and the
starting dose after implant.

* Plan (DRUGS-DOSE, B-SCREEN, CCN; clinical-facts 3.1–3.2): 50 mcg, then 75 mcg, then
  100 mcg, each at least 24 h after the one before, at 50 mcg/mL by barbotage over at least
  1 minute; very small patients may start at 25 mcg. No response to 100 mcg: not a candidate.
* Observation (B-SCREEN 4.8, DRUGS-DOSE 3.1): cardiopulmonary monitoring often in the first
  2 hours, tone and spasms assessed at least twice in the first 4 hours, observation for
  4–8 hours (the bolus effect peaks at about 4 h and lasts 4–8 h, CLUSTER 3.14).
* Response (PENN92): a fall of at least 2 points in the Modified Ashworth (MAS) or the spasm score
  (configurable).
* Start dose after implant (B-DOSE 3.5): twice the effective screening dose over 24 h, or the
  same dose if the effect lasted more than 8 hours (or there was an adverse reaction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from thecal.errors import InputError
from thecal.limits import Advice, Reason, Severity

SCREENING_CONCENTRATION_MCG_PER_ML: Final = 50.0  # DRUGS-DOSE: 50 mcg in 1 mL
STANDARD_DOSES_MCG: Final = (50.0, 75.0, 100.0)  # DRUGS-DOSE, B-SCREEN
SMALL_PATIENT_DOSES_MCG: Final = (25.0, 50.0, 75.0, 100.0)  # B-SCREEN, CCN: 25 mcg first
MAX_SCREENING_DOSE_MCG: Final = 100.0
MIN_HOURS_BETWEEN_DOSES: Final = 24.0
RESPONSE_FALL_POINTS: Final = 2.0  # PENN92
LONG_EFFECT_H: Final = 8.0  # B-DOSE: effect lasting > 8 h → start with the same dose

# Modified Ashworth grades to numbers. "1+" lies between 1 and 2; 1.5 is thecal's convention
# (an assumption: some centres renumber 0–5 instead).
MAS_GRADES: Final[dict[str, float]] = {"0": 0.0, "1": 1.0, "1+": 1.5, "2": 2.0, "3": 3.0,
                                       "4": 4.0}


@dataclass(frozen=True)
class ScreeningDose:
    number: int
    dose_mcg: float
    volume_ml: float
    not_before_h: float  # hours after the first dose
    not_before: datetime | None

    def as_dict(self) -> dict[str, object]:
        return {"number": self.number, "dose_mcg": self.dose_mcg, "volume_ml": self.volume_ml,
                "not_before_h": self.not_before_h, "not_before": self.not_before}


@dataclass(frozen=True)
class ScreeningPlan:
    doses: tuple[ScreeningDose, ...]
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, object]:
        return {"doses": [d.as_dict() for d in self.doses],
                "reasons": [r.as_dict() for r in self.reasons]}


def screening_plan(*, small_patient: bool = False,
                   first_dose_at: datetime | None = None) -> ScreeningPlan:
    """The test-dose sequence: 50, 75, 100 mcg (25 mcg first in very small patients)."""
    doses = SMALL_PATIENT_DOSES_MCG if small_patient else STANDARD_DOSES_MCG
    if first_dose_at is not None and first_dose_at.tzinfo is None:
        raise InputError("the first dose time needs a time zone",
                         fix="write it with its offset, e.g. 2026-01-05T09:00:00+01:00")
    planned = tuple(
        ScreeningDose(number=i + 1, dose_mcg=d, volume_ml=d / SCREENING_CONCENTRATION_MCG_PER_ML,
                      not_before_h=i * MIN_HOURS_BETWEEN_DOSES,
                      not_before=(first_dose_at + timedelta(hours=i * MIN_HOURS_BETWEEN_DOSES)
                                  if first_dose_at else None))
        for i, d in enumerate(doses))
    reasons = [
        Reason("screening-doses", "test doses of 50, 75 and 100 mcg at 50 mcg/mL, given by "
               "barbotage over at least 1 minute; stop at the first dose that works",
               "DRUGS-DOSE", verified=False),
        Reason("screening-interval", "at least 24 h between test doses", "B-SCREEN"),
        Reason("screening-non-responder", "no response to 100 mcg: not a candidate for ITB",
               "CCN", verified=False),
    ]
    if small_patient:
        reasons.append(Reason("screening-small-patient",
                              "very small patient: first test dose 25 mcg", "B-SCREEN"))
    return ScreeningPlan(doses=planned, reasons=tuple(reasons))


@dataclass(frozen=True)
class Observation:
    at_h: float  # hours after the test dose (0 = just before it)
    at: datetime | None
    what: tuple[str, ...]
    source: str

    def as_dict(self) -> dict[str, object]:
        return {"at_h": self.at_h, "at": self.at, "what": list(self.what), "source": self.source}


_VITALS: Final = "heart rate, blood pressure, breathing rate, oxygen saturation"
_TONE: Final = "tone (Modified Ashworth) and spasms (Penn)"
_SIDE: Final = "drowsiness, dizziness, nausea, weakness"


def observation_schedule(dose_at: datetime | None = None, *,
                         vitals_every_min: float = 15.0) -> tuple[Observation, ...]:
    """When to observe what after one test dose (B-SCREEN; DRUGS-DOSE; CLUSTER).

    Vitals every ``vitals_every_min`` minutes in the first 2 hours ("often": the 15-minute
    default is a thecal assumption), then hourly to 8 h; tone and spasms before the dose and
    at 2, 4, 6 and 8 h (at least twice in the first 4 h; effect peaks near 4 h).
    """
    if not math.isfinite(vitals_every_min) or not 1 <= vitals_every_min <= 60:
        raise InputError(f"vitals interval {vitals_every_min!r} min must be 1–60 minutes",
                         fix="e.g. 15")
    if dose_at is not None and dose_at.tzinfo is None:
        raise InputError("the dose time needs a time zone",
                         fix="write it with its offset, e.g. 2026-01-05T09:00:00+01:00")
    points: dict[float, list[str]] = {0.0: [f"baseline {_VITALS}", f"baseline {_TONE}"]}
    t = vitals_every_min / 60.0
    while t <= 2.0 + 1e-9:
        points.setdefault(round(t, 4), []).append(_VITALS)
        t += vitals_every_min / 60.0
    for hour in (3.0, 4.0, 5.0, 6.0, 7.0, 8.0):
        points.setdefault(hour, []).append(_VITALS)
    for hour in (2.0, 4.0, 6.0, 8.0):
        points.setdefault(hour, []).extend([_TONE, _SIDE])
    out = []
    for at_h in sorted(points):
        source = "B-SCREEN" if at_h <= 4.0 else "DRUGS-DOSE"
        out.append(Observation(at_h=at_h,
                               at=dose_at + timedelta(hours=at_h) if dose_at else None,
                               what=tuple(points[at_h]), source=source))
    return tuple(out)


def mas_points(grade: str | float) -> float:
    """A Modified Ashworth (MAS) grade (``"0"`` … ``"4"``, with ``"1+"``) as a number."""
    if isinstance(grade, (int, float)) and not isinstance(grade, bool) \
            and math.isfinite(grade) and 0 <= grade <= 5:
        return float(grade)
    key = grade.strip() if isinstance(grade, str) else None
    if key not in MAS_GRADES:
        raise InputError(f"{grade!r} is not a Modified Ashworth (MAS) grade",
                         fix="use 0, 1, 1+, 2, 3 or 4")
    return MAS_GRADES[key]


@dataclass(frozen=True)
class ScreeningResponse:
    positive: bool
    mas_fall: float | None
    spasm_fall: float | None
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, object]:
        return {"positive": self.positive, "mas_fall": self.mas_fall,
                "spasm_fall": self.spasm_fall, "reasons": [r.as_dict() for r in self.reasons]}


def assess_screening_response(*, mas_before: str | float | None = None,
                              mas_after: str | float | None = None,
                              spasm_before: float | None = None,
                              spasm_after: float | None = None,
                              required_fall: float = RESPONSE_FALL_POINTS) -> ScreeningResponse:
    """Positive if the MAS or the spasm score fell by at least ``required_fall`` (PENN92).

    At least one before/after pair is required; a half pair is refused.
    """
    if not math.isfinite(required_fall) or required_fall <= 0:
        raise InputError(f"required fall {required_fall!r} must be above zero", fix="e.g. 2")
    pairs = {"MAS": (mas_before, mas_after), "spasm": (spasm_before, spasm_after)}
    for name, (before, after) in pairs.items():
        if (before is None) != (after is None):
            raise InputError(f"give both the {name} score before and after the test dose",
                             fix=f"add the missing {name} score, or leave both out")
    if mas_before is None and spasm_before is None:
        raise InputError("no scores given", fix="give the MAS or the spasm score before "
                         "and after the test dose")
    mas_fall = None
    if mas_before is not None and mas_after is not None:
        mas_fall = mas_points(mas_before) - mas_points(mas_after)
    spasm_fall = None
    if spasm_before is not None and spasm_after is not None:
        for value in (spasm_before, spasm_after):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 <= value <= 4:
                raise InputError(f"spasm score {value!r} must be 0–4 (Penn)", fix="e.g. 3")
        spasm_fall = float(spasm_before) - float(spasm_after)
    positive = any(f is not None and f >= required_fall - 1e-9 for f in (mas_fall, spasm_fall))
    words = ", ".join(f"{n} fell by {f:g}" for n, f in (("MAS", mas_fall),
                                                         ("spasm score", spasm_fall))
                      if f is not None)
    reason = Reason("screening-response-positive" if positive else "screening-response-negative",
                    f"{words}; a positive response needs a fall of at least {required_fall:g} "
                    "points in the MAS or the spasm score", "PENN92",
                    Severity.INFO if positive else Severity.WARNING)
    return ScreeningResponse(positive=positive, mas_fall=mas_fall, spasm_fall=spasm_fall,
                             reasons=(reason,))


def next_screening_dose(given_doses_mcg: tuple[float, ...] | list[float], responded: bool, *,
                        small_patient: bool = False) -> Advice[float | None]:
    """The next test dose, or None when screening ends (a response, or no response to 100 mcg)."""
    if responded:
        return Advice(None, (Reason("screening-complete", "a test dose worked: screening is "
                                    "complete", "B-SCREEN"),))
    sequence = SMALL_PATIENT_DOSES_MCG if small_patient else STANDARD_DOSES_MCG
    last = max(given_doses_mcg) if given_doses_mcg else 0.0
    if last >= MAX_SCREENING_DOSE_MCG - 1e-9:
        return Advice(None, (Reason("screening-non-responder", "no response to 100 mcg: not a "
                                    "candidate for ITB", "CCN", Severity.WARNING, False),))
    following = [d for d in sequence if d > last + 1e-9]
    return Advice(following[0], (Reason("screening-next-dose",
                                        f"next test dose {following[0]:g} mcg, at least 24 h "
                                        "after the last", "B-SCREEN"),))


def post_implant_start_dose(effective_screening_dose_mcg: float, effect_duration_h: float,
                            *, adverse_reaction: bool = False) -> Advice[float]:
    """The daily dose (mcg/day) to start with after implant (B-DOSE, clinical-facts 3.5)."""
    dose = effective_screening_dose_mcg
    if isinstance(dose, bool) or not isinstance(dose, (int, float)) or not math.isfinite(dose) \
            or not 0 < dose <= MAX_SCREENING_DOSE_MCG:
        raise InputError(f"effective screening dose {dose!r} mcg must be above 0 and at most "
                         "100 mcg", fix="give the test dose that worked, e.g. '50 mcg'")
    if not math.isfinite(effect_duration_h) or effect_duration_h < 0:
        raise InputError(f"effect duration {effect_duration_h!r} h must be zero or more",
                         fix="give how long the test dose worked, e.g. '6 h'")
    if adverse_reaction:
        return Advice(float(dose), (Reason("start-dose-same-adverse",
                                           "adverse reaction to the test dose: start with the "
                                           "same dose over 24 h", "B-DOSE", Severity.WARNING),))
    if effect_duration_h > LONG_EFFECT_H:
        return Advice(float(dose), (Reason("start-dose-same-long-effect",
                                           f"the effect lasted {effect_duration_h:g} h (> 8 h): "
                                           "start with the same dose over 24 h", "B-DOSE"),))
    return Advice(2.0 * dose, (Reason("start-dose-double",
                                      f"start with twice the effective test dose ({2 * dose:g} "
                                      "mcg) over 24 h", "B-DOSE"),
                               Reason("start-dose-monitor", "monitor at least 8 h after the "
                                      "start; assess within 24 h of every change", "B-DOSE")))
