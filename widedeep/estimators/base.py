"""The training loop shared by `WideEstimator`, `DeepEstimator` and `WideDeepEstimator`.

Loss: the batch mean of the weighted binary log-loss,
``L = (1/n) sum_i s_i [softplus(f_i) - y_i f_i]`` with ``f`` the model's logit, so
``dL/df_i = s_i (p_i - y_i) / n`` and learning rates act on a mean gradient (the step size
does not grow with the batch size). Subclasses implement ``_build(rng)`` (create ``wide_``
and/or ``deep_``), ``_check_model_input(features, n)``, ``_train_batch`` and ``_logits``.

Randomness: everything derives from one integer seed (``random_state``, or fresh entropy
recorded in ``seed_``): parameter initialization from ``[seed, 0]``, dropout masks from a
generator seeded ``[seed, 2]`` whose state is part of the checkpoint, and the shuffle of epoch
``e`` from ``[seed, 1, e]``, so a run resumed at an epoch boundary repeats exactly.
"""
from __future__ import annotations

import copy
import inspect
import sys
import time

import numpy as np

from ..losses import get_loss, sigmoid
from ..training import TrainingStep
from ..metrics import accuracy, auc, logloss
from ..threads import with_blas_limit
from .batching import (check_labels, check_sample_weight, iter_batch_source, iter_minibatches,
                       n_examples, slice_rows)

__all__ = ["BaseEstimator", "NotFittedError"]

EVAL_METRICS = {"logloss": -1, "auc": +1, "accuracy": +1}   # +1: larger is better


class NotFittedError(ValueError, AttributeError):
    """Raised when predicting with an estimator that has not been fitted."""


