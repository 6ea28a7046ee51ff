"""State deltas of local training, and their merge (``DaskTrainer(mode="delta_sum")``).

Between two merges a replica takes k local steps from the common state ``S0`` and reports
what its state changed by, a `StateDelta`:

- **sparse** (summed across replicas): for every wide coordinate and every embedding row
  its steps touched, the change of FTRL's ``z`` and ``n`` (wide) and of the row and its
  optimizer accumulators (embeddings), in float64; the wide bias's ``z``, ``n`` change too
  (FTRL state, summed like a coordinate's);
- **dense** (averaged across replicas): the current dense weights, their optimizer state
  and the batch-norm running statistics (the mean of the replicas' values is
  ``S0 + mean of their deltas``).

The merged state is ``S0 + sum_r delta_r`` on the sparse part (so FTRL's ``z`` and ``n``
are never averaged: each replica's steps count in full, as in sequential training) and the
mean on the dense part; the wide weights are recomputed from the merged ``z``, ``n`` by
FTRL's closed form (`WideLayer.refresh_weights`). `merge_deltas` sums by id in float64 in
the order the deltas are given (rank order), so the merge is deterministic.

The replica remembers ``S0`` only for what its steps touch: before each step is applied
(`DeltaTracker.record`) the rows the step will write are saved the first time they are
touched, so memory grows with the rows touched in a round, not with the tables.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..segments import sum_duplicates
from .sharding import sparse_state

__all__ = ["StateDelta", "DeltaTracker", "merge_deltas", "delta_nbytes"]


@dataclass
class StateDelta:
    """What a replica's state changed by in one round (see the module docstring).

    ``wide``: ``(coords int64 [k], {"z": [k(,K)], "n": ...})`` float64 changes, or None;
    ``bias``: ``{"z": [K], "n": [K]}`` float64 changes, or None;
    ``embeddings``: per trainable embedding block ``(rows int64 [r], {"table": [r, d],
    <accumulator key>: [r, d]})`` float64 changes, or None (blocks not touched, frozen);
    ``dense``: ``{name: float64 array}`` current dense values (``"param/<name>"``,
    ``"optimizer/<name>/<key>"``, ``"statistics/<name>"``), ``replicas``: how many
    replicas' values are summed in ``dense`` (1 for a replica's own delta).
    """

    wide: tuple | None = None
    bias: dict | None = None
    embeddings: list = field(default_factory=list)
    dense: dict = field(default_factory=dict)
    replicas: int = 1


def _sum_by_id(parts):
    """``[(ids, {key: values})]`` summed by id in float64: ``(ids, {key: sums})`` or None."""
    parts = [p for p in parts if p is not None and p[0].shape[0]]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    ids = np.concatenate([p[0] for p in parts])
    merged = {}
    for key in parts[0][1]:
        unique, merged[key] = sum_duplicates(ids, np.concatenate([p[1][key] for p in parts]))
    return unique, merged


def merge_deltas(deltas):
    """One `StateDelta` whose sparse parts are the sums (by id, float64, in the given
    order) and whose dense part is the sum of the replicas' values with ``replicas`` their
    count (the receiver divides: `DeltaTracker.apply_merged` writes the mean)."""
    deltas = list(deltas)
    if not deltas:
        raise ValueError("merge_deltas needs at least one delta")
    first = deltas[0]
    wide = _sum_by_id([d.wide for d in deltas])   # None when no replica touched any
    bias = None
    if first.bias is not None:
        bias = {key: np.sum([d.bias[key] for d in deltas], axis=0) for key in first.bias}
    embeddings = [_sum_by_id([d.embeddings[block] for d in deltas])
                  for block in range(len(first.embeddings))]
    dense = {name: np.sum([d.dense[name] for d in deltas], axis=0, dtype=np.float64)
             for name in first.dense}
    return StateDelta(wide=wide, bias=bias, embeddings=embeddings, dense=dense,
                      replicas=sum(d.replicas for d in deltas))


def delta_nbytes(delta):
    """Bytes of the arrays a `StateDelta` carries (what crosses the network)."""
    total = 0
    sparse = ([] if delta.wide is None else [delta.wide]) + \
        [block for block in delta.embeddings if block is not None]
    for ids, values in sparse:
        total += ids.nbytes + sum(v.nbytes for v in values.values())
    if delta.bias is not None:
        total += sum(v.nbytes for v in delta.bias.values())
    total += sum(np.asarray(v).nbytes for v in delta.dense.values())
    return int(total)


class _SparseArrays:
    """Arrays sharing a first axis (a table and its per-row state, or FTRL's ``z`` and
    ``n``) whose rows are saved the first time a round touches them."""

    def __init__(self, arrays):
        self.arrays = arrays                       # {key: ndarray [rows, ...]}
        first = next(iter(arrays.values()))
        self.touched = np.zeros(first.shape[0], dtype=bool)
        self.saved_rows, self.saved = [], []

    def record(self, rows):
        new = rows[~self.touched[rows]]
        if new.shape[0]:
            self.touched[new] = True
            self.saved_rows.append(new)
            self.saved.append({key: array[new] for key, array in self.arrays.items()})

    def _saved(self):
        if not self.saved_rows:
            return None
        rows = np.concatenate(self.saved_rows)
        order = np.argsort(rows)
        return rows[order], {key: np.concatenate([s[key] for s in self.saved])[order]
                             for key in self.arrays}

    def delta(self):
        saved = self._saved()
        if saved is None:
            return None
        rows, before = saved
        return rows, {key: array[rows].astype(np.float64) - before[key].astype(np.float64)
                      for key, array in self.arrays.items()}

    def restore(self):
        """Write the saved (round-start) rows back; returns their rows (or None)."""
        saved = self._saved()
        if saved is None:
            return None
        rows, before = saved
        for key, array in self.arrays.items():
            array[rows] = before[key]
        return rows

    def add(self, merged):
        """``array[rows] += change`` (float64 arithmetic, stored in the array's dtype)."""
        if merged is None:
            return
        rows, changes = merged
        for key, array in self.arrays.items():
            array[rows] = (array[rows].astype(np.float64) + changes[key]).astype(
                array.dtype, copy=False)

    def reset(self):
        for rows in self.saved_rows:
            self.touched[rows] = False
        self.saved_rows, self.saved = [], []


class DeltaTracker:
    """Records, for one `TrainingStep`'s model, what a round of local steps changes.

    Call `record(gradient)` with each combined gradient before ``step.apply`` writes it;
    `delta()` gives the round's `StateDelta`; `apply_merged(merged)` replaces the local
    round by ``S0 + merged`` (`merge_deltas` of every replica's delta) and starts a new
    round. The deep optimizer's state must be per-entry (AdaGrad's accumulator): a state
    with a step counter (Adam) has no meaningful sum or mean, and is refused.
    """

    def __init__(self, step):
        self.step = step
        self.wide = step.wide
        self.deep = step.deep
        self._wide = self._bias = None
        arrays = sparse_state(step)
        if self.wide is not None:   # w is not summed: it follows from z, n
            self._wide = _SparseArrays({key: value for key, value in arrays["wide"].items()
                                        if key != "w"})
            self._bias = self.wide.ftrl_state["bias"]
        self._blocks = []
        if self.deep is not None:
            for index, group in enumerate(self.deep.embeddings.groups):
                block = arrays.get(f"block{index}")
                for key, value in (block or {}).items():
                    if value.shape != group.table.shape:
                        raise ValueError(
                            f"delta_sum merges per-row optimizer state; the deep "
                            f"optimizer's {key!r} has shape {value.shape} for a table of "
                            f"{group.table.shape} (a step counter, e.g. Adam): use AdaGrad")
                self._blocks.append(None if block is None else _SparseArrays(block))
        self.begin()

    def _dense_arrays(self):
        """``{name: array}`` of the dense part (the model's own arrays)."""
        arrays = {}
        if self.deep is not None:
            for name, value in self.deep.dense_params().items():
                arrays[f"param/{name}"] = value
                for key, state in self.step.param_states[name].items():
                    if not np.issubdtype(state.dtype, np.floating):
                        raise ValueError(f"delta_sum averages dense optimizer state; "
                                         f"{name!r} has a {state.dtype} {key!r} (a step "
                                         f"counter, e.g. Adam): use AdaGrad")
                    arrays[f"optimizer/{name}/{key}"] = state
            for name, value in self.deep.statistics.items():
                arrays[f"statistics/{name}"] = value
        return arrays

    def begin(self):
        """Start a round at the current state (the dense part is copied, for `rollback`)."""
        if self._wide is not None:
            self._wide.reset()
            self._bias0 = {key: value.copy() for key, value in self._bias.items()}
        self._dense0 = {name: value.copy() for name, value in self._dense_arrays().items()}
        for block in self._blocks:
            if block is not None:
                block.reset()

    def record(self, gradient):
        """Save the round-start values of the rows this combined gradient will write."""
        if self._wide is not None and gradient.wide is not None:
            self._wide.record(gradient.wide[0])
        for block, grad in zip(self._blocks, gradient.embeddings):
            if block is not None and grad is not None:
                block.record(grad.rows)

    def delta(self):
        """The round's `StateDelta` (sparse changes, dense values), float64."""
        wide = bias = None
        if self._wide is not None:
            wide = self._wide.delta()
            bias = {key: value.astype(np.float64) - self._bias0[key].astype(np.float64)
                    for key, value in self._bias.items()}
        return StateDelta(
            wide=wide, bias=bias,
            embeddings=[None if block is None else block.delta() for block in self._blocks],
            dense={name: value.astype(np.float64)
                   for name, value in self._dense_arrays().items()})

    def apply_merged(self, merged):
        """Set the model to ``S0 + merged`` (sparse sums; dense: the mean of the replicas'
        values; wide weights from the merged ``z``, ``n``), then start a new round."""
        if self._wide is not None:
            self._wide.restore()
            self._wide.add(merged.wide)
            for key, value in self._bias.items():
                value[...] = (self._bias0[key].astype(np.float64)
                              + merged.bias[key]).astype(value.dtype, copy=False)
            coords = None if merged.wide is None else merged.wide[0]
            self.wide.refresh_weights(coords, bias=True)
        for block, change in zip(self._blocks, merged.embeddings):
            if block is not None:
                block.restore()
                block.add(change)
        for name, array in self._dense_arrays().items():
            array[...] = (merged.dense[name] / merged.replicas).astype(array.dtype,
                                                                       copy=False)
        self.begin()

    def rollback(self):
        """Undo the round's local steps: the model back at ``S0`` exactly (saved rows and
        bias, the dense copy; wide weights of the restored coordinates from their ``z``,
        ``n``, as every step and merge sets them), then start a new round. Used when a
        round is abandoned (a replica of ``DaskTrainer(mode="delta_sum")`` was lost)."""
        if self._wide is not None:
            coords = self._wide.restore()
            for key, value in self._bias.items():
                value[...] = self._bias0[key]
            self.wide.refresh_weights(coords, bias=True)
        for block in self._blocks:
            if block is not None:
                block.restore()
        for name, array in self._dense_arrays().items():
            array[...] = self._dense0[name]
        self.begin()
