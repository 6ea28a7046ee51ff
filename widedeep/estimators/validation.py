"""Checking an estimator's hyper-parameters before anything is built or trained.

`check_hyperparameters(estimator)` raises ``ValueError`` (``TypeError`` for a wrong kind of
object) naming the parameter, the value found and what was expected. It reads only the
constructor parameters, so `fit` can call it before the first array is touched: a bad
setting never damages a fitted model. Each check is one entry of `CHECKS`, looked up by
parameter name (an estimator without that parameter skips it), so a new parameter adds one
line here. The training loop's own options (epochs, early stopping, schedules, class
weights, optimizers, embedding options) are checked by `loop_params.check_loop_params`.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..storage import check_storage

from ..losses import OBJECTIVES

__all__ = ["check_hyperparameters", "CHECKS"]


def _fail(name, value, expected):
    raise ValueError(f"{name} must be {expected}, got {value!r}")


def _int_at_least(low):
    def check(name, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            _fail(name, value, f"an integer >= {low}")
    return check


def _optional(check):
    def wrapped(name, value):
        if value is not None:
            check(name, value)
    return wrapped


def _finite_at_least(low, strict=False):
    def check(name, value):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) \
            and np.isfinite(value) and (value > low if strict else value >= low)
        if not ok:
            _fail(name, value, f"a finite number {'>' if strict else '>='} {low}")
    return check


def _one_of(options):
    def check(name, value):
        if not isinstance(value, str) or value not in options:
            _fail(name, value, f"one of {list(options)}")
    return check


def _bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        _fail(name, value, "True or False")


def _dropout(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not 0.0 <= value < 1.0:
        _fail(name, value, "a number in [0, 1)")


def _hidden_units(name, value):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        _fail(name, value, "a sequence of positive integers, e.g. (100, 50)")
    for units in value:
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
            _fail(name, value, "a sequence of positive integers, e.g. (100, 50)")


def _sizes(name, value):
    """``{name: positive int}`` (wide fields, dense fields)."""
    if not isinstance(value, dict):
        _fail(name, value, "a dict of field name -> positive integer")
    for key, size in value.items():
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"{name}[{key!r}] must be a positive integer, got {size!r}")


def _vocabularies(name, value):
    if not isinstance(value, dict):
        _fail(name, value, "a dict of vocabulary name -> (rows, embedding dim)")
    for key, shape in value.items():
        if not isinstance(shape, (tuple, list)) or len(shape) != 2 or any(
                isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1
                for k in shape):
            raise ValueError(f"{name}[{key!r}] must be (rows, embedding dim) with positive "
                             f"integers, got {shape!r}")


def _dtype(name, value):
    try:
        dtype = np.dtype(value)
    except TypeError:
        _fail(name, value, "float32 or float64")
    if dtype not in (np.float32, np.float64):
        _fail(name, value, "float32 or float64")


def _random_state(name, value):
    if value is not None and (isinstance(value, bool)
                              or not isinstance(value, numbers.Integral) or value < 0):
        raise TypeError(f"random_state must be an int >= 0 or None, got {value!r}")


def _combiners(name, value):
    allowed = ("sum", "mean", "sqrtn")
    values = value.values() if isinstance(value, dict) else [value]
    for combiner in values:
        if combiner not in allowed:
            _fail(name, value, f"one of {list(allowed)} or a dict of field -> one of them")


CHECKS = {
    "batch_size": _int_at_least(1),
    "predict_batch_size": _int_at_least(1),
    "hidden_units": _hidden_units,
    "dropout": _dropout,
    "embedding_l2": _finite_at_least(0.0),
    "dense_l2": _finite_at_least(0.0),
    "embedding_init_std": _optional(_finite_at_least(0.0, strict=True)),
    "activation": _one_of(("relu", "tanh", "sigmoid")),
    "combiners": _combiners,
    "wide_mode": _one_of(("batch", "online")),
    "objective": _one_of(OBJECTIVES),
    "n_classes": _optional(_int_at_least(2)),
    "shuffle": _bool,
    "warm_start": _bool,
    "fit_intercept": _bool,
    "dtype": _dtype,
    "random_state": _random_state,
    "wide_fields": _sizes,
    "dense_fields": _optional(_sizes),
    "vocabularies": _optional(_vocabularies),
}


def check_hyperparameters(estimator):
    """Check every constructor parameter that has an entry in `CHECKS`."""
    params = estimator.get_params()
    for name, check in CHECKS.items():
        if name in params:
            check(name, params[name])
    if "storage" in params:
        check_storage(params["storage"], params.get("storage_dir"))
    if params.get("objective") != "multiclass" and params.get("n_classes") is not None:
        raise ValueError(f"n_classes is for objective='multiclass'; got n_classes="
                         f"{params['n_classes']!r} with objective={params.get('objective')!r}")
    embedding_fields = params.get("embedding_fields") or {}
    vocabularies = params.get("vocabularies") or {}
    unknown = sorted({v for v in embedding_fields.values()} - set(vocabularies))
    if unknown:
        raise ValueError(f"embedding_fields name vocabularies {unknown} that vocabularies "
                         f"does not define (known: {sorted(vocabularies)})")
