"""What `WideDeepClassifier` and `WideDeepRegressor` share: the parameters, turning ``X``
into a fitted `FeatureSpec` and feature dicts, building the core estimator, and nested
optimizer parameters (``ftrl__alpha``, ``adagrad__lr``).

Relation to the core: a scikit-learn class is a thin shell around one `FeatureSpec`
(``spec_``) and one core estimator (``estimator_``: `WideEstimator`, `DeepEstimator` or
`WideDeepEstimator`, by ``model``). ``fit`` fits the spec on ``X``, sizes the core
estimator from it and calls the core's ``fit``; ``predict*`` transform ``X`` with the spec
and call the core. The training loop, optimizers, defaults and saved format are the core's:
a parameter left at ``None`` here means "the core estimator's default".
"""
from __future__ import annotations

import copy
import functools

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d

from ..features import FeatureColumn, FeatureSpec
from ..features.infer import MODELS, infer_columns
from ..optim import Adagrad, FtrlProximal
from ._inputs import raw_columns

__all__ = ["WideDeepBase", "core_objectives"]

# parameters handed to the core estimator when not None, and which part they belong to
_CORE_PARAMS = {"hidden_units": "deep", "dropout": "deep", "adagrad": "deep",
                "embedding_l2": "deep", "dense_l2": "deep", "ftrl": "wide",
                "batch_size": "both", "epochs": "both", "random_state": "both",
                "verbose": "both", "n_threads": "both"}
# nested parameters: prefix -> (parameter, the optimizer built when it is None)
_OPTIMIZERS = {"ftrl": FtrlProximal, "adagrad": Adagrad}


