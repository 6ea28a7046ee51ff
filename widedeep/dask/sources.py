"""What `DaskTrainer.fit` accepts, as a list of batch sources (one per partition) that
workers read themselves.

- a list of batch sources (anything `widedeep.estimators.batching.iter_source_epoch`
  reads: lists of ``(features, y[, sample_weight])``, readers, callables);
- a list of file paths with a ``reader_factory(path)``; with a ``spec`` and ``label`` the
  reader's column batches are featurized on the worker (``spec.batches``,
  `widedeep.features.batches.SpecBatches`);
- a dask DataFrame with a fitted ``spec`` and ``label=``: partition ``p`` is computed on
  the worker that owns it (``scheduler="sync"``: no task goes back to the scheduler) and
  cut into batches of ``rows_per_partition`` rows, shuffled per pass with
  ``default_rng([seed, 1, epoch, p])`` when the estimator shuffles.

`global_batches(sources)` is the one-process view of the same data.
"""
from __future__ import annotations

import os

import numpy as np

from ..estimators.batching import GlobalBatches
from ..readers.in_memory import columns_from_dataframe, iter_batches

__all__ = ["partition_sources", "PartitionColumns", "ReaderSource", "global_batches",
           "assign_sources"]


class PartitionColumns:
    """Column batches of one dask DataFrame partition (re-iterable, one pass per epoch)."""

    def __init__(self, partition, index, rows_per_batch, shuffle, seed):
        self.partition = partition          # a dask Delayed producing a pandas DataFrame
        self.index = int(index)
        self.rows_per_batch = int(rows_per_batch)
        self.shuffle = bool(shuffle)
        self.seed = seed

    def iter_epoch(self, epoch):
        frame = self.partition.compute(scheduler="sync")
        rng = np.random.default_rng([self.seed, 1, int(epoch), self.index]) \
            if self.shuffle else None
        return iter_batches(columns_from_dataframe(frame), self.rows_per_batch,
                            shuffle=self.shuffle, random_state=rng)

    def __iter__(self):
        return self.iter_epoch(0)


class ReaderSource:
    """``reader_factory(path)``, opened on the worker; pass ``epoch`` is the reader's
    ``iter_epoch(epoch)`` when it has one."""

    def __init__(self, reader_factory, path):
        self.reader_factory = reader_factory
        self.path = os.fspath(path)

    def iter_epoch(self, epoch):
        reader = self.reader_factory(self.path)
        return reader.iter_epoch(epoch) if hasattr(reader, "iter_epoch") else iter(reader)

    def __iter__(self):
        return self.iter_epoch(0)


def _is_dask_dataframe(data):
    return type(data).__module__.split(".")[0] == "dask" and hasattr(data, "npartitions")


def partition_sources(data, *, batch_size=256, shuffle=False, seed=0, spec=None, label=None,
                      sample_weight=None, reader_factory=None, rows_per_partition=None):
    """The list of per-partition batch sources for `DaskTrainer.fit`'s ``data``.

    For a dask DataFrame, each partition contributes ``rows_per_partition`` rows (default
    ``ceil(batch_size / npartitions)``) to each global batch, in a per-pass permutation
    drawn from ``default_rng([seed, 1, epoch, p])`` when ``shuffle``. `DaskTrainer` passes
    the estimator's ``batch_size``, ``shuffle`` and ``seed_``; pass the same values to get
    the same sources in one process (``global_batches(partition_sources(...))``)."""
    if _is_dask_dataframe(data):
        if spec is None or label is None:
            raise ValueError("a dask DataFrame needs spec= (a FeatureSpec) and label= (the "
                             "label column)")
        if not spec.fitted:
            raise ValueError("the FeatureSpec is not fitted: fit it first, e.g. with "
                             "widedeep.dask.fit_spec(spec, ddf)")
        n_parts = data.npartitions
        rows = rows_per_partition or max(1, -(-int(batch_size) // n_parts))
        parts = data.to_delayed()
        return [spec.batches(PartitionColumns(part, p, rows, shuffle, seed), label=label,
                             weight=sample_weight)
                for p, part in enumerate(parts)]
    if isinstance(data, (str, os.PathLike)):
        raise TypeError("give a list of file paths, not a single path")
    data = list(data)
    if not data:
        raise ValueError("DaskTrainer.fit: data is empty")
    if reader_factory is not None:
        if not all(isinstance(p, (str, os.PathLike)) for p in data):
            raise TypeError("with reader_factory, data must be a list of file paths")
        sources = [ReaderSource(reader_factory, path) for path in data]
        if spec is not None:
            if label is None:
                raise ValueError("featurizing files with spec= needs label=")
            sources = [spec.batches(s, label=label, weight=sample_weight) for s in sources]
        return sources
    if spec is not None or label is not None:
        raise ValueError("spec= and label= apply to a dask DataFrame or to files read with "
                         "reader_factory=; batch sources are already featurized")
    return data


def assign_sources(n_sources, n_workers):
    """Contiguous blocks: rank ``r`` owns sources ``[r P // W, (r + 1) P // W)``, so its
    rows of every global batch are one contiguous range."""
    return [range(r * n_sources // n_workers, (r + 1) * n_sources // n_workers)
            for r in range(n_workers)]


def global_batches(sources, first_epoch=0):
    """The global batch sequence of ``sources`` in one process (see `GlobalBatches`)."""
    return GlobalBatches(sources, first_epoch)
