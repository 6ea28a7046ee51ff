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
dropout stream (rank 0: the model's own; rank r: ``default_rng([seed, 2, r, steps])``,
`first_cursors`) and the merge order depend on neither timing nor scheduling. With W = 1
there is nothing to merge (the sum of one delta is the replica's own state), so training
equals the estimator's own ``fit`` on the same batches exactly. ``steps_trained_`` counts
global batches (rounds x the most local steps of a replica).

``k = 1`` is *not* sync mode: sync takes one FTRL/AdaGrad step on the global batch's mean
gradient; delta_sum with k = 1 lets each replica take one step on its own rows' mean
gradient from the same state and sums the W steps' changes (W steps' worth of movement
per global batch, as W sequential steps would make, but each computed at S0).

A lost worker: the result depends on W and on which rows each rank trains on, so the run
keeps its W *logical ranks* and re-places them (`replace_lost_ranks`). The round in flight
is abandoned unless the survivors already merged it (then it counts); one surviving
replica rolls its unmerged local steps back (`Replica.snapshot_at_last_merge`, exact) and
its state -- the last merged state, which every replica held -- starts W new replicas: a
rank whose worker lives stays there, a lost rank goes to the surviving worker with the
fewest ranks (several replicas may then share a worker, each a copy of the model). The
driver keeps every rank's dropout-generator state and step count as of the last merge
(``trainer._rank_cursors``), and each rank skips the local batches it already trained on
(rounds x k), so every round is redone with the same rank -> data assignment, dropout
draws and merge order: the final model equals an uninterrupted run's (tested to 1e-10,
self-kill and external SIGKILL). Only when no worker of the run survives does `fit`
raise (and leave the estimator as it was).
"""
from __future__ import annotations

import logging
import time

import numpy as np

from ..training.deltas import delta_nbytes, merge_deltas
from .errors import WorkerLostError

__all__ = ["run_delta_sum_epoch", "first_cursors", "start_local_rounds",
           "replace_lost_ranks", "place_ranks"]

logger = logging.getLogger("widedeep")


def first_cursors(estimator, n_ranks):
    """Each rank's ``{"dropout_rng", "steps_trained"}`` at the start of a fit: rank 0
    continues the model's own dropout stream (so one replica trains as one process),
    rank r > 0 draws from ``default_rng([seed, 2, r, steps_trained])``."""
    training = estimator.get_training_state()
    steps = training["steps_trained"]
    cursors = [{"dropout_rng": training["dropout_rng"], "steps_trained": steps}]
    for rank in range(1, n_ranks):
        rng = np.random.default_rng([training["seed"], 2, rank, steps])
        cursors.append({"dropout_rng": rng.bit_generator.state, "steps_trained": steps})
    return cursors


def start_local_rounds(trainer, addresses, replicas):
    """Give each replica its rank's cursor (``trainer._rank_cursors``); a delta tracker
    when there is more than one rank."""
    trainer._call(addresses, replicas, "start_local_rounds",
                  [(cursor, len(replicas) > 1) for cursor in trainer._rank_cursors],
                  phase="start")


def run_delta_sum_epoch(trainer, sources, epoch, addresses, replicas, merge_every):
    """Train one pass; returns ``(record without eval, global steps, addresses,
    replicas)`` (the ranks re-placed after a lost worker)."""
    start = time.perf_counter()
    tally = {"rounds": 0, "steps": 0, "seen": 0, "loss_sum": 0.0, "weight_sum": 0.0}
    rows = None
    while True:
        wall = time.perf_counter()
        results = merge_ms = None
        try:
            if rows is None:   # (re)start the pass after the rounds already merged
                rows = trainer._assign(sources, epoch, tally["rounds"] * merge_every,
                                       addresses, replicas)
            if all(n is None for n in rows):
                break
            results = trainer._call(addresses, replicas, "local_steps",
                                    [(merge_every,)] * len(replicas), phase="local steps")
            applied, merge_ms, merged = [0.0], 0.0, None
            if len(replicas) > 1:
                merge_start = time.perf_counter()
                merged = merge_deltas([result["delta"] for result in results])
                merge_ms = (time.perf_counter() - merge_start) * 1e3
                applied = trainer._call(addresses, replicas, "merge",
                                        [(merged,)] * len(replicas), phase="merge",
                                        committing=True)
        except WorkerLostError as lost:
            if lost.committed:   # the survivors hold the merged round: it counts
                _count_round(trainer, tally, epoch, results, merged, [float("nan")],
                             merge_ms, wall)
            addresses, replicas = replace_lost_ranks(trainer, lost, epoch, tally["rounds"],
                                                     addresses, replicas)
            rows = None
            continue
        _count_round(trainer, tally, epoch, results, merged, applied, merge_ms, wall)
        rows = [result["next_rows"] for result in results]
    seconds = time.perf_counter() - start
    record = {"epoch": epoch + 1,
              "train_logloss": (tally["loss_sum"] / tally["weight_sum"]
                                if tally["weight_sum"] else float("nan")),
              "examples": tally["seen"], "seconds": seconds,
              "examples_per_second": tally["seen"] / seconds if seconds > 0
              else float("inf"),
              "workers": len(set(addresses)), "merges": tally["rounds"]}
    return record, tally["steps"], addresses, replicas


def _count_round(trainer, tally, epoch, results, merged, applied, merge_ms, wall):
    """Add a merged round to the pass's totals, the ranks' cursors and ``step_log_``."""
    local_steps = max(result["steps"] for result in results)
    rows = sum(result["rows"] for result in results)
    tally["rounds"] += 1
    tally["steps"] += local_steps
    tally["seen"] += rows
    tally["loss_sum"] += sum(result["loss_sum"] for result in results)
    tally["weight_sum"] += sum(result["weight_sum"] for result in results)
    trainer._rank_cursors = [result["cursor"] for result in results]
    bytes_up = bytes_down = 0
    if merged is not None:
        bytes_up = sum(delta_nbytes(result["delta"]) for result in results)
        bytes_down = delta_nbytes(merged) * len(results)
    wall_ms = (time.perf_counter() - wall) * 1e3
    compute_ms = max(result["ms"] for result in results)
    apply_ms = max(applied)
    trainer.step_log_.append({
        "epoch": epoch, "round": tally["rounds"] - 1, "local_steps": local_steps,
        "rows": rows, "workers": len(results), "compute_ms": compute_ms,
        "combine_ms": merge_ms, "apply_ms": apply_ms,
        "communication_ms": max(wall_ms - compute_ms - merge_ms - np.nan_to_num(apply_ms),
                                0.0),
        "wall_ms": wall_ms, "bytes_to_driver": int(bytes_up),
        "bytes_from_driver": int(bytes_down),
        "bytes_per_worker": [0 if merged is None
                             else delta_nbytes(result["delta"]) + delta_nbytes(merged)
                             for result in results]})


def place_ranks(addresses, dead):
    """Where each rank goes: its own worker when alive, else (in rank order) the alive
    worker holding the fewest ranks (the first such in the run's order)."""
    alive = [a for a in dict.fromkeys(addresses) if a not in dead]
    load = {a: sum(1 for b in addresses if b == a) for a in alive}
    placed = []
    for address in addresses:
        if address in dead:
            address = min(alive, key=lambda a: (load[a], alive.index(a)))
            load[address] += 1
        placed.append(address)
    return placed


def replace_lost_ranks(trainer, lost, epoch, rounds, addresses, replicas):
    """W new replicas at the last merged state, the lost ranks on surviving workers (see
    the module docstring); returns ``(addresses, replicas)``. ``rounds``: the merged
    rounds of the pass (None between passes), for the record. Raises ``RuntimeError``
    when no worker of the run is left."""
    dead = {addresses[rank] for rank in lost.ranks}
    snapshot = None
    while True:
        survivors = [rank for rank, a in enumerate(addresses) if a not in dead]
        if not survivors:
            raise RuntimeError(f"widedeep.dask: every worker holding a replica was lost "
                               f"({sorted(dead)}) during mode='delta_sum' training; the "
                               f"estimator is left as it was") from lost
        calling = [addresses[survivors[0]]]
        try:
            if snapshot is None:   # the last merged state (every replica held it)
                snapshot = trainer._call(
                    calling, [replicas[survivors[0]]], "snapshot_at_last_merge", [()],
                    phase="recover")[0]
            calling = place_ranks(addresses, dead)
            new_replicas = trainer._start_replicas(calling, snapshot)
            start_local_rounds(trainer, calling, new_replicas)
        except WorkerLostError as again:   # another worker died meanwhile
            dead |= {calling[rank] for rank in again.ranks}
            continue
        break
    logger.warning("widedeep.dask: %s during the %s phase (epoch %d); the %d ranks "
                   "re-placed on %d worker(s), redoing from merged round %s", lost,
                   lost.phase, epoch, len(calling), len(set(calling)), rounds)
    in_flight = None if rounds is None else rounds - 1 if lost.committed else rounds
    trainer.recoveries_.append({"epoch": epoch, "round": in_flight, "phase": lost.phase,
                                "lost": sorted(dead), "resumed_at_round": rounds,
                                "workers": len(set(calling)), "placement": calling})
    return calling, new_replicas
