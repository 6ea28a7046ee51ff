"""Column-batch plumbing shared by every reader: length, slicing, row selection,
concatenation, and re-cutting a stream of batches into batches of an exact size.

A column may be a NumPy array (1-d, or 2-d dense with rows first), a `Ragged` column or a
`SparseInput`; all columns of one batch have the same number of rows (see
`widedeep.records`).
"""
from __future__ import annotations

import numpy as np

from ..inputs import SparseInput
from ..records import Ragged, n_rows

__all__ = ["column_length", "batch_length", "slice_batch", "take_batch", "concat_batches",
           "rebatch"]


def column_length(column):
    """Number of rows of one column."""
    if isinstance(column, SparseInput):
        return column.n_examples
    return len(column)


# the number of rows of a column batch (one implementation, in the records module)
batch_length = n_rows


def _slice_column(column, start, stop):
    if isinstance(column, SparseInput):
        return column.slice(start, stop)
    if isinstance(column, Ragged):
        offsets = column.offsets
        a, b = int(offsets[start]), int(offsets[stop])
        return Ragged(column.values[a:b], column.lengths[start:stop],
                      None if column.weights is None else column.weights[a:b])
    return column[start:stop]


def slice_batch(batch, start, stop):
    """Rows ``start:stop`` of every column (cheap views where possible)."""
    n = batch_length(batch)
    start, stop, _ = slice(start, stop).indices(n)
    stop = max(start, stop)
    return {name: _slice_column(column, start, stop) for name, column in batch.items()}


def take_batch(batch, rows):
    """Rows ``rows`` (int array, any order) of every column."""
    rows = np.asarray(rows, dtype=np.int64)
    return {name: column.take(rows) if isinstance(column, (Ragged, SparseInput))
            else np.asarray(column)[rows] for name, column in batch.items()}


def _concat_column(name, columns):
    first = columns[0]
    if isinstance(first, Ragged):
        if not all(isinstance(c, Ragged) for c in columns):
            raise TypeError(f"column {name!r}: cannot concatenate Ragged with other columns")
        has_weights = [c.weights is not None for c in columns]
        if any(has_weights) and not all(has_weights):
            raise ValueError(f"column {name!r}: some batches have weights and some do not")
        values = [c.values for c in columns]
        # an empty object-typed piece must not turn a string column into objects
        non_empty = [v for v in values if v.shape[0]] or values[:1]
        return Ragged(np.concatenate(non_empty),
                      np.concatenate([c.lengths for c in columns]),
                      np.concatenate([c.weights for c in columns]) if all(has_weights)
                      else None)
    if isinstance(first, SparseInput):
        if not all(isinstance(c, SparseInput) for c in columns):
            raise TypeError(f"column {name!r}: cannot concatenate SparseInput with other "
                            f"columns")
        starts = np.cumsum([0] + [c.n_examples for c in columns])
        return SparseInput(np.concatenate([c.example_indices + s
                                           for c, s in zip(columns, starts)]),
                           np.concatenate([c.feature_ids for c in columns]),
                           np.concatenate([c.feature_values for c in columns]),
                           n_examples=int(starts[-1]), field=first.field,
                           dtype=first.feature_values.dtype, validate=False)
    return np.concatenate([np.asarray(c) for c in columns])


def concat_batches(batches):
    """One batch holding the rows of ``batches`` in order (all with the same columns)."""
    batches = list(batches)
    if not batches:
        return {}
    names = list(batches[0])
    for i, batch in enumerate(batches[1:], start=1):
        if list(batch) != names:
            raise ValueError(f"batch {i} has columns {list(batch)} but batch 0 has {names}")
    if len(batches) == 1:
        return dict(batches[0])
    return {name: _concat_column(name, [b[name] for b in batches]) for name in names}


def rebatch(batches, batch_size, drop_last=False):
    """Re-cut a stream of column batches of any sizes into batches of exactly
    ``batch_size`` rows (the last one may be smaller unless ``drop_last``).

    Rows are copied only where a batch straddles two incoming batches: the short leftover
    of the previous batch is joined with just enough leading rows of the next one; every
    other output batch is a slice (a view) of an incoming batch. Batches that already have
    the right size and arrive on a boundary pass through untouched.
    """
    pending, n_pending = [], 0
    for batch in batches:
        n = batch_length(batch)
        if n == 0:
            continue
        start = 0
        if n_pending:
            take = min(batch_size - n_pending, n)
            pending.append(slice_batch(batch, 0, take) if take < n else batch)
            n_pending += take
            start = take
            if n_pending < batch_size:
                continue
            yield concat_batches(pending)
            pending, n_pending = [], 0
        if start == 0 and n == batch_size:
            yield batch
            continue
        while n - start >= batch_size:
            yield slice_batch(batch, start, start + batch_size)
            start += batch_size
        if start < n:
            pending, n_pending = [slice_batch(batch, start, n)], n - start
    if n_pending and not drop_last:
        yield concat_batches(pending)
