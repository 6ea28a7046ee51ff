"""Size limits that keep a small hostile input from allocating gigabytes.

A NumPy string array is as wide as its longest item, a cross of two bags has one id per
pair, and a ranking request repeats the query for every candidate; each of these can turn
a few kilobytes of input into gigabytes of memory. Every such place checks one of these
limits and raises a ``ValueError`` naming the column and the row (and the limit to raise)
before allocating:

==========================  =========  =============================================
limit                       default    checked by
==========================  =========  =============================================
``max_token_chars``         4096       categorical/hashed tokens (`FeatureSpec`), per
                                       value: a longer string is an error, not a
                                       ``<U100000`` array of the whole batch
``max_cross_ids_per_row``   10000      `CrossedColumn`: ids one row may produce
                                       (the product of its components' bag lengths)
``max_cross_ids``           10000000   `CrossedColumn`: ids one batch may produce
``max_request_values``      10000000   raw ranking requests: values of the query
                                       repeated for every candidate
==========================  =========  =============================================

The limits are process-wide; read them with `get_limits`, change them with `set_limits`
(which returns the previous values) or temporarily with ``with limits(...)``:

>>> from widedeep.limits import get_limits, limits
>>> get_limits().max_token_chars
4096
>>> with limits(max_token_chars=100_000):
...     get_limits().max_token_chars
100000
"""
from __future__ import annotations

import contextlib
import dataclasses

__all__ = ["Limits", "get_limits", "set_limits", "limits"]


@dataclasses.dataclass(frozen=True)
class Limits:
    """The current limits (see the module docstring)."""

    max_token_chars: int = 4096
    max_cross_ids_per_row: int = 10_000
    max_cross_ids: int = 10_000_000
    max_request_values: int = 10_000_000


_current = Limits()


def get_limits():
    """The `Limits` in force."""
    return _current


def set_limits(**changes):
    """Change some limits (positive integers); returns the previous `Limits`."""
    global _current
    for name, value in changes.items():
        if name not in Limits.__dataclass_fields__:
            raise TypeError(f"unknown limit {name!r}; limits are "
                            f"{sorted(Limits.__dataclass_fields__)}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"limit {name} must be a positive integer, got {value!r}")
    previous = _current
    _current = dataclasses.replace(_current, **changes)
    return previous


@contextlib.contextmanager
def limits(**changes):
    """Change some limits inside a ``with`` block."""
    global _current
    previous = set_limits(**changes)
    try:
        yield get_limits()
    finally:
        _current = previous
