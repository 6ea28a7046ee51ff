"""`TrainingStep`: one optimization step of a wide, deep or Wide & Deep model, in three phases.

    gradient = step.compute(features, y, sample_weight)     # forward, loss, backward
    gradient = step.combine([gradient, ...])                # exact sum; regularizers once
    step.apply(gradient)                                    # FTRL (wide), AdaGrad (deep)

**compute** runs the deep network forward (dropout masks from ``rng``, or given), then the
wide layer computes its logits and asks its ``proba_fn`` callback for the joint prediction
``link(wide_logit + deep_logit)`` of the same examples; the loss object gives
``dL/df = s (p - y) / n`` (`widedeep.losses.Loss.gradient`), the wide layer sums it per
coordinate and the same ``dL/df`` flows back through the deep network. Nothing is written.
``n`` is ``n_total``, the whole batch's size: a data-parallel trainer computes each shard of
a batch with the batch's ``n`` and the shard's rows of the batch's dropout masks
(``network.draw_dropout_masks(n_total, rng)``), and the shards' gradients then sum to the
batch's gradient.

**combine** sums gradient objects (`sum_gradients`) and adds the regularizers once:
``dense_l2 W`` on dense weights and ``embedding_l2 E[r]`` on the embedding rows the batch
touched (lazy L2).

**apply** prepares the FTRL step of the wide coordinates (one model per coordinate, K per
coordinate for multiclass) and the AdaGrad step of every embedding block (row-sparse) and
dense parameter, checks that every new parameter and accumulator is finite, and only then
writes them all (`NonFiniteUpdateError` otherwise, with the model untouched).

**Workspaces** (issue 12): `train_batch` runs the three phases in a
`widedeep.workspace.Workspace` of the batch's size, owned by the step (the last two batch
sizes are kept, e.g. the epoch's size and its shorter last batch): activations, dropout
masks, gradients, gather and sort scratch and the optimizers' new values are written into
its buffers, so after the first step of a size a step allocates no large array. The
arithmetic is the same operations in the same order, so the results are bit-identical to
``apply(combine([compute(...)]))`` without one; a gradient computed in a workspace is valid
until that workspace's next step, which is why `compute` called directly allocates fresh
arrays (its gradients may be kept and summed).

**Row threads** (issue 12): the step's elementwise and row-wise phases -- bias adds and
ReLUs, the gradient rows' gather and group sums, the FTRL, row-AdaGrad and dense-AdaGrad
rules, the finiteness check and the write -- are split in row ranges over
``row_thread_count()`` threads (`widedeep.row_threads`), opt-in (``step.threads``:
default 1; None means the thread limit of the caller's
`widedeep.threads.limit_blas_threads` block, i.e. the estimators' ``n_threads``; it stays
opt-in until a quiet interleaved run shows it faster, see the README's Speed section).
They run between the GEMMs, never beside one, so BLAS threads and row threads never
exceed that count. Each row is computed by the same operations in
one range, so the parameters are bit-identical to the one-thread step's (float32 and
float64, tests/training/test_row_threads_step.py); an optimizer with a per-parameter
counter (Adam's step) is not split.

**Overlap** (issue 12, opt-in: ``step.overlap = True``): `train_batch` of a model with
a deep part runs the sparse updates on a helper thread next to the dense backward
(`widedeep.training.overlap`): the wide FTRL step and the embedding rows' gradient sums
and AdaGrad step, from ``dL/df`` (one BLAS thread) or from ``dL/da_0`` on with the BLAS
pool shrunk to one thread (several). Same operations on the same inputs, written in the
same order after the same finiteness check: identical parameters (see there for the
first layer's weight gradient at several BLAS threads).

``wide_mode="online"`` is the documented exception: the wide part steps example by example
inside the batch (classic online FTRL, a Python loop over examples), so `train_batch` runs
it and then applies the deep part's batch gradient; `compute` refuses that mode.
"""
from __future__ import annotations

import functools
from collections import OrderedDict

import numpy as np

from ..layers.wide import check_finite_gradient
from ..optim.base import NonFiniteUpdateError, PendingUpdate, prepare_in_row_ranges
from ..row_threads import row_threads
from ..threads import active_thread_limit
from ..storage import in_memory
from ..workspace import Workspace
from .gradients import StepGradient, sum_gradients
from .overlap import train_overlapped

__all__ = ["TrainingStep", "init_deep_optimizer_state"]


