"""`ScoringPool`: scoring runs off the event loop, on a bounded number of threads.

``max_concurrent`` threads score (NumPy releases the GIL in its kernels, so they overlap);
at most ``max_queued`` more requests wait for one; beyond that a request is answered 503
at once instead of queueing without bound. Each `Ranker` keeps its own sub-batch threads
(``--ranker-threads``), used from inside a scoring thread.

The hop is a `queue.SimpleQueue` read by the scoring threads, which hand the result back
with ``loop.call_soon_threadsafe``: one C-level put and one wake-up each way. It costs about
a third of `loop.run_in_executor` on a `ThreadPoolExecutor` (which chains a
`concurrent.futures.Future` to an asyncio one): 25 vs 72 µs CPU per no-op hop under uvloop
(`benchmarks/profile_serve.py`).
"""
from __future__ import annotations

import asyncio
import queue
import threading

from .errors import RequestError

__all__ = ["ScoringPool"]


class ScoringPool:
    def __init__(self, max_concurrent, max_queued):
        self.capacity = int(max_concurrent) + int(max_queued)
        self._admitted = 0   # touched only on the event loop thread: no lock needed
        self._work = queue.SimpleQueue()
        self._n_threads = int(max_concurrent)
        self._threads = []   # started by the first request

    async def run(self, function, *args):
        """``function(*args)`` on a scoring thread; 503 when the pool and queue are full."""
        if self._admitted >= self.capacity:
            raise RequestError(503, f"server busy: {self._admitted} requests are being "
                                    f"scored or queued (max_concurrent + max_queued)")
        if not self._threads:
            self._start()
        self._admitted += 1
        try:
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            self._work.put((loop, future, function, args))
            return await future
        finally:
            self._admitted -= 1

    def _start(self):
        self._threads = [threading.Thread(target=self._serve, name=f"widedeep-score-{k}",
                                          daemon=True) for k in range(self._n_threads)]
        for thread in self._threads:
            thread.start()

    def _serve(self):
        while True:
            item = self._work.get()
            if item is None:
                return
            loop, future, function, args = item
            try:
                outcome, value = _set_result, function(*args)
            except BaseException as error:   # handed to the awaiting request, never lost
                outcome, value = _set_exception, error
            try:
                loop.call_soon_threadsafe(outcome, future, value)
            except RuntimeError:   # the loop was closed meanwhile: nobody awaits it
                pass

    def close(self):
        """Stop the threads once the work already queued is done."""
        for _ in self._threads:
            self._work.put(None)
        for thread in self._threads:
            thread.join()


def _set_result(future, value):
    if not future.done():   # a cancelled request leaves its future done
        future.set_result(value)


def _set_exception(future, error):
    if not future.done():
        future.set_exception(error)
