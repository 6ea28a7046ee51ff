"""`ScoringPool`: scoring runs off the event loop, on a bounded number of threads.

``max_concurrent`` threads score (NumPy releases the GIL in its kernels, so they overlap);
at most ``max_queued`` more requests wait for one; beyond that a request is answered 503
at once instead of queueing without bound. Each `Ranker` keeps its own sub-batch threads
(``--ranker-threads``), used from inside a scoring thread.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from .errors import RequestError

__all__ = ["ScoringPool"]


class ScoringPool:
    def __init__(self, max_concurrent, max_queued):
        self.capacity = int(max_concurrent) + int(max_queued)
        self._executor = ThreadPoolExecutor(int(max_concurrent),
                                            thread_name_prefix="widedeep-score")
        self._admitted = 0   # touched only on the event loop thread: no lock needed

    async def run(self, function, *args):
        """``function(*args)`` on a scoring thread; 503 when the pool and queue are full."""
        if self._admitted >= self.capacity:
            raise RequestError(503, f"server busy: {self._admitted} requests are being "
                                    f"scored or queued (max_concurrent + max_queued)")
        self._admitted += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function,
                                                                    *args)
        finally:
            self._admitted -= 1

    def close(self):
        self._executor.shutdown(wait=True)
