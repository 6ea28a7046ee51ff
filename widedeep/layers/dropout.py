"""`Dropout` (inverted): during training ``y = x * m / (1 - rate)`` with
``m ~ Bernoulli(1 - rate)`` drawn from the ``rng`` passed to `forward`; at inference
``y = x``. Backward: ``dx = dy * m / (1 - rate)``. Shapes: any.
"""
from __future__ import annotations

import numpy as np

from ..workspace import empty
from .base import Layer

__all__ = ["Dropout"]


class Dropout(Layer):
    def __init__(self, rate):
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)

    def draw_mask(self, shape, dtype, rng, workspace=None, key="dropout"):
        """The scaled mask ``m / (1 - rate)`` of ``shape``: one ``rng.random`` draw (so masks
        drawn ahead for a whole batch equal those `forward` would draw). With a workspace
        the draws, the comparison and the mask are its buffers under ``key``."""
        scale = np.asarray(1.0 / (1.0 - self.rate), dtype=dtype)
        if workspace is None:
            mask = (rng.random(shape, dtype=np.float64) >= self.rate) * scale
            return mask.astype(dtype, copy=False)
        draws = rng.random(dtype=np.float64, out=workspace.array(key + "/draws", shape,
                                                                 np.float64))
        kept = np.greater_equal(draws, self.rate,
                                out=workspace.array(key + "/kept", shape, bool))
        return np.multiply(kept, scale, out=workspace.array(key + "/mask", shape, dtype))

    def forward(self, x, training=False, rng=None, mask=None, workspace=None, key="dropout"):
        """``mask``: a mask drawn ahead (e.g. a shard's rows of the whole batch's mask).
        With a workspace the mask and the output are its buffers under ``key``."""
        if not training or self.rate == 0.0:
            return x, None
        if mask is None:
            if rng is None:
                raise ValueError("Dropout in training mode needs an rng (np.random.Generator)")
            mask = self.draw_mask(x.shape, x.dtype, rng, workspace, key)
        return np.multiply(x, mask, out=empty(workspace, key + "/out", x.shape,
                                              np.result_type(x, mask))), mask

    def backward(self, grad_out, cache, workspace=None, key="dropout"):
        if cache is None:
            return grad_out, {}
        if workspace is None:
            return grad_out * cache, {}
        # the incoming gradient is the next layer's dx, a buffer of the step: overwrite it
        return np.multiply(grad_out, cache, out=grad_out), {}

    def __repr__(self):
        return f"Dropout(rate={self.rate})"
