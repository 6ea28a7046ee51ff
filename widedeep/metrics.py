"""Evaluation metrics: binary ``auc``, ``logloss``, ``accuracy``; regression ``rmse``,
``mae``; multiclass ``multiclass_logloss``, ``multiclass_accuracy``.

The binary metrics take 1-d arrays of equal length ``n``: labels in {0, 1} (int, float or bool),
scores or probabilities (finite), and optional non-negative ``sample_weight``. With weights,
each metric is the weighted version (an example of weight 2 counts as two copies of it);
inputs are converted to float64. Bad input raises ``ValueError`` saying what was wrong.
"""
from __future__ import annotations

import numpy as np

__all__ = ["auc", "logloss", "accuracy", "rmse", "mae", "multiclass_logloss",
           "multiclass_accuracy"]


def auc(y_true, y_score, sample_weight=None):
    """Area under the ROC curve: the probability that a random positive scores higher than a
    random negative, ties counting 1/2 (the Mann-Whitney U statistic over n_pos * n_neg).

    With weights ``s``, every (positive i, negative j) pair counts ``s_i * s_j``::

        AUC = sum_{i pos, j neg} s_i s_j ([f_i > f_j] + 0.5 [f_i == f_j]) / (S_pos * S_neg)

    Computed in ``O(n log n)`` by sorting the scores once: a group of tied scores gets the
    average rank, which is exactly the 1/2 for tied pairs.

    Raises ``ValueError`` if only one class is present (or one class has total weight 0).

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> auc([0, 1], [0.5, 0.5])   # a tie counts one half
    0.5
    """
    y_true, y_score, sample_weight = _check_inputs(y_true, y_score, sample_weight, "auc",
                                                   "y_score")
    positive = y_true == 1
    if positive.all() or not positive.any():
        raise ValueError(f"auc: only one class present in y_true (all {int(y_true[0])}); "
                         f"AUC is undefined")
    weight = np.ones_like(y_score) if sample_weight is None else sample_weight
    # group equal scores; groups come out in ascending score order
    distinct_scores, group = np.unique(y_score, return_inverse=True)
    group = group.reshape(-1)
    n_groups = distinct_scores.shape[0]
    positive_weight = np.bincount(group, weights=np.where(positive, weight, 0.0),
                                  minlength=n_groups)
    negative_weight = np.bincount(group, weights=np.where(positive, 0.0, weight),
                                  minlength=n_groups)
    total_positive = positive_weight.sum()
    total_negative = negative_weight.sum()
    if total_positive <= 0 or total_negative <= 0:
        raise ValueError("auc: one class has total sample weight 0; AUC is undefined")
    negatives_below = np.cumsum(negative_weight) - negative_weight
    pairs = np.sum(positive_weight * (negatives_below + 0.5 * negative_weight))
    return float(pairs / (total_positive * total_negative))


def logloss(y_true, y_prob, sample_weight=None, eps=1e-7):
    """Mean binary cross-entropy ``-[y log p + (1 - y) log(1 - p)]``, in nats.

    Probabilities are clipped to ``[eps, 1 - eps]`` first, so ``p`` exactly 0 or 1 gives a
    large but finite loss (at most ``-log(eps)`` per example, about 16.1 for the default)
    instead of ``inf``. With ``sample_weight`` the mean is weighted:
    ``sum_i s_i loss_i / sum_i s_i`` (scikit-learn's convention). Note that the training
    objective (docs/ARCHITECTURE.md) divides by ``n`` instead; the two agree without weights.

    ``y_prob`` must lie in [0, 1]; ``eps`` in (0, 0.5).

    Examples
    --------
    >>> round(logloss([1, 0], [0.5, 0.5]), 6)   # log 2
    0.693147
    """
    if not (0 < eps < 0.5):
        raise ValueError(f"logloss: eps must be in (0, 0.5), got {eps!r}")
    y_true, y_prob, sample_weight = _check_inputs(y_true, y_prob, sample_weight, "logloss",
                                                  "y_prob")
    if y_prob.size and (y_prob.min() < 0 or y_prob.max() > 1):
        bad = int(np.flatnonzero((y_prob < 0) | (y_prob > 1))[0])
        raise ValueError(f"logloss: y_prob must be probabilities in [0, 1], got {y_prob[bad]} "
                         f"at position {bad}")
    p = np.clip(y_prob, eps, 1.0 - eps)
    losses = -(y_true * np.log(p) + (1.0 - y_true) * np.log1p(-p))
    return _mean(losses, sample_weight, "logloss")


def accuracy(y_true, y_prob, threshold=0.5, sample_weight=None):
    """Fraction of examples whose predicted class, ``1 if y_prob >= threshold else 0``, equals
    the label (weighted fraction with ``sample_weight``). A probability exactly at the
    threshold predicts 1, as the estimators' ``predict`` does.

    Examples
    --------
    >>> accuracy([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.5])   # 0.4 and 0.5 are wrong
    0.5
    """
    y_true, y_prob, sample_weight = _check_inputs(y_true, y_prob, sample_weight, "accuracy",
                                                  "y_prob")
    predicted = (y_prob >= threshold).astype(np.float64)
    return _mean((predicted == y_true).astype(np.float64), sample_weight, "accuracy")


