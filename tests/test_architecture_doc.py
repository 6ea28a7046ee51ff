"""docs/ARCHITECTURE.md documents the estimators' real constructor parameters and defaults."""
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from widedeep import DeepEstimator, WideDeepEstimator, WideEstimator

DOC = Path(__file__).resolve().parents[1] / "docs" / "ARCHITECTURE.md"


def _documented(name):
    block = DOC.read_text().split("## Estimator constructors", 1)[1].split("```python", 1)[1]
    block = block.split("```", 1)[0]
    match = re.search(rf"^{name}\((.*?)\)\n(?=\w|$)", block, re.S | re.M)
    assert match, f"{name} is not documented"
    params = {}
    for part in re.split(r",\s*(?![^()]*\))", " ".join(match.group(1).split())):
        part = part.strip()
        if part in ("*", "") or part.startswith("<"):
            continue
        key, _, default = part.partition("=")
        params[key.strip()] = default.strip() or None
    return params


def _real_default(value):
    return "np.float32" if value is np.float32 else repr(value).replace("'", '"')


@pytest.mark.parametrize("cls", [WideEstimator, DeepEstimator])
def test_every_parameter_and_default_is_documented(cls):
    documented = _documented(cls.__name__)
    real = inspect.signature(cls.__init__).parameters
    real = {k: p for k, p in real.items() if k != "self"}
    assert set(documented) == set(real)
    for key, text in documented.items():
        if real[key].default is not inspect.Parameter.empty:
            assert text == _real_default(real[key].default), key


def test_the_joint_estimator_adds_the_wide_parameters_to_the_deep_ones():
    documented = _documented("WideDeepEstimator")
    real = set(inspect.signature(WideDeepEstimator.__init__).parameters) - {"self"}
    deep = set(inspect.signature(DeepEstimator.__init__).parameters) - {"self"}
    assert real == deep | set(documented)
    for key, text in documented.items():
        default = inspect.signature(WideDeepEstimator.__init__).parameters[key].default
        if default is not inspect.Parameter.empty:
            assert text == _real_default(default), key