class BaseEstimator:
    """Shared loop: `fit`, `partial_fit`, `predict_proba`, `evaluate`, state access."""

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind is not p.VAR_KEYWORD]

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
        """Constructor parameters as JSON-able data (optimizers as class name + config)."""
        config = {}
        for name, value in self.get_params().items():
            if hasattr(value, "get_config"):
                value = {"class": type(value).__name__, "config": value.get_config()}
            elif name == "dtype":
                value = np.dtype(value).name
            elif isinstance(value, tuple):
                value = list(value)
            config[name] = value
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

    def _initialize(self, allocate_only=False):
        """Create fresh parameters and optimizer state from the seed. ``allocate_only``:
        embedding tables are zeros instead of random draws, for a caller that overwrites
        every array with `set_state` (e.g. `widedeep.io.load_model`)."""
        if self.random_state is None:
            self.seed_ = int(np.random.SeedSequence().entropy % (2 ** 63))
        elif isinstance(self.random_state, (int, np.integer)):
            self.seed_ = int(self.random_state)
        else:
            raise TypeError(f"random_state must be an int or None, got "
                            f"{type(self.random_state).__name__}")
        self.loss_ = get_loss(getattr(self, "objective", "binary"),
                              getattr(self, "n_classes", None))
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
        self.history_ = []
        return self

    def check_is_fitted(self):
        """Raise `NotFittedError` unless the estimator has been fitted (or loaded)."""
        if not hasattr(self, "steps_trained_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet: call fit() or "
                                 f"partial_fit() (or load a saved model) before predicting.")

    def _check_batch(self, features, y, sample_weight):
        """Validate one batch completely before any parameter is touched."""
        n = n_examples(features)
        y = check_labels(y, n, self._dtype)
        sample_weight = check_sample_weight(sample_weight, n, self._dtype)
        self._check_model_input(features, n)
        return y, sample_weight

    def _missing_field_hint(self, features, expected):
        unknown = sorted(set(features) - set(expected))
        return f"; the batch has fields the model does not use: {unknown}" if unknown else ""

    # ------------------------------------------------------------------ training
    def _train_batch(self, features, y, sample_weight):
        """One step (`step_`: compute, combine, apply); returns the batch's predictions."""
        if self.step_ is None:
            raise RuntimeError("this model is bound to read-only arrays (a served model); "
                               "load it without mmap to train it")
        return self.step_.train_batch(features, y, sample_weight, rng=self._dropout_rng)

    @with_blas_limit
    def partial_fit(self, features, y, sample_weight=None):
        """One optimization step on one batch (initializing the model on first call)."""
        if not hasattr(self, "steps_trained_"):
            self._initialize()
        y, sample_weight = self._check_batch(features, y, sample_weight)
        self._train_batch(features, y, sample_weight)
        self.steps_trained_ += 1
        return self

    @with_blas_limit
    def fit(self, X, y=None, sample_weight=None, *, eval_set=None, epochs=None):
        """Train for ``epochs`` (default ``self.epochs``) passes over the data.

        ``X`` is an in-memory feature dict (with ``y`` and optional ``sample_weight``),
        batched by ``batch_size`` and shuffled each epoch when ``shuffle``; or a re-iterable
        of ``(features, labels[, sample_weight])`` batches (or a callable returning one per
        epoch). ``eval_set`` has the same two forms ((features, y[, sw]) for in-memory).
        Starts from fresh parameters unless ``warm_start`` is set and the model is fitted.
        Records ``history_`` and, with ``early_stopping_rounds`` and an ``eval_set``, stops
        after that many epochs without improvement of ``eval_metric`` and restores the
        best epoch's parameters. Returns self.
        """
        if not (self.warm_start and hasattr(self, "steps_trained_")):
            self._initialize()
        epochs = self.epochs if epochs is None else epochs
        if self.early_stopping_rounds and eval_set is None:
            raise ValueError("early_stopping_rounds needs an eval_set")
        if self.eval_metric not in EVAL_METRICS:
            raise ValueError(f"eval_metric must be one of {sorted(EVAL_METRICS)}, got "
                             f"{self.eval_metric!r}")
        in_memory = isinstance(X, dict)
        if in_memory:
            if y is None:
                raise ValueError("fit(X, y): y is required when X is a feature dict")
            n = n_examples(X)
            y_all, sw_all = np.asarray(y), sample_weight
        elif y is not None:
            raise ValueError("fit(X, y): give y only with an in-memory feature dict X")
        elif iter(X) is X and epochs > 1:
            raise TypeError("X is a one-shot iterator; pass a re-iterable (list, reader) or a "
                            "callable returning a fresh iterator for several epochs")
        best = None
        sign = EVAL_METRICS[self.eval_metric]
        for _ in range(epochs):
            epoch = self.epochs_trained_
            start = time.perf_counter()
            if in_memory:
                rng = np.random.default_rng([self.seed_, 1, epoch]) if self.shuffle else None
                batches = iter_minibatches(X, y_all, sw_all, self.batch_size, rng)
            else:
                batches = iter_batch_source(X)
            seen, loss_sum, weight_sum = 0, 0.0, 0.0
            for features, yb, swb in batches:
                yb, swb = self._check_batch(features, yb, swb)
                p = self._train_batch(features, yb, swb)
                self.steps_trained_ += 1
                batch_weight = float(yb.shape[0] if swb is None else swb.sum())
                if batch_weight > 0:   # weighted mean over the epoch; all-zero batches add 0
                    loss_sum += logloss(yb, p, swb) * batch_weight
                    weight_sum += batch_weight
                seen += yb.shape[0]
            seconds = time.perf_counter() - start
            self.epochs_trained_ += 1
            record = {"epoch": self.epochs_trained_,
                      "train_logloss": loss_sum / weight_sum if weight_sum else float("nan"),
                      "examples": seen, "seconds": seconds,
                      "examples_per_second": seen / seconds if seconds > 0 else float("inf")}
            if eval_set is not None:
                record.update({f"eval_{k}": v for k, v in self._evaluate_source(eval_set).items()})
            self.history_.append(record)
            if self.verbose:
                print(_progress_line(record, epochs), file=sys.stdout, flush=True)
            if self.early_stopping_rounds:
                score = sign * record[f"eval_{self.eval_metric}"]
                if best is None or score > best[0]:
                    best = (score, self.epochs_trained_, self.get_state(copy=True))
                elif self.epochs_trained_ - best[1] >= self.early_stopping_rounds:
                    break
        if best is not None and best[1] != self.epochs_trained_:
            self.set_state(best[2])
            self.best_epoch_ = best[1]
        elif best is not None:
            self.best_epoch_ = best[1]
        return self

    # ------------------------------------------------------------------ inference
    @with_blas_limit
    def predict_logit(self, features, batch_size=None):
        """The model's logit for each example, [n] (stateless: safe from many threads)."""
        self.check_is_fitted()
        n = n_examples(features)
        self._check_model_input(features, n)
        batch_size = batch_size or self.predict_batch_size
        if n <= batch_size:
            return self._logits(features)
        return np.concatenate([self._logits(slice_rows(features, s, min(s + batch_size, n)))
                               for s in range(0, n, batch_size)])

    def predict_proba(self, features, batch_size=None):
        """P(y = 1 | x) for each example, [n]."""
        return sigmoid(self.predict_logit(features, batch_size))

    def predict(self, features, threshold=0.5):
        return (self.predict_proba(features) >= threshold).astype(np.int64)

    @with_blas_limit
    def evaluate(self, features, y=None, sample_weight=None):
        """``{"logloss", "auc", "accuracy"}`` on a feature dict with labels, or on a batch
        source (as in `fit`). AUC is NaN when only one class is present."""
        source = (features, y, sample_weight) if y is not None else features
        return self._evaluate_source(source)

    def _evaluate_source(self, source):
        if isinstance(source, (tuple, list)) and len(source) in (2, 3) \
                and isinstance(source[0], dict):
            features, y = source[0], source[1]
            sw = source[2] if len(source) == 3 else None
            p = self.predict_proba(features)
            y = check_labels(y, p.shape[0], np.float64)
        else:
            parts = [(self.predict_proba(f), check_labels(yb, n_examples(f), np.float64), swb)
                     for f, yb, swb in iter_batch_source(source)]
            p = np.concatenate([q[0] for q in parts])
            y = np.concatenate([q[1] for q in parts])
            sw = None if parts[0][2] is None else np.concatenate([q[2] for q in parts])
        has_both = 0 < y.sum() < y.shape[0]
        return {"logloss": logloss(y, p, sw),
                "auc": auc(y, p, sw) if has_both else float("nan"),
                "accuracy": accuracy(y, p, sample_weight=sw)}

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
                "dropout_rng": copy.deepcopy(self._dropout_rng.bit_generator.state),
                "history": copy.deepcopy(self.history_)}

    def set_training_state(self, training_state):
        self.seed_ = int(training_state["seed"])
        self.epochs_trained_ = int(training_state["epochs_trained"])
        self.steps_trained_ = int(training_state["steps_trained"])
        self._dropout_rng = np.random.default_rng()
        self._dropout_rng.bit_generator.state = copy.deepcopy(training_state["dropout_rng"])
        self.history_ = copy.deepcopy(training_state.get("history", []))
        return self


def _progress_line(record, epochs):
    parts = [f"epoch {record['epoch']:>3}", f"train logloss {record['train_logloss']:.4f}"]
    for key in ("eval_logloss", "eval_auc", "eval_accuracy"):
        if key in record:
            parts.append(f"{key.replace('_', ' ')} {record[key]:.4f}")
    parts.append(f"{record['examples_per_second']:,.0f} ex/s")
    parts.append(f"{record['seconds']:.2f} s")
    return "  ".join(parts)
