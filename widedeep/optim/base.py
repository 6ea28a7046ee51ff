"""The optimizer protocol shared by `Adagrad` and `FtrlProximal` (and any optimizer added).

An optimizer holds hyper-parameters only; the state arrays belong to the caller. Every
optimizer offers the same five methods, for a parameter of any shape whose first axis is
its "rows" (embedding rows, wide coordinates)::

    state = opt.init_state(param)                          # {name: array shaped like param}
    state = opt.init_state(param, allocate=allocate)       # arrays from an allocator
                                                           # (`widedeep.storage`, e.g. memmap)
    opt.update(param, grad, state)                         # dense step, in place
    opt.update_rows(param, rows, grad_rows, state)         # row-sparse step, in place
    pending = opt.prepare(param, grad, state)              # dense step computed, not written
    pending = opt.prepare_rows(param, rows, grad_rows, state)

``prepare``/``prepare_rows`` return a `PendingUpdate`: the new values of the touched entries,
computed but not yet written. A training step prepares the updates of every parameter,
checks that all of them are finite, and only then commits them, so an overflowing step
raises with the model untouched. ``update``/``update_rows`` are ``prepare(...).commit()``
with that check.

A subclass implements ``init_state(param)`` and ``_new_values(param, grad, state)``, the
elementwise rule on gathered entries (``state`` a dict of gathered arrays) returning
``(new_param, new_state_dict)``; dense and sparse paths then agree bit for bit. State entries
named in ``counters`` (e.g. Adam's ``step``, shape [1]) belong to the whole parameter: they
are passed to ``_new_values`` and written whole, never gathered by rows.
"""
from __future__ import annotations

import numpy as np

from ..row_threads import split_rows
from ..segments import sum_duplicates
from ..storage import in_memory

__all__ = ["Optimizer", "PendingUpdate", "NonFiniteUpdateError", "prepare_in_row_ranges"]


class NonFiniteUpdateError(FloatingPointError, ValueError):
    """A step would write a non-finite parameter or optimizer accumulator."""


class PendingUpdate:
    """New values for entries of some arrays: ``writes`` is a list of
    ``(target array, rows or None for all, new values)``."""

    def __init__(self, writes=()):
        self.writes = list(writes)

    def non_finite(self, threads=None):
        """Index (into ``writes``) of the first write holding a non-finite value, or None.
        ``threads`` (a `widedeep.row_threads.RowThreads`): check groups of writes at once."""
        finite = [True] * len(self.writes)

        def check(indices):
            for k in indices:
                finite[k] = all_finite(self.writes[k][2])
        self._run_in_groups(check, threads)
        return next((k for k, ok in enumerate(finite) if not ok), None)

    def commit(self, threads=None):
        """Write every new value (``threads``: groups of writes at once; the writes of one
        step never overlap, so the order does not matter)."""
        def write(indices):
            for k in indices:
                target, rows, values = self.writes[k]
                if rows is None:
                    target[...] = values
                else:
                    target[rows] = values
        self._run_in_groups(write, threads)

    def _run_in_groups(self, job, threads):
        """``job(indices)`` on contiguous groups of ``writes`` of about equal sizes, one
        group per thread (one group without threads or for small steps)."""
        sizes = [values.size for _, _, values in self.writes]
        total = sum(sizes)
        parts = 1 if threads is None else min(threads.parts(total), len(sizes))
        if parts <= 1:
            job(range(len(sizes)))
            return
        groups, start, done = [], 0, 0
        for k, size in enumerate(sizes):
            done += size
            if done * parts >= total * (len(groups) + 1) and len(groups) < parts - 1:
                groups.append(range(start, k + 1))
                start = k + 1
        groups.append(range(start, len(sizes)))
        threads.run([_bind(job, group) for group in groups if len(group)])


def _bind(job, argument):
    return lambda: job(argument)


