"""Quantities at the edges: strict parsing of "500 mcg/mL" and writing "0.5 mL".

Inside the core every quantity is a plain float in a canonical unit named by the variable
(``dose_mcg``, ``volume_ml``, ``daily_dose_mcg``, ``concentration_mcg_per_ml``, ``t_h``).
At the edges (files, CLI, API, forms) a quantity is text with its unit. This module turns one
into the other, refusing anything ambiguous (safety-requirements PR-3, DM-1; THIMBLEBY):

* the number must be plain decimal with a leading digit: ``0.5`` not ``.5``; no ``5.``,
  ``1,5``, ``1e3``, ``nan``, ``inf``, full-width digits, or junk around it;
* the unit is required and must have the expected dimension (pint does the algebra);
* negatives are refused (no ITB quantity is negative);
* display writes ``mcg``, never ``µg``, with a leading zero and no trailing zeros.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from thecal.errors import UnitError

if TYPE_CHECKING:
    import pint

# A plain decimal: digits, optionally a point followed by digits. ASCII digits only.
_NUMBER: Final = r"(?P<number>-?[0-9]+(?:\.[0-9]+)?)"
_QUANTITY_RE: Final = re.compile(rf"^\s*{_NUMBER}\s*(?P<unit>[A-Za-zµμ][A-Za-zµμ0-9/ ·*^]*?)\s*$")
_BARE_NUMBER_RE: Final = re.compile(rf"^\s*{_NUMBER}\s*$")


@dataclass(frozen=True)
class Kind:
    """One kind of quantity: its canonical unit, the dimension it must have, an example."""

    name: str
    canonical: str  # pint expression of the canonical unit
    display: str  # how the canonical unit is written for people
    example: str


DOSE: Final = Kind("dose", "microgram", "mcg", "50 mcg")
DAILY_DOSE: Final = Kind("daily dose", "microgram / day", "mcg/day", "300 mcg/day")
ORAL_DAILY_DOSE: Final = Kind("oral daily dose", "milligram / day", "mg/day", "60 mg/day")
CONCENTRATION: Final = Kind("concentration", "microgram / milliliter", "mcg/mL", "500 mcg/mL")
VOLUME: Final = Kind("volume", "milliliter", "mL", "20 mL")
RATE: Final = Kind("flow rate", "milliliter / day", "mL/day", "0.6 mL/day")
DURATION: Final = Kind("duration", "hour", "h", "30 min")
LENGTH: Final = Kind("length", "centimeter", "cm", "52 cm")
MASS: Final = Kind("body weight", "kilogram", "kg", "64 kg")

KINDS: Final = (
    DOSE, DAILY_DOSE, ORAL_DAILY_DOSE, CONCENTRATION, VOLUME, RATE, DURATION, LENGTH, MASS,
)


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The one pint registry, with the clinical spellings thecal accepts."""
    import pint

    # cache_folder=":auto:" keeps the parsed definitions in the user cache: 10× faster start.
    ureg: pint.UnitRegistry = pint.UnitRegistry(autoconvert_offset_to_baseunit=False, cache_folder=":auto:")
    ureg.define("mcg = microgram")
    ureg.define("mcL = microliter")
    ureg.define("cc = milliliter")
    return ureg


def _normalise_unit_text(unit: str) -> str:
    text = unit.strip().replace("µ", "u").replace("μ", "u").replace("·", "*")
    # "mcg/24h" and "mcg / 24 h" are common on pump screens: treat 24h as day.
    text = re.sub(r"/\s*24\s*h(ours?|rs?)?\b", "/day", text)
    text = re.sub(r"\bhrs?\b", "hour", text)
    return text


def parse_number(text: str, *, what: str = "number", allow_negative: bool = False) -> float:
    """Parse a plain decimal number written by a person, refusing ambiguous forms."""
    if not isinstance(text, str):
        raise UnitError(f"expected text for the {what}, got {type(text).__name__}",
                        fix="write it as a plain decimal such as 0.5")
    match = _BARE_NUMBER_RE.match(text)
    if not match:
        raise UnitError(f"{text!r} is not a plain decimal number",
                        fix="write digits with an optional point and digits after it, e.g. 0.5 or 12")
    value = float(match["number"])
    if value < 0 and not allow_negative:
        raise UnitError(f"{what} cannot be negative ({text!r})", fix="enter zero or a positive value")
    return value


