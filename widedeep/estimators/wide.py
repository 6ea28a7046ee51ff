"""`WideEstimator`: logistic regression over sparse (and crossed) fields, trained with
per-coordinate FTRL-Proximal — the wide part of Wide & Deep on its own.

    P(y=1|x) = sigmoid(b + sum_f w_f . x_f)
"""
from __future__ import annotations

import numpy as np

from ..layers.wide import WIDE_MODES, WideLayer
from .. import defaults
from ..optim import FtrlProximal
from ..workspace import thread_workspace
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
                               n_outputs=self.loss_.n_outputs,
                               field_ftrl=self._field_ftrl(self.ftrl or FtrlProximal()),
                               allocate=self._allocator())
        self._ftrl_base = self.wide_.ftrl

    def _field_ftrl(self, base):
        """``ftrl_per_field`` as ``{field: FtrlProximal}``: ``base``'s settings with the
        field's overrides (e.g. ``{"user_x_item": {"l1": 0.01}}``)."""
        per_field = self.ftrl_per_field or {}
        if not isinstance(per_field, dict):
            raise ValueError(f"ftrl_per_field must be a dict {{field: {{setting: value}}}}, "
                             f"got {type(per_field).__name__}")
        out = {}
        for field, overrides in per_field.items():
            if field not in self.wide_fields:
                raise ValueError(f"ftrl_per_field: {field!r} is not a wide field; wide "
                                 f"fields: {list(self.wide_fields)}")
            config = base.get_config()
            if not isinstance(overrides, dict) or set(overrides) - set(config):
                raise ValueError(f"ftrl_per_field[{field!r}] must be a dict with keys among "
                                 f"{sorted(config)}, got {overrides!r}")
            try:
                out[field] = FtrlProximal(**{**config, **overrides})
            except ValueError as error:
                raise ValueError(f"ftrl_per_field[{field!r}]: {error}") from None
        return out

    def _scale_wide(self, multiplier):
        """The wide part's FTRL with ``alpha`` times ``multiplier`` (learning-rate schedule)."""
        self.wide_.set_ftrl(self._ftrl_base.scaled(multiplier))

    def _check_wide_input(self, features, n, values=True):
        missing = [f for f in self.wide_fields if f not in features]
        if missing:
            raise ValueError(f"missing wide field(s) {missing}"
                             + self._missing_field_hint(features, self._expected_fields()))
        for f in self.wide_fields:
            x = features[f]
            if getattr(x, "n_examples", n) != n:
                raise ValueError(f"wide field {f!r} has {x.n_examples} examples, expected {n}")
        self.wide_.check_input(features, values=values)


class WideEstimator(WidePartMixin, BaseEstimator):
    """Wide (linear) model trained by FTRL-Proximal, one FTRL model per field.

    Parameters
    ----------
    wide_fields : dict[str, int]
        Sparse field name -> number of coordinates.
    ftrl : FtrlProximal, optional (default ``FtrlProximal()``: `widedeep.defaults`)
    ftrl_per_field : dict field -> {setting: value}, optional; fields whose FTRL settings
        differ from ``ftrl`` (e.g. ``{"user_x_item": {"l1": 0.01}}`` for a stronger L1 on a
        cross); still one vectorized step over every field
    wide_mode : "batch" (one vectorized step per mini-batch) or "online" (example by example)
    fit_intercept : bool
    batch_size, shuffle : in-memory training loop settings
    epochs : the most epochs one `fit` runs (early stopping usually ends it sooner)
    early_stopping : "auto" (default), True, False or an eval set's name; see `fit`
    validation_fraction : rows held out for "auto" early stopping without an eval set
    n_iter_no_change : epochs without improvement before early stopping ends training
    eval_metric : the watched metric: "logloss" (default), "auc", "accuracy", or
        ``(fn(y, p, sample_weight) -> float, "max" | "min")``
    class_weight : "balanced" or {class: weight}, multiplied into the sample weights
    lr_schedule : a schedule of `widedeep.optim.schedules` (or a callable of the epoch)
        for every part, or {"wide": ..., "deep": ...}
    warm_start : keep the learned state across `fit` calls
    predict_batch_size : rows per block when predicting
    dtype : float32 (default) or float64
    storage : "memory" (default) or "memmap": the embedding tables, the wide weights and
        FTRL ``z``/``n``, and their optimizer accumulators live in memory-mapped scratch
        files in ``storage_dir`` (tables larger than RAM; training results identical; see
        `widedeep.storage`)
    storage_dir : the directory of those files (``storage="memmap"`` only)
    random_state : int seed (None draws one, stored in ``seed_``)
    verbose : 1: log a line per epoch and a progress line inside long epochs (logger
        "widedeep", shown on stdout when logging is not configured); 0: quiet
    n_threads : BLAS threads during fit / partial_fit / predict / evaluate (the pool is
        limited for the call and restored after; `widedeep.threads`): None (default) = 1,
        which does not collapse on a busy machine; -1 = every CPU; 0 = leave BLAS alone

    Defaults of every numeric parameter live in `widedeep.defaults`.

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

    def __init__(self, wide_fields, *, ftrl=None, ftrl_per_field=None, wide_mode="batch",
                 fit_intercept=True, objective="binary", n_classes=None,
                 batch_size=defaults.BATCH_SIZE, epochs=defaults.EPOCHS,
                 shuffle=True, early_stopping=defaults.EARLY_STOPPING,
                 validation_fraction=defaults.VALIDATION_FRACTION,
                 n_iter_no_change=defaults.N_ITER_NO_CHANGE, eval_metric=None,
                 class_weight=None, lr_schedule=None, warm_start=False,
                 predict_batch_size=defaults.PREDICT_BATCH_SIZE, dtype=np.float32,
                 storage="memory", storage_dir=None,
                 random_state=None, verbose=0, n_threads=None):
        self.wide_fields = wide_fields
        self.ftrl = ftrl
        self.ftrl_per_field = ftrl_per_field
        self.wide_mode = wide_mode
        self.fit_intercept = fit_intercept
        self.objective = objective
        self.n_classes = n_classes
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.eval_metric = eval_metric
        self.class_weight = class_weight
        self.lr_schedule = lr_schedule
        self.warm_start = warm_start
        self.predict_batch_size = predict_batch_size
        self.dtype = dtype
        self.storage = storage
        self.storage_dir = storage_dir
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads

    def _expected_fields(self):
        return list(self.wide_fields)

    def _build(self, rng):
        self._build_wide()

    def _check_model_input(self, features, n, values=True):
        self._check_wide_input(features, n, values)

    def _logits(self, features, validate=False):
        # the calling thread's scratch (never the model's); forward returns a new array
        return self.wide_.forward(features, workspace=thread_workspace(),
                                  validate=validate)[0]
