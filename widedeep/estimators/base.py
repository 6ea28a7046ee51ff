"""The training loop shared by `WideEstimator`, `DeepEstimator` and `WideDeepEstimator`.

Loss: the batch mean of the objective's weighted per-example loss (`widedeep.losses`:
"binary" log-loss, "regression" squared error, "multiclass" softmax cross-entropy),
``L = (1/n) sum_i s_i l(f_i, y_i)``, so ``dL/df_i = s_i (p_i - y_i) / n`` and learning rates
act on a mean gradient (the step size does not grow with the batch size). One step is the
`widedeep.training.TrainingStep` of ``step_`` (compute, combine, apply). Subclasses
implement ``_build(rng)`` (create ``wide_`` and/or ``deep_``), ``_check_model_input`` and
``_logits``.

A failed call leaves the model as it was: `fit` checks every hyper-parameter
(`validation.check_hyperparameters`, `loop_params.check_loop_params`) and the whole
in-memory input (features, labels, weights, eval sets) before the first array changes, and
builds a fresh model aside, adopting it only once those checks passed. A streamed batch is
checked before its step (errors name the global rows), and a step whose new values would
not be finite raises before writing anything, with the dropout generator rewound, so
training can continue.

Randomness: everything derives from one integer seed (``random_state``, or fresh entropy
recorded in ``seed_``): parameter initialization from ``[seed, 0]``, dropout masks from a
generator seeded ``[seed, 2]`` whose state is part of the checkpoint, and the shuffle of epoch
``e`` from ``[seed, 1, e]``, so a run resumed at an epoch boundary repeats exactly.
"""
from __future__ import annotations

import copy
import inspect
import itertools
import os
from collections.abc import Iterator
from contextlib import closing, nullcontext
from types import SimpleNamespace

import numpy as np

from ..defaults import PROGRESS_SECONDS
from ..losses import get_loss
from ..storage import allocator
from ..training import TrainingStep
from ..read_ahead import ReadAhead
from ..threads import with_blas_limit
from .batching import (check_labels, check_sample_weight, iter_batch_source, iter_minibatches,
                       iter_source_epoch, n_examples, slice_rows, take_rows)
from .callbacks import call_hooks, check_callbacks
from .class_weight import apply_class_weight, check_class_weight, class_weights_of
from .early_stopping import BestEpoch
from .state_on_disk import StateOnDisk
from .eval_metric import resolve_eval_metric
from .eval_sets import HOLDOUT_NAME, named_eval_sets
from .holdout import check_holdout_possible, holdout_rows
from .loop_params import check_loop_params
from .lr_schedules import LearningRateSchedules, schedule_config
from .progress import LOGGER, EpochProgress, epoch_line, verbose_output
from .validation import check_hyperparameters

__all__ = ["BaseEstimator", "NotFittedError"]

class NotFittedError(ValueError, AttributeError):
    """Raised when predicting with an estimator that has not been fitted."""


