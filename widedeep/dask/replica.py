"""`Replica`: the Dask actor that holds one copy of the model on one worker.

Each replica reads its own sources (a contiguous block of partitions), keeps the next
local batch prefetched and featurized on a background thread, and runs the estimator's own
training step (``estimator.step_``, `widedeep.training.TrainingStep`) in its phases:
``compute`` on its rows of global batch ``s`` with the global ``n`` and its rows of the
dropout masks drawn for the whole global batch (`DeepNetwork.draw_dropout_masks`, from a
copy of the model's dropout generator), and, once the driver has summed the replicas'
gradients, ``combine`` (regularizers once) and ``apply``. The model (and its dropout
generator) changes only in `apply`, so after a failure a step can be recomputed from any
surviving replica's state.

In delta_sum mode it takes local steps (`local_steps`) and replaces them by the merged
changes (`merge`); a round abandoned after a lost worker is rolled back
(`snapshot_at_last_merge`), so the lost ranks restart from the last merged state. With
sharded state the actor is `widedeep.dask.shard_replica.ShardReplica`, which holds only
its rows.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..estimators.batching import concat_labeled, iter_source_epoch
from ..io.snapshot import estimator_from_snapshot, estimator_snapshot
from ..streaming_metrics import StreamingBinaryMetrics
from ..training.deltas import DeltaTracker
from .environment import apply_worker_guards

__all__ = ["Replica", "evaluate_sources"]


class Replica:
    """One model replica (created by `DaskTrainer` with ``actor=True`` on a worker)."""

    def __init__(self, snapshot, guards):
        self.environment = apply_worker_guards(**guards)
        self.estimator = estimator_from_snapshot(snapshot)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="widedeep-prefetch")
        self._pass = None
        self._next = None
        self._tracker = None   # delta_sum with W > 1 only

    # ------------------------------------------------------------------ data
    def start(self, sources, epoch, skip=0, first_index=0):
        """Own ``sources`` (partitions ``first_index, first_index + 1, ...``) for pass
        ``epoch``, skip its first ``skip`` global batches (a recomputed step resumes
        mid-pass), prefetch the next; returns its row count (None: sources exhausted)."""
        if self._next is not None:   # a prefetch of the previous pass must not interleave
            self._next.exception()
        self._pass = _LocalPass(sources, epoch, first_index, self._check_batch)
        for _ in range(int(skip)):
            self._pass.next_batch(check=False)
        self._prefetch()
        return self.next_rows()

    def _check_batch(self, features, y, sample_weight):
        """What the prefetch thread checks each partition's batch with."""
        return self.estimator.check_batch(features, y, sample_weight)

    def _prefetch(self):
        self._next = self._executor.submit(self._pass.next_batch)

    def next_rows(self):
        batch = self._next.result()
        return None if batch is None else int(np.shape(batch[1])[0])

    # ------------------------------------------------------------------ the step
    def compute(self, offset, n_total):
        """Gradient of this replica's rows ``offset : offset + n`` of a global batch of
        ``n_total`` rows, and the dropout generator's state after the global batch's draws;
        the next local batch is read meanwhile. Returns (gradient, dropout state, sum of
        the rows' weights, ms)."""
        start = time.perf_counter()
        batch = self._next.result()
        self._prefetch()
        gradient, dropout_state, weight = self._gradient(batch, offset, n_total)
        return gradient, dropout_state, weight, (time.perf_counter() - start) * 1e3

    def _gradient(self, batch, offset, n_total):
        """(gradient of ``batch`` = rows ``offset : offset + n`` of a global batch of
        ``n_total`` rows, the dropout generator's state after the global batch's draws,
        the sum of the rows' weights)."""
        estimator, step = self.estimator, self.estimator.step_
        rng = np.random.default_rng()
        rng.bit_generator.state = estimator.get_training_state()["dropout_rng"]
        masks = [] if step.deep is None else step.deep.draw_dropout_masks(n_total, rng)
        if batch is None:
            features, y, sample_weight = None, np.zeros(0), None
        else:
            features, y, sample_weight = batch
        rows = slice(offset, offset + np.shape(y)[0])
        gradient = step.compute(features, y, sample_weight, n_total=n_total,
                                dropout_masks=[mask[rows] for mask in masks])
        gradient.predictions = gradient.predictions[:0]   # the driver needs only the loss
        weight = float(np.shape(y)[0] if sample_weight is None else np.sum(sample_weight))
        return gradient, rng.bit_generator.state, weight

    def apply(self, summed, dropout_state):
        """Regularizers once (``step_.combine``), the step (``step_.apply``), the dropout
        generator moved past the step's draws; returns (rows of the next local batch, ms)."""
        start = time.perf_counter()
        self._apply(summed, dropout_state)
        milliseconds = (time.perf_counter() - start) * 1e3
        return self.next_rows(), milliseconds

    def _apply(self, summed, dropout_state):
        estimator = self.estimator
        estimator.step_.apply(estimator.step_.combine([summed]))
        training = estimator.get_training_state()
        training.update(dropout_rng=dropout_state, steps_trained=training["steps_trained"] + 1)
        estimator.set_training_state(training)

    # ------------------------------------------------------------------ delta_sum
    def start_local_rounds(self, cursor, track):
        """Local training (``mode="delta_sum"``) from ``cursor`` = ``{"dropout_rng": bit
        generator state, "steps_trained": int}``, this rank's own (`delta_sum.first_cursors`);
        with ``track`` (W > 1) a delta tracker on the model (one replica has nothing to
        merge and keeps none)."""
        training = self.estimator.get_training_state()
        training.update(dropout_rng=cursor["dropout_rng"],
                        steps_trained=cursor["steps_trained"])
        self.estimator.set_training_state(training)
        self._tracker = DeltaTracker(self.estimator.step_) if track else None
        return True

    def local_steps(self, k):
        """Up to ``k`` steps on this replica's next local batches (each with its own
        ``n``, dropout from this replica's stream). Returns a dict: ``delta`` (the round's
        `StateDelta`, None without a tracker), ``steps`` taken, ``loss_sum`` (loss x rows),
        ``weight_sum``, ``rows``, ``ms``, ``next_rows`` (of the next local batch, None at
        the end of the pass) and ``cursor`` (dropout state and step count after the
        round)."""
        start = time.perf_counter()
        estimator, step, tracker = self.estimator, self.estimator.step_, self._tracker
        training = estimator.get_training_state()
        rng = np.random.default_rng()
        rng.bit_generator.state = training["dropout_rng"]
        taken, loss_sum, weight_sum, rows = 0, 0.0, 0.0, 0
        while taken < k:
            batch = self._next.result()
            if batch is None:
                break
            self._prefetch()
            features, y, sample_weight = batch
            # an empty batch is still a step (its L2 decay), as in the estimator's fit
            combined = step.combine([step.compute(features, y, sample_weight, rng=rng)])
            if tracker is not None:
                tracker.record(combined)
            step.apply(combined)
            loss_sum += combined.loss * combined.n_examples
            weight_sum += float(np.shape(y)[0] if sample_weight is None
                                else np.sum(sample_weight))
            rows += combined.n_examples
            taken += 1
        cursor = {"dropout_rng": rng.bit_generator.state,
                  "steps_trained": training["steps_trained"] + taken}
        training.update(cursor)
        estimator.set_training_state(training)
        return {"delta": None if tracker is None else tracker.delta(), "steps": taken,
                "loss_sum": loss_sum, "weight_sum": weight_sum, "rows": rows,
                "ms": (time.perf_counter() - start) * 1e3, "next_rows": self.next_rows(),
                "cursor": cursor}

    def merge(self, merged):
        """Replace this round's local changes by the merged ones (`DeltaTracker`)."""
        start = time.perf_counter()
        self._tracker.apply_merged(merged)
        return (time.perf_counter() - start) * 1e3

    def snapshot_at_last_merge(self):
        """The model as every replica holds it after the last merge: local steps not yet
        merged are rolled back first (`DeltaTracker.rollback`). What the lost ranks of a
        delta_sum run are restarted from."""
        if self._tracker is not None:
            self._tracker.rollback()
        return self.snapshot()

    def evaluate(self, sources):
        """Binary metrics of the current model on ``sources`` (pass 0 of each), in
        bounded memory (`StreamingBinaryMetrics`), for the driver to merge."""
        return evaluate_sources(self.estimator, sources)

    # ------------------------------------------------------------------ state
    def snapshot(self):
        return estimator_snapshot(self.estimator)

    def load_snapshot(self, snapshot):
        self.estimator = estimator_from_snapshot(snapshot)
        return True

    def worker_environment(self):
        """What the environment guards did in this worker process."""
        return self.environment


