"""`RowThreads`: split an elementwise or row-wise job into row ranges and run them on the
calling thread and a few persistent helper threads (issue 12: both cores busy in the
non-GEMM part of a training step).

    threads = row_threads(2)                     # the caller + 1 helper
    threads.run_rows(lambda start, stop: np.maximum(x[start:stop], 0, out=x[start:stop]),
                     n_rows=x.shape[0])

Why it is safe and exact:

* Each range is computed by the same NumPy operations on the same elements as the whole
  array would be, so the result is bit-identical to one call on the whole array: use it
  only for operations whose result for an element (or a row) does not depend on the others
  (ufuncs, ``take`` of rows, per-row optimizer rules on distinct rows, copies).
  Reductions over the split axis are not such operations.
* Ranges are disjoint: no two threads write the same row.
* NumPy releases the GIL inside large ufuncs, ``take`` and copies, so the ranges really run
  at the same time; below `MIN_ELEMENTS` element-operations per range (elements x array
  operations per element) the hand-off (~20-50 us) costs more than it saves and the job
  runs whole on the caller.
* The helpers never run next to a BLAS call of the same step: a training step splits its
  elementwise phases between its GEMMs, so BLAS threads plus row threads never exceed the
  step's thread count (``n_threads``).
* A pool serves one job at a time: a second thread that calls `run` while a job is running
  (two estimators fitting at once) runs its own job whole on itself instead of waiting.

The helpers are daemon threads shared by the process (`row_threads`), created on first
use and again in a forked child, which does not inherit its parent's threads.
"""
from __future__ import annotations

import os
import queue
import threading

__all__ = ["RowThreads", "row_threads", "split_rows", "MIN_ELEMENTS"]

MIN_ELEMENTS = 32768   # per range: below this one thread does the whole job


def split_rows(n_rows, parts):
    """``parts + 1`` boundaries cutting ``range(n_rows)`` into near-equal contiguous
    ranges (the first ones one row longer)."""
    parts = max(1, min(int(parts), int(n_rows))) if n_rows else 1
    base, extra = divmod(int(n_rows), parts)
    bounds = [0]
    for k in range(parts):
        bounds.append(bounds[-1] + base + (k < extra))
    return bounds


class _Helper:
    """One persistent thread that runs the callables put on its queue."""

    def __init__(self, name):
        self.tasks = queue.SimpleQueue()
        self.results = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            task = self.tasks.get()
            try:
                task()
            except BaseException as error:   # handed to the caller, who re-raises it
                self.results.put(error)
            else:
                self.results.put(None)


class RowThreads:
    """The calling thread plus ``n_threads - 1`` helpers (see the module doc)."""

    def __init__(self, n_threads, min_elements=MIN_ELEMENTS):
        self.n_threads = max(1, int(n_threads))
        self.min_elements = int(min_elements)   # per range (tests lower it)
        self._helpers = [_Helper(f"widedeep-rows-{k}") for k in range(self.n_threads - 1)]
        self._busy = threading.Lock()

    def run(self, tasks):
        """Call every zero-argument callable of ``tasks``: the first on the caller, the
        others on the helpers (one each, at most ``n_threads`` tasks); returns when all
        are done and re-raises the first task's error, in task order."""
        tasks = list(tasks)
        if len(tasks) > self.n_threads:
            raise ValueError(f"RowThreads.run: {len(tasks)} tasks for {self.n_threads} "
                             f"threads")
        if len(tasks) <= 1 or not self._busy.acquire(blocking=False):
            for task in tasks:
                task()
            return
        try:
            helpers = self._helpers[:len(tasks) - 1]
            for helper, task in zip(helpers, tasks[1:]):
                helper.tasks.put(task)
            errors = [None]
            try:
                tasks[0]()
            except BaseException as error:
                errors[0] = error
            errors += [helper.results.get() for helper in helpers]   # always wait for all
        finally:
            self._busy.release()
        for error in errors:
            if error is not None:
                raise error

    def parts(self, n_rows, row_size=1, passes=1):
        """How many ranges a job of ``n_rows`` rows of ``row_size`` elements, each read
        in about ``passes`` array operations, gets: at most one per thread, each worth at
        least ``min_elements`` element-operations (at least 1)."""
        work = int(n_rows) * int(row_size) * int(passes)
        return max(1, min(self.n_threads, int(n_rows), work // max(1, self.min_elements)))

    def run_rows(self, job, n_rows, row_size=1, passes=1):
        """``job(start, stop)`` on contiguous row ranges covering ``range(n_rows)`` (as
        many as `parts` says)."""
        parts = self.parts(n_rows, row_size, passes)
        if parts <= 1:
            job(0, int(n_rows))
            return
        bounds = split_rows(n_rows, parts)
        self.run([_bind(job, bounds[k], bounds[k + 1]) for k in range(parts)])


def _bind(job, start, stop):
    return lambda: job(start, stop)


_pools = {}
_pools_pid = None
_pools_lock = threading.Lock()


def row_threads(n_threads):
    """The process's `RowThreads` of ``n_threads`` threads (None for ``n_threads <= 1``:
    nothing to split)."""
    global _pools_pid
    n_threads = int(n_threads)
    if n_threads <= 1:
        return None
    with _pools_lock:
        if _pools_pid != os.getpid():
            _pools.clear()
            _pools_pid = os.getpid()
        pool = _pools.get(n_threads)
        if pool is None:
            pool = _pools[n_threads] = RowThreads(n_threads)
        return pool