def parse_quantity(text: object, kind: Kind, *, allow_zero: bool = True) -> float:
    """Parse text such as ``"0.5 mg/day"`` into a float in ``kind``'s canonical unit.

    Raises :class:`UnitError` for a bare number, a wrong dimension, an unknown unit, an
    ambiguous number, a negative value, or zero where zero is not allowed.

    >>> parse_quantity("0.5 mg/day", DAILY_DOSE)  # canonical: mcg/day
    500.0
    >>> parse_quantity("11.8 mL", VOLUME)
    11.8
    >>> parse_quantity(".5 mL", VOLUME)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    thecal.errors.UnitError: ...
    """
    expected = f"write the {kind.name} as a number and a unit, e.g. {kind.example!r}"
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise UnitError(f"expected text like {kind.example!r} for the {kind.name}", fix=expected)
    if isinstance(text, (int, float)):
        raise UnitError(f"bare number {text!r} has no unit", fix=expected)
    raw = text
    if _BARE_NUMBER_RE.match(raw):
        raise UnitError(f"bare number {raw!r} has no unit", fix=expected)
    match = _QUANTITY_RE.match(raw)
    if not match:
        raise UnitError(f"{raw!r} is not a plain decimal number followed by a unit", fix=expected
                        + " (no '.5', '5.', '1,5', '1e3', 'nan' or 'inf')")
    number = float(match["number"])
    if number < 0:
        raise UnitError(f"{kind.name} cannot be negative ({raw!r})", fix="enter zero or a positive value")
    if not allow_zero and number == 0:
        raise UnitError(f"{kind.name} must be greater than zero ({raw!r})", fix=expected)
    factor = _unit_factor(match["unit"], kind)
    if factor is None:
        raise UnitError(f"unknown unit {match['unit']!r} in {raw!r}", fix=expected)
    if factor == 0.0:
        raise UnitError(f"{raw!r} is not a {kind.name}", fix=expected)
    value = number * factor
    if not math.isfinite(value):
        raise UnitError(f"{raw!r} is out of range", fix=expected)
    return value


@lru_cache(maxsize=512)
def _unit_factor(unit_text: str, kind: Kind) -> float | None:
    """Multiplier from ``unit_text`` to ``kind``'s canonical unit; None if unknown, 0.0 if the
    dimension is wrong. Cached: a long timeline repeats a handful of units."""
    import pint

    ureg = registry()
    try:
        unit = ureg.Unit(_normalise_unit_text(unit_text))
        target = ureg.Unit(kind.canonical)
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, ValueError,
            AttributeError, TypeError, AssertionError, SyntaxError):
        return None
    if unit.dimensionality != target.dimensionality:
        return 0.0
    return float(ureg.Quantity(1.0, unit).to(target).magnitude)


def format_number(value: float, *, decimals: int = 3) -> str:
    """Write a number with a leading zero and no trailing zeros (``0.5``, ``12``, ``1.25``).

    >>> format_number(0.5), format_number(12.0), format_number(1.2504), format_number(-0.0001)
    ('0.5', '12', '1.25', '0')
    """
    if not math.isfinite(value):
        raise ValueError(f"cannot format non-finite number {value!r}")
    rounded = round(value, decimals)
    if rounded == 0:
        rounded = 0.0  # no "-0"
    text = f"{rounded:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_quantity(value: float, kind: Kind, *, decimals: int = 3) -> str:
    """Write a canonical float with its display unit: ``format_quantity(0.5, VOLUME) == '0.5 mL'``."""
    return f"{format_number(value, decimals=decimals)} {kind.display}"


def dose(text: object) -> float:
    """``"50 mcg"`` or ``"0.05 mg"`` → mcg."""
    return parse_quantity(text, DOSE)


def daily_dose(text: object) -> float:
    """``"0.5 mg/day"`` → mcg/day."""
    return parse_quantity(text, DAILY_DOSE)


def concentration(text: object) -> float:
    """``"2 mg/mL"`` → mcg/mL (must be > 0)."""
    return parse_quantity(text, CONCENTRATION, allow_zero=False)


def volume(text: object) -> float:
    """``"40 mL"`` → mL."""
    return parse_quantity(text, VOLUME)


def rate(text: object) -> float:
    """``"0.6 mL/day"`` → mL/day."""
    return parse_quantity(text, RATE)


def duration(text: object) -> float:
    """``"30 min"`` → hours."""
    return parse_quantity(text, DURATION)


