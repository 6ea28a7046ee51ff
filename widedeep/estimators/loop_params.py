"""Validation of the training-loop hyper-parameters, one rule per parameter, in one place.

`check_loop_params(estimator, epochs)` raises ``ValueError`` naming the parameter before
`fit` changes anything.
"""
from __future__ import annotations

import numbers

__all__ = ["check_loop_params"]


def _int_at_least(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def check_loop_params(estimator, epochs):
    """Check ``epochs``, ``early_stopping``, ``validation_fraction``, ``n_iter_no_change``
    of ``estimator``."""
    _int_at_least("epochs", epochs, 1)
    early = estimator.early_stopping
    if not isinstance(early, (bool, str)):
        raise ValueError(f"early_stopping must be 'auto', True, False or the name of an eval "
                         f"set, got {early!r}")
    fraction = estimator.validation_fraction
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) \
            or not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be a number in (0, 1), got {fraction!r}")
    _int_at_least("n_iter_no_change", estimator.n_iter_no_change, 1)
