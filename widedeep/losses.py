"""Loss objects: each objective's value, gradient, link, label check and metrics, in one place.

Every loss here is the batch **mean** of a weighted per-example loss of the model's score
``f`` (the "logit"; a vector of K scores for multiclass), with sample weights ``s_i``::

    L = (1/n) sum_i s_i l(f_i, y_i)

and each pairs its loss with the canonical link ``p = link(f)``, so that for all three

    dL/df_i = s_i (p_i - y_i) / n                                   (`Loss.gradient`)

with ``y_i`` the one-hot label vector for multiclass. That formula lives only in
`Loss.gradient`; the layers and estimators ask for it. ``n`` is the number of examples of
the **whole** batch: a shard of a batch passes the whole batch's ``n`` so that the shards'
gradients add up to the batch's.

=============  =====================================  ==========  ====================
objective      l(f, y)                                link        labels
=============  =====================================  ==========  ====================
"binary"       softplus(f) - y f                      sigmoid     0 or 1
"regression"   (f - y)^2 / 2                          identity    finite numbers
"multiclass"   logsumexp(f) - f[y]                    softmax     integers 0 .. K-1
=============  =====================================  ==========  ====================
"""
from __future__ import annotations

import numpy as np

from .metrics import accuracy, auc, logloss, mae, multiclass_accuracy, multiclass_logloss, rmse
from .streaming_metrics import StreamingBinaryMetrics, StreamingWeightedMeans

__all__ = ["sigmoid", "softplus", "softmax", "binary_logloss", "binary_logloss_grad", "Loss",
           "BinaryLogistic", "SquaredError", "SoftmaxCrossEntropy", "OBJECTIVES", "get_loss"]


def sigmoid(x):
    """1 / (1 + exp(-x)) for any finite x, never overflowing; keeps x's float dtype."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    e = np.abs(x, out=np.empty_like(x))
    np.exp(np.negative(e, out=e), out=e)
    # 1 / (1 + e) where x >= 0, e / (1 + e) elsewhere: one denominator, one division
    out = np.where(x >= 0, x.dtype.type(1), e)
    return np.divide(out, e + x.dtype.type(1), out=out)


def softplus(x):
    """log(1 + exp(x)) without overflow."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def softmax(scores):
    """Row-wise softmax of ``scores`` [n, K], shifted by the row maximum (no overflow)."""
    scores = np.asarray(scores)
    if not np.issubdtype(scores.dtype, np.floating):
        scores = scores.astype(np.float64)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def _weighted_mean(per_example, sample_weight, n):
    if sample_weight is not None:
        per_example = per_example * sample_weight
    return float(per_example.sum() / n) if n else 0.0


class Loss:
    """Base class. Subclasses give ``link``, ``per_example``, ``residual`` and the label
    check; `gradient` and `value` are shared."""

    name = None
    n_outputs = 1

    def link(self, scores):
        raise NotImplementedError

    def per_example(self, scores, y):
        raise NotImplementedError

    def streaming_metrics(self):
        """An accumulator of `metrics` over a stream of batches, in bounded memory."""
        raise NotImplementedError

    def loss_of_predictions(self, predictions, y):
        """Per-example loss ``l`` [n] in float64 from the link's output ``p``."""
        raise NotImplementedError

    def prediction_loss(self, predictions, y, sample_weight=None, n=None):
        """``(1/n) sum_i s_i l_i`` from predictions (float64): a step's share of the loss."""
        y = np.asarray(y)
        n = y.shape[0] if n is None else n
        return _weighted_mean(self.loss_of_predictions(predictions, y), sample_weight, n)

    def train_metric_sum(self, predictions, y, sample_weight=None):
        """``sum_i s_i m_i`` of the per-example training metric ``train_metric`` (divide
        by ``sum_i s_i`` for the weighted mean the history records)."""
        m = self.loss_of_predictions(predictions, np.asarray(y)) * self._train_metric_scale
        return float(m.sum() if sample_weight is None else np.dot(sample_weight, m))

    _train_metric_scale = 1.0

    def residual(self, predictions, y):
        """``p - y`` (a new array of the predictions' shape and dtype)."""
        return predictions - y.astype(predictions.dtype, copy=False)

    def value(self, scores, y, sample_weight=None, n=None):
        """``(1/n) sum_i s_i l(f_i, y_i)`` in float64; ``n`` defaults to ``len(y)``."""
        y = np.asarray(y)
        n = y.shape[0] if n is None else n
        return _weighted_mean(self.per_example(scores, y), sample_weight, n)

    def gradient(self, predictions, y, sample_weight=None, n=None):
        """``dL/df = s_i (p_i - y_i) / n``, shaped like the scores, in the predictions'
        dtype. ``n`` is the whole batch's size (default ``len(y)``); ``n=1`` gives the
        per-example gradient of online learning."""
        g = self.residual(np.asarray(predictions), np.asarray(y))
        if sample_weight is not None:
            g *= (sample_weight if g.ndim == 1 else sample_weight[:, None]).astype(
                g.dtype, copy=False)
        n = g.shape[0] if n is None else n
        if n != 1:
            g /= g.dtype.type(max(n, 1))
        return g

    def get_config(self):
        return {"objective": self.name}

    def __repr__(self):
        return f"{type(self).__name__}()"


