"""Every runnable example in the package's docstrings runs and gives the output it shows."""
import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import widedeep

# widedeep.dask needs the optional extra; without it its modules are not collected
HAS_DASK = importlib.util.find_spec("distributed") is not None
MODULES = sorted(m.name for m in pkgutil.walk_packages(widedeep.__path__, "widedeep.")
                 if HAS_DASK or not m.name.startswith("widedeep.dask"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
