"""Guards applied on every worker before training: one BLAS thread, and glibc's trim
threshold raised above Dask's default.

- BLAS: each worker is one training process; a multi-threaded BLAS inside every worker
  oversubscribes the cores (W workers x T threads). `threadpoolctl` limits the BLAS pools of
  the worker process to ``blas_threads`` (default 1).
- ``MALLOC_TRIM_THRESHOLD_``: Dask's nanny starts workers with 65536, so glibc returns
  freed memory to the OS after nearly every step's temporaries and maps it again on the
  next step (measured in the issue: 40-47% slower steps). The environment variable is read
  once at process start, so the guard calls ``mallopt(M_TRIM_THRESHOLD, ...)`` directly
  (``malloc_trim_threshold`` bytes, default 64 MiB). Not glibc (macOS, musl): skipped, and
  reported so.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["apply_worker_guards", "DEFAULT_MALLOC_TRIM_THRESHOLD"]

DEFAULT_MALLOC_TRIM_THRESHOLD = 64 * 2 ** 20
_M_TRIM_THRESHOLD = -1   # glibc's mallopt parameter number
_limits = []             # keep the threadpoolctl limiter alive for the process


def apply_worker_guards(blas_threads=1, malloc_trim_threshold=DEFAULT_MALLOC_TRIM_THRESHOLD):
    """Apply the guards in this process; returns what was done (for the step report)."""
    report = {"pid": os.getpid(),
              "malloc_trim_threshold_env": os.environ.get("MALLOC_TRIM_THRESHOLD_")}
    if blas_threads is not None:
        from threadpoolctl import threadpool_info, threadpool_limits
        _limits.append(threadpool_limits(limits=int(blas_threads), user_api="blas"))
        report["blas_threads"] = sorted({pool["num_threads"] for pool in threadpool_info()
                                         if pool["user_api"] == "blas"})
    if malloc_trim_threshold is not None:
        report["malloc_trim_threshold"] = _set_trim_threshold(int(malloc_trim_threshold))
    return report


def _set_trim_threshold(value):
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return None
    return value if mallopt(_M_TRIM_THRESHOLD, value) == 1 else None
