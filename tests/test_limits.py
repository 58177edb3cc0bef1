"""Guardrails: absolute bounds never overridden; recommended bounds only with a reason."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thecal.limits import Classification, Guardrail, Limit, Reason, most_restrictive

RAIL = Guardrail("daily dose", "mcg/day", 12, 2000, 300, 800, source="MEDSCAPE2")


@pytest.mark.parametrize(("value", "cls", "accepted_without", "accepted_with"), [
    (500, Classification.WITHIN, True, True),
    (900, Classification.ABOVE_RECOMMENDED, False, True),
    (100, Classification.BELOW_RECOMMENDED, False, True),
    (2001, Classification.ABOVE_ABSOLUTE, False, False),
    (5, Classification.BELOW_ABSOLUTE, False, False),
])
def test_classification_and_override(value: float, cls: Classification, accepted_without: bool,
                                     accepted_with: bool) -> None:
    assert RAIL.classify(value) is cls
    assert RAIL.check(value).accepted is accepted_without
    assert RAIL.check(value, override_reason="documented tolerance").accepted is accepted_with


def test_blank_override_reason_does_not_count() -> None:
    assert not RAIL.check(900, override_reason="   ").accepted


def test_bounds_must_nest() -> None:
    with pytest.raises(ValueError):
        Guardrail("x", "u", 0, 10, 5, 11, source="ASSUMED")


def test_most_restrictive_keeps_every_limiting_reason_most_limiting_first() -> None:
    a = Limit(3.0, Reason("pref", "max in preferences", "ASSUMED"))
    b = Limit(5.0, Reason("hard", "hard limit", "ASSUMED"))
    c = Limit(1e9, Reason("loose", "does not limit", "ASSUMED"))
    out = most_restrictive(1e300, [b, c, a])
    assert out.value == 3.0
    assert out.codes[0] == "pref"
    assert set(out.codes) == {"pref", "hard", "loose"}
    assert most_restrictive(2.0, [a, b]).value == 2.0


@given(st.floats(min_value=-1e6, max_value=1e6))
def test_clamp_stays_within_absolute_bounds(value: float) -> None:
    assert 12 <= RAIL.clamp(value).value <= 2000


def test_unknown_source_key_is_refused() -> None:
    with pytest.raises(KeyError):
        Reason("x", "y", "NOT-A-SOURCE")