def evaluate_sources(estimator, sources):
    """`StreamingBinaryMetrics` of ``estimator`` on ``sources`` (pass 0 of each)."""
    metrics = StreamingBinaryMetrics()
    for source in sources:
        for features, y, sample_weight in iter_source_epoch(source, 0):
            metrics.update(y, estimator.predict_proba(features), sample_weight)
    return metrics


class _LocalPass:
    """One pass over a replica's partitions: batch ``s`` is the ``s``-th batch of each
    partition that has one, each validated (``check``: the estimator's `check_batch`, run
    on the prefetch thread) before the pieces are concatenated."""

    def __init__(self, sources, epoch, first_index, check):
        self.iterators = [iter_source_epoch(source, epoch) for source in sources]
        self.epoch, self.first_index, self.check = epoch, first_index, check
        self.step = 0

    def next_batch(self, check=True):
        pieces = []
        for position, iterator in enumerate(self.iterators):
            batch = next(iterator, None)
            if batch is None:
                continue
            features, y, sample_weight = batch
            if check and np.shape(y)[0]:
                try:
                    y, sample_weight = self.check(features, y, sample_weight)
                except (TypeError, ValueError) as error:
                    raise type(error)(f"partition {self.first_index + position}, its batch "
                                      f"{self.step} (global batch {self.step} of pass "
                                      f"{self.epoch}): {error}") from None
            pieces.append((features, y, sample_weight))
        self.step += 1
        return concat_labeled(pieces) if pieces else None
