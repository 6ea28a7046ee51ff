"""`DaskTrainer`: exact synchronous data-parallel training of a widedeep estimator on Dask.

How global batch ``s`` is formed (reproduce it in one process with
``estimator.fit(widedeep.dask.global_batches(sources), epochs=E)``):
    the data is a list of P partitions (batch sources; a dask DataFrame's partitions; files).
    Global batch ``s`` of a pass is the ``s``-th batch of every partition that still has
    one, concatenated in partition order; the pass ends when every partition is exhausted.
    The sequence does not depend on the number of workers.

One step (``mode="sync"``), for W replicas (Dask actors), rank ``r`` owning partitions
``[r P // W, (r + 1) P // W)`` and hence one contiguous range of rows of every global batch,
each phase being the estimator's own `widedeep.training.TrainingStep`:
    1. compute: each replica computes the gradient of its rows with the global ``n``
       (regularizers not included), its dropout rows cut from the masks drawn for the
       whole global batch;
    2. combine: the driver sums the W gradients (`widedeep.training.sum_gradients`: sparse
       parts by id in float64, dense parts elementwise), parts in rank order;
    3. apply: every replica receives the sum, adds the regularizers once
       (``step_.combine``) and takes the identical FTRL / AdaGrad step (``step_.apply``).
With float64 the result equals the one-process run to rounding (tested to 1e-10).

Faults: every wait polls the scheduler for the replicas' workers; a lost worker is
detected within ``poll_seconds`` (never a hang), the survivors finish the phase in flight,
and training continues on the survivors from their (identical) state, redoing the step
that was being computed, so the final model equals an uninterrupted run's. In
``mode="delta_sum"``, whose result depends on W, the W ranks are re-placed on the
surviving workers from the last merged state and the round is redone
(`widedeep.dask.delta_sum`); with ``shard_state=True`` training restarts from the last
checkpoint (`widedeep.dask.sharded`).
"""
from __future__ import annotations

import logging
import numbers
import os
import time

import numpy as np

from ..io.saving import load_model, save_model
from ..io.snapshot import estimator_snapshot
from ..training import sum_gradients
from ..training.gradients import gradient_nbytes
from .delta_sum import (first_cursors, replace_lost_ranks, run_delta_sum_epoch,
                        start_local_rounds)
from .environment import DEFAULT_MALLOC_TRIM_THRESHOLD
from .errors import ShardLostError, WorkerLostError
from .replica import Replica, evaluate_sources
from .sharded import assemble_shards, connect_shards, sharded_step, start_shards
from .sources import assign_sources, partition_sources
from .workers import worker_addresses

__all__ = ["DaskTrainer", "WorkerLostError", "ShardLostError"]

logger = logging.getLogger("widedeep")
MODES = ("sync", "delta_sum")


