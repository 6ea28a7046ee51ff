"""One pass of ``DaskTrainer(mode="delta_sum", merge_every=k)``: local steps, then a merge.

Replica ``r`` owns the same contiguous block of partitions as in sync mode; its local batch
``s`` is the ``s``-th batch of each of its partitions that still has one (its rows of global
batch ``s``), trained as a batch of its own (the loss is the mean over *its* rows). A round:

    1. every replica takes up to k local steps from the common state S0 (fewer when its
       partitions run out; the pass ends when every replica's have);
    2. the driver merges their `StateDelta`s (`widedeep.training.deltas.merge_deltas`):
       sparse changes (FTRL z and n of wide coordinates and of the bias, embedding rows
       and their AdaGrad accumulators) **summed** by id in float64 in rank order, dense
       values (weights, accumulators, batch-norm statistics) **averaged**;
    3. every replica sets its state to ``S0 + sum of deltas`` (dense: the mean), the
       wide weights recomputed from the merged z, n by FTRL's closed form.

Deterministic for a fixed number of replicas W and k: the data each replica sees, its
dropout stream (rank 0: the model's own; rank r: ``default_rng([seed, 2, r, steps])``)
and the merge order depend on neither timing nor scheduling. With W = 1 there is nothing
to merge (the sum of one delta is the replica's own state), so training equals the
estimator's own ``fit`` on the same batches exactly. ``steps_trained_`` counts global
batches (rounds x the most local steps of a replica).

``k = 1`` is *not* sync mode: sync takes one FTRL/AdaGrad step on the global batch's mean
gradient; delta_sum with k = 1 lets each replica take one step on its own rows' mean
gradient from the same state and sums the W steps' changes (W steps' worth of movement
per global batch, as W sequential steps would make, but each computed at S0).

A lost worker is not recovered in this mode: `fit` raises (and leaves the estimator as it
was) instead of continuing with a different W.
"""
from __future__ import annotations

import time

from ..training.deltas import delta_nbytes, merge_deltas

__all__ = ["run_delta_sum_epoch"]


def run_delta_sum_epoch(trainer, sources, epoch, addresses, replicas, merge_every):
    """Train one pass; returns (record without eval, rounds, global steps)."""
    start = time.perf_counter()
    rows = trainer._assign(sources, epoch, 0, addresses, replicas)
    seen = steps = rounds = 0
    loss_sum = weight_sum = 0.0
    while not all(n is None for n in rows):
        wall = time.perf_counter()
        results = trainer._call(addresses, [r.local_steps for r in replicas],
                                [(merge_every,)] * len(replicas), phase="local steps")
        deltas = [result[0] for result in results]
        merge_ms = 0.0
        bytes_up = bytes_down = 0
        if len(replicas) > 1:
            merge_start = time.perf_counter()
            merged = merge_deltas(deltas)
            merge_ms = (time.perf_counter() - merge_start) * 1e3
            applied = trainer._call(addresses, [r.merge for r in replicas],
                                    [(merged,)] * len(replicas), phase="merge")
            bytes_up = sum(delta_nbytes(d) for d in deltas)
            bytes_down = delta_nbytes(merged) * len(replicas)
        else:
            applied = [0.0]
        local_steps = max(result[1] for result in results)
        steps += local_steps
        rounds += 1
        loss_sum += sum(result[2] for result in results)
        weight_sum += sum(result[3] for result in results)
        seen += sum(result[4] for result in results)
        rows = [result[6] for result in results]
        wall_ms = (time.perf_counter() - wall) * 1e3
        compute_ms = max(result[5] for result in results)
        apply_ms = max(applied)
        trainer.step_log_.append({
            "epoch": epoch, "round": rounds - 1, "local_steps": local_steps,
            "rows": sum(result[4] for result in results), "workers": len(replicas),
            "compute_ms": compute_ms, "combine_ms": merge_ms, "apply_ms": apply_ms,
            "communication_ms": max(wall_ms - compute_ms - merge_ms - apply_ms, 0.0),
            "wall_ms": wall_ms, "bytes_to_driver": int(bytes_up),
            "bytes_from_driver": int(bytes_down)})
    seconds = time.perf_counter() - start
    record = {"epoch": epoch + 1,
              "train_logloss": loss_sum / weight_sum if weight_sum else float("nan"),
              "examples": seen, "seconds": seconds,
              "examples_per_second": seen / seconds if seconds > 0 else float("inf"),
              "workers": len(replicas), "merges": rounds}
    return record, steps
