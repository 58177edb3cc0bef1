"""Variants of a scenario: the same pump history with one policy changed, for paired comparisons.

``thecal population SCENARIO --compare VARIANT`` runs the scenario and its variant on the same
virtual patients. A variant is named in one of two ways:

* a **bundled variant**, a rule applied to the scenario's timeline:

  - ``with-bridge-bolus`` — a bridge bolus 5 min after every refill that changes the
    concentration and has none within the hour (B-DOSE: the old drug left in the catheter is
    pushed out at the old dose's rate);
  - ``without-bridge-bolus`` — every bridge bolus removed;
  - ``refill-at-alarm`` — where a low-reservoir alarm is followed by no refill within a day,
    a refill 2 h after the alarm (the residual withdrawn, the last refill's volume and
    concentration added);
  - ``dose-x<F>`` — every programmed daily dose (and flex step) times ``F``, e.g. ``dose-x0.9``;

* a **timeline file** (``.yaml``/``.json``): a second scenario for the same patient, e.g. the
  scenario edited by hand.

The timeline format has no ``variants:`` block (its top level is ``format``, ``patient`` and
``events``), so the variants live here, as rules, or beside it, as files.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np

from thecal.errors import InputError
from thecal.timeline import Bolus, Event, Program, Refill, Timeline, load_timeline, validate
from thecal.units import same_concentration

BUNDLED_VARIANTS = ("with-bridge-bolus", "without-bridge-bolus", "refill-at-alarm", "dose-x<F>")
_DOSE = re.compile(r"^dose-x(\d+(?:\.\d+)?)$")
_BRIDGE_DELAY = timedelta(minutes=5)
_BRIDGE_WINDOW = timedelta(hours=1)


def _rebuilt(timeline: Timeline, events: list[Event], name: str) -> Timeline:
    new = Timeline(timeline.patient, tuple(events))
    try:
        validate(new)
    except Exception as exc:  # the variant made the history invalid: say which variant
        raise InputError(f"the variant {name!r} does not fit this scenario: {exc}",
                         where="--compare") from None
    return new


def with_bridge_bolus(timeline: Timeline) -> Timeline:
    """A bridge bolus after every concentration-changing refill that lacks one."""
    events = list(timeline.events)
    added: list[Event] = []
    previous: float | None = None
    for ev in timeline.events:
        if isinstance(ev, Refill):
            changed = (previous is not None
                       and not same_concentration(ev.concentration_mcg_per_ml, previous))
            previous = ev.concentration_mcg_per_ml
            if not changed:
                continue
            bridged = any(isinstance(e, Bolus) and e.kind == "bridge"
                          and ev.at <= e.at <= ev.at + _BRIDGE_WINDOW for e in timeline.events)
            if not bridged:
                added.append(Bolus(at=ev.at + _BRIDGE_DELAY, kind="bridge",
                                   reason="variant with-bridge-bolus"))
    return _rebuilt(timeline, events + added, "with-bridge-bolus")


def without_bridge_bolus(timeline: Timeline) -> Timeline:
    events = [e for e in timeline.events if not (isinstance(e, Bolus) and e.kind == "bridge")]
    return _rebuilt(timeline, events, "without-bridge-bolus")


def scaled_doses(timeline: Timeline, factor: float) -> Timeline:
    """Every programmed daily dose (and every flex step's) times ``factor``."""
    if not 0.0 < factor <= 10.0:
        raise InputError(f"dose factor {factor:g} is outside 0–10", where="--compare",
                         fix="e.g. dose-x0.9 or dose-x1.2")
    events: list[Event] = []
    for ev in timeline.events:
        if isinstance(ev, Program):
            steps = tuple(replace(s, daily_dose_mcg=s.daily_dose_mcg * factor) for s in ev.steps)
            dose = None if ev.daily_dose_mcg is None else ev.daily_dose_mcg * factor
            ev = replace(ev, daily_dose_mcg=dose, steps=steps)
        events.append(ev)
    return _rebuilt(timeline, events, f"dose-x{factor:g}")


def refill_at_alarm(timeline: Timeline, until_days: float = 14.0) -> Timeline:
    """A refill 2 h after each low-reservoir alarm that no refill follows within a day."""
    from thecal.device.replay import replay

    events = list(timeline.events)
    refills = [e for e in events if isinstance(e, Refill)]
    if not refills:
        return _rebuilt(timeline, events, "refill-at-alarm")
    r = replay(timeline, timeline.events[-1].at + timedelta(days=until_days))
    added: list[Event] = []
    for raised in r.low_reservoir_alarm_times():
        if any(raised <= e.at <= raised + timedelta(days=1) for e in refills):
            continue
        at = raised + timedelta(hours=2)
        last = max((e for e in refills if e.at <= at), key=lambda e: e.at, default=refills[0])
        residual = round(max(float(np.asarray(r.reservoir_ml_at(r.t_h(at))).reshape(-1)[0]), 0.0), 1)
        added.append(Refill(at=at, withdrawn_ml=residual, added_ml=last.added_ml,
                            concentration_mcg_per_ml=last.concentration_mcg_per_ml,
                            compounded=last.compounded, reason="variant refill-at-alarm"))
        break  # the refill changes the rest of the history; one at a time is enough here
    return _rebuilt(timeline, events + added, "refill-at-alarm")


def resolve_variant(name: str, timeline: Timeline) -> tuple[str, Timeline]:
    """The variant ``name`` of ``timeline``: its label and its timeline."""
    if name == "with-bridge-bolus":
        return name, with_bridge_bolus(timeline)
    if name == "without-bridge-bolus":
        return name, without_bridge_bolus(timeline)
    if name == "refill-at-alarm":
        return name, refill_at_alarm(timeline)
    match = _DOSE.match(name)
    if match:
        return name, scaled_doses(timeline, float(match.group(1)))
    path = Path(name)
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        if not path.exists():
            raise InputError(f"no variant file {name!r}", where="--compare")
        other = load_timeline(path)
        if other.patient.id != timeline.patient.id:
            raise InputError(f"{name!r} is a timeline of another patient", where="--compare",
                             fix="a variant keeps the scenario's patient (same patient.id)")
        return path.stem, other
    raise InputError(f"unknown variant {name!r}", where="--compare",
                     fix=f"use one of: {', '.join(BUNDLED_VARIANTS)} — or a timeline file")
