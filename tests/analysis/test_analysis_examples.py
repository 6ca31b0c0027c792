"""Every docstring ``Example:`` in dynvision.analysis runs and gives what it shows."""

import doctest
import importlib
import pkgutil

import pytest

import dynvision.analysis

MODULES = ["dynvision.analysis"] + [
    f"dynvision.analysis.{m.name}" for m in pkgutil.iter_modules(dynvision.analysis.__path__)
]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0, f"{result.failed} example(s) failed in {name}"
