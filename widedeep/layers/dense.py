"""`DenseLayer`: the affine map ``y = x W + b`` with optional L2 on ``W``.

Shapes: x [n, in_dim], W [in_dim, out_dim], b [out_dim], y [n, out_dim].
Gradients: ``dW = x^T dy + l2 W``, ``db = sum_n dy``, ``dx = dy W^T``. The L2 term
``l2/2 ||W||^2`` (see `penalty`) is added once per step, on top of the batch-mean loss.
"""
from __future__ import annotations

import numpy as np

from ..workspace import empty, run_rows
from .base import Layer

__all__ = ["DenseLayer", "glorot_uniform"]


def glorot_uniform(in_dim, out_dim, rng, dtype=np.float32):
    """Glorot/Xavier uniform init: U(-a, a), a = sqrt(6 / (in_dim + out_dim))."""
    limit = np.sqrt(6.0 / (in_dim + out_dim))
    return rng.uniform(-limit, limit, size=(in_dim, out_dim)).astype(dtype)


class DenseLayer(Layer):
    """Fully connected layer.

    Parameters
    ----------
    weights : ndarray [in_dim, out_dim]
    bias : ndarray [out_dim] or None (no bias)
    l2 : float
        L2 strength on the weights (not the bias).
    """

    def __init__(self, weights, bias=None, l2=0.0):
        super().__init__()
        weights = np.asarray(weights)
        if weights.ndim != 2:
            raise ValueError(f"DenseLayer weights must be 2-d, got shape {weights.shape}")
        self.params = {"W": weights}
        if bias is not None:
            bias = np.asarray(bias, dtype=weights.dtype)
            if bias.shape != (weights.shape[1],):
                raise ValueError(f"DenseLayer bias must have shape ({weights.shape[1]},), got "
                                 f"{bias.shape}")
            self.params["b"] = bias
        self.l2 = float(l2)

    @classmethod
    def create(cls, in_dim, out_dim, rng, use_bias=True, l2=0.0, dtype=np.float32):
        """Glorot-uniform weights, zero bias."""
        return cls(glorot_uniform(in_dim, out_dim, rng, dtype),
                   np.zeros(out_dim, dtype=dtype) if use_bias else None, l2=l2)

    @property
    def input_dim(self):
        return self.params["W"].shape[0]

    @property
    def output_dim(self):
        return self.params["W"].shape[1]

    def forward(self, x, training=False, rng=None, workspace=None, key="dense"):
        """``(x W + b, cache)``; with a `widedeep.workspace.Workspace` the output is its
        buffer ``key + "/out"`` (the same product, written in place of a new array)."""
        if x.ndim != 2 or x.shape[1] != self.input_dim:
            raise ValueError(f"DenseLayer expects input of shape [n, {self.input_dim}], got "
                             f"{x.shape}")
        if workspace is None:
            return self.add_bias(self.product(x)), x
        W = self.params["W"]
        out = workspace.array(key + "/out", (x.shape[0], W.shape[1]),
                              np.result_type(x, W))
        np.matmul(x, W, out=out)
        if workspace.threads is None:   # the caller's thread alone (e.g. predict)
            self.add_bias(out)
        else:   # the bias add is elementwise: split over rows on the workspace's threads
            run_rows(workspace, lambda start, stop: self.add_bias(out[start:stop]),
                     out.shape[0], out.shape[1])
        return out, x

    def product(self, x, columns=None, block_rows=None):
        """``x @ W[columns]``: the layer's product for some of its input columns.

        ``columns``: a slice of input columns (default all), ``x`` then [n, its width]; the
        result is [n, out_dim], the share of those columns in ``x_full W`` (the shares of
        disjoint column ranges add up to the full product, up to float rounding).
        ``block_rows``: multiply blocks of exactly this many rows (the last zero-padded), so
        the bits of a row do not depend on how many rows came with it (OpenBLAS rounds a row
        differently in matrices of different heights). Reads the current weights.
        """
        weights = self.params["W"] if columns is None else self.params["W"][columns]
        n = x.shape[0]
        if block_rows is None or n == block_rows:
            return x @ weights
        out = np.empty((n, weights.shape[1]), dtype=np.result_type(x, weights))
        for start in range(0, n, block_rows):
            rows = x[start:start + block_rows]
            if rows.shape[0] < block_rows:
                padding = np.zeros((block_rows - rows.shape[0], x.shape[1]), dtype=x.dtype)
                out[start:] = (np.concatenate([rows, padding]) @ weights)[:n - start]
            else:
                out[start:start + block_rows] = rows @ weights
        return out

    def add_bias(self, out):
        """``out += b`` in place when the layer has a bias; returns ``out`` ([n, out_dim])."""
        if "b" in self.params:
            out += self.params["b"]
        return out

    def backward(self, grad_out, cache, penalty=True, workspace=None, key="dense",
                 need_input_grad=True):
        """``penalty=False`` leaves out the L2 term (a training step adds it once per step,
        see `penalty_gradients`). With a workspace, ``dW``, ``db`` and ``dx`` are its
        buffers under ``key`` (same products); ``need_input_grad=False`` skips ``dx``
        (None)."""
        x = cache
        W = self.params["W"]
        dtype = np.result_type(x, grad_out)
        grads = {"W": np.matmul(x.T, grad_out,
                                out=empty(workspace, key + "/dW", W.shape, dtype))}
        if self.l2 and penalty:
            grads["W"] += self.l2 * W
        if "b" in self.params:
            grads["b"] = grad_out.sum(axis=0, out=empty(workspace, key + "/db",
                                                        grad_out.shape[1:], dtype))
        if not need_input_grad:
            return None, grads
        return self.input_gradient(grad_out, workspace, key), grads

    def input_gradient(self, grad_out, workspace=None, key="dense"):
        """``dx = grad_out W^T`` [n, in_dim] alone (the first value `backward` returns);
        with a workspace its buffer ``key + "/dx"``."""
        W = self.params["W"]
        dx = empty(workspace, key + "/dx", (grad_out.shape[0], W.shape[0]),
                   np.result_type(grad_out, W))
        if W.shape[1] == 1:
            # k = 1: every entry is one product g_i w_j, exact either way; a broadcast
            # multiply is ~5x cheaper than a GEMM with inner dimension 1
            return np.multiply(grad_out, W[:, 0], out=dx)
        return np.matmul(grad_out, W.T, out=dx)

    def penalty_gradients(self):
        """Gradient of `penalty`: ``{"W": l2 W}`` ({} without L2)."""
        return {"W": self.l2 * self.params["W"]} if self.l2 else {}

    def penalty(self):
        if not self.l2:
            return 0.0
        W = self.params["W"]
        return 0.5 * self.l2 * float(np.sum(W * W))

    def __repr__(self):
        return f"DenseLayer({self.input_dim} -> {self.output_dim}, " \
               f"bias={'b' in self.params}, l2={self.l2})"
