"""One step of ``DaskTrainer(shard_state=True)``: sync mode with row-sharded sparse state.

Replica ``r`` of W owns the wide coordinates and embedding rows (and their FTRL / AdaGrad
state) with ``id % W == r`` (`widedeep.training.sharding`); dense layers, the wide bias and
batch-norm statistics stay replicated. A step, in two driver calls:

    1. compute: each replica names the ids its rows of global batch s read that other
       replicas own and pulls their current values **directly from the owners** (actor
       to actor; an owner serves from its store on its event loop while its own compute
       runs), writes them with its own rows into its window model, computes as in sync
       mode (global n, the global batch's dropout masks), pushes each owner the slice of
       its sparse gradient that owner owns (again directly), and returns to the driver
       only the dense part (dense gradients, wide bias, loss, batch-norm statistics);
    2. apply: the driver sums the dense parts (`sum_gradients`, rank order) and sends the
       sum to every replica; each sums the slices it received by id in rank order
       (float64, `sum_gradients`: the same additions as summing whole gradients and
       cutting the sum by owner) and applies its rows plus the whole dense part
       (regularizers once, `step_.combine`), so every row is updated by its owner only.

Every value a replica reads is its owner's current value and the sum is sync mode's, so
the trained model equals sync mode's (tested). Each replica sends and receives only the
ids its batch reads, their values, the values of its rows others read and the slices of
the gradients of its batch and of its rows (plus the dense part, through the driver), so
its traffic does not grow with W when the rows per worker stay fixed, and no sparse row
passes through the driver. Storage is sharded too (`ShardReplica`): a replica stores
only its owned rows (~1/W of each sparse array) plus the rows of the batch it computes;
only the driver, which returns the ordinary fitted estimator, holds whole tables
(`start_shards` cuts them, `assemble_shards` puts them together after each epoch). A lost
worker takes its rows' state with it: training restarts from the last checkpoint on the
survivors, or stops with `ShardLostError` naming the worker.
"""
from __future__ import annotations

import time

import numpy as np

from ..training import sharding, sum_gradients
from ..training.gradients import gradient_nbytes
from ..training.sharding import write_owned_rows
from .shard_replica import ShardReplica
from .shard_window import SparseLayout, full_config, replicated_keys

__all__ = ["sharded_step", "start_shards", "connect_shards", "assemble_shards"]


def sharded_step(trainer, epoch, step, rows, addresses, replicas):
    """Like `DaskTrainer._step`; rows move worker to worker, the driver sums the dense
    part only."""
    wall = time.perf_counter()
    n_shards = len(replicas)
    counts = [n or 0 for n in rows]
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist()
    n_total = int(sum(counts))
    results = trainer._call(addresses, replicas, "compute",
                            [(o, n_total) for o in offsets], phase="compute")
    combine_start = time.perf_counter()
    parts = [gradient for gradient, _, _, _, _ in results]
    combined = sum_gradients(parts)   # dense, bias, loss, statistics (rank order)
    dropout_state = results[0][1]
    combine_ms = (time.perf_counter() - combine_start) * 1e3
    applied = trainer._call(addresses, replicas, "apply",
                            [(combined, dropout_state)] * n_shards, phase="apply",
                            committing=True)
    wall_ms = (time.perf_counter() - wall) * 1e3
    compute_ms = max(result[3] for result in results)
    apply_ms = max(ms for _, ms, _ in applied)
    to_driver = [gradient_nbytes(part) for part in parts]
    from_driver = gradient_nbytes(combined)
    # per replica: to peers (ids asked, rows served, gradient slices pushed) and from
    # peers (ids asked of it, rows pulled, slices of its rows); served / received counts
    # are reported by `apply`, once every peer's calls of the step have been answered
    peer_sent = [result[4]["sent"] + traffic["served"]
                 for result, (_, _, traffic) in zip(results, applied)]
    peer_received = [result[4]["received"] + traffic["received"]
                     for result, (_, _, traffic) in zip(results, applied)]
    trainer.step_log_.append({
        "epoch": epoch, "step": step, "rows": n_total, "workers": n_shards,
        "compute_ms": compute_ms, "combine_ms": combine_ms, "apply_ms": apply_ms,
        "communication_ms": max(wall_ms - compute_ms - combine_ms - apply_ms, 0.0),
        "wall_ms": wall_ms, "bytes_to_driver": int(sum(to_driver)),
        "bytes_from_driver": int(from_driver * n_shards),
        "bytes_worker_to_worker": int(sum(peer_sent)),
        "bytes_per_worker": [up + from_driver + sent + received for up, sent, received
                             in zip(to_driver, peer_sent, peer_received)]})
    return combined, sum(result[2] for result in results), [n for n, _, _ in applied]


def start_shards(trainer, addresses, guards):
    """One `ShardReplica` per worker: every worker gets the config, the `SparseLayout`
    and the replicated state (broadcast), and only its own rows of the sparse state."""
    estimator, client = trainer.estimator, trainer.client
    layout = SparseLayout(estimator)
    for name, arrays in sharding.sparse_state(estimator.step_).items():
        rows = {key: array.shape[:1] for key, array in arrays.items()}
        if len(set(rows.values())) != 1:
            raise ValueError(f"shard_state=True needs optimizer state with one row per "
                             f"parameter row; {name} has {rows} (e.g. Adam's step count): "
                             f"use Adagrad or replicated sync mode")
    state = estimator.get_state()
    shared = {"config": full_config(estimator), "layout": layout,
              "peer_timeout": trainer.step_timeout,
              "state": {key: state[key].copy() for key in replicated_keys(estimator)},
              "training_state": estimator.get_training_state()}
    # (in a list: a dict would be scattered value by value under its own keys, "state",
    # "wide", ..., which an earlier fit's still-held data of the same keys would shadow)
    shared = client.scatter([shared], workers=addresses, broadcast=True, hash=False)[0]
    n_shards = len(addresses)
    futures = []
    for rank, address in enumerate(addresses):
        owned = client.scatter([sharding.owned_rows(estimator.step_, rank, n_shards)],
                               workers=[address], hash=False)[0]
        futures.append(client.submit(ShardReplica, shared, owned, rank, n_shards, guards,
                                     workers=[address], allow_other_workers=False,
                                     actor=True, pure=False))
    return futures


def connect_shards(trainer, addresses, replicas):
    """Give every replica the others' actor handles (for its pulls and pushes)."""
    trainer._call(addresses, replicas, "connect", [(replicas,)] * len(replicas),
                  phase="start")


def assemble_shards(trainer, addresses, replicas, replicated_state):
    """Put ``trainer.estimator`` (the driver's full-size model) together: the replicated
    state of one replica and every replica's owned rows."""
    estimator = trainer.estimator
    state = estimator.get_state()
    for key, value in replicated_state.items():
        state[key][...] = value
    n_shards = len(replicas)
    rows = trainer._call(addresses, replicas, "owned_rows",
                         [(rank, n_shards) for rank in range(n_shards)], phase="gather")
    for rank in range(n_shards):
        write_owned_rows(estimator.step_, rank, n_shards, rows[rank])
