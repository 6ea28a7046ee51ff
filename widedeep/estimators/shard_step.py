"""One training step of an estimator split over row shards of a global batch:
*compute* on each shard, *combine* the shards' gradients, *apply* the sum everywhere.

A global batch of ``n`` rows is cut into shards (any sizes, empty ones included). For
the batch-mean loss ``L = (1/n) sum_i s_i l(f_i, y_i)`` the gradient is a sum over rows,
so each shard computes the gradient of its own rows with the **global** ``n``
(`compute_shard_gradients`): wide coordinate gradients and row-sparse embedding
gradients as (sorted unique ids, values), dense-layer gradients as arrays, all without
regularizers. `combine_shard_gradients` sums them exactly: sparse parts by id in float64
with the shards' contributions added in the order given (rank order), dense parts
elementwise in float64. `apply_step_gradients` adds the regularizers once (dense L2, the
lazy embedding L2 of every row the global batch used; FTRL's L1/L2 live in its update),
then takes the FTRL and AdaGrad steps; every replica given the same sum makes the same
update. Dropout masks are drawn for the whole global batch from a copy of the replica's
dropout generator (`~widedeep.layers.dropout.GlobalBatchRows`), and the generator moves
on only when the step is applied, so a step can be recomputed after a failure.

The result equals one process training on the whole global batch, up to the rounding of
the shard sums (about 1e-16 relative in float64).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from ..layers.base import RowSparseGrad
from ..layers.dropout import GlobalBatchRows
from ..layers.wide import check_finite_gradient
from ..losses import sigmoid
from ..metrics import logloss
from ..segments import sum_duplicates

__all__ = ["ShardGradients", "compute_shard_gradients", "combine_shard_gradients",
           "apply_step_gradients"]


@dataclass
class ShardGradients:
    """The gradient of some rows of a global batch (or, after combining, of all of them).

    ``wide``: ``{field: (ids int64 [k] sorted unique, values float64 [k])}`` plus the bias
    gradient ``wide_bias``; ``deep``: ``{"layer<i>/W" | "layer<i>/b": ndarray,
    "embedding_group/<g>": RowSparseGrad}`` as `DeepNetwork.backward` names them (float64
    after combining); ``loss_sum`` / ``weight_sum``: the weighted log-loss summed over the
    rows and the rows' total weight; ``dropout_state``: the dropout generator's state after
    this step's draws (the same on every shard; None for a shard without rows, which
    draws nothing).
    """

    n_rows: int
    wide: dict = field(default_factory=dict)
    wide_bias: float = 0.0
    deep: dict = field(default_factory=dict)
    loss_sum: float = 0.0
    weight_sum: float = 0.0
    dropout_state: dict = None

    def nbytes(self):
        """Bytes of the arrays this gradient carries (what a shard sends)."""
        total = sum(ids.nbytes + values.nbytes for ids, values in self.wide.values())
        for value in self.deep.values():
            total += (value.rows.nbytes + value.values.nbytes
                      if isinstance(value, RowSparseGrad) else value.nbytes)
        return int(total)


def compute_shard_gradients(estimator, features, y, sample_weight, n_total, rows):
    """Gradient of the rows ``rows`` (int array, positions in the global batch of
    ``n_total`` rows) whose data are ``features``, ``y``, ``sample_weight`` (None: 1).
    Validates the shard first (labels, weights, field ids; ``ValueError`` naming the field
    or row) and writes nothing into the estimator."""
    estimator.check_is_fitted()
    if estimator.get_params().get("wide_mode", "batch") != "batch":
        raise ValueError("row-shard steps need wide_mode='batch' (online FTRL steps example "
                         "by example and cannot be split across shards)")
    y, sample_weight = estimator._check_batch(features, y, sample_weight)
    dtype = estimator._dtype
    n_rows = int(y.shape[0])
    wide = getattr(estimator, "wide_", None)
    deep = getattr(estimator, "deep_", None)
    logits = np.zeros(n_rows, dtype=np.float64)
    rng = copy.deepcopy(estimator._dropout_rng)
    if deep is not None:
        deep_logits, deep_cache = deep.forward(features, training=True,
                                               rng=GlobalBatchRows(rng, n_total, rows))
        logits += deep_logits
    if wide is not None:
        wide_logits, wide_cache = wide.forward(features)
        logits += wide_logits
    p = sigmoid(logits.astype(dtype))
    g = p - y
    if sample_weight is not None:
        g = g * sample_weight
    g = (g / dtype.type(max(int(n_total), 1))).astype(dtype, copy=False)
    check_finite_gradient(g)
    out = ShardGradients(n_rows=n_rows, dropout_state=rng.bit_generator.state)
    if wide is not None:
        for name, (ids, values) in wide.entry_gradients(g, wide_cache).items():
            out.wide[name] = sum_duplicates(np.asarray(ids, np.int64),
                                            values.astype(np.float64))
        out.wide_bias = float(g.sum(dtype=np.float64))
    if deep is not None and n_rows:
        out.deep = deep.backward(g, deep_cache, grouped_embeddings=True, regularize=False)
    weight = float(n_rows if sample_weight is None else sample_weight.sum(dtype=np.float64))
    if n_rows and weight > 0:
        out.loss_sum = logloss(y, p, sample_weight) * weight
    out.weight_sum = weight
    return out


def combine_shard_gradients(shards):
    """Sum of shard gradients (a `ShardGradients`), in float64, shards in the given order."""
    shards = list(shards)
    if not shards:
        raise ValueError("combine_shard_gradients needs at least one shard")
    out = ShardGradients(n_rows=sum(s.n_rows for s in shards),
                         wide_bias=float(np.sum([s.wide_bias for s in shards])),
                         loss_sum=float(np.sum([s.loss_sum for s in shards])),
                         weight_sum=float(np.sum([s.weight_sum for s in shards])),
                         dropout_state=next((s.dropout_state for s in shards
                                             if s.dropout_state is not None), None))
    for name in dict.fromkeys(k for s in shards for k in s.wide):
        parts = [s.wide[name] for s in shards if name in s.wide]
        out.wide[name] = _sum_by_id([p[0] for p in parts], [p[1] for p in parts])
    for name in dict.fromkeys(k for s in shards for k in s.deep):
        parts = [s.deep[name] for s in shards if name in s.deep]
        if isinstance(parts[0], RowSparseGrad):
            out.deep[name] = RowSparseGrad(*_sum_by_id([p.rows for p in parts],
                                                       [p.values for p in parts]))
        else:
            total = np.array(parts[0], dtype=np.float64)
            for part in parts[1:]:
                total += part
            out.deep[name] = total
    return out


def _sum_by_id(ids, values):
    """Rows of ``values`` summed by id in float64; equal ids are added in list order
    (a stable sort keeps the shards' order)."""
    ids = np.concatenate(ids)
    values = np.concatenate([np.asarray(v, dtype=np.float64) for v in values])
    if ids.shape[0] == 0:
        return ids.astype(np.int64), values
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    return sorted_ids[starts], np.add.reduceat(values[order], starts, axis=0)


def apply_step_gradients(estimator, gradients):
    """Regularizers once, then the FTRL (wide) and AdaGrad (deep) steps, in place; moves
    the dropout generator to the state after the step's draws and counts the step."""
    dtype = estimator._dtype
    wide = getattr(estimator, "wide_", None)
    deep = getattr(estimator, "deep_", None)
    if wide is not None:
        wide.apply_gradients({name: (ids, values.astype(dtype))
                              for name, (ids, values) in gradients.wide.items()},
                             dtype.type(gradients.wide_bias))
    if deep is not None and gradients.deep:
        grads = {name: RowSparseGrad(value.rows, value.values.astype(dtype))
                 if isinstance(value, RowSparseGrad) else value.astype(dtype)
                 for name, value in gradients.deep.items()}
        estimator._update_deep(deep.add_penalty_gradients(grads))
    if gradients.dropout_state is not None:
        estimator._dropout_rng.bit_generator.state = copy.deepcopy(gradients.dropout_state)
    estimator.steps_trained_ += 1
    return estimator
