"""`WideEstimator`: logistic regression over sparse (and crossed) fields, trained with
per-coordinate FTRL-Proximal — the wide part of Wide & Deep on its own.

    P(y=1|x) = sigmoid(b + sum_f w_f . x_f)
"""
from __future__ import annotations

import numpy as np

from ..layers.wide import WIDE_MODES, WideLayer
from ..optim import FtrlProximal
from .base import BaseEstimator

__all__ = ["WideEstimator"]


class WidePartMixin:
    """Builds and checks the wide part (`wide_`); shared by Wide and Wide & Deep."""

    def _build_wide(self):
        if not self.wide_fields:
            raise ValueError("wide_fields is empty: give {field name: number of coordinates}")
        if self.wide_mode not in WIDE_MODES:
            raise ValueError(f"wide_mode must be one of {WIDE_MODES}, got {self.wide_mode!r}")
        self.wide_ = WideLayer(self.wide_fields, self.ftrl or FtrlProximal(),
                               fit_intercept=self.fit_intercept, dtype=self._dtype,
                               n_outputs=self.loss_.n_outputs)

    def _check_wide_input(self, features, n):
        missing = [f for f in self.wide_fields if f not in features]
        if missing:
            raise ValueError(f"missing wide field(s) {missing}"
                             + self._missing_field_hint(features, self._expected_fields()))
        for f in self.wide_fields:
            x = features[f]
            if getattr(x, "n_examples", n) != n:
                raise ValueError(f"wide field {f!r} has {x.n_examples} examples, expected {n}")
        self.wide_.check_input(features)


class WideEstimator(WidePartMixin, BaseEstimator):
    """Wide (linear) model trained by FTRL-Proximal, one FTRL model per field.

    Parameters
    ----------
    wide_fields : dict[str, int]
        Sparse field name -> number of coordinates.
    ftrl : FtrlProximal, optional (default ``FtrlProximal()``: `widedeep.defaults`)
    wide_mode : "batch" (one vectorized step per mini-batch) or "online" (example by example)
    fit_intercept : bool
    batch_size, epochs, shuffle : in-memory training loop settings
    early_stopping_rounds, eval_metric : early stopping on the eval set ("logloss", "auc",
        "accuracy"), restoring the best epoch
    warm_start : keep the learned state across `fit` calls
    predict_batch_size : rows per block when predicting
    dtype : float32 (default) or float64
    random_state : int seed (None draws one, stored in ``seed_``)
    verbose : print a progress line per epoch

    Examples
    --------
    >>> import numpy as np
    >>> from widedeep import SparseInput, WideEstimator
    >>> ids = np.array([0, 1, 2, 3] * 50)
    >>> X = {"color": SparseInput.from_ids(ids, vocab_size=4)}
    >>> y = (ids % 2 == 0).astype(float)
    >>> model = WideEstimator({"color": 4}, epochs=20, random_state=0).fit(X, y)
    >>> bool(model.evaluate(X, y)["accuracy"] == 1.0)
    True
    """

    def __init__(self, wide_fields, *, ftrl=None, wide_mode="batch", fit_intercept=True,
                 objective="binary", n_classes=None, batch_size=256, epochs=10,
                 shuffle=True, early_stopping_rounds=None,
                 eval_metric="logloss", warm_start=False, predict_batch_size=65536,
                 dtype=np.float32, random_state=None, verbose=0):
        self.wide_fields = wide_fields
        self.ftrl = ftrl
        self.wide_mode = wide_mode
        self.fit_intercept = fit_intercept
        self.objective = objective
        self.n_classes = n_classes
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.early_stopping_rounds = early_stopping_rounds
        self.eval_metric = eval_metric
        self.warm_start = warm_start
        self.predict_batch_size = predict_batch_size
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    def _expected_fields(self):
        return list(self.wide_fields)

    def _build(self, rng):
        self._build_wide()

    def _check_model_input(self, features, n):
        self._check_wide_input(features, n)

    def _logits(self, features):
        return self.wide_.forward(features)[0]