class BaseEstimator:
    """Shared loop: `fit`, `partial_fit`, `predict_proba`, `evaluate`, state access."""

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _param_names(cls):
        # cached per class: `partial_fit` checks the parameters on every call
        names = cls.__dict__.get("_param_names_cache")
        if names is None:
            sig = inspect.signature(cls.__init__)
            names = tuple(p.name for p in sig.parameters.values()
                          if p.name != "self" and p.kind is not p.VAR_KEYWORD)
            cls._param_names_cache = names
        return list(names)

    def get_params(self, deep=False):
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        names = self._param_names()
        for key, value in params.items():
            if key not in names:
                raise ValueError(f"{type(self).__name__} has no parameter {key!r}; valid: "
                                 f"{names}")
            setattr(self, key, value)
        return self

    def get_config(self):
        """Constructor parameters as JSON-able data (optimizers and schedules as class name +
        config). Not data, so saved as None: a callable ``eval_metric`` or ``lr_schedule``
        function, and ``embedding_init`` arrays (the trained tables are in the state)."""
        config = {}
        for name, value in self.get_params().items():
            if name == "lr_schedule":
                value = schedule_config(value)
            elif name == "eval_metric" and not isinstance(value, (str, type(None))):
                value = None
            elif name == "embedding_init":
                value = None
            elif name == "storage_dir" and value is not None:
                value = os.fspath(value)
            elif name == "class_weight" and isinstance(value, dict):
                value = {str(label): weight for label, weight in value.items()}   # JSON keys
            elif hasattr(value, "get_config"):
                value = {"class": type(value).__name__, "config": value.get_config()}
            elif name == "dtype":
                value = np.dtype(value).name
            elif isinstance(value, tuple):
                value = list(value)
            config[name] = value
        if config.get("n_classes") is None and hasattr(self, "n_classes_"):
            config["n_classes"] = self.n_classes_   # inferred at fit: saved models keep it
        return {"class": type(self).__name__, "params": config}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ set-up
    @property
    def _dtype(self):
        dtype = np.dtype(self.dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        return dtype

    def initialize(self, n_classes=None, allocate_only=False):
        """Create fresh parameters and optimizer state from the seed (the model then counts
        as fitted, with 0 steps); returns self. A public hook for trainers that run the step
        themselves (``step_``) and for loaders. ``n_classes``: the number of classes of a
        multiclass model whose ``n_classes`` parameter is None. ``allocate_only``: embedding
        tables are zeros instead of random draws, for a caller that overwrites every array
        with `set_state` (e.g. `widedeep.io.load_model`)."""
        return self._initialize(allocate_only=allocate_only, n_classes=n_classes)

    def _initialize(self, allocate_only=False, n_classes=None):
        """See `initialize`."""
        if self.random_state is None:
            self.seed_ = int(np.random.SeedSequence().entropy % (2 ** 63))
        elif isinstance(self.random_state, (int, np.integer)):
            self.seed_ = int(self.random_state)
        else:
            raise TypeError(f"random_state must be an int or None, got "
                            f"{type(self.random_state).__name__}")
        self.loss_ = self._fit_loss(n_classes=n_classes)
        if self.loss_.name == "multiclass":
            self.n_classes_ = self.loss_.n_classes
        self._build(None if allocate_only else np.random.default_rng([self.seed_, 0]))
        deep = getattr(self, "deep_", None)
        self.step_ = TrainingStep(
            self.loss_, wide=getattr(self, "wide_", None), deep=deep,
            deep_optimizer=getattr(self, "deep_optimizer_", None),
            deep_state=(self._deep_block_states, self.deep_optimizer_state_) if deep else None,
            wide_mode=getattr(self, "wide_mode", "batch"))
        self._dropout_rng = np.random.default_rng([self.seed_, 2])
        self.epochs_trained_ = 0
        self.steps_trained_ = 0
        self.epoch_progress_ = None
        self.history_ = []
        self.lr_schedule_state_ = self._lr_schedules().init_state()
        return self

    def _fit_loss(self, y=None, n_classes=None):
        """The loss object of this estimator's objective (the fitted one when fitted). A
        multiclass model without ``n_classes`` takes ``n_classes`` or infers it from labels
        ``y`` (the largest class number + 1)."""
        if hasattr(self, "loss_"):
            return self.loss_
        objective = getattr(self, "objective", "binary")
        if objective == "multiclass" and getattr(self, "n_classes", None) is not None:
            n_classes = self.n_classes
        if objective == "multiclass" and n_classes is None and y is not None:
            y = np.asarray(y)
            if y.size and y.dtype.kind in "biuf" and np.isfinite(y).all():
                n_classes = max(int(np.max(y)) + 1, 2)
        if objective == "multiclass" and n_classes is None:
            raise ValueError("objective='multiclass' needs n_classes: give it to the "
                             "estimator (required for partial_fit and streamed data), or "
                             "fit in-memory labels 0 .. K-1 to infer it")
        return get_loss(objective, n_classes)

    def _n_label_classes(self, loss=None):
        """Number of label classes (None for a regression)."""
        loss = loss or self._fit_loss()
        if loss.name == "regression":
            return None
        return getattr(loss, "n_classes", 2)

    def _model_parts(self):
        return tuple(part for part in ("wide", "deep") if hasattr(self, f"_scale_{part}"))

    def _lr_schedules(self):
        return LearningRateSchedules(self.lr_schedule, self._model_parts())

    def _apply_lr_schedules(self):
        """Set each scheduled part's optimizer to its base learning rate times the
        schedule's multiplier for the coming epoch; returns ``{part: multiplier}``."""
        schedules = self._lr_schedules()
        if not schedules:
            return {}
        multipliers = schedules.multipliers(self.epochs_trained_, self.lr_schedule_state_)
        for part, multiplier in multipliers.items():
            getattr(self, f"_scale_{part}")(multiplier)
        return multipliers

    def _observe_lr_schedules(self, score):
        schedules = self._lr_schedules()
        if schedules:
            self.lr_schedule_state_ = schedules.observe(self.lr_schedule_state_, score)

    def check_batch(self, features, y, sample_weight=None):
        """Validate one batch as `fit` does before a step (fields, ids, labels, weights):
        ``(y, sample_weight)`` converted for ``step_.compute``, or a ``ValueError`` naming
        the field or row."""
        self.check_is_fitted()
        return self._check_batch(features, y, sample_weight)

    def check_is_fitted(self):
        """Raise `NotFittedError` unless the estimator has been fitted (or loaded)."""
        if not hasattr(self, "steps_trained_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet: call fit() or "
                                 f"partial_fit() (or load a saved model) before predicting.")

    def _check_batch(self, features, y, sample_weight, first_row=0):
        """Validate one batch completely before any parameter is touched; ``first_row``
        (the global row of its first example) numbers rows in the messages."""
        n = n_examples(features)
        y = check_labels(y, n, self._dtype, self.loss_, first_row)
        sample_weight = check_sample_weight(sample_weight, n, self._dtype, first_row)
        self._check_model_input(features, n)
        return y, sample_weight

    def _check_stream_batch(self, features, y, sample_weight, number, first_row):
        """`_check_batch` for batch ``number`` (from 1) of a stream whose first row is the
        epoch's row ``first_row``: errors name the batch and the global rows."""
        try:
            return self._check_batch(features, y, sample_weight, first_row=first_row)
        except (ValueError, TypeError) as error:
            try:
                rows = f"rows {first_row} .. {first_row + n_examples(features) - 1}"
            except (ValueError, TypeError):
                rows = f"from row {first_row}"
            raise type(error)(f"batch {number} of the stream ({rows} of this epoch): "
                              f"{error}; the model is as after the previous batch "
                              f"(steps_trained_={self.steps_trained_})") from None

    # ------------------------------------------------------------------ transactional set-up
    def _fresh_model(self, y=None):
        """A new, initialized estimator with this one's parameters (nothing of ``self``
        changes); a multiclass model without ``n_classes`` infers it from labels ``y``."""
        fresh = type(self)(**self.get_params())
        return fresh._initialize(n_classes=fresh._fit_loss(y).n_outputs
                                 if getattr(self, "objective", "binary") == "multiclass"
                                 else None)

    def _adopt(self, other):
        """Take every learned attribute of ``other`` (a model built by `_fresh_model`),
        dropping this one's."""
        params = set(self._param_names())
        for key in [k for k in vars(self) if k not in params]:
            delattr(self, key)
        for key, value in vars(other).items():
            if key not in params:
                setattr(self, key, value)

    def _model_for_fit(self, y=None):
        """``self`` when training continues (``warm_start`` on a fitted model), otherwise a
        fresh model to validate the input with and adopt afterwards."""
        if self.warm_start and hasattr(self, "steps_trained_"):
            return self
        return self._fresh_model(y)

    def _start_from_label_mean(self, y, sample_weight):
        """A fresh regression model starts at the (weighted) label mean: its intercept (the
        wide bias, else the deep output bias) is set to it, as LightGBM's boost_from_average,
        so learning rates need not cover the labels' offset."""
        if self.loss_.name != "regression" or not self._has_intercept():
            return
        total = y.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        if total <= 0:
            return
        mean = float(np.mean(y) if sample_weight is None else np.dot(sample_weight, y) / total)
        wide = getattr(self, "wide_", None)
        if wide is not None:
            wide.set_bias([mean])
        else:
            self.deep_.layers[-1].params["b"][...] = mean

    def _has_intercept(self):
        wide = getattr(self, "wide_", None)
        return wide.fit_intercept if wide is not None else "b" in self.deep_.layers[-1].params

    def _check_eval_sets(self, eval_sets):
        """Check every in-memory eval set ``(features, y[, sample_weight])`` of
        ``eval_sets`` (``{name: set}``) completely; streamed ones are checked as read."""
        for name, source in eval_sets.items():
            if isinstance(source, (tuple, list)) and len(source) in (2, 3) \
                    and isinstance(source[0], dict):
                try:
                    self._check_batch(source[0], source[1],
                                      source[2] if len(source) == 3 else None)
                except (ValueError, TypeError) as error:
                    raise type(error)(f"eval set {name!r}: {error}") from None

    def _missing_field_hint(self, features, expected):
        unknown = sorted(set(features) - set(expected))
        return f"; the batch has fields the model does not use: {unknown}" if unknown else ""

    # ------------------------------------------------------------------ training
    def _train_batch(self, features, y, sample_weight):
        """One step (`step_`: compute, combine, apply); returns the batch's predictions."""
        if self.step_ is None:
            raise RuntimeError("this model is bound to read-only arrays (a served model); "
                               "load it without mmap to train it")
        rng_state = self._dropout_rng.bit_generator.state
        try:
            # every caller ran _check_batch on this batch: the forward pass need not again
            return self.step_.train_batch(features, y, sample_weight, rng=self._dropout_rng,
                                          checked=True)
        except BaseException:
            self._dropout_rng.bit_generator.state = rng_state   # the step wrote nothing
            raise

    @with_blas_limit
    def partial_fit(self, features, y, sample_weight=None):
        """One optimization step on one batch (initializing the model on first call).
        A dict ``class_weight`` is folded into the sample weights as in `fit`; "balanced"
        needs the whole data's class counts, so it is refused here."""
        params = tuple(self.get_params().values())
        checked = getattr(self, "_checked_params", ())
        if len(checked) != len(params) or any(a is not b for a, b in zip(checked, params)):
            check_hyperparameters(self)       # skipped while the same values stay set
            check_loop_params(self, self.epochs)
        n_classes = self._n_label_classes()
        check_class_weight(self.class_weight, n_classes)
        if self.class_weight == "balanced":
            raise ValueError("class_weight='balanced' needs the class counts of the whole "
                             "data (fit); for partial_fit give a dict {class: weight}")
        model = self if hasattr(self, "steps_trained_") else self._fresh_model()
        y, sample_weight = model._check_batch(features, y, sample_weight)
        if model is not self:
            self._adopt(model)
        self._checked_params = params
        if self.class_weight is not None:
            sample_weight = apply_class_weight(
                class_weights_of(self.class_weight, None, n_classes), y, sample_weight,
                self._dtype)
        self._train_batch(features, y, sample_weight)
        self.steps_trained_ += 1
        return self

    @with_blas_limit
    def fit(self, X, y=None, sample_weight=None, *, eval_set=None, epochs=None,
            callbacks=None, prefetch=False):
        """Train for at most ``epochs`` (default ``self.epochs``) passes over the data.

        ``X`` is an in-memory feature dict (with ``y`` and optional ``sample_weight``),
        batched by ``batch_size`` and shuffled each epoch when ``shuffle``; or a re-iterable
        of ``(features, labels[, sample_weight])`` batches (or a callable returning one per
        epoch); a source with ``iter_epoch(k)`` (the readers, `GlobalBatches`) is read as
        pass ``k`` = the model's epoch number, so warm starts continue its shuffles. ``eval_set``: one set ``(features, y[, sw])`` or batch source, or several
        ``{name: set}`` (see `widedeep.estimators.eval_sets`), scored after every epoch into
        ``history_``. ``callbacks``: `Callback` objects (see
        `widedeep.estimators.callbacks`). Starts from fresh parameters unless ``warm_start``
        is set and the model is fitted. ``prefetch=True``: with a batch source, read and
        featurize batch ``s + 1`` on a background thread while step ``s`` trains
        (`widedeep.read_ahead.ReadAhead`; same batches in the same order, so the
        same parameters; the source's errors are re-raised unchanged); in-memory data is
        sliced in the loop either way. Off by default: it pays only with a free core, and
        the Python parts of reading and of the step share the GIL (README, "Bounded
        memory on one machine").

        Early stopping (``early_stopping``): stops after ``n_iter_no_change`` epochs without
        improvement of ``eval_metric`` on the watched set and restores the best epoch
        (``best_epoch_``). ``"auto"``: watches the first eval set if one is given; else, for
        in-memory data, holds out ``validation_fraction`` of the rows (stratified for
        classification, drawn from the seed) as the set ``"validation"``; for a stream
        without an eval set it is off (logged once). ``True``: as auto, but an error where
        auto would be off. ``False``: off. A string: on, watching the eval set of that name.
        Returns self.
        """
        # every check comes before the first change to the model (see the module doc)
        plan = self._plan_fit(X, y, sample_weight, eval_set, epochs, callbacks)
        if not isinstance(prefetch, bool):
            raise ValueError(f"prefetch must be True or False, got {prefetch!r}")
        plan.prefetch = prefetch and not plan.in_memory
        model = self._model_for_fit(plan.y)
        if plan.in_memory:
            model._check_batch(X, plan.y, plan.sample_weight)     # the whole input
        model._check_eval_sets(plan.eval_sets)
        if model is not self:
            if plan.in_memory:
                model._start_from_label_mean(plan.y, plan.sample_weight)
            self._adopt(model)
        with verbose_output(self.verbose):
            return self._run_epochs(plan)

    def _plan_fit(self, X, y, sample_weight, eval_set, epochs, callbacks):
        """Check everything the loop needs and decide how it runs; changes nothing."""
        epochs = self.epochs if epochs is None else epochs
        check_hyperparameters(self)
        check_loop_params(self, epochs)
        if isinstance(X, dict) and y is None:
            raise ValueError("fit(X, y): y is required when X is a feature dict")
        loss = self._fit_loss(y if isinstance(X, dict) else None)
        metric = resolve_eval_metric(self.eval_metric, default=loss.metric_names[0],
                                     available=loss.metric_names)
        callbacks = check_callbacks(callbacks)
        eval_sets = named_eval_sets(eval_set)
        in_memory = isinstance(X, dict)
        n_classes = self._n_label_classes(loss)
        check_class_weight(self.class_weight, n_classes)
        plan = SimpleNamespace(loss=loss, in_memory=in_memory, X=X, y=None, sample_weight=None,
                               train_rows=None, holdout=None, eval_sets=eval_sets,
                               watch=None, monitor=None, metric=metric, epochs=epochs,
                               callbacks=callbacks, class_weights=None)
        if in_memory:
            if y is None:
                raise ValueError("fit(X, y): y is required when X is a feature dict")
            n = n_examples(X)
            plan.y = _labels(loss, y, n)
            plan.sample_weight = check_sample_weight(sample_weight, n, np.float64)
            if self.class_weight is not None:
                plan.class_weights = class_weights_of(self.class_weight, plan.y, n_classes)
        else:
            if y is not None:
                raise ValueError("fit(X, y): give y only with an in-memory feature dict X")
            if isinstance(X, Iterator) and epochs > 1:   # (iter(X) would start a pass)
                raise TypeError("X is a one-shot iterator; pass a re-iterable (list, reader) "
                                "or a callable returning a fresh iterator for several epochs")
            if self.class_weight == "balanced":
                raise ValueError("class_weight='balanced' needs the class counts of in-memory "
                                 "data; for a stream give a dict {class: weight}")
            if self.class_weight is not None:
                plan.class_weights = class_weights_of(self.class_weight, None, n_classes)
        early = self.early_stopping
        if isinstance(early, str) and early != "auto":
            if early not in eval_sets:
                raise ValueError(f"early_stopping={early!r} names no eval set; eval sets: "
                                 f"{list(eval_sets)}")
            plan.watch = early
        elif early is False:
            plan.watch = None
            plan.monitor = next(iter(eval_sets), None)   # for ReduceOnPlateau only
        elif eval_sets:
            plan.watch = next(iter(eval_sets))
        elif not in_memory:
            if early is True:
                raise ValueError("early_stopping=True with a stream needs an eval_set (rows "
                                 "are held out automatically only from in-memory data)")
            LOGGER.info("early stopping is off: the training data is a stream and no "
                        "eval_set was given (pass eval_set= to stop on it)")
        else:
            stratify = n_classes is not None
            problem = check_holdout_possible(plan.y, self.validation_fraction, stratify)
            if problem and early is True:
                raise ValueError(f"early_stopping=True: {problem}; give an eval_set or a "
                                 f"larger validation_fraction")
            if problem:
                LOGGER.info("early stopping is off: %s", problem)
            else:
                plan.holdout = stratify
                plan.watch = HOLDOUT_NAME
        plan.monitor = plan.watch or plan.monitor
        return plan

    def _run_epochs(self, plan):
        # early stopping's copy of the best epoch lives in files (`StateOnDisk`), deleted
        # when fit returns: the model's arrays are never held twice in memory
        with StateOnDisk(self._scratch_directory()) as best_state:
            return self._run_epochs_with(plan, best_state)

    def _scratch_directory(self):
        """Where temporary model copies go: ``storage_dir`` with ``storage="memmap"``
        (where the model's own files are), else None (the system's temporary directory)."""
        return self.storage_dir if self.storage == "memmap" else None

    def _allocator(self):
        """The allocator of the big arrays for ``storage`` (`widedeep.storage`)."""
        return allocator(self.storage, self.storage_dir)

    def _run_epochs_with(self, plan, best_state):
        X, callbacks, metric = plan.X, plan.callbacks, plan.metric
        sw_all = plan.sample_weight
        if plan.class_weights is not None and plan.in_memory:
            sw_all = apply_class_weight(plan.class_weights, plan.y, sw_all, np.float64)
        eval_sets = dict(plan.eval_sets)
        if plan.holdout is not None:
            plan.train_rows, held = holdout_rows(plan.y, self.validation_fraction,
                                                 [self.seed_, 3], plan.holdout)
            eval_sets = {HOLDOUT_NAME: (take_rows(X, held), plan.y[held],
                                        None if sw_all is None else sw_all[held])}
        n_train = None
        if plan.in_memory:
            n_train = plan.y.shape[0] if plan.train_rows is None else plan.train_rows.shape[0]
        best = BestEpoch(self.n_iter_no_change) if plan.watch else None
        call_hooks(callbacks, "on_train_begin", self, {
            "epochs": plan.epochs, "rows": n_train, "eval_sets": list(eval_sets),
            "early_stopping": best is not None})
        stopped_by, previous_rows, first_epoch = "epochs", None, self.epochs_trained_
        train_key = f"train_{plan.loss.train_metric}"
        for _ in range(plan.epochs):
            epoch = self.epochs_trained_ + 1
            multipliers = self._apply_lr_schedules()
            # an epoch hook's stop ends training after this epoch, a batch hook's after
            # the current batch
            stop = call_hooks(callbacks, "on_epoch_begin", self, {"epoch": epoch})
            stop_now = False
            progress = EpochProgress(epoch, n_train or previous_rows, PROGRESS_SECONDS,
                                     bool(self.verbose), estimated=n_train is None)
            loss_sum, weight_sum = 0.0, 0.0
            # a checkpoint taken inside this epoch (`epoch_progress_`): skip its batches
            done = self._resume_epoch(epoch)
            if done:
                loss_sum, weight_sum = done["loss_sum"], done["weight_sum"]
                progress.rows = done["rows"]
            skip = done["batches"] if done else 0
            if plan.in_memory:
                rng = np.random.default_rng([self.seed_, 1, epoch - 1]) if self.shuffle else None
                batches = iter_minibatches(X, plan.y, sw_all, self.batch_size, rng,
                                           rows=plan.train_rows, first_batch=skip)
            else:   # pass ``epoch - 1`` of a reader (`iter_epoch`): its shuffle follows the
                batches = itertools.islice(iter_source_epoch(X, epoch - 1), skip, None)
                if plan.prefetch:
                    batches = ReadAhead(batches, name="widedeep-prefetch")
            # the prefetch thread ends with the loop, however the loop ends
            with closing(batches) if plan.prefetch else nullcontext():
                for batch_number, (features, yb, swb) in enumerate(batches, start=skip + 1):
                    if call_hooks(callbacks, "on_batch_begin", self, {
                            "epoch": epoch, "batch": batch_number, "rows": len(yb)}):
                        stop = stop_now = True
                    yb, swb = (self._check_batch(features, yb, swb) if plan.in_memory else
                               self._check_stream_batch(features, yb, swb, batch_number,
                                                        progress.rows))
                    if plan.class_weights is not None and not plan.in_memory:
                        swb = apply_class_weight(plan.class_weights, yb, swb, self._dtype)
                    p = self._train_batch(features, yb, swb)
                    self.steps_trained_ += 1
                    batch_weight = float(yb.shape[0] if swb is None else swb.sum())
                    batch_loss = float("nan")
                    if batch_weight > 0:   # weighted mean over the epoch; all-zero batches: 0
                        metric_sum = plan.loss.train_metric_sum(p, yb, swb)
                        batch_loss = metric_sum / batch_weight
                        loss_sum += metric_sum
                        weight_sum += batch_weight
                    progress.batch_done(yb.shape[0])
                    self.epoch_progress_ = {"epoch": epoch, "batches": batch_number,
                                            "rows": progress.rows, "loss_sum": loss_sum,
                                            "weight_sum": weight_sum}
                    if callbacks and call_hooks(callbacks, "on_batch_end", self, {
                            "epoch": epoch, "batch": batch_number, "rows": int(yb.shape[0]),
                            "loss": batch_loss, "rows_done": progress.rows}):
                        stop = stop_now = True
                    if stop_now:
                        break
            seconds = progress.clock() - progress.start
            previous_rows = progress.rows
            self.epoch_progress_ = None
            self.epochs_trained_ += 1
            record = {"epoch": self.epochs_trained_,
                      train_key: loss_sum / weight_sum if weight_sum else float("nan"),
                      "examples": progress.rows, "seconds": seconds,
                      "examples_per_second": (progress.rows / seconds if seconds > 0
                                              else float("inf"))}
            record.update({f"lr_multiplier_{part}": m for part, m in multipliers.items()})
            for name, source in eval_sets.items():
                record.update({f"{name}_{k}": v
                               for k, v in self._evaluate_source(source, metric).items()})
            self.history_.append(record)
            if self.verbose:
                LOGGER.info(epoch_line(record))
            watched = (metric.score(record[f"{plan.monitor}_{metric.name}"]) if plan.monitor
                       else -record[train_key])
            self._observe_lr_schedules(watched)
            if best is not None and best.update(watched, self.epochs_trained_,
                                                lambda: best_state.save(self.get_state())):
                stopped_by = "early_stopping"
            if call_hooks(callbacks, "on_epoch_end", self, record):
                stop = True
            if stop and stopped_by == "epochs":
                stopped_by = "callback"
            if stop or stopped_by == "early_stopping":
                break
        self.best_epoch_ = None
        if best is not None and best.epoch is not None:
            if best.epoch != self.epochs_trained_:
                best.state.restore(self.get_state())
            self.best_epoch_ = best.epoch
            if self.verbose:
                LOGGER.info("best epoch %d (%s %s %.4f): its parameters are restored",
                            best.epoch, plan.watch, metric.name, metric.score(best.score))
        call_hooks(callbacks, "on_train_end", self, {
            "epochs_run": self.epochs_trained_ - first_epoch,
            "best_epoch": best.epoch if best is not None else None, "stopped_by": stopped_by})
        return self

    def _resume_epoch(self, epoch):
        """The recorded progress of epoch ``epoch`` (from a checkpoint saved inside it,
        `widedeep.io.Checkpoint`), or None: ``{"batches", "rows", "loss_sum",
        "weight_sum"}``."""
        done = getattr(self, "epoch_progress_", None)
        if not done:
            return None
        if done["epoch"] != epoch:
            raise ValueError(f"epoch_progress_ is for epoch {done['epoch']}, but the model "
                             f"has completed {self.epochs_trained_} epochs")
        if self.verbose:
            LOGGER.info("epoch %d: resuming after batch %d (%d rows)", epoch,
                        done["batches"], done["rows"])
        return done

    # ------------------------------------------------------------------ inference
    @with_blas_limit
    def predict_logit(self, features, batch_size=None):
        """The model's logit for each example, [n] (stateless: safe from many threads)."""
        self.check_is_fitted()
        n = n_examples(features)
        batch_size = batch_size or self.predict_batch_size
        if n <= batch_size:
            # fields present, of the right kind and size here; their ids and values are
            # checked by each part's forward, on the concatenations its gather makes anyway
            self._check_model_input(features, n, values=False)
            return self._logits(features, validate=True)
        self._check_model_input(features, n)   # all of it before the rows are sliced
        return np.concatenate([self._logits(slice_rows(features, s, min(s + batch_size, n)))
                               for s in range(0, n, batch_size)])

    def predict_proba(self, features, batch_size=None):
        """Class probabilities: ``P(y = 1 | x)`` [n] for "binary", ``[n, K]`` for
        "multiclass"; a "regression" model has none (use `predict`)."""
        self.check_is_fitted()
        if self.loss_.name == "regression":
            raise AttributeError("predict_proba: a regression model predicts values, not "
                                 "probabilities; use predict()")
        return self.loss_.link(self.predict_logit(features, batch_size))

    def predict(self, features, threshold=0.5):
        """"binary": 0/1 by ``threshold``; "regression": the predicted values [n];
        "multiclass": the most probable class [n]."""
        self.check_is_fitted()
        if self.loss_.name == "regression":
            return self.predict_logit(features).astype(np.float64)
        if self.loss_.name == "multiclass":
            return np.argmax(self.predict_logit(features), axis=1).astype(np.int64)
        return (self.predict_proba(features) >= threshold).astype(np.int64)

    @with_blas_limit
    def evaluate(self, features, y=None, sample_weight=None):
        """The objective's metrics on a feature dict with labels, or on a batch source (as
        in `fit`): "binary" ``{"logloss", "auc", "accuracy"}`` (AUC NaN with one class),
        "regression" ``{"rmse", "mae"}``, "multiclass" ``{"logloss", "accuracy"}``.

        A batch source is scored batch by batch in bounded memory (no prediction is kept):
        the metrics are exact except the binary AUC, computed from histograms of the
        predictions' logits (65536 bins over [-16, 16]: `widedeep.streaming_metrics`),
        which is returned with ``"auc_error_bound"``: ``|AUC_binned - AUC| <=
        sum_b P_b N_b / (2 P N)`` (``P_b``, ``N_b`` the positive and negative weight of
        bin ``b``; only pairs sharing a bin can be miscounted), typically below 1e-4. An
        in-memory feature dict is scored exactly."""
        source = (features, y, sample_weight) if y is not None else features
        return self._evaluate_source(source)

    def _predictions_of(self, source):
        """``(y, p, sample_weight or None)`` of an evaluation source, all rows at once;
        ``p`` the link of the scores (probabilities [n] or [n, K], or predicted values).
        For a stream this holds every prediction (a custom metric needs them all)."""
        if _is_in_memory_set(source):
            return self._in_memory_predictions(source)
        parts = [self._in_memory_predictions(batch) for batch in _checked_batches(source)]
        p = np.concatenate([q[1] for q in parts])
        y = np.concatenate([q[0] for q in parts])
        sw = None if parts[0][2] is None else np.concatenate([q[2] for q in parts])
        return y, p, sw

    def _in_memory_predictions(self, source):
        self.check_is_fitted()
        features, y = source[0], source[1]
        sw = source[2] if len(source) == 3 else None
        p = self.loss_.link(self.predict_logit(features))
        n = p.shape[0]
        return (_labels(self.loss_, y, n), p,
                check_sample_weight(sw, n, np.float64) if sw is not None else None)

    def _evaluate_source(self, source, metric=None):
        """The objective's metrics of ``source`` (`Loss.metrics`; a stream in bounded memory
        with `Loss.streaming_metrics`); with a custom `EvalMetric` ``metric``, its value
        too (which needs every prediction of the source at once)."""
        self.check_is_fitted()
        custom = metric is not None and metric.fn is not None
        if _is_in_memory_set(source) or custom:
            y, p, sw = self._predictions_of(source)
            metrics = self.loss_.metrics(y, p, sw)
            if custom:
                metrics[metric.name] = float(metric.fn(y, p, sw))
            return metrics
        accumulator = self.loss_.streaming_metrics()
        for number, batch in enumerate(_checked_batches(source), start=1):
            try:
                accumulator.update(*self._in_memory_predictions(batch))
            except (ValueError, TypeError) as error:
                raise type(error)(f"batch {number} of the evaluation source: {error}") \
                    from None
        metrics = accumulator.result()
        metrics.pop("examples")
        return metrics

    # ------------------------------------------------------------------ state
    def get_state(self, copy=False):
        """Every learned array (parameters and optimizer state), flat ``{path: ndarray}``."""
        self.check_is_fitted()
        state = {}
        wide = getattr(self, "wide_", None)
        if wide is not None:
            for name, w in wide.params.items():
                state[f"wide/{name}/w"] = w
                for key, value in wide.ftrl_state[name].items():
                    state[f"wide/{name}/{key}"] = value
        deep = getattr(self, "deep_", None)
        if deep is not None:
            for name, value in deep.params.items():
                state[f"deep/{name}"] = value
                for key, acc in self.deep_optimizer_state_[name].items():
                    state[f"deep_optimizer/{name}/{key}"] = acc
            for name, value in deep.statistics.items():
                state[f"deep_statistics/{name}"] = value
        if copy:
            state = {k: v.copy() for k, v in state.items()}
        return state

    def set_state(self, state):
        """Copy arrays from ``state`` (as returned by `get_state`) into the model in place;
        every key must be present with the same shape and dtype."""
        current = self.get_state()
        missing = sorted(set(current) - set(state))
        extra = sorted(set(state) - set(current))
        if missing or extra:
            raise ValueError(f"state does not match the model: missing {missing[:5]}, "
                             f"unexpected {extra[:5]}")
        for key, target in current.items():
            value = np.asarray(state[key])
            if value.shape != target.shape or value.dtype != target.dtype:
                raise ValueError(f"state {key!r}: expected {target.dtype}{list(target.shape)}, "
                                 f"got {value.dtype}{list(value.shape)}")
        for key, target in current.items():
            target[...] = state[key]
        return self

    def bind_state(self, state):
        """Use the parameter arrays of ``state`` (keys of `get_state`) by reference instead
        of copying them, e.g. read-only memory maps that several server processes share
        (`widedeep.io.load_model(path, mmap=True)`); the optimizer state is bound too, so
        the arrays allocated before are freed. The model then predicts from those arrays;
        it cannot be trained further (load it without ``mmap`` for that)."""
        current = self.get_state()
        missing = sorted(set(current) - set(state))
        if missing:
            raise ValueError(f"state does not match the model: missing {missing[:5]}")
        wide = getattr(self, "wide_", None)
        if wide is not None:
            wide.bind_params({name: state[f"wide/{name}/w"] for name in wide.params})
            wide.ftrl_state = {name: {key: state[f"wide/{name}/{key}"] for key in accumulators}
                               for name, accumulators in wide.ftrl_state.items()}
        deep = getattr(self, "deep_", None)
        if deep is not None:
            deep.bind_params({name: state[f"deep/{name}"] for name in deep.params})
            deep.bind_statistics({name: state[f"deep_statistics/{name}"]
                                  for name in deep.statistics})
            self.deep_optimizer_state_ = {
                name: {key: state[f"deep_optimizer/{name}/{key}"] for key in accumulators}
                for name, accumulators in self.deep_optimizer_state_.items()}
            self._deep_block_states = None   # blocks of the unbound tables: dropped
        self.step_ = None   # a bound model is not trained (`_train_batch` says so)
        return self

    def get_training_state(self):
        """JSON-able counters and RNG state needed to resume training exactly."""
        self.check_is_fitted()
        return {"seed": self.seed_, "epochs_trained": self.epochs_trained_,
                "steps_trained": self.steps_trained_,
                "epoch_progress": copy.deepcopy(getattr(self, "epoch_progress_", None)),
                "dropout_rng": copy.deepcopy(self._dropout_rng.bit_generator.state),
                "history": copy.deepcopy(self.history_),
                "lr_schedule_state": copy.deepcopy(self.lr_schedule_state_)}

    def set_training_state(self, training_state):
        self.seed_ = int(training_state["seed"])
        self.epochs_trained_ = int(training_state["epochs_trained"])
        self.steps_trained_ = int(training_state["steps_trained"])
        self._dropout_rng = np.random.default_rng()
        self._dropout_rng.bit_generator.state = copy.deepcopy(training_state["dropout_rng"])
        self.history_ = copy.deepcopy(training_state.get("history", []))
        self.epoch_progress_ = _checked_epoch_progress(training_state.get("epoch_progress"),
                                                       self.epochs_trained_)
        self.lr_schedule_state_ = copy.deepcopy(training_state.get("lr_schedule_state", {}))
        return self


def _checked_epoch_progress(progress, epochs_trained):
    """``progress`` (None, or the ``epoch_progress`` of a training state) checked: a dict
    of the next epoch's counts; ``ValueError`` naming the key otherwise."""
    if progress is None:
        return None
    kinds = {"epoch": int, "batches": int, "rows": int, "loss_sum": float, "weight_sum": float}
    if not isinstance(progress, dict) or set(progress) != set(kinds):
        raise ValueError(f"epoch_progress must be null or an object with keys "
                         f"{sorted(kinds)}, got {progress!r}")
    out = {}
    for key, kind in kinds.items():
        value = progress[key]
        if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float
                                                     else int) or value < 0:
            raise ValueError(f"epoch_progress.{key} must be a non-negative {kind.__name__}, "
                             f"got {value!r}")
        out[key] = kind(value)
    if out["epoch"] != epochs_trained + 1:
        raise ValueError(f"epoch_progress.epoch is {out['epoch']}, but the next epoch is "
                         f"{epochs_trained + 1}")
    return out


def _is_in_memory_set(source):
    """An in-memory evaluation set ``(features, y[, sample_weight])``, not a batch source."""
    return isinstance(source, (tuple, list)) and len(source) in (2, 3) \
        and isinstance(source[0], dict)


def _checked_batches(source):
    """The ``(features, y, sample_weight)`` batches of an evaluation source; ``ValueError``
    if it has none."""
    empty = True
    for batch in iter_batch_source(source):
        empty = False
        yield batch
    if empty:
        raise ValueError("the evaluation source yielded no batches")


def _labels(loss, y, n):
    """Labels ``y`` checked for ``n`` rows and the objective, as float64 [n]."""
    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or y_arr.shape[0] != n:
        raise ValueError(f"labels must have shape [{n}], got {y_arr.shape}")
    return loss.check_labels(y_arr).astype(np.float64, copy=False)
