"""Estimator configuration <-> JSON, through explicit registries (nothing is imported or
evaluated from a file).

The JSON form is the one of ``BaseEstimator.get_config()``::

    {"class": "WideDeepEstimator",
     "params": {"wide_fields": {"user_x_app": 1000}, "hidden_units": [64, 32],
                "adagrad": {"class": "Adagrad", "config": {"lr": 0.05, ...}},
                "dtype": "float32", ...}}

`estimator_from_config` accepts only the classes of `ESTIMATORS`, the optimizers of
`OPTIMIZERS` and the dtypes of `DTYPES`; anything else is a ``ValueError`` naming the file
and the key.
"""
from __future__ import annotations

import numpy as np

from ..estimators import DeepEstimator, WideDeepEstimator, WideEstimator
from ..optim import Adagrad, Adam, FtrlProximal
from ..optim.schedules import SCHEDULES

__all__ = ["ESTIMATORS", "OPTIMIZERS", "DTYPES", "estimator_config", "estimator_from_config",
           "to_jsonable"]

ESTIMATORS = {cls.__name__: cls for cls in (WideEstimator, DeepEstimator, WideDeepEstimator)}
OPTIMIZERS = {cls.__name__: cls for cls in (Adagrad, Adam, FtrlProximal)}
DTYPES = {"float32": np.float32, "float64": np.float64}
OPTIMIZER_PARAMS = {"adagrad": ("Adagrad",), "ftrl": ("FtrlProximal",),
                    "deep_optimizer": ("Adagrad", "Adam")}


def to_jsonable(value, where):
    """``value`` with NumPy scalars turned into Python ones and tuples into lists; a
    ``TypeError`` naming ``where`` for anything JSON cannot hold."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: dict keys must be str to be saved, got {key!r}")
            out[key] = to_jsonable(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item, f"{where}[{k}]") for k, item in enumerate(value)]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{where}: cannot save a value of type {type(value).__name__} "
                    f"({value!r}) as JSON")


def estimator_config(estimator):
    """``estimator.get_config()`` checked to be JSON-able and to name a known class."""
    config = to_jsonable(estimator.get_config(), "estimator config")
    if config.get("class") not in ESTIMATORS:
        raise TypeError(f"cannot save a {type(estimator).__name__}: only "
                        f"{sorted(ESTIMATORS)} can be saved")
    return config


def estimator_from_config(config, where="config.json"):
    """A new, unfitted estimator built from ``config`` (see the module docstring)."""
    if not isinstance(config, dict) or set(config) != {"class", "params"}:
        raise ValueError(f"{where}: expected an object with keys 'class' and 'params', got "
                         f"{_keys(config)}")
    name = config["class"]
    if name not in ESTIMATORS:
        raise ValueError(f"{where}: key 'class' is {name!r}; known estimator classes: "
                         f"{sorted(ESTIMATORS)}")
    cls = ESTIMATORS[name]
    params = config["params"]
    if not isinstance(params, dict):
        raise ValueError(f"{where}: key 'params' must be an object, got "
                         f"{type(params).__name__}")
    params = _upgrade_params(params)
    valid = cls._param_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(f"{where}: params {unknown} are not parameters of {name} "
                         f"(valid: {valid})")
    kwargs = {key: _decode_param(key, value, where) for key, value in params.items()}
    try:
        return cls(**kwargs)
    except TypeError as error:   # e.g. a required parameter is missing
        raise ValueError(f"{where}: cannot build {name}: {error}") from None


def _upgrade_params(params):
    """Parameters saved by an older widedeep, in today's terms: ``early_stopping_rounds``
    (early stopping only when set, on the eval set) became ``early_stopping`` +
    ``n_iter_no_change``; a model saved before had no automatic early stopping."""
    if "early_stopping_rounds" not in params:
        return params
    params = dict(params)
    rounds = params.pop("early_stopping_rounds")
    params.setdefault("early_stopping", rounds is not None)
    if rounds is not None:
        params.setdefault("n_iter_no_change", rounds)
    return params


def _decode_schedule(value, where):
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"class", "config"} \
            or value["class"] not in SCHEDULES or not isinstance(value["config"], dict):
        raise ValueError(f"{where} must be null or {{'class': one of {sorted(SCHEDULES)}, "
                         f"'config': {{...}}}}, got {value!r}")
    try:
        return SCHEDULES[value["class"]].from_config(value["config"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}.config: {error}") from None


def _decode_param(key, value, where):
    if key == "lr_schedule" and isinstance(value, dict) and "class" not in value:
        return {part: _decode_schedule(item, f"{where}: params.lr_schedule.{part}")
                for part, item in value.items()}
    if key == "lr_schedule":
        return _decode_schedule(value, f"{where}: params.lr_schedule")
    if key in OPTIMIZER_PARAMS and value is not None:
        if not isinstance(value, dict) or set(value) != {"class", "config"}:
            raise ValueError(f"{where}: params.{key} must be null or an object with keys "
                             f"'class' and 'config', got {_keys(value)}")
        expected = OPTIMIZER_PARAMS[key]
        if value["class"] not in expected:
            raise ValueError(f"{where}: params.{key}.class is {value['class']!r}, expected "
                             f"{' or '.join(repr(name) for name in expected)}")
        if not isinstance(value["config"], dict):
            raise ValueError(f"{where}: params.{key}.config must be an object")
        try:
            return OPTIMIZERS[value["class"]].from_config(value["config"])
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: params.{key}.config: {error}") from None
    if key == "dtype":
        if value not in DTYPES:
            raise ValueError(f"{where}: params.dtype is {value!r}; expected one of "
                             f"{sorted(DTYPES)}")
        return DTYPES[value]
    if key == "class_weight" and isinstance(value, dict):
        try:
            return {int(label): weight for label, weight in value.items()}
        except ValueError:
            raise ValueError(f"{where}: params.class_weight keys must be class numbers, got "
                             f"{sorted(value)}") from None
    if key in ("hidden_units", "frozen_embeddings") and isinstance(value, list):
        return tuple(value)
    if key == "vocabularies" and isinstance(value, dict):
        bad = [v for v, shape in value.items()
               if not (isinstance(shape, list) and len(shape) == 2)]
        if bad:
            raise ValueError(f"{where}: params.vocabularies[{bad[0]!r}] must be [rows, dim], "
                             f"got {value[bad[0]]!r}")
        return {v: tuple(shape) for v, shape in value.items()}
    return value


def _keys(value):
    return sorted(value) if isinstance(value, dict) else type(value).__name__
