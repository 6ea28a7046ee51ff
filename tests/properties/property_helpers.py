"""Shared by the property suite: one hypothesis settings object (fixed seed, no deadline,
bounded examples, so CI is reproducible and the whole suite stays well under a minute) and
the check that an error is one of the allowed, well-named kinds.

``WIDEDEEP_PROPERTY_EXAMPLES=600 python -m pytest tests/properties`` searches harder (the
CI default is 60 examples per property).
"""
import os
import re

from hypothesis import HealthCheck, settings

PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("WIDEDEEP_PROPERTY_EXAMPLES", 60)), deadline=None,
    derandomize=True, suppress_health_check=[HealthCheck.too_slow,
                                             HealthCheck.function_scoped_fixture,
                                             HealthCheck.data_too_large])

ALLOWED_ERRORS = (ValueError, TypeError, FileNotFoundError)


def assert_named_error(error, pattern):
    """``error`` is an allowed kind and its message matches ``pattern`` (a regex naming the
    file/line or the field/row)."""
    assert isinstance(error, ALLOWED_ERRORS), f"{type(error).__name__}: {error}"
    assert re.search(pattern, str(error)), f"unnamed error: {error}"


def line_number(error):
    """The line an error message names (``..., line N...``)."""
    match = re.search(r", line (\d+)", str(error))
    assert match, f"no line in {error}"
    return int(match.group(1))