class BinaryLogistic(Loss):
    """Binary log-loss on logits, ``l = softplus(f) - y f``, link sigmoid, labels 0/1.
    Metrics: logloss, AUC (NaN with one class), accuracy at 0.5."""

    name = "binary"
    metric_names = ("logloss", "auc", "accuracy")
    train_metric = "logloss"

    def link(self, scores):
        return sigmoid(scores)

    def per_example(self, scores, y):
        scores = np.asarray(scores, dtype=np.float64)
        return softplus(scores) - y * scores

    def loss_of_predictions(self, predictions, y, eps=1e-7):
        p = np.clip(np.asarray(predictions, dtype=np.float64), eps, 1.0 - eps)
        return -(y * np.log(p) + (1.0 - y) * np.log1p(-p))

    def check_labels(self, y, first_row=0):
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise TypeError(f"binary objective: labels must be numeric 0/1, got dtype "
                            f"{y.dtype}")
        bad = np.flatnonzero((y != 0) & (y != 1))
        if bad.size:
            raise ValueError(f"binary objective: labels must be 0 or 1; row "
                             f"{first_row + int(bad[0])} has {y[bad[0]].item()!r} (use "
                             f"objective='regression' or 'multiclass' for other labels)")
        return y

    def metrics(self, y, p, sample_weight=None):
        y = np.asarray(y, dtype=np.float64)
        both = 0 < y.sum() < y.shape[0]
        return {"logloss": logloss(y, p, sample_weight),
                "auc": auc(y, p, sample_weight) if both else float("nan"),
                "accuracy": accuracy(y, p, sample_weight=sample_weight)}

    def streaming_metrics(self):
        """An accumulator of `metrics` for a stream of batches (``update(y, p, sw)``,
        ``result()``), in bounded memory: log-loss and accuracy exact, AUC binned with its
        error bound (`widedeep.streaming_metrics.StreamingBinaryMetrics`)."""
        return StreamingBinaryMetrics()


class SquaredError(Loss):
    """Squared error ``l = (f - y)^2 / 2``, identity link, finite real labels.
    Metrics: RMSE, MAE. The training history records the mean squared error."""

    name = "regression"
    metric_names = ("rmse", "mae")
    train_metric = "mse"
    _train_metric_scale = 2.0     # the squared error is twice the loss

    def link(self, scores):
        return scores

    def per_example(self, scores, y):
        diff = np.asarray(scores, dtype=np.float64) - y
        return 0.5 * diff * diff

    loss_of_predictions = per_example

    def check_labels(self, y, first_row=0):
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise TypeError(f"regression objective: labels must be numbers, got dtype "
                            f"{y.dtype}")
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise ValueError(f"regression objective: labels must be finite numbers; row "
                             f"{first_row + int(bad[0])} has {y[bad[0]].item()!r}")
        return y

    def metrics(self, y, p, sample_weight=None):
        return {"rmse": rmse(y, p, sample_weight), "mae": mae(y, p, sample_weight)}

    def streaming_metrics(self):
        """`metrics` of a stream of batches, exact, in bounded memory."""
        def per_example(y, p):
            diff = np.asarray(y, dtype=np.float64) - np.asarray(p, dtype=np.float64)
            return {"rmse": diff * diff, "mae": np.abs(diff)}
        return StreamingWeightedMeans(per_example, finish={"rmse": np.sqrt})