def rmse(y_true, y_pred, sample_weight=None):
    """Root of the (weighted) mean squared error ``sqrt(sum s (y - f)^2 / sum s)``.

    >>> rmse([1.0, 3.0], [2.0, 3.0])   # sqrt(1 / 2)
    0.7071067811865476
    """
    y_true, y_pred, sample_weight = _check_inputs(y_true, y_pred, sample_weight, "rmse",
                                                  "y_pred", binary=False)
    diff = y_true - y_pred
    return float(np.sqrt(_mean(diff * diff, sample_weight, "rmse")))


def mae(y_true, y_pred, sample_weight=None):
    """(Weighted) mean absolute error ``sum s |y - f| / sum s``.

    >>> mae([1.0, 3.0], [2.0, 3.5])
    0.75
    """
    y_true, y_pred, sample_weight = _check_inputs(y_true, y_pred, sample_weight, "mae",
                                                  "y_pred", binary=False)
    return _mean(np.abs(y_true - y_pred), sample_weight, "mae")


def multiclass_logloss(y_true, y_prob, sample_weight=None, eps=1e-7):
    """Mean ``-log p[y]`` over examples (weighted with ``sample_weight``), ``y_true`` class
    numbers [n] in ``[0, K)``, ``y_prob`` [n, K] rows of class probabilities, clipped to
    ``[eps, 1]``.

    >>> round(multiclass_logloss([0, 2], [[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]]), 6)
    0.693147
    """
    y_true, y_prob, sample_weight = _check_multiclass(y_true, y_prob, sample_weight,
                                                      "multiclass_logloss")
    p = np.clip(y_prob[np.arange(y_true.shape[0]), y_true], eps, 1.0)
    return _mean(-np.log(p), sample_weight, "multiclass_logloss")


def multiclass_accuracy(y_true, y_prob, sample_weight=None):
    """(Weighted) fraction of examples whose most probable class (first on ties) is the label.

    >>> multiclass_accuracy([0, 2], [[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]])
    0.5
    """
    y_true, y_prob, sample_weight = _check_multiclass(y_true, y_prob, sample_weight,
                                                      "multiclass_accuracy")
    correct = (np.argmax(y_prob, axis=1) == y_true).astype(np.float64)
    return _mean(correct, sample_weight, "multiclass_accuracy")


def _check_multiclass(y_true, y_prob, sample_weight, where):
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_prob.ndim != 2:
        raise ValueError(f"{where}: y_prob must be [n, n_classes], got shape {y_prob.shape}")
    y_true = np.asarray(y_true)
    if y_true.ndim != 1 or y_true.shape[0] != y_prob.shape[0] or y_true.shape[0] == 0:
        raise ValueError(f"{where}: y_true must be 1-d with {y_prob.shape[0]} (> 0) entries, "
                         f"got shape {y_true.shape}")
    labels = y_true.astype(np.int64)
    bad = np.flatnonzero((labels != y_true) | (labels < 0) | (labels >= y_prob.shape[1]))
    if bad.size:
        raise ValueError(f"{where}: labels must be class numbers 0 .. {y_prob.shape[1] - 1}, "
                         f"got {y_true[bad[0]]} at position {int(bad[0])}")
    if not np.isfinite(y_prob).all():
        raise ValueError(f"{where}: y_prob must be finite")
    _, _, sample_weight = _check_inputs(np.zeros(labels.shape[0]), np.zeros(labels.shape[0]),
                                        sample_weight, where, "y_prob")
    return labels, y_prob, sample_weight


def _mean(values, sample_weight, where):
    if sample_weight is None:
        return float(values.mean())
    total = sample_weight.sum()
    if total <= 0:
        raise ValueError(f"{where}: sample_weight sums to 0")
    return float(np.dot(sample_weight, values) / total)


def _check_inputs(y_true, y_score, sample_weight, where, score_name, binary=True):
    """Validate and convert to float64 1-d arrays; O(n)."""
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score)
    if y_true.ndim != 1 or y_score.ndim != 1:
        raise ValueError(f"{where}: y_true and {score_name} must be 1-d, got shapes "
                         f"{y_true.shape} and {y_score.shape}")
    if y_true.shape[0] != y_score.shape[0]:
        raise ValueError(f"{where}: y_true has {y_true.shape[0]} entries but {score_name} "
                         f"has {y_score.shape[0]}")
    if y_true.shape[0] == 0:
        raise ValueError(f"{where}: empty input")
    if y_true.dtype.kind not in "biuf" or y_score.dtype.kind not in "biuf":
        raise ValueError(f"{where}: y_true and {score_name} must be numeric, got dtypes "
                         f"{y_true.dtype} and {y_score.dtype}")
    y_true = y_true.astype(np.float64)
    y_score = y_score.astype(np.float64)
    not_label = ((y_true != 0) & (y_true != 1)) if binary else ~np.isfinite(y_true)
    if not_label.any():
        bad = int(np.flatnonzero(not_label)[0])
        raise ValueError(f"{where}: labels must be {'0 or 1' if binary else 'finite'}, got "
                         f"{y_true[bad]} at position {bad}")
    finite = np.isfinite(y_score)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"{where}: {score_name} must be finite, got {y_score[bad]} at "
                         f"position {bad}")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != y_true.shape:
            raise ValueError(f"{where}: sample_weight has shape {sample_weight.shape}, "
                             f"expected {y_true.shape}")
        bad_weight = ~np.isfinite(sample_weight) | (sample_weight < 0)
        if bad_weight.any():
            bad = int(np.flatnonzero(bad_weight)[0])
            raise ValueError(f"{where}: sample_weight must be finite and >= 0, got "
                             f"{sample_weight[bad]} at position {bad}")
    return y_true, y_score, sample_weight
