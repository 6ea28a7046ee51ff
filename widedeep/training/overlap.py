"""The overlapped training step (issue 12): sparse updates on a helper thread, next to the
dense backward.

Once the loss gradient ``dL/df`` is known, the wide part's FTRL step needs nothing more from
the deep part; once ``dL/da_0`` is known (the first dense layer's input gradient), neither
do the embedding rows' gradient sums and their row-sparse AdaGrad step. The main thread
keeps the dense work (the backward products, the first layer's weight gradient, the dense
AdaGrad steps); the helper thread does the sparse half. When it starts depends on the BLAS
threads of the caller's `widedeep.threads.limit_blas_threads` block (the estimators'
``n_threads``):

- one BLAS thread: the FTRL step as soon as ``dL/df`` is known::

    main:    forward, loss -> dL/df | dense backward ... dL/da_0 | dW_1, dense steps | check, write
    helper:                         | FTRL step (wide)           | rows' sums, AdaGrad rows |

- two or more: the products up to ``dL/da_0`` keep every BLAS thread, and from there the
  BLAS pool has one thread (`widedeep.threads.blas_pool_size`) until the helper is done::

    main:    forward, loss | dense backward ... dL/da_0 (BLAS: all) | dW_1, dense steps (BLAS: 1) | check, write
    helper:                |                                      | FTRL, rows' sums, AdaGrad rows |

  so the step never runs more threads than ``n_threads`` (a helper next to two BLAS
  threads on two cores makes every product wait for the thread that lost its core).

NumPy releases the GIL inside matrix products, sorts, fancy indexing and large ufunc loops,
so the two threads run on two cores. Every array is computed by the same operations from
the same inputs as in the sequential step, the helper in its own workspace (the step's
``workspace(n, "helper")``), and the updates are checked and written in the sequential
order (wide, embedding blocks, dense) only after both threads are done: the parameters are
identical to `TrainingStep.train_batch` without overlap (with several BLAS threads, up to
how the BLAS rounds the first layer's weight gradient on one thread instead of several:
float32 products of these shapes are identical, tests/training/test_overlap.py), and a
step that would make a value non-finite still writes nothing.

The helper is one thread for the whole process (`helper_pool`), so concurrent fits share
it, and so is the BLAS pool: a predict call of another thread during the helper's phase
runs on one BLAS thread.
"""
from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import ExitStack

import numpy as np

from ..layers.wide import check_finite_gradient
from ..threads import active_thread_limit, blas_pool_size

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
    sparse updates on the helper thread; returns the predictions [n] (or [n, K]).

    With one BLAS thread (the caller's `widedeep.threads.limit_blas_threads` block, or
    none) the FTRL step starts as soon as ``dL/df`` is known. With more, the products
    until ``dL/da_0`` keep every BLAS thread and the helper starts there, the BLAS pool
    shrinking to one thread until it is done (`widedeep.threads.blas_pool_size`): the
    first layer's weight gradient and the dense steps on one core, the sparse half on
    the other, never three threads on two cores."""
    n = int(np.shape(y)[0])
    workspace, helper = step.workspace(n), step.workspace(n, "helper")
    blas = active_thread_limit()
    deep_logits, cache = step.deep.forward(features, training=True, rng=rng,
                                           workspace=workspace, checked=checked)
    jobs, waiting = [], []
    pool = helper_pool()
    if step.wide is not None:
        link = step.loss.link
        coords, values, bias, p, g = step.wide.compute_gradients(
            features, y, lambda rows, wide_logits: link(wide_logits + deep_logits[rows]),
            sample_weight, step.loss, n, workspace)
        wide_job = functools.partial(step.prepare_wide, (coords, values, bias), helper)
        if blas <= 1:
            jobs.append(pool.submit(wide_job))
        else:
            waiting.append(wide_job)
    else:
        p = step.loss.link(deep_logits)
        g = step.loss.gradient(p, y, sample_weight, n=n)
        check_finite_gradient(g)

    with ExitStack() as window:
        def start_helper(grad_input):
            if blas > 1:   # from here on one core for BLAS, the other for the helper
                window.enter_context(blas_pool_size(1))
            jobs.extend(pool.submit(job) for job in waiting)   # the wide step first
            waiting.clear()
            if grad_input is not None:
                jobs.append(pool.submit(_embedding_updates, step, grad_input, cache, helper))
            started.append(True)

        started = []
        try:
            dense, grad_input = step.deep.backward_dense(g.astype(step.dtype, copy=False),
                                                         cache, workspace,
                                                         on_input_grad=start_helper)
            if not started:   # no embedding fields, or a first layer that is not dense
                start_helper(grad_input)
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

