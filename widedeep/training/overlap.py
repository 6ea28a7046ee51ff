"""The overlapped training step (issue 12): sparse updates on a helper thread, next to the
dense backward.

Once the loss gradient ``dL/df`` is known, the wide part's FTRL step needs nothing more from
the deep part; once ``dL/da_0`` is known (the first dense layer's input gradient), neither
do the embedding rows' gradient sums and their row-sparse AdaGrad step. The main thread
keeps the dense work (the backward products, the first layer's weight gradient, the dense
AdaGrad steps); the helper thread does, in this order::

    main:    forward, loss -> dL/df | dense backward ... dL/da_0 | dW_1, dense steps | check, write
    helper:                         | FTRL step (wide)           | rows' sums, AdaGrad rows |

NumPy releases the GIL inside matrix products, sorts, fancy indexing and large ufunc loops,
so the two threads run on two cores. Every array is computed by the same operations from
the same inputs as in the sequential step, the helper in its own workspace (the step's
``workspace(n, "helper")``), and the updates are checked and written in the sequential
order (wide, embedding blocks, dense) only after both threads are done: the parameters are
identical to `TrainingStep.train_batch` without overlap, and a step that would make a value
non-finite still writes nothing.

The helper is one thread for the whole process (`helper_pool`), so concurrent fits share
it. It uses a second core: pair it with one BLAS thread (the estimators' default
``n_threads=None``); with BLAS threads on both cores the helper competes with them.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from ..layers.wide import check_finite_gradient

__all__ = ["train_overlapped", "helper_pool"]

_pool = _pool_pid = None
_pool_lock = threading.Lock()


def helper_pool():
    """The process's helper thread (a one-worker executor, created on first use, and again
    in a forked child, which does not inherit the parent's thread)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="widedeep-sparse")
            _pool_pid = os.getpid()
        return _pool


def train_overlapped(step, features, y, sample_weight=None, rng=None, checked=False):
    """`TrainingStep.train_batch` (batch mode, a deep part, at least one example) with the
    sparse updates on the helper thread; returns the predictions [n] (or [n, K])."""
    n = int(np.shape(y)[0])
    workspace, helper = step.workspace(n), step.workspace(n, "helper")
    deep_logits, cache = step.deep.forward(features, training=True, rng=rng,
                                           workspace=workspace, checked=checked)
    jobs = []
    pool = helper_pool()
    if step.wide is not None:
        link = step.loss.link
        coords, values, bias, p, g = step.wide.compute_gradients(
            features, y, lambda rows, wide_logits: link(wide_logits + deep_logits[rows]),
            sample_weight, step.loss, n, workspace)
        jobs.append(pool.submit(step.prepare_wide, (coords, values, bias), helper))
    else:
        p = step.loss.link(deep_logits)
        g = step.loss.gradient(p, y, sample_weight, n=n)
        check_finite_gradient(g)

    def embeddings(grad_input):
        jobs.append(pool.submit(_embedding_updates, step, grad_input, cache, helper))

    try:
        dense, grad_input = step.deep.backward_dense(g.astype(step.dtype, copy=False), cache,
                                                     workspace, on_input_grad=embeddings)
        if grad_input is not None and len(jobs) < 1 + (step.wide is not None):
            embeddings(grad_input)   # the first layer is not dense: hand it over now
        dense_part = step.prepare_dense(step.deep.add_dense_penalty(dense), workspace)
    finally:
        wait(jobs)   # never leave the helper writing into a workspace of this step
    parts = [job.result() for job in jobs]   # wide, then embeddings: the write order
    step.commit(parts + [dense_part], step.deep.batch_statistics(cache))
    return p


def _embedding_updates(step, grad_input, cache, workspace):
    """On the helper: the embedding blocks' gradient sums, their lazy L2 and their
    row-sparse steps, ``(names, PendingUpdate)``."""
    blocks = step.deep.backward_embedding_blocks(grad_input, cache, workspace)
    return step.prepare_embeddings(step.deep.add_embedding_penalty(blocks, workspace),
                                   workspace)

