"""Feature dicts in mini-batches: row selection, batch validation, batch streams.

A *feature dict* maps field names to `SparseInput` (sparse fields) or float arrays
``[n, width]`` (dense fields); all fields describe the same ``n`` examples.
"""
from __future__ import annotations

import numpy as np

from ..inputs import SparseInput
from ..losses import BinaryLogistic
from ..readers.batching import concat_batches

_BINARY = BinaryLogistic()

__all__ = ["n_examples", "take_rows", "slice_rows", "check_labels", "check_sample_weight",
           "iter_minibatches", "iter_batch_source", "iter_source_epoch", "concat_labeled",
           "GlobalBatches"]


def n_examples(features):
    """Number of examples of a feature dict; ``ValueError`` if fields disagree."""
    if not isinstance(features, dict):
        raise TypeError(f"features must be a dict of field name -> SparseInput or array, got "
                        f"{type(features).__name__}")
    n, first = None, None
    for name, value in features.items():
        m = value.n_examples if isinstance(value, SparseInput) else np.shape(value)[0]
        if n is None:
            n, first = m, name
        elif m != n:
            raise ValueError(f"field {name!r} has {m} examples but field {first!r} has {n}")
    if n is None:
        raise ValueError("features is an empty dict")
    return n


def take_rows(features, rows):
    """The examples ``rows`` (any order) of every field."""
    return {name: value.take(rows) if isinstance(value, SparseInput) else np.asarray(value)[rows]
            for name, value in features.items()}


def slice_rows(features, start, stop):
    """Examples ``start:stop`` of every field (cheap views)."""
    return {name: value.slice(start, stop) if isinstance(value, SparseInput)
            else np.asarray(value)[start:stop] for name, value in features.items()}


def check_labels(y, n, dtype, loss=None, first_row=0):
    """Labels as a [n] array of ``dtype``, checked by ``loss`` (a `widedeep.losses.Loss`;
    default binary: every label 0 or 1). ``first_row`` numbers the rows in messages (the
    global row of this batch's first example)."""
    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or y_arr.shape[0] != n:
        raise ValueError(f"labels must have shape [{n}], got {y_arr.shape}")
    (loss or _BINARY).check_labels(y_arr, first_row)
    out = y_arr.astype(dtype, copy=False)
    if out is not y_arr and out.dtype.kind == "f":
        with np.errstate(over="ignore"):
            overflow = ~np.isfinite(out)
        if overflow.any():
            bad = int(np.flatnonzero(overflow)[0])
            raise ValueError(f"labels: row {first_row + bad} has {y_arr[bad].item()!r}, which "
                             f"overflows {np.dtype(dtype).name}")
    return out


def check_sample_weight(sample_weight, n, dtype, first_row=0):
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=dtype)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"sample_weight must have shape [{n}], got {w.shape}")
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        raise ValueError(f"sample_weight must be finite and >= 0; row "
                         f"{first_row + int(bad[0])} has "
                         f"{w[bad[0]]}")
    return w


def iter_minibatches(features, y, sample_weight, batch_size, rng=None, rows=None,
                     first_batch=0):
    """Yield ``(features, y, sample_weight)`` mini-batches of an in-memory dataset, in a
    random order drawn from ``rng`` (or in order when ``rng`` is None). ``rows``: only these
    examples (sorted int array, e.g. the training part of a hold-out split; nothing is
    copied beyond each batch). ``first_batch``: start with that batch of the sequence (the
    order is drawn as for the whole sequence), e.g. to resume an epoch."""
    skip = first_batch * batch_size
    if rows is not None:
        order = rows if rng is None else rows[rng.permutation(rows.shape[0])]
        for start in range(skip, order.shape[0], batch_size):
            batch = order[start:start + batch_size]
            yield (take_rows(features, batch), y[batch],
                   None if sample_weight is None else sample_weight[batch])
        return
    n = n_examples(features)
    if rng is None:
        for start in range(skip, n, batch_size):
            stop = min(start + batch_size, n)
            yield (slice_rows(features, start, stop), y[start:stop],
                   None if sample_weight is None else sample_weight[start:stop])
        return
    order = rng.permutation(n)
    for start in range(skip, n, batch_size):
        rows = order[start:start + batch_size]
        yield (take_rows(features, rows), y[rows],
               None if sample_weight is None else sample_weight[rows])


def iter_batch_source(source):
    """Normalize a batch source to an iterator of ``(features, y, sample_weight)``.

    ``source`` is an iterable of ``(features, y)`` or ``(features, y, sample_weight)``
    tuples, or a callable returning one (called once per epoch).
    """
    iterable = source() if callable(source) else source
    for k, batch in enumerate(iterable):
        if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
            raise TypeError(f"batch {k}: expected (features, labels[, sample_weight]), got "
                            f"{type(batch).__name__}")
        yield batch[0], batch[1], batch[2] if len(batch) == 3 else None


def iter_source_epoch(source, epoch):
    """Batches of pass ``epoch`` of one batch source: ``source.iter_epoch(epoch)`` when it
    has one (the readers replay that pass's shuffle), else as `iter_batch_source`."""
    if hasattr(source, "iter_epoch"):
        return iter_batch_source(lambda: source.iter_epoch(epoch))
    return iter_batch_source(source)


def concat_labeled(batches):
    """One ``(features, y, sample_weight)`` holding the rows of ``batches`` in order; the
    weights are None if no batch has any, else missing ones count as 1."""
    batches = list(batches)
    features = concat_batches([b[0] for b in batches])
    y = np.concatenate([np.asarray(b[1]) for b in batches])
    if all(b[2] is None for b in batches):
        return features, y, None
    weights = np.concatenate([np.ones(np.shape(b[1])[0]) if b[2] is None
                              else np.asarray(b[2], dtype=np.float64) for b in batches])
    return features, y, weights


class GlobalBatches:
    """The global batches of several batch sources trained as one: **global batch s of a
    pass is the s-th batch of every source that still has one, concatenated in source
    order**; the pass ends when every source is exhausted (short sources simply stop
    contributing). Re-iterable: the k-th ``iter()`` is pass ``first_epoch + k`` (each source
    read with `iter_source_epoch`), so ``estimator.fit(GlobalBatches(sources), epochs=E)``
    is the one-process run that `widedeep.dask.DaskTrainer` reproduces on a cluster.

    >>> a = [({"x": np.zeros((2, 1))}, np.array([0, 1]))]
    >>> b = [({"x": np.ones((1, 1))}, np.array([1])), ({"x": np.ones((3, 1))}, np.zeros(3))]
    >>> [y.tolist() for _, y, _ in GlobalBatches([a, b])]
    [[0, 1, 1], [0.0, 0.0, 0.0]]
    """

    def __init__(self, sources, first_epoch=0):
        self.sources = list(sources)
        if not self.sources:
            raise ValueError("GlobalBatches needs at least one batch source")
        self._next_epoch = int(first_epoch)

    def __iter__(self):
        epoch = self._next_epoch
        self._next_epoch += 1
        return self.iter_epoch(epoch)

    def iter_epoch(self, epoch):
        iterators = [iter_source_epoch(source, epoch) for source in self.sources]
        while True:
            pieces = [batch for batch in (next(it, None) for it in iterators)
                      if batch is not None]
            if not pieces:
                return
            yield concat_labeled(pieces)
