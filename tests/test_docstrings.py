"""Every runnable example in the package's docstrings runs and gives the output it shows."""
import doctest
import importlib
import pkgutil

import pytest

import widedeep

MODULES = sorted(m.name for m in pkgutil.walk_packages(widedeep.__path__, "widedeep."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
