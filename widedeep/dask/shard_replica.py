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
from ..training.gradients import StepGradient
from .environment import apply_worker_guards
from .replica import Replica
from .shard_window import build_window, replicated_keys

__all__ = ["ShardReplica"]

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

    # ------------------------------------------------------------------ sharded state
    def request(self, rank, n_shards):
        batch = self._next.result()
        if batch is None:
            return {}
        ids = self.layout.batch_ids(batch[0])
        others = {name: rows[~sharding.owner_mask(rows, self.rank, self.n_shards)]
                  for name, rows in ids.items()}
        return {name: rows for name, rows in others.items() if rows.shape[0]}

    def pull(self, ids):
        return {name: self.store[name][sharding.read_key(name)][rows // self.n_shards]
                for name, rows in ids.items()}

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
    def compute(self, offset, n_total, pulled=None):
        start = time.perf_counter()
        batch = self._next.result()
        self._prefetch()
        positions = None
        if batch is not None:
            features, y, sample_weight = batch
            window_features, uniques = self.layout.renumber(features)
            self._ensure_window({name: u.shape[0] for name, u in uniques.items()})
            ids = self.layout.batch_ids(features)
            positions = self.layout.window_positions(self.estimator, ids, uniques)
            self._fill(ids, positions, pulled)
            batch = (window_features, y, sample_weight)
        gradient, dropout_state, weight = self._gradient(batch, offset, n_total)
        if positions is not None:
            gradient = _renamed(gradient, positions, ids)
        return gradient, dropout_state, weight, (time.perf_counter() - start) * 1e3

    def _fill(self, ids, positions, pulled):
        """Write the values the forward pass reads at the window ``positions`` of ``ids``:
        owned ones from the store, the others from ``pulled`` (``(request, values)``)."""
        arrays = sharding.sparse_state(self.estimator.step_)
        requested, values = pulled if pulled is not None else ({}, {})
        for name, rows in ids.items():
            key = sharding.read_key(name)
            target = arrays[name][key]
            mine = sharding.owner_mask(rows, self.rank, self.n_shards)
            target[positions[name][mine]] = self.store[name][key][rows[mine] // self.n_shards]
            if name in requested:   # the request's ids are exactly rows[~mine], in order
                target[positions[name][~mine]] = values[name]

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
