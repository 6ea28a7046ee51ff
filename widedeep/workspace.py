"""`Workspace`: scratch arrays reused from one call to the next (issue 12: no allocations in
the steady state).

A training step owns one workspace per batch size (`widedeep.training.TrainingStep`); a
predict call uses the workspace of its **thread** (`thread_workspace`), never one stored in
the model, so inference stays stateless and threads never share a buffer.

    ws = Workspace()
    h = ws.array("layer0/out", (n, 400), np.float32)   # the same memory on every call

``array(key, shape, dtype)`` returns a view of a flat buffer kept under ``key``; the buffer
grows (by a quarter more than asked, so sizes that vary by a little, such as a batch's
number of distinct ids, settle after a few calls) and is never shrunk. A key names one
role; two arrays alive at the same time need two keys. ``empty(workspace, ...)`` is the
same call that falls back to ``np.empty`` without a workspace, so the layers run unchanged
when no caller gives one.

``threads``: the `widedeep.row_threads.RowThreads` the step that owns the workspace lets
its elementwise phases use (None: the caller's thread alone, e.g. every predict call's
workspace); `run_rows` reads it.

``max_bytes`` bounds what a workspace keeps: a request that would pass it gets a plain
``np.empty`` (not kept), so one huge predict batch does not pin its memory to a thread.
"""
from __future__ import annotations

import threading

import numpy as np

__all__ = ["Workspace", "empty", "run_rows", "thread_workspace", "THREAD_WORKSPACE_BYTES"]

THREAD_WORKSPACE_BYTES = 64 * 2 ** 20   # what a predicting thread may keep between calls


class Workspace:
    """Named scratch buffers, reused across calls of the same shapes."""

    def __init__(self, max_bytes=None):
        self.max_bytes = max_bytes
        self.threads = None
        self._buffers = {}
        self._last = {}   # key -> (shape, dtype, view): a repeated request costs a lookup

    @property
    def nbytes(self):
        """Bytes held by the workspace's buffers."""
        return sum(buffer.nbytes for buffer in self._buffers.values())

    def array(self, key, shape, dtype):
        """An uninitialized array of ``shape`` and ``dtype``, the same memory as the last
        call with this ``key`` whenever it fits."""
        last = self._last.get(key)
        if last is not None and last[0] == shape and last[1] == dtype:
            return last[2]
        request = (shape, dtype)
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        dtype = np.dtype(dtype)
        size = 1
        for extent in shape:
            size *= int(extent)
        buffer = self._buffers.get(key)
        if buffer is None or buffer.dtype != dtype or buffer.size < size:
            capacity = size if buffer is None else size + size // 4
            old = 0 if buffer is None else buffer.nbytes
            if self.max_bytes is not None and \
                    self.nbytes - old + capacity * dtype.itemsize > self.max_bytes:
                return np.empty(shape, dtype=dtype)
            buffer = np.empty(capacity, dtype=dtype)
            self._buffers[key] = buffer
        view = buffer[:size].reshape(shape)
        self._last[key] = (*request, view)
        return view

    def arange(self, m):
        """``np.arange(m)`` as int64, kept: filled only when its buffer is (re)allocated.
        Read it, never write it."""
        buffer = self._buffers.get("arange")
        if buffer is None or buffer.size < m:
            buffer = np.arange(m + m // 4, dtype=np.int64)
            if self.max_bytes is not None and \
                    self.nbytes + buffer.nbytes > self.max_bytes:
                return buffer[:m]
            self._buffers["arange"] = buffer
        return buffer[:m]

    def clear(self):
        self._buffers.clear()
        self._last.clear()

    def __getstate__(self):
        # the row threads belong to the process (their queues and threads cannot be
        # copied); the step that owns the workspace sets them again on its next use
        state = dict(self.__dict__)
        state["threads"] = None
        return state

    def __repr__(self):
        return f"Workspace({len(self._buffers)} buffers, {self.nbytes:,} bytes)"


def empty(workspace, key, shape, dtype):
    """``workspace.array(key, shape, dtype)``, or ``np.empty(shape, dtype)`` without one."""
    if workspace is None:
        return np.empty(shape, dtype=dtype)
    return workspace.array(key, shape, dtype)


def run_rows(workspace, job, n_rows, row_size=1, passes=1):
    """``job(start, stop)`` over ``range(n_rows)``: split across the workspace's row threads
    when it has some and the job is large enough (`RowThreads.run_rows`), else one call
    ``job(0, n_rows)``. ``job`` must give each row the same bits whichever range it is
    computed in (elementwise or row-wise work, see `widedeep.row_threads`)."""
    threads = None if workspace is None else workspace.threads
    if threads is None:
        job(0, int(n_rows))
    else:
        threads.run_rows(job, n_rows, row_size, passes)


_local = threading.local()


def thread_workspace():
    """The calling thread's inference workspace (created on first use, kept with the
    thread, at most `THREAD_WORKSPACE_BYTES`)."""
    workspace = getattr(_local, "workspace", None)
    if workspace is None:
        workspace = _local.workspace = Workspace(max_bytes=THREAD_WORKSPACE_BYTES)
    return workspace
