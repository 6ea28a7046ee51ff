"""`ShardReplica`: the Dask actor of ``DaskTrainer(shard_state=True)``; it holds only its rows.

Replica ``rank`` of W stores the sparse rows it owns (``id % W == rank``) in compact arrays,
``store[name][key][id // W]`` (``name`` as in `widedeep.training.sharding.sparse_state`:
``"wide"`` -> ``w``, ``z``, ``n``; ``"block<i>"`` -> ``table`` and its optimizer state), and
a small *window* estimator (`widedeep.dask.shard_window`) with the replicated parts. Per
step (driven by `widedeep.dask.sharded.sharded_step`):

- `request`: the global ids its next batch reads that other replicas own;
- `pull`: the values of its owned ids another replica reads;
- `compute`: the batch renumbered into the window, the read rows written there (its own
  from the store, the pulled ones), the estimator's ``step_.compute`` on the window; the
  gradient's rows are mapped back to global ids (bit-identical to the full model's);
- `apply`: its owned rows of the summed gradient (plus the dense part and the bias)
  loaded into the window with their optimizer state, ``step_.combine`` and ``step_.apply``
  run there, the rows written back to the store.

Memory: the store (~1/W of each sparse array) plus the window (the rows of one local
batch, grown by doubling) plus the replicated dense parts; `sparse_nbytes` reports it.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..layers.base import RowSparseGrad
from ..training import sharding
from ..training import sum_gradients
from ..training.gradients import StepGradient, gradient_nbytes
from .environment import apply_worker_guards
from .replica import Replica
from .shard_window import build_window, replicated_keys

__all__ = ["ShardReplica"]

_PEER_POLL_SECONDS = 0.05   # how often a wait on peers checks for `abort`

class ShardReplica(Replica):
    """One row shard and the replicated parts (created by `DaskTrainer` as an actor).

    ``shared``: ``{"config", "layout", "state", "training_state"}`` (the estimator's config,
    its `SparseLayout`, the replicated state arrays, its training state); ``owned``:
    ``sharding.owned_rows(step, rank, n_shards)`` of the full model.
    """

    def __init__(self, shared, owned, rank, n_shards, guards):
        self.environment = apply_worker_guards(**guards)
        self.rank, self.n_shards = int(rank), int(n_shards)
        self.config, self.layout = shared["config"], shared["layout"]
        self.store = owned
        self.caps = {name: 1 for name in self.layout.classes}
        self.estimator = build_window(self.config, self.layout, self.caps)
        self._keys = replicated_keys(self.estimator)
        if sorted(self._keys) != sorted(shared["state"]):
            raise ValueError(f"shard_state: replicated state keys differ between the model "
                             f"and its window: {sorted(self._keys)} vs "
                             f"{sorted(shared['state'])}")
        state = self.estimator.get_state()
        for key in self._keys:
            state[key][...] = shared["state"][key]
        self.estimator.set_training_state(shared["training_state"])
        self._checker_caps = dict(self.caps)
        self._checker = build_window(self.config, self.layout, self._checker_caps)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="widedeep-prefetch")
        self._pass = None
        self._next = None
        self._peers, self._peer_timeout = None, float(shared["peer_timeout"])
        self._inbox, self._traffic = {}, {"served": 0, "received": 0}
        self._aborted = False

    # ------------------------------------------------------------------ the window
    def _grown(self, caps, needs):
        """``caps`` raised (doubling, at most each class's real rows) to cover ``needs``;
        None when they already do."""
        if all(needs.get(name, 0) <= cap for name, cap in caps.items()):
            return None
        return {name: cap if needs.get(name, 0) <= cap else
                min(max(needs[name], 2 * cap), self.layout.class_rows[name])
                for name, cap in caps.items()}

    def _ensure_window(self, needs):
        caps = self._grown(self.caps, needs)
        if caps is None:
            return
        window = build_window(self.config, self.layout, caps)
        old, new = self.estimator.get_state(), window.get_state()
        for key in self._keys:
            new[key][...] = old[key]
        window.set_training_state(self.estimator.get_training_state())
        self.estimator, self.caps = window, caps

    def _check_batch(self, features, y, sample_weight):
        """On the prefetch thread: ids against the real bounds, then everything else by
        the (checking) window's own `check_batch` on the renumbered batch."""
        self.layout.check(features)
        renumbered, uniques = self.layout.renumber(features)
        caps = self._grown(self._checker_caps,
                           {name: u.shape[0] for name, u in uniques.items()})
        if caps is not None:
            self._checker, self._checker_caps = \
                build_window(self.config, self.layout, caps), caps
        return self._checker.check_batch(renumbered, y, sample_weight)

    # ------------------------------------------------------------------ peers
    def connect(self, replicas):
        """Keep the actor handles of every replica (``replicas[rank]``)."""
        self._peers = list(replicas)
        return True

    async def serve(self, ids):
        """The values of owned ``ids`` (``{name: ids}``) a peer's forward pass reads (on
        the event loop: served while this replica's own compute runs)."""
        values = {name: self.store[name][sharding.read_key(name)][rows // self.n_shards]
                  for name, rows in ids.items()}
        self._traffic["received"] += _nbytes(ids)
        self._traffic["served"] += _nbytes(values)
        return values

    async def receive(self, rank, part):
        """Keep peer ``rank``'s gradient slice of this replica's rows for `apply`."""
        self._inbox[int(rank)] = part
        self._traffic["received"] += gradient_nbytes(part)
        return True

    async def abort(self):
        """Make a step waiting on a (dead) peer give up now (on the event loop, so it
        runs while this actor's thread is blocked), freeing the worker's actor thread."""
        self._aborted = True
        return True

    def _wait(self, futures):
        """The peers' answers; ``RuntimeError`` once `abort` was called or after
        ``peer_timeout`` seconds."""
        deadline = time.monotonic() + self._peer_timeout
        answers = {}
        for key, future in futures.items():
            while key not in answers:
                if self._aborted or time.monotonic() > deadline:
                    raise RuntimeError(f"shard {self.rank}: no answer from shard {key} "
                                       f"({'aborted' if self._aborted else 'timeout'})")
                try:
                    answers[key] = future.result(timeout=_PEER_POLL_SECONDS)
                except TimeoutError:
                    continue
        return answers

    def owned_rows(self, rank, n_shards):
        return self.store

    def sparse_nbytes(self):
        """Bytes of sparse rows this worker holds: ``store`` (its owned rows) and
        ``window`` (the window's and the checking window's sparse arrays), per name."""
        def nbytes(arrays):
            return {name: int(sum(a.nbytes for a in keyed.values()))
                    for name, keyed in arrays.items()}
        window = nbytes(sharding.sparse_state(self.estimator.step_))
        checker = nbytes(sharding.sparse_state(self._checker.step_))
        return {"store": nbytes(self.store),
                "window": {name: window[name] + checker[name] for name in window}}

    # ------------------------------------------------------------------ the step
    def compute(self, offset, n_total):
        """Pull the rows the batch reads from their owners, compute in the window, push
        each owner its slice of the sparse gradient; returns (the dense part: dense
        gradients, wide bias, loss, statistics; dropout state; weight sum; ms; bytes
        ``{"sent", "received"}`` to and from peers)."""
        start = time.perf_counter()
        batch = self._next.result()
        self._prefetch()
        traffic = {"sent": 0, "received": 0}
        positions = None
        if batch is not None:
            features, y, sample_weight = batch
            window_features, uniques = self.layout.renumber(features)
            self._ensure_window({name: u.shape[0] for name, u in uniques.items()})
            ids = self.layout.batch_ids(features)
            positions = self.layout.window_positions(self.estimator, ids, uniques)
            self._fill(ids, positions, traffic)
            batch = (window_features, y, sample_weight)
        gradient, dropout_state, weight = self._gradient(batch, offset, n_total)
        if positions is not None:
            gradient = _renamed(gradient, positions, ids)
        traffic["sent"] += self._push(gradient)
        return (_dense_part(gradient), dropout_state, weight,
                (time.perf_counter() - start) * 1e3, traffic)

    def _fill(self, ids, positions, traffic):
        """Write the values the forward pass reads at the window ``positions`` of ``ids``:
        owned ones from the store, the others pulled from their owners."""
        owners = {}
        for name, rows in ids.items():
            owner_of = rows % self.n_shards
            for owner in np.unique(owner_of):
                if owner != self.rank:
                    owners.setdefault(int(owner), {})[name] = rows[owner_of == owner]
        futures = {owner: self._peers[owner].serve(asked) for owner, asked in owners.items()}
        answers = self._wait(futures)
        arrays = sharding.sparse_state(self.estimator.step_)
        for name, rows in ids.items():
            key = sharding.read_key(name)
            target = arrays[name][key]
            owner_of = rows % self.n_shards
            mine = owner_of == self.rank
            target[positions[name][mine]] = self.store[name][key][rows[mine] // self.n_shards]
            for owner, asked in owners.items():
                if name in asked:
                    target[positions[name][owner_of == owner]] = answers[owner][name]
        for owner, asked in owners.items():
            traffic["sent"] += _nbytes(asked)
            traffic["received"] += _nbytes(answers[owner])

    def _push(self, gradient):
        """Send every owner (this replica included) its slice of the sparse gradient;
        returns the bytes sent to peers."""
        sent, futures = 0, {}
        for owner in range(self.n_shards):
            part = _sparse_part(sharding.restrict_gradient(gradient, owner, self.n_shards))
            if part is None:
                continue
            if owner == self.rank:
                self._inbox[owner] = part
            else:
                futures[owner] = self._peers[owner].receive(self.rank, part)
                sent += gradient_nbytes(part)
        self._wait(futures)
        return sent

    def apply(self, dense_sum, dropout_state):
        """Sum the slices received (rank order) into ``dense_sum`` (the driver's sum of the
        dense parts) and apply; returns (rows of the next local batch, ms, bytes served to
        and received from peers during the step)."""
        start = time.perf_counter()
        parts = [self._inbox[rank] for rank in sorted(self._inbox)]
        self._inbox = {}
        self._apply(_with_sparse(dense_sum, sum_gradients(parts) if parts else None),
                    dropout_state)
        traffic, self._traffic = self._traffic, {"served": 0, "received": 0}
        return self.next_rows(), (time.perf_counter() - start) * 1e3, traffic

    def _apply(self, summed, dropout_state):
        ids = {}
        if summed.wide is not None:
            ids["wide"] = summed.wide[0]
        for index, grad in enumerate(summed.embeddings):
            if grad is not None:
                ids[f"block{index}"] = grad.rows
        self._ensure_window(self.layout.update_needs(ids))
        positions = self.layout.update_positions(self.estimator, ids)
        arrays = sharding.sparse_state(self.estimator.step_)
        for name, rows in ids.items():   # the rows and their optimizer state
            for key, target in arrays[name].items():
                target[positions[name]] = self.store[name][key][rows // self.n_shards]
        super()._apply(_renamed(summed, ids, positions), dropout_state)
        for name, rows in ids.items():
            for key, source in arrays[name].items():
                self.store[name][key][rows // self.n_shards] = source[positions[name]]

    # ------------------------------------------------------------------ state
    def snapshot(self):
        """The replicated state (keys of the full model's `get_state`) and training
        state; the sparse rows come from every replica's `owned_rows`."""
        state = self.estimator.get_state()
        return {"state": {key: state[key].copy() for key in self._keys},
                "training_state": self.estimator.get_training_state()}

    def load_snapshot(self, snapshot):
        raise NotImplementedError("a ShardReplica holds one row shard, not a whole model")

    def evaluate(self, sources):
        raise NotImplementedError("with shard_state=True the driver evaluates the "
                                  "assembled model")


def _renamed(gradient, source, target):
    """``gradient`` with its wide coordinates and embedding rows, found in ``source[name]``
    (sorted), replaced by the ids at the same places of ``target[name]``."""
    wide = gradient.wide
    if wide is not None and wide[0].shape[0]:
        where = np.searchsorted(source["wide"], wide[0])
        wide = (target["wide"][where], wide[1], wide[2])
    blocks = []
    for index, grad in enumerate(gradient.embeddings):
        if grad is None or not grad.rows.shape[0]:
            blocks.append(grad)
            continue
        name = f"block{index}"
        blocks.append(RowSparseGrad(target[name][np.searchsorted(source[name], grad.rows)],
                                    grad.values))
    return StepGradient(n_examples=gradient.n_examples, loss=gradient.loss,
                        predictions=gradient.predictions, wide=wide, embeddings=blocks,
                        dense=gradient.dense, regularized=gradient.regularized,
                        statistics=gradient.statistics)


def _nbytes(mapping):
    return int(sum(np.asarray(value).nbytes for value in mapping.values()))


def _sparse_part(gradient):
    """The wide coordinates and embedding rows of ``gradient`` alone (None if empty)."""
    wide = gradient.wide
    has_wide = wide is not None and wide[0].shape[0] > 0
    if not has_wide and all(block is None or not block.rows.shape[0]
                            for block in gradient.embeddings):
        return None
    if wide is not None:
        wide = (wide[0], wide[1], np.zeros_like(wide[2]))
    return StepGradient(n_examples=0, loss=0.0, predictions=gradient.predictions[:0],
                        wide=wide, embeddings=list(gradient.embeddings), dense={},
                        statistics={})


def _dense_part(gradient):
    """``gradient`` without its wide coordinates and embedding rows (what the driver sums)."""
    wide = gradient.wide
    if wide is not None:
        wide = (wide[0][:0], wide[1][:0], wide[2])
    return StepGradient(n_examples=gradient.n_examples, loss=gradient.loss,
                        predictions=gradient.predictions, wide=wide,
                        embeddings=[None] * len(gradient.embeddings), dense=gradient.dense,
                        statistics=gradient.statistics)


def _with_sparse(dense_sum, sparse_sum):
    """The owner's gradient: ``dense_sum``'s dense part, bias, loss and statistics with the
    summed slices' coordinates and rows (none when ``sparse_sum`` is None)."""
    wide, blocks = dense_sum.wide, [None] * len(dense_sum.embeddings)
    if sparse_sum is not None:
        if wide is not None:
            wide = (sparse_sum.wide[0], sparse_sum.wide[1], wide[2])
        blocks = sparse_sum.embeddings
    return StepGradient(n_examples=dense_sum.n_examples, loss=dense_sum.loss,
                        predictions=dense_sum.predictions, wide=wide, embeddings=blocks,
                        dense=dense_sum.dense, regularized=dense_sum.regularized,
                        statistics=dense_sum.statistics)
