"""Row-sharded state: which worker owns which rows, and the row-level moves sharding needs.

The **sparse state** of a model (`sparse_state`) is the wide layer's contiguous
coordinate arrays (``"wide"``: ``w``, FTRL ``z`` and ``n``) and each trainable embedding
block's table with its per-row optimizer state (``"block<i>"``: ``table``, e.g.
``accumulator``). With W shards, shard ``r`` **owns** the coordinates and rows whose id
satisfies ``id % W == r``; it alone keeps their values current and applies their updates.
Everything else (dense layers, their optimizer state, the wide bias, batch-norm
statistics) is replicated.

A step of `widedeep.dask.DaskTrainer(shard_state=True)` in these terms: each worker asks
the owners for the ids its next batch reads (`batch_ids`), they answer with the values
the forward pass reads (`read_key`: ``w`` of wide coordinates, embedding rows); each
worker sends every owner the part of its gradient that owner owns (`restrict_gradient`).
A worker starts with its owned rows (`owned_rows`) and the final model is put together
from every owner's rows (`write_owned_rows`).
"""
from __future__ import annotations

from ..layers.base import RowSparseGrad
from .gradients import StepGradient

__all__ = ["sparse_state", "batch_ids", "restrict_gradient",
           "owned_rows", "write_owned_rows", "owner_mask", "read_key"]


def sparse_state(step):
    """``{name: {key: array}}`` of a `TrainingStep`'s row-indexed state (the model's own
    arrays): ``"wide"`` -> ``{"w", "z", "n"}``, ``"block<i>"`` -> ``{"table", <optimizer
    state keys>}`` for each trainable embedding block ``i``."""
    arrays = {}
    if step.wide is not None:
        weights, state = step.wide.coordinate_state()
        arrays["wide"] = {"w": weights, **state}
    if step.deep is not None:
        for index, (group, state) in enumerate(zip(step.deep.embeddings.groups,
                                                   step.block_states)):
            if group.trainable:
                arrays[f"block{index}"] = {"table": group.table, **state}
    return arrays


def owner_mask(ids, rank, n_shards):
    """True where shard ``rank`` of ``n_shards`` owns id (``id % n_shards == rank``)."""
    return ids % n_shards == rank


def batch_ids(step, features):
    """``{name: distinct ascending ids}`` of the sparse state ``features`` read (wide
    coordinates, rows of each trainable block)."""
    ids = {}
    if step.wide is not None:
        ids["wide"] = step.wide.coordinates_of(features)
    if step.deep is not None:
        rows = step.deep.embeddings.block_rows_of(features)
        for index, group in enumerate(step.deep.embeddings.groups):
            if group.trainable and rows[index] is not None:
                ids[f"block{index}"] = rows[index]
    return ids


# the values a forward pass reads: the wide weights, the embedding rows
_READ = {"wide": "w"}


def read_key(name):
    """The array of sparse state ``name`` a forward pass reads (``w`` or ``table``)."""
    return _READ.get(name, "table")


def restrict_gradient(gradient, rank, n_shards):
    """The part of ``gradient`` that shard ``rank`` applies: its wide coordinates and
    embedding rows; the bias, dense parts and statistics whole (replicated)."""
    wide = gradient.wide
    if wide is not None:
        keep = owner_mask(wide[0], rank, n_shards)
        wide = (wide[0][keep], wide[1][keep], wide[2])
    blocks = []
    for grad in gradient.embeddings:
        if grad is None:
            blocks.append(None)
            continue
        keep = owner_mask(grad.rows, rank, n_shards)
        blocks.append(RowSparseGrad(grad.rows[keep], grad.values[keep]) if keep.any()
                      else None)
    return StepGradient(n_examples=gradient.n_examples, loss=gradient.loss,
                        predictions=gradient.predictions, wide=wide, embeddings=blocks,
                        dense=gradient.dense, regularized=gradient.regularized,
                        statistics=gradient.statistics)


def owned_rows(step, rank, n_shards):
    """``{name: {key: array[rank::n_shards]}}``: every sparse array's rows owned by shard
    ``rank`` (copies)."""
    return {name: {key: array[rank::n_shards].copy() for key, array in arrays.items()}
            for name, arrays in sparse_state(step).items()}


def write_owned_rows(step, rank, n_shards, rows):
    """Write shard ``rank``'s rows (from `owned_rows`) into this model's arrays."""
    for name, arrays in sparse_state(step).items():
        for key, array in arrays.items():
            array[rank::n_shards] = rows[name][key]