class WideDeepBase(BaseEstimator):
    """Parameters shared by the scikit-learn classes (see `WideDeepClassifier`)."""

    def __init__(self, columns="auto", model="wide_deep", *, hidden_units=None,
                 embedding_dim=8, dropout=None, ftrl=None, adagrad=None, embedding_l2=None,
                 dense_l2=None, batch_size=None, epochs=None, n_threads=None,
                 random_state=None, verbose=0):
        self.columns = columns
        self.model = model
        self.hidden_units = hidden_units
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.ftrl = ftrl
        self.adagrad = adagrad
        self.embedding_l2 = embedding_l2
        self.dense_l2 = dense_l2
        self.batch_size = batch_size
        self.epochs = epochs
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ parameters
    def get_params(self, deep=True):
        params = super().get_params(deep=False)
        if deep:
            for prefix in _OPTIMIZERS:
                optimizer = params.get(prefix)
                if hasattr(optimizer, "get_config"):
                    for key, value in optimizer.get_config().items():
                        params[f"{prefix}__{key}"] = value
        return params

    def set_params(self, **params):
        """Set parameters; ``ftrl__alpha=0.1`` or ``adagrad__lr=0.05`` replace the optimizer
        by a copy with that hyper-parameter changed (the core default optimizer when it was
        None), so an optimizer object given by the caller is never modified."""
        nested = {}
        for key in list(params):
            prefix, sep, name = key.partition("__")
            if sep and prefix in _OPTIMIZERS:
                nested.setdefault(prefix, {})[name] = params.pop(key)
        super().set_params(**params)
        for prefix, values in nested.items():
            current = getattr(self, prefix)
            optimizer_class = _OPTIMIZERS[prefix] if current is None else type(current)
            config = {} if current is None else current.get_config()
            unknown = sorted(set(values) - set(optimizer_class().get_config()))
            if unknown:
                raise ValueError(f"{type(self).__name__}: {prefix} has no parameter "
                                 f"{unknown[0]!r}; valid: "
                                 f"{sorted(optimizer_class().get_config())}")
            setattr(self, prefix, optimizer_class(**{**config, **values}))
        return self

    # ------------------------------------------------------------------ fitting
    def _spec_for(self, columns):
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if isinstance(self.columns, str):
            if self.columns != "auto":
                raise ValueError(f"columns must be 'auto', a FeatureSpec or a list of "
                                 f"feature columns, got {self.columns!r}")
            declared, _ = infer_columns(columns, model=self.model,
                                        embedding_dim=self.embedding_dim)
            return FeatureSpec(declared)
        if isinstance(self.columns, FeatureSpec):
            return FeatureSpec(copy.deepcopy(self.columns.columns))
        declared = list(self.columns)
        if not all(isinstance(c, FeatureColumn) for c in declared):
            raise TypeError("columns must be 'auto', a FeatureSpec or a list of feature "
                            "columns (CategoricalColumn, NumericColumn, CrossedColumn, ...)")
        # the caller's column objects stay untouched (fit learns into copies)
        return FeatureSpec(copy.deepcopy(declared))

    def _core_params(self, **extra):
        wanted = {"wide": ("wide", "both"), "deep": ("deep", "both"),
                  "wide_deep": ("wide", "deep", "both")}[self.model]
        params = {name: getattr(self, name) for name, part in _CORE_PARAMS.items()
                  if part in wanted and getattr(self, name) is not None}
        if "ftrl" in params or "adagrad" in params:   # a fit never shares the caller's object
            params = {k: copy.deepcopy(v) if k in _OPTIMIZERS else v for k, v in params.items()}
        return {**params, **extra}

    def _check_fit_input(self, X, y, sample_weight):
        """``(columns, y [n], sample_weight [n] or None)`` with ``X`` validated first (so a
        sparse matrix is refused as such before anything is said about ``y``)."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             f"y is None")
        columns, n = raw_columns(self, X, reset=True)
        if n == 0:
            raise ValueError(f"{type(self).__name__}.fit: X has 0 rows (found array with 0 "
                             f"sample(s)); there is nothing to fit")
        y = column_or_1d(y, warn=True)
        if y.shape[0] != n:
            raise ValueError(f"X has {n} rows but y has {y.shape[0]} labels")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, np.empty((n, 0)),
                                                 dtype=np.float64)
            if not np.any(sample_weight > 0):
                raise ValueError("sample_weight: every weight is zero; nothing to fit")
        return columns, y, sample_weight

    def _fit_core(self, columns, y, sample_weight, core_extra=None):
        """Fit ``spec_`` and ``estimator_`` on raw ``columns`` and numeric targets ``y``."""
        spec = self._spec_for(columns).fit(columns)
        features = spec.transform(columns)
        core = spec.build_estimator(self.model, **self._core_params(**(core_extra or {})))
        core.fit(features, y, sample_weight=sample_weight)
        self.spec_, self.estimator_ = spec, core
        return self

    def _features(self, X):
        check_is_fitted(self, "estimator_")
        columns, _ = raw_columns(self, X, reset=False)
        return self.spec_.transform(columns)

    def _raw_output(self, X):
        """The core model's output before the link (logits, or regression values),
        float64 [n] or [n, n_classes]."""
        features = self._features(X)
        return np.asarray(self.estimator_.predict_logit(features), dtype=np.float64)


@functools.lru_cache(maxsize=None)
def core_objectives():
    """The objectives the core estimators can train in this build: ``("binary",)`` before
    the regression and multiclass objectives of the training-step work are merged,
    ``("binary", "regression", "multiclass")`` after. Asked once, with a two-row fit.
    `WideDeepRegressor` and more than two classes need the latter."""
    from ..estimators import WideEstimator
    from ..inputs import SparseInput
    found = ["binary"]
    tiny = {"a": SparseInput.from_ids(np.array([0, 1, 0]))}
    for objective, labels in (("regression", [0.5, 2.5, 0.5]), ("multiclass", [0, 1, 2])):
        try:
            WideEstimator({"a": 2}, objective=objective, epochs=1, early_stopping=False,
                          random_state=0).fit(tiny, np.array(labels))
        except (TypeError, ValueError):
            continue
        found.append(objective)
    return tuple(found)
