"""`StepGradient`: the gradient of one batch (or of one shard of a batch), and its sum.

A gradient object holds the **data term** of the batch-mean loss's gradient, already
divided by the whole batch's ``n`` (so the shards' objects add up to the batch's):

- ``wide``: ``(coords, values, bias)``: distinct ascending coordinates of the wide layer's
  contiguous weight array, their float64 gradient sums ``[k]`` (``[k, K]`` multiclass) and
  the bias gradient ``[1]`` (``[K]``); None without a wide part;
- ``embeddings``: one `RowSparseGrad` (or None) per embedding storage block of the deep
  network (``network.embeddings.groups``), rows distinct and ascending;
- ``dense``: ``{"layer<i>/<name>": ndarray}`` keyed like ``network.dense_params()``;
- ``loss``: this part's share ``(1/n) sum_i s_i l_i`` of the batch loss; ``predictions``:
  the link's output for its rows ([rows] or [rows, K]); ``n_examples``: its rows;
- ``statistics``: ``{layer index: (rows, mean, biased variance)}`` of the deep network's
  batch-norm layers over its rows (float64), for the running statistics; {} without.

Regularizers (dense L2, lazy embedding L2) are not in it: `TrainingStep.combine` adds them
once to the sum (``regularized`` is then True), so each shard does not add its own.

`sum_gradients` is exact up to float64 rounding: sparse parts are concatenated and summed by
id in float64, dense parts elementwise in float64, predictions concatenated in the order the
parts are given.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..layers.base import RowSparseGrad
from ..segments import sum_duplicates

__all__ = ["StepGradient", "sum_gradients", "pool_statistics", "gradient_nbytes"]


@dataclass
class StepGradient:
    n_examples: int
    loss: float
    predictions: np.ndarray
    wide: tuple | None = None
    embeddings: list = field(default_factory=list)
    dense: dict = field(default_factory=dict)
    regularized: bool = False
    statistics: dict = field(default_factory=dict)


def _sum_sparse(parts, dtype):
    """Sum ``(ids, values)`` pairs by id in float64; ``(ids, values as dtype)`` or None."""
    parts = [p for p in parts if p is not None and p[0].shape[0]]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0][0], parts[0][1].astype(dtype, copy=False)
    ids = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1].astype(np.float64, copy=False) for p in parts])
    ids, values = sum_duplicates(ids, values)
    return ids, values.astype(dtype, copy=False)


def sum_gradients(gradients):
    """The exact sum of gradient objects of disjoint parts of one batch (unregularized).
    Every part must come from the same model (same wide layer, blocks and dense keys)."""
    gradients = list(gradients)
    if not gradients:
        raise ValueError("sum_gradients needs at least one gradient")
    if any(g.regularized for g in gradients):
        raise ValueError("sum_gradients: a part is already regularized (combined); sum the "
                         "parts that `compute` returned")
    if len(gradients) == 1:
        return gradients[0]
    first = gradients[0]
    wide = None
    if first.wide is not None:
        summed = _sum_sparse([g.wide[:2] for g in gradients], np.float64)
        coords, values = summed if summed is not None else (first.wide[0], first.wide[1])
        bias = np.sum([g.wide[2] for g in gradients], axis=0, dtype=np.float64)
        wide = (coords, values, bias)
    embeddings = []
    for block in range(len(first.embeddings)):
        parts = [g.embeddings[block] for g in gradients]
        present = [p for p in parts if p is not None]
        summed = _sum_sparse([(p.rows, p.values) for p in present],
                             present[0].values.dtype) if present else None
        embeddings.append(None if summed is None else RowSparseGrad(*summed))
    dense = {}
    for name, value in first.dense.items():
        total = np.sum([g.dense[name] for g in gradients], axis=0, dtype=np.float64)
        dense[name] = total.astype(value.dtype, copy=False)
    predictions = np.concatenate([g.predictions for g in gradients])
    return StepGradient(n_examples=sum(g.n_examples for g in gradients),
                        loss=float(sum(g.loss for g in gradients)), predictions=predictions,
                        wide=wide, embeddings=embeddings, dense=dense,
                        statistics=pool_statistics([g.statistics for g in gradients]))


def pool_statistics(parts):
    """Batch-norm statistics of disjoint row sets pooled into those of their union:
    ``mean = sum n_i mean_i / N``, ``var = sum n_i (var_i + (mean_i - mean)^2) / N``."""
    pooled = {}
    for layer in parts[0]:
        present = [p[layer] for p in parts if layer in p and p[layer][0] > 0]
        if not present:
            continue
        n = np.array([p[0] for p in present], dtype=np.float64)
        means = np.stack([p[1] for p in present])
        variances = np.stack([p[2] for p in present])
        total = n.sum()
        mean = (n[:, None] * means).sum(axis=0) / total
        var = (n[:, None] * (variances + (means - mean) ** 2)).sum(axis=0) / total
        pooled[layer] = (int(total), mean, var)
    return pooled


def gradient_nbytes(gradient):
    """Bytes of the arrays a `StepGradient` carries (what crosses the network)."""
    total = 0
    if gradient.wide is not None:
        total += sum(np.asarray(part).nbytes for part in gradient.wide)
    for block in gradient.embeddings:
        if block is not None:
            total += block.rows.nbytes + block.values.nbytes
    total += sum(value.nbytes for value in gradient.dense.values())
    return int(total)