class SoftmaxCrossEntropy(Loss):
    """Multiclass log-loss on K scores, ``l = logsumexp(f) - f[y]``, link softmax, labels
    integers in ``[0, K)``. Metrics: logloss (of the true class), accuracy (argmax)."""

    name = "multiclass"
    metric_names = ("logloss", "accuracy")
    train_metric = "logloss"

    def __init__(self, n_classes):
        n_classes = int(n_classes)
        if n_classes < 2:
            raise ValueError(f"multiclass objective: n_classes must be >= 2, got {n_classes}")
        self.n_classes = n_classes
        self.n_outputs = n_classes

    def link(self, scores):
        return softmax(scores)

    def per_example(self, scores, y):
        scores = np.asarray(scores, dtype=np.float64)
        top = scores.max(axis=1)
        lse = top + np.log(np.exp(scores - top[:, None]).sum(axis=1))
        return lse - scores[np.arange(scores.shape[0]), y.astype(np.int64)]

    def loss_of_predictions(self, predictions, y, eps=1e-7):
        p = np.asarray(predictions, dtype=np.float64)[np.arange(y.shape[0]), y.astype(np.int64)]
        return -np.log(np.clip(p, eps, 1.0))

    def residual(self, predictions, y):
        g = predictions.copy()
        g[np.arange(g.shape[0]), y.astype(np.int64)] -= 1
        return g

    def check_labels(self, y, first_row=0):
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise TypeError(f"multiclass objective: labels must be class numbers 0 .. "
                            f"{self.n_classes - 1}, got dtype {y.dtype}")
        bad = np.flatnonzero((y < 0) | (y >= self.n_classes) | (y != np.round(y))
                             if y.dtype.kind == "f" else (y < 0) | (y >= self.n_classes))
        if bad.size:
            raise ValueError(f"multiclass objective: labels must be integers 0 .. "
                             f"{self.n_classes - 1}; row {first_row + int(bad[0])} has "
                             f"{y[bad[0]].item()!r}")
        return y

    def metrics(self, y, p, sample_weight=None):
        return {"logloss": multiclass_logloss(y, p, sample_weight),
                "accuracy": multiclass_accuracy(y, p, sample_weight)}

    def streaming_metrics(self, eps=1e-7):
        """`metrics` of a stream of batches, exact, in bounded memory."""
        def per_example(y, p):
            labels = np.asarray(y).astype(np.int64)
            p = np.asarray(p, dtype=np.float64)
            true_class = np.clip(p[np.arange(labels.shape[0]), labels], eps, 1.0)
            return {"logloss": -np.log(true_class),
                    "accuracy": (np.argmax(p, axis=1) == labels).astype(np.float64)}
        return StreamingWeightedMeans(per_example)

    def get_config(self):
        return {"objective": self.name, "n_classes": self.n_classes}

    def __repr__(self):
        return f"SoftmaxCrossEntropy(n_classes={self.n_classes})"


OBJECTIVES = ("binary", "regression", "multiclass")


def get_loss(objective, n_classes=None):
    """The loss object of an objective name (see the module table)."""
    if objective == "binary":
        return BinaryLogistic()
    if objective == "regression":
        return SquaredError()
    if objective == "multiclass":
        if n_classes is None:
            raise ValueError("objective='multiclass' needs n_classes (given, or inferred "
                             "from the labels of an in-memory fit)")
        return SoftmaxCrossEntropy(n_classes)
    raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")


def binary_logloss(logits, labels, sample_weight=None):
    """Batch-mean weighted binary log-loss of ``logits`` [n] against ``labels`` [n]."""
    labels = np.asarray(labels)
    return BinaryLogistic().value(logits, labels, sample_weight)


def binary_logloss_grad(logits, labels, sample_weight=None):
    """``dL/dlogits`` [n] of `binary_logloss`: ``s_i (sigmoid(f_i) - y_i) / n``."""
    logits = np.asarray(logits)
    return BinaryLogistic().gradient(sigmoid(logits), labels, sample_weight)
