"""`BatchNorm`: batch normalization (Ioffe & Szegedy, 2015) between hidden layers.

Training (batch statistics, biased variance over the ``n`` rows of the batch)::

    mu = mean_n(x),  var = mean_n((x - mu)**2),  x_hat = (x - mu) / sqrt(var + eps)
    y  = gamma * x_hat + beta

Inference (the running statistics learned in training)::

    y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta

Shapes: x, y [n, dim]; gamma, beta, running_mean, running_var [dim].
Backward (training)::

    dgamma = sum_n(dy * x_hat),  dbeta = sum_n(dy)
    dx = gamma / sqrt(var + eps) * (dy - mean_n(dy) - x_hat * mean_n(dy * x_hat))

Running statistics are *not* touched by `forward` (which writes nothing, so predicting is
stateless and a gradient check may run forward many times): the training step takes the
batch's statistics from the forward cache (`batch_statistics`) and, in its apply phase,
calls `update_statistics(n, mu, var)` once::

    running_mean = momentum * running_mean + (1 - momentum) * mu
    running_var  = momentum * running_var  + (1 - momentum) * var * n / (n - 1)

(the unbiased batch variance, as PyTorch; with n = 1 the variance update is skipped).
When a step's batch is computed in shards, each shard normalizes by its own statistics (as
PyTorch's BatchNorm under data parallelism without synchronization) and the running
statistics are updated from the pooled mean and variance of the whole batch.
``gamma``/``beta`` are trainable (``params``); the running statistics are ``statistics``.
"""
from __future__ import annotations

import numpy as np

from .. import defaults
from .base import Layer

__all__ = ["BatchNorm"]


class BatchNorm(Layer):
    """Batch normalization over the rows of a [n, dim] input.

    Parameters
    ----------
    dim : int, the number of features (columns).
    momentum : float in [0, 1), weight of the old running statistics per step.
    eps : float > 0, added to the variance.
    dtype : float dtype of the parameters and statistics.
    """

    def __init__(self, dim, momentum=defaults.BATCH_NORM_MOMENTUM, eps=defaults.BATCH_NORM_EPS,
                 dtype=np.float32):
        super().__init__()
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"BatchNorm: momentum must be in [0, 1), got {momentum!r}")
        if not (np.isfinite(eps) and eps > 0):
            raise ValueError(f"BatchNorm: eps must be a finite number > 0, got {eps!r}")
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.params = {"gamma": np.ones(dim, dtype=dtype), "beta": np.zeros(dim, dtype=dtype)}
        self.statistics = {"running_mean": np.zeros(dim, dtype=dtype),
                           "running_var": np.ones(dim, dtype=dtype)}

    @property
    def dim(self):
        return self.params["gamma"].shape[0]

    def forward(self, x, training=False, rng=None):
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"BatchNorm expects input of shape [n, {self.dim}], got {x.shape}")
        gamma, beta = self.params["gamma"], self.params["beta"]
        if not training:
            stats = self.statistics
            inv_std = 1.0 / np.sqrt(stats["running_var"] + self.eps)
            x_hat = (x - stats["running_mean"]) * inv_std
            return x_hat * gamma + beta, ("inference", x_hat, inv_std)
        mean = x.mean(axis=0)
        centered = x - mean
        var = np.mean(centered * centered, axis=0)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = centered * inv_std
        return x_hat * gamma + beta, ("training", x_hat, inv_std, mean, var)

    def backward(self, grad_out, cache, penalty=True):
        """``penalty`` is accepted for the layer protocol; batch norm has no penalty."""
        x_hat, inv_std = cache[1], cache[2]
        grads = {"gamma": np.sum(grad_out * x_hat, axis=0), "beta": grad_out.sum(axis=0)}
        if cache[0] == "inference":   # a fixed affine map of x
            return grad_out * (self.params["gamma"] * inv_std), grads
        grad_in = (grad_out - grad_out.mean(axis=0)
                   - x_hat * np.mean(grad_out * x_hat, axis=0)) * (self.params["gamma"] * inv_std)
        return grad_in, grads

    @staticmethod
    def batch_statistics(cache):
        """``(n, mean, biased var)`` (float64) of a training forward pass; None otherwise."""
        if cache is None or cache[0] != "training":
            return None
        _, x_hat, _, mean, var = cache
        return x_hat.shape[0], mean.astype(np.float64), var.astype(np.float64)

    def update_statistics(self, n, mean, var):
        """Fold a batch's statistics (``n`` rows, ``mean``, biased ``var``) into the running
        ones."""
        stats, keep = self.statistics, self.momentum
        stats["running_mean"] *= keep
        stats["running_mean"] += (1.0 - keep) * mean
        if n > 1:
            stats["running_var"] *= keep
            stats["running_var"] += (1.0 - keep) * var * (n / (n - 1))

    def __repr__(self):
        return f"BatchNorm({self.dim}, momentum={self.momentum}, eps={self.eps})"