# --------------------------------------------------------------------------- drug strengths

CONCENTRATION_REL_TOL: Final = 1e-6
"""Two strengths within one part per million of each other are the same concentration.

ASSUMED, from what the numbers are: a strength is written by a person to a few significant
digits (500, 1000, 2000 mcg/mL; a compounded 1500 mcg/mL) and shown to three decimals, while
the arithmetic of mixing and unit conversion leaves noise of a few parts in 10^16
(``1000.0000000000001``). One part per million lies far from both: no two strengths a person
can tell apart on a label or a page compare equal, and no rounding noise counts as a change."""


def same_concentration(a_mcg_per_ml: float, b_mcg_per_ml: float) -> bool:
    """Whether two drug strengths (mcg/mL) are the same concentration.

    The one test of "the concentration changed": the twin's record of a change, the refill's
    bridge bolus and second signature, the missing-bridge finding, an interrogation's
    strength, the triage's "concentration changed recently", the formulary look-up. Relative
    tolerance :data:`CONCENTRATION_REL_TOL`; zero (an empty reservoir) equals only zero.

    >>> same_concentration(1000.0000000000001, 1000.0), same_concentration(1000.0, 999.0)
    (True, False)
    """
    return math.isclose(a_mcg_per_ml, b_mcg_per_ml, rel_tol=CONCENTRATION_REL_TOL, abs_tol=0.0)


def mixed_concentration(remaining_ml: float, remaining_mcg_per_ml: float,
                        added_ml: float, added_mcg_per_ml: float) -> float:
    """The strength (mcg/mL) after ``added_ml`` of one strength is mixed into ``remaining_ml``
    of another: drug mass over volume, ``C1 + (C2 − C1) · V2 / (V1 + V2)``.

    Written so that drug mixed with drug of the same strength keeps that strength exactly:
    the textbook ``(V1·C1 + V2·C2) / (V1 + V2)`` turns 19.4 mL of 1000 mcg/mL into an empty
    reservoir into 1000.0000000000001 mcg/mL (19.4 × 1000 and the division each round).
    Nothing added leaves the old strength; nothing remaining gives the added one.

    >>> mixed_concentration(0.0, 500.0, 19.4, 1000.0), mixed_concentration(2.0, 500.0, 18.0, 1000.0)
    (1000.0, 950.0)
    """
    total = remaining_ml + added_ml
    if added_ml <= 0 or total <= 0:
        return remaining_mcg_per_ml
    if remaining_ml <= 0:
        return added_mcg_per_ml
    mixed = remaining_mcg_per_ml + (added_mcg_per_ml - remaining_mcg_per_ml) * (added_ml / total)
    # a mixture lies between its strengths, also in the last bit
    return min(max(mixed, min(remaining_mcg_per_ml, added_mcg_per_ml)),
               max(remaining_mcg_per_ml, added_mcg_per_ml))


# --- times for people -------------------------------------------------------------------------
# Stored times are UTC instants; people read them in one zone, written so they cannot be
# misread ("Tue 10 Mar 2026 09:30 CET", never ISO text or a numeric offset). The web's
# ``when``/``day`` filters and the e-mails use these two, so every face writes a time alike.

@lru_cache(maxsize=64)
def zone_of(name: str | None) -> tzinfo:
    """The zone named ``name`` (IANA); UTC for none or a name this system does not know."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def format_day(value: date | datetime | None, zone: tzinfo = UTC) -> str:
    """"Tue 10 Mar 2026": a date as it is, an instant on its calendar day in ``zone``.

    >>> from zoneinfo import ZoneInfo
    >>> format_day(datetime(2026, 3, 9, 23, 30, tzinfo=UTC), ZoneInfo("Europe/Berlin"))
    'Tue 10 Mar 2026'
    """
    if value is None:
        return "—"
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(zone)
    return value.strftime("%a %-d %b %Y")


def format_instant(value: datetime | None, zone: tzinfo = UTC) -> str:
    """"Tue 10 Mar 2026 09:30 CET": an instant in ``zone`` with the zone's abbreviation.

    >>> from zoneinfo import ZoneInfo
    >>> format_instant(datetime(2026, 3, 10, 8, 30, tzinfo=UTC), ZoneInfo("Europe/Berlin"))
    'Tue 10 Mar 2026 09:30 CET'
    """
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(zone)
    return f"{value.strftime('%a %-d %b %Y %H:%M')} {value.strftime('%Z')}".rstrip()
