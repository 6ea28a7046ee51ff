"""`Replica`: the Dask actor that holds one copy of the model on one worker.

Each replica reads its own sources (a contiguous block of partitions), keeps the next
local batch prefetched and featurized on a background thread, computes the gradient of
its rows of global batch ``s`` and applies the combined gradient it is sent. The model
state changes only in `apply`, so after a failure a step can be recomputed from any
surviving replica's state.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..estimators.batching import concat_labeled, iter_source_epoch, n_examples
from ..estimators.shard_step import (ShardGradients, apply_step_gradients,
                                     compute_shard_gradients)
from ..io.snapshot import estimator_from_snapshot, estimator_snapshot
from .environment import apply_worker_guards

__all__ = ["Replica"]


class Replica:
    """One model replica (created by `DaskTrainer` with ``actor=True`` on a worker)."""

    def __init__(self, snapshot, guards):
        self.environment = apply_worker_guards(**guards)
        self.estimator = estimator_from_snapshot(snapshot)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="widedeep-prefetch")
        self._iterators = []
        self._next = None

    # ------------------------------------------------------------------ data
    def start(self, sources, epoch, skip=0):
        """Own ``sources`` for pass ``epoch``, skip its first ``skip`` global batches (a
        recomputed step resumes mid-pass), prefetch the next; returns its row count (None:
        the sources are exhausted)."""
        self._iterators = [iter_source_epoch(source, epoch) for source in sources]
        for _ in range(int(skip)):
            self._read_local_batch()
        self._next = self._executor.submit(self._read_local_batch)
        return self.next_rows()

    def _read_local_batch(self):
        pieces = [batch for batch in (next(it, None) for it in self._iterators)
                  if batch is not None]
        return concat_labeled(pieces) if pieces else None

    def next_rows(self):
        batch = self._next.result()
        return None if batch is None else int(np.shape(batch[1])[0])

    # ------------------------------------------------------------------ the step
    def compute(self, offset, n_total):
        """Gradient of this replica's rows ``offset : offset + n`` of a global batch of
        ``n_total`` rows; the next local batch is read meanwhile."""
        start = time.perf_counter()
        batch = self._next.result()
        self._next = self._executor.submit(self._read_local_batch)
        if batch is None or np.shape(batch[1])[0] == 0:
            gradients = ShardGradients(n_rows=0)
        else:
            features, y, sample_weight = batch
            rows = np.arange(offset, offset + n_examples(features))
            gradients = compute_shard_gradients(self.estimator, features, y, sample_weight,
                                                n_total, rows)
        return gradients, (time.perf_counter() - start) * 1e3

    def apply(self, gradients):
        """Apply the combined gradient; returns (rows of the next local batch, ms)."""
        start = time.perf_counter()
        apply_step_gradients(self.estimator, gradients)
        milliseconds = (time.perf_counter() - start) * 1e3
        return self.next_rows(), milliseconds

    # ------------------------------------------------------------------ state
    def snapshot(self):
        return estimator_snapshot(self.estimator)

    def load_snapshot(self, snapshot):
        self.estimator = estimator_from_snapshot(snapshot)
        return True

    def worker_environment(self):
        """What the environment guards did in this worker process."""
        return self.environment
