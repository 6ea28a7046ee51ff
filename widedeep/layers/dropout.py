"""`Dropout` (inverted): during training ``y = x * m / (1 - rate)`` with
``m ~ Bernoulli(1 - rate)`` drawn from the ``rng`` passed to `forward`; at inference
``y = x``. Backward: ``dx = dy * m / (1 - rate)``. Shapes: any.

A row shard of a larger batch (data-parallel training) passes a `GlobalBatchRows` as the
``rng``: it draws the uniforms of the whole batch, exactly as one process training on that
batch would, and hands back the shard's rows, so the shards' masks are cut from one mask.
"""
from __future__ import annotations

import numpy as np

from .base import Layer

__all__ = ["Dropout", "GlobalBatchRows"]


class GlobalBatchRows:
    """Random draws for rows ``rows`` of a global batch of ``n_total`` rows.

    ``random(shape, dtype)`` with ``shape[0] == len(rows)`` draws
    ``rng.random((n_total,) + shape[1:], dtype)`` and returns its rows ``rows``: the
    generator advances exactly as for the whole batch, and every shard, each holding a
    replica of the same generator state, cuts its rows from the same global draw.

    >>> rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    >>> whole = rng_a.random((4, 2))
    >>> shard = GlobalBatchRows(rng_b, n_total=4, rows=np.array([1, 2])).random((2, 2))
    >>> bool(np.array_equal(shard, whole[1:3]))
    True
    """

    def __init__(self, rng, n_total, rows):
        self.rng = rng
        self.n_total = int(n_total)
        self.rows = np.asarray(rows, dtype=np.int64)

    def random(self, shape, dtype=np.float64):
        shape = tuple(shape)
        if shape[0] != self.rows.shape[0]:
            raise ValueError(f"GlobalBatchRows: asked for {shape[0]} rows, the shard has "
                             f"{self.rows.shape[0]}")
        return self.rng.random((self.n_total,) + shape[1:], dtype=dtype)[self.rows]


class Dropout(Layer):
    def __init__(self, rate):
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)

    def forward(self, x, training=False, rng=None):
        if not training or self.rate == 0.0:
            return x, None
        if rng is None:
            raise ValueError("Dropout in training mode needs an rng (np.random.Generator)")
        scale = np.asarray(1.0 / (1.0 - self.rate), dtype=x.dtype)
        mask = (rng.random(x.shape, dtype=np.float64) >= self.rate) * scale
        mask = mask.astype(x.dtype, copy=False)
        return x * mask, mask

    def backward(self, grad_out, cache):
        if cache is None:
            return grad_out, {}
        return grad_out * cache, {}

    def __repr__(self):
        return f"Dropout(rate={self.rate})"