def prepare_in_row_ranges(threads, jobs):
    """Optimizer steps prepared in row ranges on ``threads`` (a
    `widedeep.row_threads.RowThreads`, or None: each job whole on the caller).

    ``jobs``: ``[(n_rows, row_size, prepare)]`` where ``prepare(start, stop, part)``
    returns the `PendingUpdate` of rows ``[start, stop)`` of one parameter (``part``
    numbers the range, for distinct workspace keys). Thread ``p`` prepares range ``p`` of
    every job large enough to split. Valid for rules that treat each row on its own (no
    ``counters``): the new values are then bit-identical to one whole call. Returns one
    `PendingUpdate` per job, its ranges' writes in row order. Float overflow is ignored
    here (the caller checks every new value before writing)."""
    # an optimizer rule is ~10 array operations per entry (gathers, the rule, new values)
    plans = [split_rows(n_rows, 1 if threads is None else
                        threads.parts(n_rows, row_size, passes=10))
             for n_rows, row_size, _ in jobs]
    results = [[] for _ in jobs]

    def run_part(part):
        with np.errstate(over="ignore", invalid="ignore"):
            for bounds, (_, _, prepare), out in zip(plans, jobs, results):
                if part < len(bounds) - 1:
                    out.append((part, prepare(bounds[part], bounds[part + 1], part)))
    used = max([len(bounds) - 1 for bounds in plans], default=1)
    if used <= 1:
        run_part(0)
    else:
        threads.run([_bind(run_part, part) for part in range(used)])
    return [PendingUpdate([write for _, update in sorted(out, key=lambda item: item[0])
                           for write in update.writes]) for out in results]


def all_finite(values):
    """True when every entry of ``values`` is finite, without a boolean temporary: for a
    float array, its largest and smallest entries (``np.maximum.reduce`` and
    ``np.minimum.reduce`` propagate NaN, and an infinity is the largest or the smallest
    entry) are both finite exactly when every entry is; two vectorized passes."""
    values = np.asarray(values)
    if values.dtype.kind != "f":
        return bool(np.isfinite(values).all())
    if values.size == 0:
        return True
    with np.errstate(invalid="ignore"):
        return bool(np.isfinite(np.maximum.reduce(values, axis=None))
                    and np.isfinite(np.minimum.reduce(values, axis=None)))


class Optimizer:
    """Base class: validation, gathering and writing; subclasses give the update rule.

    A subclass whose ``_new_values`` accepts ``workspace`` and ``key`` (writing its
    results into `widedeep.workspace.Workspace` buffers) sets ``uses_workspace = True``;
    the training step then passes its workspace and the step allocates nothing."""

    counters = ()   # state entries of the whole parameter (not shaped like it)
    uses_workspace = False

    def init_state(self, param, allocate=in_memory):
        """The state arrays of ``param``, each created by ``allocate(shape, dtype, fill)``
        (`widedeep.storage`: in memory by default, or memory-mapped)."""
        raise NotImplementedError

    def _new_values(self, param, grad, state):
        raise NotImplementedError

    # ------------------------------------------------------------------ prepare
    def _new_values_into(self, param, grad, state, workspace, key):
        if workspace is None or not self.uses_workspace:
            return self._new_values(param, grad, state)
        return self._new_values(param, grad, state, workspace=workspace, key=key)

    def prepare(self, param, grad, state, check=True, workspace=None, key="param"):
        """Dense step on every entry of ``param``; nothing written (see `PendingUpdate`).
        ``workspace``: the new values are its buffers under ``key``."""
        if check:
            grad = np.asarray(grad)
            shapes = [param.shape, grad.shape] + [value.shape for key, value in state.items()
                                                  if key not in self.counters]
            if any(shape != param.shape for shape in shapes):
                raise ValueError(f"{type(self).__name__}.update: param, grad and state must "
                                 f"have the same shape, got {shapes}")
            _check_finite(grad, f"{type(self).__name__}.update")
        grad = grad.astype(param.dtype, copy=False)
        new_param, new_state = self._new_values_into(param, grad, state, workspace, key)
        return PendingUpdate([(state[name], None, value) for name, value in new_state.items()]
                             + [(param, None, new_param)])

    def _per_entry(self, state):
        return {key: value for key, value in state.items() if key not in self.counters}

    def prepare_rows(self, param, rows, grad_rows, state, assume_unique=False, check=True,
                     workspace=None, key="rows"):
        """Row-sparse step: only ``param[rows]`` and their state change. A row may repeat
        (its gradients are summed, in float64) unless ``assume_unique`` promises distinct
        rows. Cost ``O(k log k * row_size)``, nothing the size of ``param`` allocated.
        ``workspace``: the gathered rows and new values are its buffers under ``key``."""
        if check:
            rows, grad_rows = _check_rows(type(self).__name__, param, self._per_entry(state),
                                          rows, grad_rows)
        if rows.shape[0] == 0:
            return PendingUpdate()
        if not assume_unique:
            rows, grad_rows = sum_duplicates(rows, grad_rows.astype(np.float64))
        grad_rows = cast_rows(grad_rows, param.dtype, workspace, key + "/grad")
        gathered = {name: value if name in self.counters else
                    gather_rows(value, rows, workspace, f"{key}/old/{name}")
                    for name, value in state.items()}
        new_param, new_state = self._new_values_into(
            gather_rows(param, rows, workspace, key + "/old/param"), grad_rows, gathered,
            workspace, key)
        return PendingUpdate([(state[name], None if name in self.counters else rows, value)
                              for name, value in new_state.items()]
                             + [(param, rows, new_param)])

    # ------------------------------------------------------------------ update
    def update(self, param, grad, state, check=True):
        """Dense step, in place on ``param`` and ``state``. Raises ``ValueError`` (changing
        nothing) on mismatched shapes or a non-finite gradient, `NonFiniteUpdateError` if
        a new value would not be finite."""
        _commit_finite(self.prepare(param, grad, state, check=check), type(self).__name__)

    def update_rows(self, param, rows, grad_rows, state, assume_unique=False, check=True):
        """Row-sparse step, in place (see `prepare_rows`). ``check=False`` skips input
        validation (shapes, range, finiteness) for callers that validated already."""
        _commit_finite(self.prepare_rows(param, rows, grad_rows, state,
                                         assume_unique=assume_unique, check=check),
                       type(self).__name__)

    # ------------------------------------------------------------------ config
    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def gather_rows(array, rows, workspace=None, key="rows"):
    """``array[rows]`` (rows in range) by ``np.take``, into a workspace buffer if given."""
    if workspace is None:
        return array[rows]
    return np.take(array, rows, axis=0, mode="clip",
                   out=workspace.array(key, rows.shape + array.shape[1:], array.dtype))


