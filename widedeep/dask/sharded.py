"""One step of ``DaskTrainer(shard_state=True)``: sync mode with row-sharded sparse state.

Replica ``r`` of W owns the wide coordinates and embedding rows (and their FTRL / AdaGrad
state) with ``id % W == r`` (`widedeep.training.sharding`); dense layers, the wide bias and
batch-norm statistics stay replicated. A step:

    1. request: each replica names the ids its rows of global batch s read that other
       replicas own;
    2. pull: the driver asks each owner once for the union of the ids it owns (the values
       the forward pass reads: wide weights, embedding rows) and hands each replica its
       own; the replica writes them, with its own rows, into its window model;
    3. compute: as in sync mode (global n, the global batch's dropout masks);
    4. combine: the driver sums the gradients (`sum_gradients`, rank order) exactly as in
       sync mode and cuts the sum by owner (`restrict_gradient`);
    5. apply: each replica applies its owned part plus the whole dense part (regularizers
       once, `step_.combine`), so every row is updated by its owner only.

Every value a replica reads is its owner's current value and the sum is sync mode's, so
the trained model equals sync mode's (tested). Each replica sends and receives only the
ids of its own rows, the values of the rows it owns that others read, and 1/W of the
summed sparse gradient (plus the dense part), so its traffic does not grow with W when
the rows per worker stay fixed. Storage is sharded too (`ShardReplica`): a replica stores
only its owned rows (~1/W of each sparse array) plus the rows of the batch it computes;
only the driver, which returns the ordinary fitted estimator, holds whole tables
(`start_shards` cuts them, `assemble_shards` puts them together after each epoch). A lost
worker takes its rows' state with it: training stops with an error naming the worker
and the last checkpoint to resume from.
"""
from __future__ import annotations

import time

import numpy as np

from ..training import sharding, sum_gradients
from ..training.gradients import gradient_nbytes
from ..training.sharding import owner_mask, restrict_gradient, write_owned_rows
from .shard_replica import ShardReplica
from .shard_window import SparseLayout, full_config, replicated_keys

__all__ = ["sharded_step", "route_pulls", "start_shards", "assemble_shards"]


def _nbytes(mapping):
    return int(sum(np.asarray(value).nbytes for value in mapping.values()))


def route_pulls(requests, n_shards):
    """``(asks, answer_of)``: ``asks[o]`` = ``{name: distinct ids owner o holds that some
    replica needs}``; ``answer_of(answers)`` turns the owners' values into each
    replica's ``{name: values}`` in the order of its request."""
    names = sorted({name for request in requests for name in request})
    # a name no replica asks for has no entry (the owners then get nothing to answer)
    asks = [{} for _ in range(n_shards)]
    for name in names:
        wanted = np.unique(np.concatenate([r[name] for r in requests if name in r]))
        for owner in range(n_shards):
            asks[owner][name] = wanted[owner_mask(wanted, owner, n_shards)]

    def answer_of(answers):
        out = []
        for request in requests:
            values = {}
            for name, ids in request.items():
                first = answers[0][name]
                values[name] = np.empty((ids.shape[0],) + first.shape[1:], dtype=first.dtype)
                for owner in range(n_shards):
                    mine = owner_mask(ids, owner, n_shards)
                    positions = np.searchsorted(asks[owner][name], ids[mine])
                    values[name][mine] = answers[owner][name][positions]
            out.append(values)
        return out
    return asks, answer_of


def sharded_step(trainer, epoch, step, rows, addresses, replicas):
    """Like `DaskTrainer._step`, with pulls from and updates by the owners."""
    wall = time.perf_counter()
    n_shards = len(replicas)
    counts = [n or 0 for n in rows]
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist()
    n_total = int(sum(counts))
    requests = trainer._call(addresses, [r.request for r in replicas],
                             [(rank, n_shards) for rank in range(n_shards)], phase="request")
    asks, answer_of = route_pulls(requests, n_shards)
    answers = trainer._call(addresses, [r.pull for r in replicas],
                            [(ask,) for ask in asks], phase="pull")
    pulled = answer_of(answers)
    results = trainer._call(addresses, [r.compute for r in replicas],
                            [(o, n_total, (request, values)) for o, request, values
                             in zip(offsets, requests, pulled)], phase="compute")
    combine_start = time.perf_counter()
    parts = [gradient for gradient, _, _, _ in results]
    combined = sum_gradients(parts)
    owned = [restrict_gradient(combined, owner, n_shards) for owner in range(n_shards)]
    dropout_state = results[0][1]
    combine_ms = (time.perf_counter() - combine_start) * 1e3
    applied = trainer._call(addresses, [r.apply for r in replicas],
                            [(part, dropout_state) for part in owned], phase="apply",
                            committing=True)
    wall_ms = (time.perf_counter() - wall) * 1e3
    compute_ms = max(ms for _, _, _, ms in results)
    apply_ms = max(ms for _, ms in applied)
    # per replica: what it sends (ids asked, values it serves, its gradient) and receives
    # (ids it must serve, values it pulled, its owned part of the sum)
    sent = [_nbytes(requests[r]) + _nbytes(answers[r]) + gradient_nbytes(parts[r])
            for r in range(n_shards)]
    received = [_nbytes(asks[r]) + _nbytes(pulled[r]) + gradient_nbytes(owned[r])
                for r in range(n_shards)]
    trainer.step_log_.append({
        "epoch": epoch, "step": step, "rows": n_total, "workers": n_shards,
        "compute_ms": compute_ms, "combine_ms": combine_ms, "apply_ms": apply_ms,
        "communication_ms": max(wall_ms - compute_ms - combine_ms - apply_ms, 0.0),
        "wall_ms": wall_ms, "bytes_to_driver": int(sum(sent)),
        "bytes_from_driver": int(sum(received)),
        "bytes_per_worker": [s + r for s, r in zip(sent, received)]})
    return combined, sum(w for _, _, w, _ in results), [n for n, _ in applied]


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
              "state": {key: state[key].copy() for key in replicated_keys(estimator)},
              "training_state": estimator.get_training_state()}
    shared = client.scatter(shared, workers=addresses, broadcast=True, hash=False)
    n_shards = len(addresses)
    futures = []
    for rank, address in enumerate(addresses):
        owned = client.scatter(sharding.owned_rows(estimator.step_, rank, n_shards),
                               workers=[address], hash=False)
        futures.append(client.submit(ShardReplica, shared, owned, rank, n_shards, guards,
                                     workers=[address], allow_other_workers=False,
                                     actor=True, pure=False))
    return futures


def assemble_shards(trainer, addresses, replicas, replicated_state):
    """Put ``trainer.estimator`` (the driver's full-size model) together: the replicated
    state of one replica and every replica's owned rows."""
    estimator = trainer.estimator
    state = estimator.get_state()
    for key, value in replicated_state.items():
        state[key][...] = value
    n_shards = len(replicas)
    rows = trainer._call(addresses, [r.owned_rows for r in replicas],
                         [(rank, n_shards) for rank in range(n_shards)], phase="gather")
    for rank in range(n_shards):
        write_owned_rows(estimator.step_, rank, n_shards, rows[rank])
