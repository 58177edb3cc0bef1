"""Number entry at the edges: strict, unit-checked, refusing ambiguity (PR-3, DM-1)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thecal import units
from thecal.errors import UnitError


@pytest.mark.parametrize(("text", "kind", "expected"), [
    ("500 mcg/mL", units.CONCENTRATION, 500.0),
    ("2 mg/mL", units.CONCENTRATION, 2000.0),
    ("0.5 mg/day", units.DAILY_DOSE, 500.0),
    ("100 mcg/24h", units.DAILY_DOSE, 100.0),
    ("12.5 mcg/h", units.DAILY_DOSE, 300.0),
    ("40 mL", units.VOLUME, 40.0),
    ("40mL", units.VOLUME, 40.0),
    ("250 uL", units.VOLUME, 0.25),
    ("30 min", units.DURATION, 0.5),
    ("2 h", units.DURATION, 2.0),
    ("1 day", units.DURATION, 24.0),
    ("0.6 mL/day", units.RATE, 0.6),
    ("50 µg", units.DOSE, 50.0),
    ("0.05 mg", units.DOSE, 50.0),
    ("60 mg/day", units.ORAL_DAILY_DOSE, 60.0),
])
def test_parses_to_canonical_units(text: str, kind: units.Kind, expected: float) -> None:
    assert units.parse_quantity(text, kind) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("text", [
    ".5 mL", "5. mL", "1,5 mL", "1e3 mL", "nan mL", "inf mL", "5", "", "mL", "５ mL",
    "1..2 mL", "5 mL extra", "-1 mL", "0x10 mL", "1 000 mL",
])
def test_refuses_ambiguous_or_bare_numbers(text: str) -> None:
    with pytest.raises(UnitError) as err:
        units.volume(text)
    assert "mL" in err.value.one_line()  # the message shows the expected form


@pytest.mark.parametrize(("text", "kind"), [
    ("5 mcg", units.VOLUME), ("500 mcg/mL", units.DAILY_DOSE), ("30 min", units.DOSE),
    ("40 mL", units.CONCENTRATION),
])
def test_refuses_wrong_dimension(text: str, kind: units.Kind) -> None:
    with pytest.raises(UnitError, match="is not a"):
        units.parse_quantity(text, kind)


def test_bare_numbers_from_json_are_refused() -> None:
    with pytest.raises(UnitError, match="no unit"):
        units.volume(40)


def test_zero_concentration_is_refused() -> None:
    with pytest.raises(UnitError, match="greater than zero"):
        units.concentration("0 mcg/mL")


@pytest.mark.parametrize(("value", "kind", "text"), [
    (50.0, units.DOSE, "50 mcg"), (0.5, units.VOLUME, "0.5 mL"), (1.25, units.VOLUME, "1.25 mL"),
    (300.0, units.DAILY_DOSE, "300 mcg/day"), (0.0, units.VOLUME, "0 mL"),
])
def test_display_has_leading_zero_no_trailing_zero_and_mcg(value: float, kind: units.Kind,
                                                          text: str) -> None:
    assert units.format_quantity(value, kind) == text
    assert "µ" not in units.format_quantity(value, kind)


@given(st.decimals(min_value=0, max_value=100000, places=3, allow_nan=False, allow_infinity=False))
def test_round_trip_of_written_quantities(value: object) -> None:
    number = float(str(value))
    text = units.format_quantity(number, units.DAILY_DOSE, decimals=3)
    assert units.daily_dose(text) == pytest.approx(round(number, 3), abs=1e-9)


@pytest.mark.parametrize(("value", "decimals", "text"), [
    (500.0, 0, "500"), (2000.0, 0, "2000"), (10.0, 1, "10"), (0.0, 0, "0"), (-0.0001, 2, "0"),
    (1.5, 0, "2"), (0.25, 3, "0.25"),
])
def test_format_number_keeps_integer_zeros(value: float, decimals: int, text: str) -> None:
    assert units.format_number(value, decimals=decimals) == text


# ------------------------------------------------------------------ the one strength comparison

_VOLUME = st.floats(min_value=0.0, max_value=60.0, allow_nan=False)
_STRENGTH = st.floats(min_value=1.0, max_value=5000.0, allow_nan=False)


@pytest.mark.parametrize(("a", "b", "same"), [
    (1000.0000000000001, 1000.0, True),  # the demo's float noise
    (500.00000000000006, 500.0, True),   # the confirm screen's noise (issue 11)
    (2000.001, 2000.0, True),            # 5e-7 relative: below what a page shows
    (2000.003, 2000.0, False),           # 1.5e-6 relative: a person could write it
    (1000.0, 999.0, False),
    (500.0, 2000.0, False),
    (0.0, 0.0, True),
    (0.0, 1e-12, False),                 # an empty reservoir equals only zero
])
def test_same_concentration_within_one_part_per_million(a: float, b: float, same: bool) -> None:
    assert units.same_concentration(a, b) is same
    assert units.same_concentration(b, a) is same


@given(_VOLUME, _VOLUME, _STRENGTH)
def test_mixing_a_strength_with_itself_keeps_it_exactly(remaining: float, added: float,
                                                         strength: float) -> None:
    assert units.mixed_concentration(remaining, strength, added, strength) == strength


@given(_VOLUME, _VOLUME, _STRENGTH, _STRENGTH)
def test_a_mixture_lies_between_its_strengths(remaining: float, added: float, c1: float,
                                              c2: float) -> None:
    mixed = units.mixed_concentration(remaining, c1, added, c2)
    assert min(c1, c2) <= mixed <= max(c1, c2)
    if added > 0 and remaining + added > 0:
        # the drug mass is kept: (V1 + V2) · C = V1 · C1 + V2 · C2
        total = remaining + added
        assert total * mixed == pytest.approx(remaining * c1 + added * c2, rel=1e-12)
