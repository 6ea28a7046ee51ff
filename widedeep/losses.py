"""Numerically stable logistic functions and the binary log-loss on logits.

For a logit ``f`` and label ``y`` in {0, 1} the per-example loss is

    l(f, y) = softplus(f) - y * f = log(1 + exp(f)) - y * f,      dl/df = sigmoid(f) - y,

computed without overflow for logits of any size (``softplus(f) = max(f, 0) +
log1p(exp(-|f|))``). `binary_logloss` averages over the batch: ``L = (1/n) sum_i s_i l_i``
with sample weights ``s_i`` (default 1), so ``dL/df_i = s_i (p_i - y_i) / n``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "softplus", "binary_logloss", "binary_logloss_grad"]


def sigmoid(x):
    """1 / (1 + exp(-x)) for any finite x, never overflowing; keeps x's float dtype."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def softplus(x):
    """log(1 + exp(x)) without overflow."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def binary_logloss(logits, labels, sample_weight=None):
    """Batch-mean weighted binary log-loss of ``logits`` [n] against ``labels`` [n]."""
    logits = np.asarray(logits)
    per_example = softplus(logits) - np.asarray(labels, dtype=logits.dtype) * logits
    if sample_weight is not None:
        per_example = per_example * sample_weight
    return float(per_example.mean()) if per_example.size else 0.0


def binary_logloss_grad(logits, labels, sample_weight=None):
    """``dL/dlogits`` [n] of `binary_logloss`: ``s_i (sigmoid(f_i) - y_i) / n``."""
    logits = np.asarray(logits)
    g = sigmoid(logits) - np.asarray(labels, dtype=logits.dtype)
    if sample_weight is not None:
        g = g * sample_weight
    return g / max(logits.shape[0], 1)
