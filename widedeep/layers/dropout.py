"""`Dropout` (inverted): during training ``y = x * m / (1 - rate)`` with
``m ~ Bernoulli(1 - rate)`` drawn from the ``rng`` passed to `forward`; at inference
``y = x``. Backward: ``dx = dy * m / (1 - rate)``. Shapes: any.
"""
from __future__ import annotations

import numpy as np

from .base import Layer

__all__ = ["Dropout"]


class Dropout(Layer):
    def __init__(self, rate):
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)

    def draw_mask(self, shape, dtype, rng):
        """The scaled mask ``m / (1 - rate)`` of ``shape``: one ``rng.random`` draw (so masks
        drawn ahead for a whole batch equal those `forward` would draw)."""
        scale = np.asarray(1.0 / (1.0 - self.rate), dtype=dtype)
        mask = (rng.random(shape, dtype=np.float64) >= self.rate) * scale
        return mask.astype(dtype, copy=False)

    def forward(self, x, training=False, rng=None, mask=None):
        """``mask``: a mask drawn ahead (e.g. a shard's rows of the whole batch's mask)."""
        if not training or self.rate == 0.0:
            return x, None
        if mask is None:
            if rng is None:
                raise ValueError("Dropout in training mode needs an rng (np.random.Generator)")
            mask = self.draw_mask(x.shape, x.dtype, rng)
        return x * mask, mask

    def backward(self, grad_out, cache):
        if cache is None:
            return grad_out, {}
        return grad_out * cache, {}

    def __repr__(self):
        return f"Dropout(rate={self.rate})"