def cast_rows(values, dtype, workspace=None, key="cast"):
    """``values.astype(dtype, copy=False)``, into a workspace buffer if a cast is needed."""
    if values.dtype == dtype or workspace is None:
        return values.astype(dtype, copy=False)
    out = workspace.array(key, values.shape, dtype)
    out[...] = values
    return out


def _commit_finite(pending, where):
    if pending.non_finite() is not None:
        raise NonFiniteUpdateError(f"{where}: the step would make parameters or accumulators "
                                   f"non-finite (float overflow); nothing was written")
    pending.commit()


def _check_finite(values, where):
    finite = np.isfinite(values)
    if not finite.all():
        rows_ok = finite.reshape(finite.shape[0], -1).all(axis=1) if finite.ndim else finite
        bad = int(np.flatnonzero(~np.atleast_1d(rows_ok))[0])
        raise ValueError(f"{where}: non-finite gradient at (first axis) position {bad}")


def _check_rows(name, param, state, rows, grad_rows):
    """Validate a row-sparse gradient in O(k * row_size); return (rows int64, grad_rows)."""
    where = f"{name}.update_rows"
    if param.ndim < 1:
        raise ValueError(f"{where}: param must have at least one dimension")
    for key, value in state.items():
        if value.shape != param.shape:
            raise ValueError(f"{where}: state {key!r} has shape {value.shape}, param has "
                             f"{param.shape}")
    rows = np.asarray(rows)
    if rows.ndim != 1:
        raise ValueError(f"{where}: rows must be 1-d, got shape {rows.shape}")
    if rows.size == 0:
        rows = rows.astype(np.int64)
    elif rows.dtype.kind not in "iu":
        raise ValueError(f"{where}: rows must be integers, got dtype {rows.dtype}")
    grad_rows = np.asarray(grad_rows)
    expected = (rows.shape[0],) + param.shape[1:]
    if grad_rows.shape != expected:
        raise ValueError(f"{where}: grad_rows must have shape {expected} for {rows.shape[0]} "
                         f"rows of a param of shape {param.shape}, got {grad_rows.shape}")
    if rows.size:
        if rows.min() < 0 or rows.max() >= param.shape[0]:
            bad = int(np.flatnonzero((rows < 0) | (rows >= param.shape[0]))[0])
            raise ValueError(f"{where}: row {rows[bad]} (position {bad}) is outside "
                             f"[0, {param.shape[0]})")
        _check_finite(grad_rows, where)
    return rows.astype(np.int64, copy=False), grad_rows
