"""`EmbeddingLayer`: pools the embedding rows of each example's bag of ids.

For example ``i`` with entries ``(id_k, v_k)`` (ids and feature values of its bag):

    sum:    out_i = sum_k v_k E[id_k]
    mean:   out_i = sum_k v_k E[id_k] / sum_k v_k
    sqrtn:  out_i = sum_k v_k E[id_k] / sqrt(sum_k v_k^2)

An empty bag (or a bag whose normalizer is 0) gives the zero vector. Shapes: ``E`` is
[vocab_size, dim], the input a `SparseInput` of ``n`` examples, the output [n, dim].
The gradient w.r.t. ``E`` is row-sparse: ``dE[r] = sum_{k: id_k = r} c_k dout_{i(k)}`` with
``c_k`` the combiner's coefficient of entry k; only the rows present in the batch appear.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..inputs import SparseInput
from .base import Layer, sum_rows_by_id

__all__ = ["EmbeddingLayer", "COMBINERS"]

COMBINERS = ("sum", "mean", "sqrtn")


class EmbeddingLayer(Layer):
    """Pooled embedding lookup of one sparse field.

    Parameters
    ----------
    table : ndarray [vocab_size, dim]
        The embedding table. It is used by reference, so several layers given the same
        array share it (see `EmbeddingCombineLayer`).
    combiner : {"sum", "mean", "sqrtn"}
    field : str, optional
        Field name, used in error messages.
    """

    def __init__(self, table, combiner="sum", field=None):
        super().__init__()
        if combiner not in COMBINERS:
            raise ValueError(f"field {field!r}: combiner must be one of {COMBINERS}, "
                             f"got {combiner!r}")
        table = np.asarray(table)
        if table.ndim != 2:
            raise ValueError(f"field {field!r}: embedding table must be 2-d, got shape "
                             f"{table.shape}")
        self.params = {"table": table}
        self.combiner = combiner
        self.field = field

    @property
    def table(self):
        return self.params["table"]

    @property
    def output_dim(self):
        return self.table.shape[1]

    def check_input(self, x):
        """Raise ``TypeError``/``ValueError`` naming the field if ``x`` cannot be pooled."""
        if not isinstance(x, SparseInput):
            raise TypeError(f"field {self.field!r}: expected a SparseInput, got "
                            f"{type(x).__name__}")
        # everything pooling relies on (ids in range, rows sorted, values finite): a
        # SparseInput built with validate=False is checked here
        x.validate(self.table.shape[0], field=self.field)

    def _coefficients(self, x):
        """Per-entry pooling coefficient ``c_k`` [nnz] for the combiner."""
        values = x.feature_values.astype(self.table.dtype, copy=False)
        if self.combiner == "sum" or x.nnz == 0:
            return values
        if self.combiner == "mean":
            norm = np.bincount(x.example_indices, weights=values, minlength=x.n_examples)
        else:
            norm = np.sqrt(np.bincount(x.example_indices, weights=values * values,
                                       minlength=x.n_examples))
        norm[norm == 0] = 1.0
        return (values / norm[x.example_indices]).astype(self.table.dtype, copy=False)

    def forward(self, x, training=False, rng=None):
        self.check_input(x)
        coef = self._coefficients(x)
        # ids were just checked in range: mode="clip" changes nothing and lets np.take copy
        # the rows straight out (fancy indexing, or mode="raise", costs about twice as much)
        gathered = self.table.take(x.feature_ids, axis=0, mode="clip")
        if x.one_per_example:
            # one id per example (the common single-valued field): no segment sum needed
            out = gathered * coef[:, None]
            pooling = None
        else:
            pooling = sp.csr_matrix((coef, np.arange(x.nnz), x.indptr),
                                    shape=(x.n_examples, x.nnz))
            out = np.asarray(pooling @ gathered, dtype=self.table.dtype)
        return out, (x, coef, pooling)

    def entry_gradients(self, grad_out, cache):
        """Unaggregated gradient: ``(feature_ids [nnz], rows [nnz, dim])`` with row k =
        ``c_k * grad_out[example of k]``. Used to sum several fields' gradients at once."""
        x, coef, pooling = cache
        if pooling is None:
            return x.feature_ids, grad_out * coef[:, None]
        return x.feature_ids, np.asarray(pooling.T @ grad_out, dtype=grad_out.dtype)

    def backward(self, grad_out, cache):
        ids, rows = self.entry_gradients(grad_out, cache)
        return None, {"table": sum_rows_by_id(ids, rows)}

    def __repr__(self):
        v, d = self.table.shape
        return f"EmbeddingLayer(field={self.field!r}, vocab_size={v}, dim={d}, " \
               f"combiner={self.combiner!r})"
