"""Element-wise activations. Shapes: any; the output has the input's shape.

    ReLU:    y = max(x, 0),         dy/dx = 1[x > 0]
    Sigmoid: y = 1 / (1 + e^-x),    dy/dx = y (1 - y)
    Tanh:    y = tanh(x),           dy/dx = 1 - y^2
"""
from __future__ import annotations

import numpy as np

from ..losses import sigmoid
from ..workspace import empty, run_rows
from .base import Layer

__all__ = ["ReLU", "Sigmoid", "Tanh", "ACTIVATIONS", "relu_into", "zero_row"]


_ZERO_ROWS = {}


def zero_row(width, dtype):
    """A read-only zero vector [width] of ``dtype`` (kept per width and dtype; never
    written). ``np.maximum(x, zero_row(x.shape[-1], x.dtype))`` gives the values (NaN,
    signed zeros included) of ``np.maximum(x, 0)`` in about half the time: NumPy's
    vectorized loop takes a broadcast row, not a scalar operand (measured 81 vs 171 us on
    a [1024, 400] float32 array, one core)."""
    key = (int(width), np.dtype(dtype).str)
    row = _ZERO_ROWS.get(key)
    if row is None:
        row = np.zeros(key[0], dtype=dtype)
        row.flags.writeable = False
        _ZERO_ROWS[key] = row
    return row


def relu_into(x, out):
    """``out = max(x, 0)`` elementwise (``out`` may be ``x``); returns ``out``."""
    if x.ndim >= 1 and x.dtype.kind == "f":
        return np.maximum(x, zero_row(x.shape[-1], x.dtype), out=out)
    return np.maximum(x, 0, out=out)


class ReLU(Layer):
    """``max(x, 0)``. ``inplace=True`` overwrites the input in forward and the incoming
    gradient in backward (no temporaries); only for callers that own those arrays, as
    `DeepNetwork` does (each is a fresh product nobody else reads)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x, training=False, rng=None, workspace=None):
        """With a workspace (and ``inplace``) the rows are split over its threads."""
        if self.inplace and workspace is not None and x.ndim == 2:
            if workspace.threads is None:   # the caller's thread alone (e.g. predict)
                relu_into(x, x)
            else:
                run_rows(workspace, lambda start, stop: relu_into(
                    x[start:stop], x[start:stop]), x.shape[0], x.shape[1])
            return x, x
        out = relu_into(x, x if self.inplace else None)
        return out, out

    def backward(self, grad_out, cache, workspace=None, key="relu"):
        """With a workspace (and ``inplace``) the mask ``x > 0`` is its buffer ``key`` and
        the rows are split over its threads."""
        if self.inplace:
            positive = empty(workspace, key + "/positive", cache.shape, bool)

            def rows(start, stop):
                np.greater(cache[start:stop], 0, out=positive[start:stop])
                np.multiply(grad_out[start:stop], positive[start:stop],
                            out=grad_out[start:stop])
            if cache.ndim == 2 and grad_out.shape == cache.shape:
                run_rows(workspace, rows, cache.shape[0], cache.shape[1])
            else:
                rows(None, None)
            return grad_out, {}
        return grad_out * (cache > 0), {}


class Sigmoid(Layer):
    def forward(self, x, training=False, rng=None):
        out = sigmoid(x)
        return out, out

    def backward(self, grad_out, cache):
        return grad_out * cache * (1 - cache), {}


class Tanh(Layer):
    def forward(self, x, training=False, rng=None):
        out = np.tanh(x)
        return out, out

    def backward(self, grad_out, cache):
        return grad_out * (1 - cache * cache), {}


ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}