class DaskTrainer:
    """Train ``estimator`` on a Dask cluster; `fit` returns the same, ordinary estimator.

    Parameters
    ----------
    estimator : WideEstimator | DeepEstimator | WideDeepEstimator
        Trained in place (``wide_mode="batch"``); its ``random_state``, ``warm_start``,
        ``shuffle`` and ``batch_size`` apply as in its own ``fit``; early stopping,
        ``lr_schedule``, ``class_weight`` and callbacks are not applied (an error when set,
        ``early_stopping="auto"`` is simply off).
    client : distributed.Client
    n_workers : int, optional
        Replicas to start (default: every worker of the cluster, one each).
    mode : "sync" or "delta_sum"
        "sync" (default): exact synchronous data parallelism. "delta_sum" (opt-in): each
        replica takes ``merge_every`` local steps on its own rows, then the sparse state
        changes are summed and the dense ones averaged (`widedeep.dask.delta_sum`);
        deterministic for a fixed W and ``merge_every``, not equal to sync training. A
        lost worker's ranks move to surviving workers (W stays), so the model equals an
        uninterrupted run's. Needs per-entry optimizer state (AdaGrad; Adam is refused).
    merge_every : int
        Local steps between merges in "delta_sum" mode (default 1).
    shard_state : bool
        Sync mode with row-sharded sparse state (`widedeep.dask.sharded`): worker r owns
        the wide coordinates and embedding rows with ``id % W == r`` and their optimizer
        state, and stores only those (~1/W of each table, plus the rows of its current
        batch); workers pull the rows their batch reads and owners apply their rows'
        updates; trains the same model as replicated sync mode. Needs row-wise optimizer
        state (Adagrad, not Adam). Evaluation of a streamed ``eval_set`` runs on the
        driver (which holds the assembled model). A lost worker stops training with a
        `ShardLostError` naming it and the last checkpoint to resume from.
    blas_threads : int or None
        BLAS threads per worker (default 1; None leaves the worker alone).
    malloc_trim_threshold : int or None
        glibc trim threshold set on each worker (default 64 MiB; see `environment`).
    step_timeout : float
        Seconds a phase may take before it is an error (a hung worker, not a dead one).
    poll_seconds : float
        How often a wait checks that the replicas' workers are alive.

    Attributes after `fit`: ``step_log_`` (per step -- per merge round in delta_sum
    mode: epoch, step or round, rows, workers, compute/combine/apply/communication ms,
    bytes to and from the driver and per worker), ``worker_environment_`` (what the
    guards did on each worker), ``recoveries_`` (lost workers, the phase, the step or
    round redone; delta_sum: where the ranks were placed); with ``shard_state=True``
    also ``worker_sparse_bytes_`` (per rank, after the last epoch: the bytes of sparse
    rows the worker holds, ``{"store": {name: bytes}, "window": {name: bytes}}``;
    `widedeep.dask.shard_replica.ShardReplica.sparse_nbytes`).
    """

    def __init__(self, estimator, client, n_workers=None, mode="sync", *, merge_every=1,
                 shard_state=False, blas_threads=1,
                 malloc_trim_threshold=DEFAULT_MALLOC_TRIM_THRESHOLD, step_timeout=300.0,
                 poll_seconds=0.25):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if n_workers is not None and (not isinstance(n_workers, int) or n_workers < 1):
            raise ValueError(f"n_workers must be a positive int or None, got {n_workers!r}")
        if isinstance(merge_every, bool) or not isinstance(merge_every, (int, np.integer)) \
                or merge_every < 1:
            raise ValueError(f"merge_every must be a positive int, got {merge_every!r}")
        if merge_every != 1 and mode != "delta_sum":
            raise ValueError("merge_every applies to mode='delta_sum' only")
        self.estimator = estimator
        self.client = client
        if shard_state and mode != "sync":
            raise ValueError("shard_state=True is a variant of mode='sync'")
        self.merge_every = int(merge_every)
        self.shard_state = bool(shard_state)
        self.n_workers = n_workers
        self.mode = mode
        self.blas_threads = blas_threads
        self.malloc_trim_threshold = malloc_trim_threshold
        self.step_timeout = float(step_timeout)
        self.poll_seconds = float(poll_seconds)

    # ------------------------------------------------------------------ public
    def fit(self, data, *, epochs=None, eval_set=None, spec=None, label=None,
            sample_weight=None, reader_factory=None, rows_per_partition=None,
            checkpoint_dir=None, checkpoint_every=1):
        """Train for ``epochs`` passes (default ``estimator.epochs``); returns the estimator.

        ``data``: a list of batch sources, a list of file paths with ``reader_factory``
        (plus ``spec`` and ``label`` to featurize column batches), or a dask DataFrame with
        a fitted ``spec``, ``label`` (and optionally a ``sample_weight`` column); see
        `widedeep.dask.sources`. ``eval_set`` is evaluated after each pass and recorded in
        ``history_`` (``eval_logloss``, ``eval_auc``, ``eval_accuracy``): an in-memory
        ``(features, y[, sample_weight])`` on the driver (exact); anything of the forms of
        ``data`` (read with the same ``spec``, ``label``, ...) on the workers, each reading
        its block of the partitions, in bounded memory with a binned AUC whose error bound
        is recorded as ``eval_auc_error_bound`` (`widedeep.streaming_metrics`).

        ``checkpoint_dir``: after every ``checkpoint_every``-th epoch (and after the last)
        the model is saved there with `widedeep.io.save_model` (atomically; the epochs saved
        are listed in ``checkpoints_``). To resume after a crash, train the loaded model on:
        ``DaskTrainer(load_model(checkpoint_dir).set_params(warm_start=True), client).fit(
        data, epochs=E - model.epochs_trained_)`` equals the uninterrupted run (each pass's
        batches derive from the seed and the epoch number).
        """
        estimator = self.estimator
        epochs = estimator.epochs if epochs is None else int(epochs)
        if estimator.get_params().get("wide_mode", "batch") != "batch":
            raise ValueError("DaskTrainer needs wide_mode='batch'")
        params = estimator.get_params()
        if params.get("early_stopping") not in (None, False, "auto"):
            raise ValueError("DaskTrainer does not do early stopping yet: set "
                             "early_stopping=False (or 'auto', off here) and use eval_set "
                             "to watch quality")
        for name in ("lr_schedule", "class_weight"):
            if params.get(name) is not None:
                raise ValueError(f"DaskTrainer does not apply {name} yet; set {name}=None "
                                 f"(or fold class weights into a sample_weight column)")
        checkpoint_every = _check_checkpoint(checkpoint_dir, checkpoint_every)
        self._checkpoint_dir = checkpoint_dir
        if estimator.warm_start and getattr(estimator, "epoch_progress_", None):
            raise ValueError("the estimator was saved inside an epoch (epoch_progress_, a "
                             "checkpoint of its own fit); finish that epoch with "
                             "estimator.fit before training on Dask")
        self.checkpoints_ = []
        fitted = hasattr(estimator, "steps_trained_")
        start_snapshot = estimator_snapshot(estimator) if fitted else None
        if not (estimator.warm_start and fitted):
            estimator.initialize()
        try:
            sources = partition_sources(
                data, batch_size=estimator.batch_size, shuffle=estimator.shuffle,
                seed=estimator.seed_, spec=spec, label=label, sample_weight=sample_weight,
                reader_factory=reader_factory, rows_per_partition=rows_per_partition)
            if eval_set is not None and not _in_memory(eval_set):
                eval_set = partition_sources(
                    eval_set, batch_size=estimator.batch_size, shuffle=False, seed=0,
                    spec=spec, label=label, sample_weight=sample_weight,
                    reader_factory=reader_factory, rows_per_partition=rows_per_partition)
            self._train(sources, epochs, eval_set, (checkpoint_dir, checkpoint_every))
        except BaseException:
            if start_snapshot is not None:   # a failed fit leaves the model as it was
                estimator.set_state(start_snapshot["state"])
                estimator.set_training_state(start_snapshot["training_state"])
            raise
        return estimator

    # ------------------------------------------------------------------ the loop
    def _train(self, sources, epochs, eval_set, checkpoint=(None, 1)):
        estimator = self.estimator
        self.step_log_, self.recoveries_ = [], []
        addresses = self._worker_addresses()
        replicas = self._start_replicas(
            addresses, None if self.shard_state else estimator_snapshot(estimator))
        first_epoch = estimator.epochs_trained_
        steps_trained = estimator.steps_trained_
        if self.mode == "delta_sum":   # each rank's dropout stream, kept by the driver
            self._rank_cursors = first_cursors(estimator, len(replicas))
            try:
                start_local_rounds(self, addresses, replicas)
            except WorkerLostError as lost:
                addresses, replicas = replace_lost_ranks(self, lost, first_epoch, None,
                                                         addresses, replicas)
        try:
            while estimator.epochs_trained_ < first_epoch + epochs:
                try:
                    addresses, replicas, steps_trained = self._epoch(
                        sources, eval_set, checkpoint, first_epoch + epochs, steps_trained,
                        addresses, replicas)
                except ShardLostError as lost:   # from the last checkpoint, if any
                    addresses, replicas = self._restart_shards(lost, addresses, replicas)
        finally:
            self._actor_futures = None   # releases the actors

    def _epoch(self, sources, eval_set, checkpoint, last_epoch, steps_trained, addresses,
               replicas):
        """One pass, the model put together on the driver, evaluated and checkpointed;
        returns ``(addresses, replicas, steps_trained)`` (survivors after a recovery)."""
        try:
            return self._epoch_body(sources, eval_set, checkpoint, last_epoch, steps_trained,
                                    addresses, replicas)
        except WorkerLostError as lost:   # sharded: the gather has no recovery of its own
            if not self.shard_state:
                raise
            self._recover(lost, sources, self.estimator.epochs_trained_, None, addresses,
                          replicas)   # raises ShardLostError
            raise

    def _epoch_body(self, sources, eval_set, checkpoint, last_epoch, steps_trained,
                    addresses, replicas):
        estimator = self.estimator
        epoch = estimator.epochs_trained_
        if self.mode == "delta_sum":
            record, steps, addresses, replicas = run_delta_sum_epoch(
                self, sources, epoch, addresses, replicas, self.merge_every)
            steps_trained += steps
        else:
            record, addresses, replicas = self._run_epoch(sources, epoch, addresses,
                                                          replicas)
        while True:   # the model of one replica (all are equal)
            try:
                snapshot = self._call(addresses[:1], replicas[:1], "snapshot", [()],
                                      phase="snapshot")[0]
                break
            except WorkerLostError as lost:
                addresses, replicas, _ = self._recover(lost, sources, epoch, None,
                                                       addresses, replicas)
        if self.shard_state:
            assemble_shards(self, addresses, replicas, snapshot["state"])
            self.worker_sparse_bytes_ = self._call(
                addresses, replicas, "sparse_nbytes",
                [()] * len(replicas), phase="gather")
        else:
            estimator.set_state(snapshot["state"])
        while eval_set is not None:
            try:
                record.update({f"eval_{k}": v for k, v in self._evaluate(
                    eval_set, addresses, replicas).items()})
                break
            except WorkerLostError as lost:   # evaluate again on the survivors
                addresses, replicas, _ = self._recover(lost, sources, epoch, None,
                                                       addresses, replicas)
        training = dict(snapshot["training_state"], epochs_trained=epoch + 1,
                        history=estimator.history_ + [record])
        if self.mode == "delta_sum":   # global batches, not rank 0's local steps
            training["steps_trained"] = steps_trained
        estimator.set_training_state(training)
        if estimator.verbose:
            logger.info("epoch %d: %s", record["epoch"], record)
        self._checkpoint(checkpoint, last=epoch + 1 == last_epoch)
        return addresses, replicas, steps_trained

    def _run_epoch(self, sources, epoch, addresses, replicas):
        start = time.perf_counter()
        step, seen, loss_sum, weight_sum = 0, 0, 0.0, 0.0
        rows = None
        while True:
            try:
                if rows is None:   # (re)start the pass at global batch ``step``
                    rows = self._assign(sources, epoch, step, addresses, replicas)
                if all(n is None for n in rows):
                    break
                combined, weight, rows = self._step(epoch, step, rows, addresses, replicas)
            except WorkerLostError as lost:
                addresses, replicas, step = self._recover(lost, sources, epoch, step,
                                                          addresses, replicas)
                rows = None
                continue
            step += 1
            seen += combined.n_examples
            loss_sum += combined.loss * combined.n_examples   # the weighted sum of losses
            weight_sum += weight
        seconds = time.perf_counter() - start
        record = {"epoch": epoch + 1,
                  "train_logloss": loss_sum / weight_sum if weight_sum else float("nan"),
                  "examples": seen, "seconds": seconds,
                  "examples_per_second": seen / seconds if seconds > 0 else float("inf"),
                  "workers": len(replicas)}
        return record, addresses, replicas

    def _step(self, epoch, step, rows, addresses, replicas):
        if self.shard_state:
            return sharded_step(self, epoch, step, rows, addresses, replicas)
        wall = time.perf_counter()
        counts = [n or 0 for n in rows]
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist()
        n_total = int(sum(counts))
        results = self._call(addresses, replicas, "compute",
                             [(o, n_total) for o in offsets], phase="compute")
        combine_start = time.perf_counter()
        parts = [gradient for gradient, _, _, _ in results]
        combined = sum_gradients(parts)
        dropout_state = results[0][1]   # every replica drew the same global masks
        combine_ms = (time.perf_counter() - combine_start) * 1e3
        applied = self._call(addresses, replicas, "apply",
                             [(combined, dropout_state)] * len(replicas), phase="apply",
                             committing=True)
        wall_ms = (time.perf_counter() - wall) * 1e3
        compute_ms = max(ms for _, _, _, ms in results)
        apply_ms = max(ms for _, ms in applied)
        self.step_log_.append({
            "epoch": epoch, "step": step, "rows": n_total, "workers": len(replicas),
            "compute_ms": compute_ms, "combine_ms": combine_ms, "apply_ms": apply_ms,
            "communication_ms": max(wall_ms - compute_ms - combine_ms - apply_ms, 0.0),
            "wall_ms": wall_ms,
            "bytes_to_driver": int(sum(gradient_nbytes(p) for p in parts)),
            "bytes_from_driver": int(gradient_nbytes(combined) * len(replicas)),
            "bytes_per_worker": [gradient_nbytes(p) + gradient_nbytes(combined)
                                 for p in parts]})
        return combined, sum(w for _, _, w, _ in results), [n for n, _ in applied]

    def _evaluate(self, eval_set, addresses, replicas):
        if _in_memory(eval_set):
            return self.estimator.evaluate(*eval_set)
        if self.shard_state:   # no worker holds the whole model: the driver streams it
            merged = evaluate_sources(self.estimator, eval_set)
            result = merged.result()
            result.pop("examples")
            return result
        blocks = assign_sources(len(eval_set), len(replicas))
        parts = self._call(addresses, replicas, "evaluate",
                           [([eval_set[i] for i in block],) for block in blocks],
                           phase="evaluate")
        merged = parts[0]
        for part in parts[1:]:
            merged.merge(part)
        result = merged.result()
        result.pop("examples")
        return result

    def _checkpoint(self, checkpoint, last):
        """Save the driver's model (`save_model`) when an epoch ends on a multiple of
        ``every`` or training ends."""
        directory, every = checkpoint
        epochs = self.estimator.epochs_trained_
        if directory is None or not (last or epochs % every == 0):
            return
        save_model(self.estimator, directory)
        self.checkpoints_.append(epochs)

    # ------------------------------------------------------------------ replicas
    def _worker_addresses(self):
        workers = worker_addresses(self.client)
        if not workers:
            raise RuntimeError("the Dask cluster has no workers")
        if self.n_workers is not None:
            if self.n_workers > len(workers):
                raise ValueError(f"n_workers={self.n_workers} but the cluster has "
                                 f"{len(workers)} workers")
            workers = workers[:self.n_workers]
        return workers

    def _start_replicas(self, addresses, snapshot):
        guards = {"blas_threads": self.blas_threads,
                  "malloc_trim_threshold": self.malloc_trim_threshold}
        if self.shard_state:   # each worker gets only its own rows
            futures = start_shards(self, addresses, guards)
        else:   # the model travels once per worker as data, not inside the task graph
            # (in a list: see `start_shards`; a dict's values would get fixed keys)
            model = self.client.scatter([snapshot], workers=list(dict.fromkeys(addresses)),
                                        broadcast=True, hash=False)[0]
            futures = [self.client.submit(Replica, model, guards, workers=[address],
                                          allow_other_workers=False, actor=True, pure=False)
                       for address in addresses]
        replicas = self._wait(addresses, futures, phase="start")
        self._actor_futures = futures
        if self.shard_state:
            connect_shards(self, addresses, replicas)
        self.worker_environment_ = self._call(addresses, replicas,
                                              "worker_environment",
                                              [()] * len(replicas), phase="start")
        return replicas

    def _assign(self, sources, epoch, skip, addresses, replicas):
        blocks = assign_sources(len(sources), len(replicas))
        return self._call(addresses, replicas, "start",
                          [([sources[i] for i in block], epoch, skip, block.start)
                           for block in blocks], phase="read")

    def _recover(self, lost, sources, epoch, step, addresses, replicas):
        if self.shard_state:
            raise ShardLostError(lost, [addresses[r] for r in lost.ranks], epoch, step,
                                 self._resume_hint()) from lost
        if self.mode == "delta_sum":   # between passes: the W ranks re-placed
            return (*replace_lost_ranks(self, lost, epoch, None, addresses, replicas), None)
        survivors = [r for r in range(len(replicas)) if r not in lost.ranks]
        if not survivors:
            raise RuntimeError("every worker holding a replica was lost") from lost
        redo = step if not lost.committed else step + 1
        logger.warning("widedeep.dask: %s during %s of step %s (epoch %d); continuing on "
                       "%d worker(s)", lost, lost.phase, step, epoch, len(survivors))
        self.recoveries_.append({"epoch": epoch, "step": step, "phase": lost.phase,
                                 "lost": [addresses[r] for r in lost.ranks],
                                 "resumed_at_step": redo, "workers": len(survivors)})
        return ([addresses[r] for r in survivors], [replicas[r] for r in survivors], redo)

    def _restart_shards(self, lost, addresses, replicas):
        """After a lost shard: the estimator back at the last checkpoint of this fit and
        new shards on the surviving workers (the sync result does not depend on W), or
        ``lost`` raised when there is no checkpoint. The old shards on the survivors are
        told to stop waiting for the dead one first (their workers' actor thread)."""
        for rank, replica in enumerate(replicas):
            if rank not in lost.ranks:
                try:
                    replica.abort().result(timeout=self.step_timeout)
                except Exception:   # noqa: BLE001 - best effort: it may be gone too
                    logger.warning("widedeep.dask: could not stop shard %d", rank)
        if not self.checkpoints_:
            raise lost
        estimator = self.estimator
        saved = load_model(self._checkpoint_dir)
        estimator.set_state(saved.get_state())
        estimator.set_training_state(saved.get_training_state())
        survivors = [a for r, a in enumerate(addresses) if r not in lost.ranks]
        if not survivors:
            raise lost
        logger.warning("widedeep.dask: %s; restarting from the checkpoint of epoch %d on "
                       "%d worker(s)", lost, estimator.epochs_trained_, len(survivors))
        self.recoveries_.append({"epoch": lost.epoch, "step": lost.step, "phase": lost.phase,
                                 "lost": lost.workers, "resumed_at_epoch":
                                 estimator.epochs_trained_, "workers": len(survivors)})
        return survivors, self._start_replicas(survivors, None)

    def _resume_hint(self):
        """Where a sharded run can resume from: the last checkpoint of this fit."""
        directory = getattr(self, "_checkpoint_dir", None)
        if directory is None or not self.checkpoints_:
            return ("no checkpoint of this fit to resume from (pass checkpoint_dir= to "
                    "fit); the estimator is left as it was")
        return (f"resume from the checkpoint in {os.fspath(directory)!r} (epoch "
                f"{self.checkpoints_[-1]}): DaskTrainer(load_model(path).set_params("
                f"warm_start=True), client, shard_state=True).fit(data, epochs=<remaining>)")

    # ------------------------------------------------------------------ waiting
    def _call(self, addresses, replicas, method, args, phase="call", committing=False):
        """Call ``replicas[r].<method>(*args[r])`` on every replica; results in rank order.
        Raises `WorkerLostError` (with ``phase`` and whether the survivors committed the
        step) once every surviving replica has answered, if some worker died."""
        futures = []
        for replica, arguments in zip(replicas, args):
            try:
                futures.append(getattr(replica, method)(*arguments))
            except RuntimeError as error:   # Dask: "Worker holding Actor was lost"
                futures.append(_Unreachable(error))
        return self._wait(addresses, futures, phase, committing)

    def _wait(self, addresses, futures, phase="call", committing=False):
        """The results of ``futures[r]`` (running on ``addresses[r]``), polling the
        scheduler for dead workers (see `_call`)."""
        results, lost = [None] * len(futures), set()
        deadline = time.monotonic() + self.step_timeout
        for rank, future in enumerate(futures):
            unreachable_since = None
            while True:
                try:
                    results[rank] = future.result(timeout=self.poll_seconds)
                    break
                except (TimeoutError, OSError) as error:   # (TimeoutError is an OSError)
                    alive = set(self.client.nthreads())
                    gone = {r for r, a in enumerate(addresses) if a not in alive}
                    # sharded replicas call each other: one waiting on a dead peer
                    # cannot answer, and the survivors are restarted anyway
                    if rank in gone or (gone and self.shard_state):
                        lost |= gone
                        break
                    if not isinstance(error, TimeoutError):
                        # the connection broke before the scheduler noticed the death:
                        # wait (bounded) for the scheduler to confirm it
                        unreachable_since = unreachable_since or time.monotonic()
                        if time.monotonic() - unreachable_since > self.step_timeout:
                            raise RuntimeError(f"widedeep.dask: cannot reach replica {rank} "
                                               f"on {addresses[rank]} ({phase})") from error
                        time.sleep(self.poll_seconds)
                    elif time.monotonic() > deadline:
                        raise TimeoutError(f"widedeep.dask: replica {rank} on "
                                           f"{addresses[rank]} did not answer the {phase} "
                                           f"call within {self.step_timeout:.0f} s") from error
        if lost:
            error = WorkerLostError(lost)
            error.phase, error.committed = phase, committing
            raise error
        return results


class _Unreachable:
    """The future of a call that could not be sent (Dask already knew the actor's worker
    lost): waiting on it is a broken connection, which `_wait` confirms with the
    scheduler."""

    def __init__(self, error):
        self.error = error

    def result(self, timeout=None):
        raise ConnectionError(str(self.error)) from self.error


def _check_checkpoint(directory, every):
    """``every`` as an int, or ``ValueError`` naming the parameter."""
    if directory is not None and not isinstance(directory, (str, os.PathLike)):
        raise ValueError(f"checkpoint_dir must be a path, got {directory!r}")
    if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
        raise ValueError(f"checkpoint_every must be an int >= 1 (epochs), got {every!r}")
    return int(every)


def _in_memory(eval_set):
    return isinstance(eval_set, tuple) and len(eval_set) in (2, 3) \
        and isinstance(eval_set[0], dict)
