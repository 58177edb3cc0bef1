"""Programs as a clinician reads them: the 24-hour total, shown beside the previous one.

Every schedule shows its 24-hour total next to the previous programme's, so that a flex step
entered per hour instead of per day cannot pass unseen (safety-requirements DM-5, ISMP).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from thecal.clinical.dose import rate_ml_per_day
from thecal.limits import Reason, Severity
from thecal.timeline import FlexStep, Program


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
