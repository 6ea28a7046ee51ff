"""How many threads BLAS (OpenBLAS / MKL / BLIS) may use while widedeep computes.

Why the library limits BLAS at all: the matrix products of a Wide & Deep step are small
(batch 256-1024 rows x a few hundred columns). OpenBLAS splits each product across its
pool and waits for every thread at the end of the product; when another process holds one
of the cores, the waiting thread spins until the scheduler hands it a slice, so each
product costs a scheduler quantum instead of microseconds. On the shared 2-core benchmark
machine a 2-thread pool made training 5-20x slower under one competing process (see the
README's thread table), while one thread loses little on a quiet machine at these sizes.

`limit_blas_threads(n)` sets the BLAS pool to ``n`` threads for the duration of a
``with`` block and restores the previous size afterwards; the estimators' ``fit`` /
``predict`` / ``evaluate``, the ``Ranker`` and the CLI enter it, so no environment
variable has to be set before NumPy is imported.

* ``n_threads=None`` means `DEFAULT_N_THREADS` (1, see above); ``-1`` means every CPU
  this process may run on; ``0`` leaves the pool untouched.
* With ``threadpoolctl`` installed (extra ``widedeep[threads]``, also pulled in by
  scikit-learn) the limit is applied through it. Without it, widedeep cannot resize a
  BLAS pool that is already loaded: it logs one warning on the ``"widedeep"`` logger
  and runs with whatever the pool has (set ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS``
  before NumPy is imported in that case).
* BLAS pools are process-wide. Nested and concurrent ``with`` blocks (many threads
  scoring at once) share one limit: the first block to enter sets it, the last one to
  leave restores the original size; a concurrent block asking for a different size runs
  under the limit already in place.
"""
from __future__ import annotations

import functools
import logging
import os
import threading
from contextlib import contextmanager

__all__ = ["DEFAULT_N_THREADS", "resolve_n_threads", "limit_blas_threads", "blas_threads",
           "with_blas_limit", "active_thread_limit", "blas_pool_size"]

DEFAULT_N_THREADS = 1
logger = logging.getLogger("widedeep")

_lock = threading.Lock()
_depth = 0            # blocks currently inside a limit (all threads)
_active_limit = None  # the threadpoolctl limiter object of the outermost block
_active_n = 0         # the thread count the outermost block asked for
_controller = None
_warned = False


def available_cpus():
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_n_threads(n_threads):
    """The thread count a ``n_threads`` setting means: None -> `DEFAULT_N_THREADS`,
    -1 -> `available_cpus()`, 0 -> 0 (leave BLAS alone), k >= 1 -> k."""
    if n_threads is None:
        return DEFAULT_N_THREADS
    if isinstance(n_threads, bool) or not isinstance(n_threads, int) and not (
            hasattr(n_threads, "__index__")):
        raise TypeError(f"n_threads must be an int or None, got {n_threads!r}")
    n_threads = int(n_threads)
    if n_threads == -1:
        return available_cpus()
    if n_threads < -1:
        raise ValueError(f"n_threads must be >= 1, 0 (leave BLAS alone), -1 (all CPUs) or "
                         f"None (default {DEFAULT_N_THREADS}), got {n_threads}")
    return n_threads


def _get_controller():
    global _controller, _warned
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            if not _warned:
                _warned = True
                logger.warning("threadpoolctl is not installed: widedeep cannot limit the "
                               "BLAS thread pool (pip install threadpoolctl, or set "
                               "OPENBLAS_NUM_THREADS before importing NumPy)")
            return None
        _controller = ThreadpoolController()   # scans the loaded libraries once (~2 ms)
    return _controller


def blas_threads():
    """Current size of the BLAS pool(s) ({library: threads}), or {} without threadpoolctl."""
    controller = _get_controller()
    if controller is None:
        return {}
    return {info["filepath"]: info["num_threads"] for info in controller.info()
            if info["user_api"] == "blas"}


@contextmanager
def limit_blas_threads(n_threads=None):
    """Run the ``with`` block with the BLAS pool limited to ``n_threads`` (see module
    docstring for the values); the previous size is restored on exit, also on error."""
    global _depth, _active_limit, _active_n
    n = resolve_n_threads(n_threads)
    if n == 0:
        yield
        return
    with _lock:
        if _depth == 0:
            _active_n = n
            controller = _get_controller()
            # a pool already of that size needs no limit and no restore: two ctypes calls
            # instead of threadpoolctl's limiter (~20 us), which a small predict call feels
            _active_limit = None if controller is None or _pools_have(controller, n) else \
                controller.limit(limits=n, user_api="blas")
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _active_n = 0
                if _active_limit is not None:
                    _active_limit.restore_original_limits()
                    _active_limit = None


def active_thread_limit():
    """The thread count of the `limit_blas_threads` block in force (its ``n_threads``
    resolved), or 1 outside any block (or in ``n_threads=0`` blocks): how many threads
    widedeep's own row-split work (`widedeep.row_threads`) may use without adding to the
    cores the caller allowed."""
    return _active_n or 1


def _pools_have(controller, n):
    """Whether every BLAS pool ``controller`` knows has ``n`` threads now."""
    pools = [lib for lib in controller.lib_controllers if lib.user_api == "blas"]
    return bool(pools) and all(lib.num_threads == n for lib in pools)


@contextmanager
def blas_pool_size(n_threads):
    """Resize the BLAS pools to ``n_threads`` (>= 1) for the ``with`` block, restored on
    exit: for one phase of a computation whose caller runs work of its own on another
    thread next to a product (the overlapped training step gives a core to its helper).
    Two ctypes calls per pool each way (no threadpoolctl limiter); the pools are
    process-wide, as for `limit_blas_threads`. Without threadpoolctl nothing changes."""
    controller = _get_controller()
    pools = [] if controller is None else [lib for lib in controller.lib_controllers
                                           if lib.user_api == "blas"]
    before = [lib.num_threads for lib in pools]
    for lib, size in zip(pools, before):
        if size != n_threads:
            lib.set_num_threads(n_threads)
    try:
        yield
    finally:
        for lib, size in zip(pools, before):
            if size != n_threads:
                lib.set_num_threads(size)


def with_blas_limit(method):
    """Decorator for estimator methods: run under ``limit_blas_threads(self.n_threads)``
    (an object without an ``n_threads`` attribute gets the default)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with limit_blas_threads(getattr(self, "n_threads", None)):
            return method(self, *args, **kwargs)
    return wrapper
