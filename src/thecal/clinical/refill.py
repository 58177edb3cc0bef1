"""Refill calculators: the refill plan, the residual check, the bridge and priming boluses.

Each calculator is a pure function that returns its result with the reasons and source keys
that shaped it. Times are passed in; nothing here reads the clock.

* :func:`plan_refill` — days to the low-reservoir alarm, the alarm and empty dates, and a
  conservative ``refill_due_by`` that is never after the alarm, never after the drug's maximum
  interval, and assumes the pump runs fast by its stated accuracy (safety-requirements DM-6).
* :func:`check_residual` — the withdrawn residual against the expected one, flagged above
  1 mL for a 20 mL pump and 2 mL for a 40 mL pump (MAINO), explained both ways.
* :func:`bridge_bolus` — on a concentration change the old drug in the pump tubing and
  catheter must still reach the patient at the old daily dose (B-DOSE).
* :func:`priming_bolus` — after an implant or catheter revision the empty catheter is filled
  before the drug can reach the spinal fluid (M-PRIME).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from thecal.catalog import PumpModel, default_max_refill_interval_days
from thecal.errors import InputError
from thecal.limits import Reason, Severity
from thecal.units import format_number, mixed_concentration, same_concentration

# Maino 2017: a residual discrepancy above 1 mL (20 mL pump) or 2 mL (40 mL pump) is
# potentially consequential. Pumps of other sizes take the threshold of the nearer class.
DISCREPANCY_THRESHOLD_SMALL_ML = 1.0
DISCREPANCY_THRESHOLD_LARGE_ML = 2.0


def discrepancy_threshold_ml(reservoir_ml: float) -> float:
    """The residual discrepancy that is flagged for a reservoir of this size (MAINO)."""
    return DISCREPANCY_THRESHOLD_SMALL_ML if reservoir_ml <= 30 else DISCREPANCY_THRESHOLD_LARGE_ML


# --------------------------------------------------------------------------- refill plan

@dataclass(frozen=True)
class RefillPlan:
    """When the reservoir reaches the alarm volume and empties, and when to refill by."""

    at: datetime
    reservoir_ml: float
    low_reservoir_alarm_ml: float
    daily_volume_ml: float
    days_to_alarm: float | None
    low_reservoir_alarm_at: datetime | None
    empty_at: datetime | None
    refill_due_by: datetime
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "reservoir_ml": self.reservoir_ml,
            "low_reservoir_alarm_ml": self.low_reservoir_alarm_ml,
            "daily_volume_ml": self.daily_volume_ml,
            "days_to_alarm": self.days_to_alarm,
            "low_reservoir_alarm_at": _iso(self.low_reservoir_alarm_at),
            "empty_at": _iso(self.empty_at),
            "refill_due_by": self.refill_due_by.isoformat(),
            "reasons": [r.as_dict() for r in self.reasons],
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def plan_refill(
    *,
    at: datetime,
    reservoir_ml: float,
    daily_volume_ml: float,
    low_reservoir_alarm_ml: float,
    accuracy_fraction: float,
    last_refill_at: datetime | None = None,
    max_interval_days: float | None = None,
    low_reservoir_alarm_at: datetime | None = None,
    empty_at: datetime | None = None,
) -> RefillPlan:
    """Plan the next refill from the reservoir volume at ``at`` and the daily volume.

    ``daily_volume_ml`` is the mean flow over the programme's daily cycle (for a flex programme
    any 24 hours deliver exactly this volume). Where the twin has worked out the exact alarm
    and empty instants (``low_reservoir_alarm_at``, ``empty_at``) they are used as given;
    otherwise they are computed from the mean flow.

    ``refill_due_by`` is ``at`` plus the whole days, rounded down, until the alarm volume is
    reached by a pump running fast by ``accuracy_fraction`` (DM-6); it is never after the alarm,
    and never after ``last_refill_at`` + the drug's maximum interval (GAB-PT, default 180 days).
    """
    for name, value in (("reservoir", reservoir_ml), ("daily volume", daily_volume_ml),
                        ("low-reservoir alarm", low_reservoir_alarm_ml),
                        ("pump accuracy", accuracy_fraction)):
        if not math.isfinite(value) or value < 0:
            raise InputError(f"{name} must be a finite number ≥ 0, got {value!r}")
    if at.tzinfo is None:
        raise InputError("the plan time needs a UTC offset")
    interval_fig = default_max_refill_interval_days()
    interval_days = max_interval_days if max_interval_days is not None else float(
        interval_fig.value or 180)
    reasons: list[Reason] = []
    above_alarm_ml = max(reservoir_ml - low_reservoir_alarm_ml, 0.0)

    if daily_volume_ml > 0:
        days_to_alarm: float | None = above_alarm_ml / daily_volume_ml
        if low_reservoir_alarm_at is None:
            low_reservoir_alarm_at = at + timedelta(days=days_to_alarm or 0.0)
        if empty_at is None:
            empty_at = at + timedelta(days=reservoir_ml / daily_volume_ml)
        fast_days = above_alarm_ml / (daily_volume_ml * (1.0 + accuracy_fraction))
        due_by = at + timedelta(days=math.floor(fast_days + 1e-9))
        reasons.append(Reason(
            "refill-due-conservative",
            f"{above_alarm_ml:.2f} mL above the {low_reservoir_alarm_ml:g} mL alarm at "
            f"{daily_volume_ml:.4g} mL/day lasts {days_to_alarm:.1f} days; assuming the pump runs "
            f"{accuracy_fraction:.1%} fast it lasts {fast_days:.1f} days, rounded down to "
            f"{math.floor(fast_days + 1e-9)} whole days", "ANZCA", verified=False))
    else:
        days_to_alarm = None
        low_reservoir_alarm_at = None
        empty_at = None
        due_by = at + timedelta(days=interval_days)
        reasons.append(Reason("no-flow", "the pump is not delivering; the reservoir does not "
                              "fall, so only the drug's maximum interval limits the refill",
                              "B-DOSE", Severity.WARNING))

    if low_reservoir_alarm_at is not None and due_by > low_reservoir_alarm_at:
        due_by = low_reservoir_alarm_at
        reasons.append(Reason("refill-due-at-alarm", "the refill is due by the alarm date",
                              "NSURG04"))
    if reservoir_ml <= low_reservoir_alarm_ml:
        due_by = min(due_by, at)
        reasons.append(Reason("reservoir-at-alarm", "the reservoir is at or below the alarm "
                              "volume: refill now", "NSURG04", Severity.DANGER))
    if last_refill_at is not None:
        drug_limit = last_refill_at + timedelta(days=interval_days)
        if drug_limit < due_by:
            due_by = drug_limit
            reasons.append(Reason(
                "refill-due-drug-interval",
                f"the drug may stay in the pump at most {interval_days:g} days after a refill",
                interval_fig.source, verified=interval_fig.verified))
    return RefillPlan(at=at, reservoir_ml=reservoir_ml, low_reservoir_alarm_ml=low_reservoir_alarm_ml,
                      daily_volume_ml=daily_volume_ml, days_to_alarm=days_to_alarm,
                      low_reservoir_alarm_at=low_reservoir_alarm_at, empty_at=empty_at,
                      refill_due_by=due_by, reasons=tuple(reasons))


# --------------------------------------------------------------------------- fill volume

@dataclass(frozen=True)
class FillVolume:
    """How much drug fills the reservoir after the residual is withdrawn."""

    remaining_ml: float  # what the twin expects still in the reservoir after the withdrawal
    suggested_added_ml: float  # fills to capacity, rounded down to 0.1 mL

    def as_dict(self) -> dict[str, object]:
        return {"remaining_ml": self.remaining_ml, "suggested_added_ml": self.suggested_added_ml}


def fill_volume(*, capacity_ml: float, expected_residual_ml: float, withdrawn_ml: float,
                kept_residual_ml: float = 0.0) -> FillVolume:
    """The volume to add so the reservoir is full but never overfilled (SSN: do not overfill).

    A refill is a measurement: the reservoir is drained, so whatever was withdrawn was all
    that was left (SSN, WESEMANN) and the whole reservoir can be filled, however far the
    withdrawn volume is from the expected one. Only an aspiration said to be incomplete keeps
    its ``kept_residual_ml`` (the clinician's estimate) in the reservoir. The suggestion is
    rounded *down* to 0.1 mL so that rounding can never overfill.
    """
    for name, value in (("capacity", capacity_ml), ("expected residual", expected_residual_ml),
                        ("withdrawn volume", withdrawn_ml), ("kept residual", kept_residual_ml)):
        if not math.isfinite(value) or value < 0:
            raise InputError(f"{name} must be a finite number ≥ 0, got {value!r}")
    remaining = min(kept_residual_ml, capacity_ml)
    fill = max(0.0, math.floor((capacity_ml - remaining) * 10 + 1e-9) / 10)
    return FillVolume(remaining_ml=remaining, suggested_added_ml=fill)


def fill_volume_words(filling: FillVolume, capacity_ml: float) -> str:
    """Why the suggested volume is what it is, in one line (SSN: do not overfill).

    >>> filling = fill_volume(capacity_ml=20, expected_residual_ml=3, withdrawn_ml=2.5)
    >>> fill_volume_words(filling, 20)  # doctest: +ELLIPSIS
    'fills the 20 mL reservoir: it was drained, so what was withdrawn was all that was left; ...'
    """
    if filling.remaining_ml > 0:
        return (f"fills the {format_number(capacity_ml)} mL reservoir: the aspiration was "
                f"incomplete and about {format_number(round(filling.remaining_ml, 2))} mL stays "
                "in it; never more than the capacity")
    return (f"fills the {format_number(capacity_ml)} mL reservoir: it was drained, so what was "
            "withdrawn was all that was left; never more than the capacity")


def programmer_volume_words(reservoir_after_ml: float) -> str:
    """Which volume to enter into the programmer after the refill (clinical-facts 9.1).

    >>> programmer_volume_words(40.0)  # doctest: +ELLIPSIS
    'enter 40 mL into the programmer as the new reservoir volume (what was added, plus...'
    """
    return (f"enter {format_number(round(reservoir_after_ml, 2))} mL into the programmer as the "
            "new reservoir volume (what was added, plus any residual left by an incomplete "
            "aspiration)")


# --------------------------------------------------------------------------- mixing

# Intrathecal baclofen is labelled within ±5 % of its stated strength (LIO-AMP): a reservoir
# whose mixed concentration strays further from what the pump is told delivers a dose the
# programme does not show.
MIXING_TOLERANCE_FRACTION = 0.05


@dataclass(frozen=True)
class MixingCheck:
    """The concentration in the reservoir after a refill that left some residual behind."""

    mixed_concentration_mcg_per_ml: float
    programmed_concentration_mcg_per_ml: float
    ratio: float  # delivered dose ÷ programmed dose
    flagged: bool
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, object]:
        return {"mixed_concentration_mcg_per_ml": self.mixed_concentration_mcg_per_ml,
                "programmed_concentration_mcg_per_ml": self.programmed_concentration_mcg_per_ml,
                "ratio": self.ratio, "flagged": self.flagged,
                "reasons": [r.as_dict() for r in self.reasons]}


def check_mixing(*, remaining_ml: float, remaining_concentration_mcg_per_ml: float,
                 added_ml: float, added_concentration_mcg_per_ml: float) -> MixingCheck:
    """What the pump really holds when residual drug stays in it and new drug is added.

    The pump computes its flow from the concentration it is told (the new drug's); the
    reservoir delivers the mixture. A residual of another strength left by an incomplete
    aspiration changes every dose until the next refill.
    """
    for name, value in (("remaining volume", remaining_ml), ("added volume", added_ml),
                        ("remaining concentration", remaining_concentration_mcg_per_ml)):
        if not math.isfinite(value) or value < 0:
            raise InputError(f"{name} must be a finite number ≥ 0, got {value!r}")
    if not math.isfinite(added_concentration_mcg_per_ml) or added_concentration_mcg_per_ml <= 0:
        raise InputError("the added concentration must be greater than zero")
    mixed = (mixed_concentration(remaining_ml, remaining_concentration_mcg_per_ml,
                                 added_ml, added_concentration_mcg_per_ml)
             if added_ml > 0 else added_concentration_mcg_per_ml)
    ratio = mixed / added_concentration_mcg_per_ml
    flagged = abs(ratio - 1.0) > MIXING_TOLERANCE_FRACTION
    reasons: list[Reason] = []
    if flagged:
        more = ratio > 1
        reasons.append(Reason(
            "refill-concentration-mixed",
            f"{remaining_ml:.2f} mL of {remaining_concentration_mcg_per_ml:g} mcg/mL stays in the "
            f"reservoir with {added_ml:.2f} mL of {added_concentration_mcg_per_ml:g} mcg/mL: the "
            f"mixture is {mixed:.0f} mcg/mL, so every programmed dose delivers {ratio:.2f}× — "
            + ("overdose risk" if more else "under-dose, withdrawal risk")
            + ". Aspirate the residual completely before adding a new strength",
            "LIO-AMP", Severity.DANGER if more else Severity.WARNING))
    return MixingCheck(mixed, added_concentration_mcg_per_ml, ratio, flagged, tuple(reasons))


# --------------------------------------------------------------------------- residual check

@dataclass(frozen=True)
class ResidualCheck:
    """The withdrawn residual compared with the expected residual."""

    expected_residual_ml: float
    withdrawn_ml: float
    discrepancy_ml: float  # withdrawn − expected
    threshold_ml: float
    flagged: bool
    direction: str  # "none" | "more-withdrawn" | "less-withdrawn"
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "expected_residual_ml": self.expected_residual_ml,
            "withdrawn_ml": self.withdrawn_ml,
            "discrepancy_ml": self.discrepancy_ml,
            "threshold_ml": self.threshold_ml,
            "flagged": self.flagged,
            "direction": self.direction,
            "reasons": [r.as_dict() for r in self.reasons],
        }


def check_residual(*, expected_residual_ml: float, withdrawn_ml: float,
                   reservoir_capacity_ml: float) -> ResidualCheck:
    """Compare what was withdrawn at a refill with what the twin expected to be left (MAINO).

    More withdrawn than expected means the pump delivered less than programmed (a stall, an
    under-infusing pump, a blocked catheter): the patient may be under-dosed. Less withdrawn
    means more left the reservoir than programmed (over-delivery, a leak) — or the residual was
    not fully aspirated, which leaves old drug that mixes with the new.
    """
    if expected_residual_ml < 0 or withdrawn_ml < 0:
        raise InputError("volumes cannot be negative")
    threshold = discrepancy_threshold_ml(reservoir_capacity_ml)
    diff = withdrawn_ml - expected_residual_ml
    flagged = abs(diff) > threshold + 1e-9
    reasons = [Reason("discrepancy-threshold",
                      f"a difference above {threshold:g} mL for a {reservoir_capacity_ml:g} mL pump "
                      "is potentially consequential", "MAINO")]
    if not flagged:
        direction = "none"
        reasons.append(Reason("residual-as-expected",
                              f"withdrew {withdrawn_ml:.2f} mL, expected {expected_residual_ml:.2f} mL "
                              f"(difference {diff:+.2f} mL, within ±{threshold:g} mL)", "MAINO"))
    elif diff > 0:
        direction = "more-withdrawn"
        reasons.append(Reason(
            "more-withdrawn-than-expected",
            f"withdrew {withdrawn_ml:.2f} mL but expected {expected_residual_ml:.2f} mL "
            f"({diff:+.2f} mL): the pump delivered less than programmed — suspect under-infusion, "
            "a motor stall or a blocked catheter; the patient may have been under-dosed. "
            "Interrogate the pump and check its event log", "MAINO", Severity.WARNING))
    else:
        direction = "less-withdrawn"
        reasons.append(Reason(
            "less-withdrawn-than-expected",
            f"withdrew {withdrawn_ml:.2f} mL but expected {expected_residual_ml:.2f} mL "
            f"({diff:+.2f} mL): more drug left the reservoir than programmed — suspect "
            "over-delivery or a leak — or the residual was not fully aspirated; confirm the needle "
            "is in the reservoir and aspirate again before adding drug", "MAINO",
            Severity.WARNING))
        reasons.append(Reason("pocket-fill-watch",
                              "watch for overdose after this refill (pocket-fill risk)",
                              "M-POCKET", Severity.WARNING))
    return ResidualCheck(expected_residual_ml=expected_residual_ml, withdrawn_ml=withdrawn_ml,
                         discrepancy_ml=diff, threshold_ml=threshold, flagged=flagged,
                         direction=direction, reasons=tuple(reasons))


# --------------------------------------------------------------------------- boluses

def dead_volume_ml(pump: PumpModel, catheter_volume_ml: float) -> float:
    """Pump tubing plus catheter: the fluid between the reservoir and the catheter tip."""
    return pump.tubing_volume_ml + catheter_volume_ml


@dataclass(frozen=True)
class BridgeBolus:
    """The bolus that pushes old-concentration drug out of the line at the old daily dose."""

    needed: bool
    volume_ml: float
    duration_h: float
    rate_ml_per_day: float
    dose_mcg: float
    old_concentration_mcg_per_ml: float
    new_concentration_mcg_per_ml: float
    reasons: tuple[Reason, ...]
    summary: str  # the bolus as a clinician programs it, in one line (bridge_bolus_words)

    def as_dict(self) -> dict[str, object]:
        return {
            "needed": self.needed, "volume_ml": self.volume_ml, "duration_h": self.duration_h,
            "rate_ml_per_day": self.rate_ml_per_day, "dose_mcg": self.dose_mcg,
            "old_concentration_mcg_per_ml": self.old_concentration_mcg_per_ml,
            "new_concentration_mcg_per_ml": self.new_concentration_mcg_per_ml,
            "reasons": [r.as_dict() for r in self.reasons], "summary": self.summary,
        }


def bridge_bolus(*, old_concentration_mcg_per_ml: float, new_concentration_mcg_per_ml: float,
                 old_daily_dose_mcg: float, dead_volume_ml: float) -> BridgeBolus:
    """Bridge bolus on a concentration change (B-DOSE; safety-requirements PR-6).

    The line holds ``dead_volume_ml`` of the old drug. The bridge runs it out at the flow that
    delivers the old daily dose from the old concentration, so the patient keeps receiving the
    old daily dose until the new drug reaches the catheter tip:
    ``rate = old dose / old concentration``, ``duration = dead volume / rate``,
    ``dose = dead volume × old concentration``.
    """
    for name, value in (("old concentration", old_concentration_mcg_per_ml),
                        ("new concentration", new_concentration_mcg_per_ml)):
        if not math.isfinite(value) or value <= 0:
            raise InputError(f"{name} must be greater than zero")
    if old_daily_dose_mcg < 0 or dead_volume_ml <= 0:
        raise InputError("the old daily dose must be ≥ 0 and the dead volume > 0")
    needed = not same_concentration(old_concentration_mcg_per_ml, new_concentration_mcg_per_ml)
    reasons: list[Reason] = []
    if not needed:
        return BridgeBolus(False, 0.0, 0.0, 0.0, 0.0, old_concentration_mcg_per_ml,
                           new_concentration_mcg_per_ml,
                           (Reason("same-concentration", "the concentration is unchanged; no "
                                   "bridge bolus is needed", "B-DOSE"),),
                           "no bridge bolus needed")
    rate = old_daily_dose_mcg / old_concentration_mcg_per_ml
    duration_h = dead_volume_ml / rate * 24.0 if rate > 0 else 0.0
    dose = dead_volume_ml * old_concentration_mcg_per_ml
    ratio = new_concentration_mcg_per_ml / old_concentration_mcg_per_ml
    reasons.append(Reason("bridge-bolus-required",
                          "the concentration changes: program a bridge bolus so the old drug in "
                          "the tubing and catheter is delivered at the old daily dose", "B-DOSE"))
    if ratio > 1:
        reasons.append(Reason(
            "without-bridge-underdose",
            f"without it the pump would push the weaker old drug at 1/{ratio:g} of the flow for "
            f"about {dead_volume_ml / (rate / ratio) * 24:.0f} h: under-dosing, withdrawal risk",
            "B-DOSE", Severity.WARNING))
    else:
        reasons.append(Reason(
            "without-bridge-overdose",
            f"without it the pump would push the stronger old drug at {1 / ratio:g}× the flow for "
            f"about {dead_volume_ml / (rate / ratio) * 24:.1f} h: overdose risk",
            "B-DOSE", Severity.DANGER))
    words = (f"bridge bolus of {format_number(dead_volume_ml)} mL ({format_number(dose)} mcg "
             f"at the old {format_number(old_concentration_mcg_per_ml)} mcg/mL) over "
             f"{format_number(round(duration_h, 1))} h, then the new concentration at the "
             "programmed rate")
    return BridgeBolus(True, dead_volume_ml, duration_h, rate, dose, old_concentration_mcg_per_ml,
                       new_concentration_mcg_per_ml, tuple(reasons), words)


def bridge_bolus_words(bridge: BridgeBolus) -> str:
    """The bridge bolus as a clinician programs it, in one line (B-DOSE).

    >>> b = bridge_bolus(old_concentration_mcg_per_ml=500, new_concentration_mcg_per_ml=2000,
    ...                  old_daily_dose_mcg=100, dead_volume_ml=0.2)
    >>> bridge_bolus_words(b)[:57]  # 0.2 mL at 100/500 = 0.2 mL/day: 24 h; 0.2 × 500 = 100 mcg
    'bridge bolus of 0.2 mL (100 mcg at the old 500 mcg/mL) ov'
    """
    return bridge.summary


@dataclass(frozen=True)
class PrimingBolus:
    volume_ml: float
    duration_h: float
    rate_ml_per_day: float
    drug_in_line_after_mcg: float
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, object]:
        return {"volume_ml": self.volume_ml, "duration_h": self.duration_h,
                "rate_ml_per_day": self.rate_ml_per_day,
                "drug_in_line_after_mcg": self.drug_in_line_after_mcg,
                "reasons": [r.as_dict() for r in self.reasons]}


def priming_bolus(*, pump: PumpModel, catheter_volume_ml: float,
                  concentration_mcg_per_ml: float) -> PrimingBolus:
    """Priming bolus after an implant or a catheter revision (M-PRIME).

    Fills the tubing and the (new) catheter with drug at the pump's priming rate. The drug mixes
    with the fluid already in the line, so the patient can receive drug before the bolus ends
    and a weaker mixture afterwards: give it under medical supervision.
    """
    volume = dead_volume_ml(pump, catheter_volume_ml)
    rate = pump.priming_rate_ml_per_day
    fig = pump.figures.get("priming_rate_ml_per_day")
    reasons = (
        Reason("priming-volume", f"tubing {pump.tubing_volume_ml:g} mL + catheter "
               f"{catheter_volume_ml:.4f} mL", "TGA-TUBING"),
        Reason("priming-rate", f"delivered at {rate:g} mL/day",
               fig.source if fig else "ASSUMED", verified=bool(fig and fig.verified)),
        Reason("priming-supervision", "drug can reach the patient before the bolus ends and a "
               "weaker mixture after it: prime under medical supervision", "M-PRIME",
               Severity.WARNING),
    )
    return PrimingBolus(volume, volume / rate * 24.0, rate, volume * concentration_mcg_per_ml,
                        reasons)