def init_deep_optimizer_state(network, optimizer, allocate=in_memory):
    """Optimizer state for a `DeepNetwork`: ``(block_states, param_states)``; the embedding
    blocks' state is made by ``allocate`` (`widedeep.storage`), the dense layers' in memory.

    ``block_states[i]`` is the state of embedding block ``network.embeddings.groups[i]``
    (one update per block and step); ``param_states`` maps every name of
    ``network.params`` to its state, each vocabulary's being views of its block's arrays.
    """
    block_states = [optimizer.init_state(group.table, allocate=allocate)
                    for group in network.embeddings.groups]
    param_states = {}
    for group, state in zip(network.embeddings.groups, block_states):
        for vocab, offset in group.offsets.items():
            rows = slice(offset, offset + group.sizes[vocab])
            # per-row state is sliced; a count of the block's steps (Adam) is shared
            param_states[f"embedding/{vocab}"] = {
                key: value[rows] if value.shape == group.table.shape else value
                for key, value in state.items()}
    for name, value in network.dense_params().items():
        param_states[name] = optimizer.init_state(value)
    return block_states, param_states


class TrainingStep:
    """The three phases of a step for ``wide`` (a `WideLayer`), ``deep`` (a `DeepNetwork`)
    or both, with ``loss`` (a `widedeep.losses.Loss`). ``threads``: row threads (see the
    module doc): 1 (the default) keeps every phase on the calling thread, None uses the
    caller's thread limit (the estimators' ``n_threads``), k uses k.

    ``deep_optimizer`` and ``deep_state`` (from `init_deep_optimizer_state`) are needed
    with a deep part; the wide layer carries its FTRL optimizer and state.
    """

    def __init__(self, loss, *, wide=None, deep=None, deep_optimizer=None, deep_state=None,
                 wide_mode="batch", overlap=False, threads=1):
        if wide is None and deep is None:
            raise ValueError("TrainingStep needs a wide part, a deep part or both")
        self.loss = loss
        self.wide = wide
        self.deep = deep
        self.deep_optimizer = deep_optimizer
        self.wide_mode = wide_mode
        if deep is not None:
            if deep_optimizer is None:
                raise ValueError("TrainingStep: a deep part needs deep_optimizer")
            if deep_state is None:
                deep_state = init_deep_optimizer_state(deep, deep_optimizer)
            self.block_states, self.param_states = deep_state
        self.dtype = (wide.dtype if wide is not None
                      else deep.layers[0].params["W"].dtype)
        self._workspaces = OrderedDict()
        self.overlap = bool(overlap)
        self.threads = threads

    KEPT_WORKSPACES = 2

    def row_thread_count(self):
        """Threads the step's elementwise phases may use: ``threads``, or when it is None
        the thread limit of the caller's `widedeep.threads.limit_blas_threads` block (the
        estimators' ``n_threads``; 1 outside a block)."""
        return active_thread_limit() if self.threads is None else max(1, int(self.threads))

    def workspace(self, n_examples, role="step"):
        """The step's `Workspace` for batches of ``n_examples`` rows (created on first use;
        the least recently used is released beyond `KEPT_WORKSPACES` sizes); ``role``
        "helper": the one the overlapped step's helper thread works in."""
        key = n_examples if role == "step" else (n_examples, role)
        workspace = self._workspaces.pop(key, None)
        if workspace is None:
            workspace = Workspace()
        self._workspaces[key] = workspace
        workspace.threads = None if role != "step" or self.overlap else \
            row_threads(self.row_thread_count())
        while len(self._workspaces) > self.KEPT_WORKSPACES * (1 + self.overlap):
            self._workspaces.popitem(last=False)
        return workspace

    def release_workspaces(self):
        """Free every workspace buffer (they are rebuilt by the next step)."""
        self._workspaces.clear()

    # ------------------------------------------------------------------ compute
    def compute(self, features, y, sample_weight=None, *, n_total=None, rng=None,
                dropout_masks=None, workspace=None, checked=False):
        """Gradient of the batch-mean loss's data term on these rows (nothing written).

        ``y`` [n] labels, ``sample_weight`` [n] or None, validated by the caller.
        ``n_total``: the whole batch's size (default n). ``rng`` draws dropout masks, or
        ``dropout_masks`` gives these rows' masks drawn ahead for the whole batch.
        ``workspace``: compute into its buffers (the gradient is then valid until the
        workspace's next use; see the module doc). ``checked=True``: the caller validated
        the features (the estimators' ``_check_batch``), so the forward pass does not
        validate them again.
        """
        if self.wide is not None and self.wide_mode != "batch":
            raise ValueError("wide_mode='online' updates the wide part example by example "
                             "inside the step; it has no separate compute/apply phases")
        n = int(np.shape(y)[0])
        n_total = n if n_total is None else int(n_total)
        if n == 0:
            return self._empty_gradient()
        deep_logits = cache = None
        if self.deep is not None:
            deep_logits, cache = self.deep.forward(features, training=True, rng=rng,
                                                   dropout_masks=dropout_masks,
                                                   workspace=workspace, checked=checked)
        wide = None
        if self.wide is not None:
            proba_fn = None if deep_logits is None else \
                _joined_proba_fn(self.loss.link, deep_logits)
            coords, values, bias, p, g = self.wide.compute_gradients(
                features, y, proba_fn, sample_weight, self.loss, n_total, workspace)
            wide = (coords, values, bias)
        else:
            p = self.loss.link(deep_logits)
            g = self.loss.gradient(p, y, sample_weight, n=n_total)
            check_finite_gradient(g)
        dense, blocks, statistics = {}, [], {}
        if self.deep is not None:
            dense, blocks = self.deep.backward_blocks(g.astype(self.dtype, copy=False), cache,
                                                      workspace)
            statistics = self.deep.batch_statistics(cache)
        return StepGradient(n_examples=n, loss=self.loss.prediction_loss(p, y, sample_weight,
                                                                         n_total),
                            predictions=p, wide=wide, embeddings=blocks, dense=dense,
                            statistics=statistics)

    def _empty_gradient(self):
        k = self.loss.n_outputs
        shape = () if k == 1 else (k,)
        wide = None
        if self.wide is not None:
            wide = (np.zeros(0, dtype=np.int64), np.zeros((0,) + shape), np.zeros(k))
        dense, blocks = {}, []
        if self.deep is not None:
            dense = {name: np.zeros_like(value)
                     for name, value in self.deep.dense_params().items()}
            blocks = [None] * len(self.deep.embeddings.groups)
        return StepGradient(n_examples=0, loss=0.0,
                            predictions=np.zeros((0,) + shape, dtype=self.dtype),
                            wide=wide, embeddings=blocks, dense=dense)

    # ------------------------------------------------------------------ combine
    def combine(self, gradients, workspace=None):
        """The sum of the parts' gradients plus the regularizers' gradient, added once."""
        total = sum_gradients(gradients)
        dense, blocks = total.dense, total.embeddings
        if self.deep is not None:
            dense, blocks = self.deep.add_penalty_gradients(dense, blocks, workspace)
        return StepGradient(n_examples=total.n_examples, loss=total.loss,
                            predictions=total.predictions, wide=total.wide,
                            embeddings=blocks, dense=dense, regularized=True,
                            statistics=total.statistics)

    # ------------------------------------------------------------------ apply
    def apply(self, gradient, workspace=None):
        """FTRL on the wide coordinates, AdaGrad on the deep parameters, in place; nothing
        is written unless every new value is finite. ``workspace``: the new values are
        prepared in its buffers before being written."""
        if not gradient.regularized:
            raise ValueError("apply() takes a combined gradient: step.apply(step.combine("
                             "[step.compute(...)]))")
        self.commit(self._prepare(gradient, workspace), gradient.statistics,
                    None if workspace is None else workspace.threads)

    def commit(self, parts, statistics=None, threads=None):
        """Write prepared updates ``parts`` (``[(names, PendingUpdate), ...]`` in write
        order) if every new value is finite (`NonFiniteUpdateError` otherwise, nothing
        written), then fold in the batch-normalization ``statistics``. ``threads`` (a
        `widedeep.row_threads.RowThreads`): check and write groups of writes at once."""
        names, pending = [], PendingUpdate()
        for part_names, part in parts:
            names += part_names
            pending.writes += part.writes
        bad = pending.non_finite(threads)
        if bad is not None:
            raise NonFiniteUpdateError(
                f"the step would make {names[bad]} non-finite (float overflow: gradients or "
                f"optimizer accumulators too large); nothing was written — lower the "
                f"learning rates or use dtype=float64")
        pending.commit()
        if self.deep is not None and statistics:
            self.deep.update_statistics(statistics)

    def _prepare(self, gradient, workspace=None):
        """Every optimizer update of the step, computed but not written, in write order:
        ``[(names, PendingUpdate), ...]`` with one name per write (for the error message)."""
        parts = []
        if self.wide is not None and gradient.wide is not None:
            parts.append(self.prepare_wide(gradient.wide, workspace))
        if self.deep is not None:
            parts.append(self.prepare_embeddings(gradient.embeddings, workspace))
            parts.append(self.prepare_dense(gradient.dense, workspace))
        return parts

    # the three groups of updates, each ``(names, PendingUpdate)``, computed with float
    # overflow ignored (the caller checks every new value before writing any)
    def prepare_wide(self, wide_gradient, workspace=None):
        """The wide part's FTRL step for ``(coords, values, bias)``."""
        with np.errstate(over="ignore", invalid="ignore"):
            update = self.wide.prepare_update(*wide_gradient, workspace=workspace)
        return ["the wide part"] * len(update.writes), update

    def prepare_embeddings(self, blocks, workspace=None):
        """The row-sparse steps of the embedding blocks (`RowSparseGrad` or None each)."""
        names, pending, jobs = [], PendingUpdate(), []
        for i, grad in enumerate(blocks):
            if grad is not None and grad.rows.shape[0]:
                table = self.deep.embeddings.groups[i].table
                jobs.append((grad.rows.shape[0], int(np.prod(table.shape[1:])),
                             functools.partial(self._prepare_block_rows, i, grad, workspace)))
                names.append(f"embedding block {i}")
        updates = prepare_in_row_ranges(self._optimizer_threads(workspace), jobs)
        names = [name for name, update in zip(names, updates) for _ in update.writes]
        for update in updates:
            pending.writes += update.writes
        return names, pending

    def _prepare_block_rows(self, i, grad, workspace, start, stop, part):
        """AdaGrad on rows ``[start, stop)`` of embedding block ``i``'s gradient."""
        return self.deep_optimizer.prepare_rows(
            self.deep.embeddings.groups[i].table, grad.rows[start:stop],
            grad.values[start:stop], self.block_states[i], assume_unique=True, check=False,
            workspace=workspace, key=f"adagrad/block{i}" + (f"/{part}" if part else ""))

    def _optimizer_threads(self, workspace):
        """The workspace's row threads when the deep optimizer's rule is row by row (no
        per-parameter counters such as Adam's step), else None."""
        if workspace is None or self.deep_optimizer.counters:
            return None
        return workspace.threads

    def prepare_dense(self, dense, workspace=None):
        """The dense parameters' steps (gradients keyed like ``dense_params``)."""
        names, pending, jobs = [], PendingUpdate(), []
        params = self.deep.dense_params()
        for name, grad in dense.items():
            param = params[name]
            n_rows = param.shape[0] if param.ndim else 1
            jobs.append((n_rows, param.size // max(1, n_rows),
                         functools.partial(self._prepare_dense_rows, name, param, grad,
                                           workspace)))
        updates = prepare_in_row_ranges(self._optimizer_threads(workspace), jobs)
        for name, update in zip(dense, updates):
            names += [f"deep {name}"] * len(update.writes)
            pending.writes += update.writes
        return names, pending

    def _prepare_dense_rows(self, name, param, grad, workspace, start, stop, part):
        """AdaGrad on rows ``[start, stop)`` of dense parameter ``name`` (all of a 0-d
        one)."""
        state = self.param_states[name]
        key = f"adagrad/{name}" + (f"/{part}" if part else "")
        if param.ndim == 0 or (start == 0 and stop == param.shape[0]):
            return self.deep_optimizer.prepare(param, grad, state, check=False,
                                               workspace=workspace, key=key)
        rows = slice(start, stop)
        return self.deep_optimizer.prepare(
            param[rows], grad[rows],
            {k: v if k in self.deep_optimizer.counters else v[rows] for k, v in state.items()},
            check=False, workspace=workspace, key=key)

    # ------------------------------------------------------------------ all three
    def train_batch(self, features, y, sample_weight=None, rng=None, checked=False):
        """compute, combine, apply on one batch; returns the predictions [n] (or [n, K]).
        ``checked``: as in `compute`."""
        if self.wide is not None and self.wide_mode == "online":
            return self._train_online(features, y, sample_weight, rng)
        if self.overlap and self.deep is not None and int(np.shape(y)[0]) > 0:
            return train_overlapped(self, features, y, sample_weight, rng, checked)
        workspace = self.workspace(int(np.shape(y)[0]))
        gradient = self.compute(features, y, sample_weight, rng=rng, workspace=workspace,
                                checked=checked)
        self.apply(self.combine([gradient], workspace), workspace)
        return gradient.predictions

    def _train_online(self, features, y, sample_weight, rng):
        cache = None
        proba_fn = None  # wide-only: the wide layer applies the link itself
        if self.deep is not None:
            deep_logits, cache = self.deep.forward(features, training=True, rng=rng)
            proba_fn = _joined_proba_fn(self.loss.link, deep_logits)
        p = self.wide.fit_online(features, y, proba_fn, sample_weight, self.loss)
        if self.deep is not None:
            g = self.loss.gradient(p, y, sample_weight)
            check_finite_gradient(g)
            dense, blocks = self.deep.backward_blocks(g.astype(self.dtype, copy=False), cache)
            self.apply(self.combine([StepGradient(
                n_examples=len(y), loss=0.0, predictions=p, embeddings=blocks, dense=dense,
                statistics=self.deep.batch_statistics(cache))]))
        return p


def _joined_proba_fn(link, deep_logits):
    """The ``proba_fn`` that joins the two parts at the logit:
    ``p[i] = link(wide_logit[i] + deep_logit[example_indices[i]])``, with the deep logits
    of the whole batch (shape ``[n]`` or ``[n, k]``) computed once before the wide pass."""
    def proba_fn(example_indices, wide_logits):
        return link(wide_logits + deep_logits[example_indices])
    return proba_fn
