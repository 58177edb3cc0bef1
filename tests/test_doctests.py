"""The examples in the calculators' docstrings run, as the rest of the tests do (pharmpy-style
executable documentation): each module below must have examples, and they must hold."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from thecal import units
from thecal.clinical import cases, dose, refill, worklist

MODULES = (units, dose, refill, worklist, cases)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_hold(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module.__name__} has no examples"
    assert result.failed == 0
