"""The layer protocol shared by every layer, and the row-sparse gradient type.

Every layer exposes

- ``params``: ``dict[str, ndarray]`` of trainable arrays (updated in place by optimizers);
- ``forward(x, training=False, rng=None) -> (out, cache)``;
- ``backward(grad_out, cache) -> (grad_in, grads)`` with ``grads`` keyed like ``params``,
  each a dense ndarray or a `RowSparseGrad`.

The cache is *returned*, never stored on the layer: a forward pass writes nothing into the
layer, so inference is stateless and many threads may predict at once.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..segments import sum_duplicates

__all__ = ["Layer", "RowSparseGrad", "sum_rows_by_id"]


class RowSparseGrad(NamedTuple):
    """Gradient of a table restricted to the rows it touches.

    ``rows``: int64 [k], unique and sorted; ``values``: [k, dim], the summed gradient of each
    row. Every other row's gradient is zero. ``to_dense(n_rows)`` is for tests only.
    """

    rows: np.ndarray
    values: np.ndarray

    def to_dense(self, n_rows):
        out = np.zeros((n_rows,) + self.values.shape[1:], dtype=self.values.dtype)
        out[self.rows] = self.values
        return out


class Layer:
    """Base class: a layer with no parameters, identity forward."""

    def __init__(self):
        self.params = {}

    def forward(self, x, training=False, rng=None):
        return x, None

    def backward(self, grad_out, cache):
        return grad_out, {}

    def penalty(self):
        """Regularization term this layer adds to the loss (0 unless documented)."""
        return 0.0

    def penalty_gradients(self):
        """Gradient of `penalty` per parameter name ({} when there is none)."""
        return {}

    def __repr__(self):
        return f"{type(self).__name__}()"


def sum_rows_by_id(ids, values):
    """Sum the rows of ``values`` [m, d] that share an id in ``ids`` [m].

    Returns ``RowSparseGrad(unique_ids, summed)``: vectorized (one sort, one
    ``np.add.reduceat``), no Python loop, cost O(m log m + m d) independent of the
    vocabulary size.
    """
    unique_ids, summed = sum_duplicates(np.asarray(ids, dtype=np.int64), values)
    return RowSparseGrad(unique_ids, summed)
