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

Batching (`widedeep.server.batching`): a job given to `run_job` is prepared (parsed) on the
scoring thread that takes it; that thread then takes the jobs queued behind it while they
have the same ``key`` and their ``rows`` add up to at most ``batch_max_rows`` (waiting up to
``batch_wait_seconds`` for more), and runs them in one ``run_batch`` call. The first job
that does not fit is the next one the thread runs, so the queue's order is kept. A job
whose preparation fails gets its error and is not batched.
"""
from __future__ import annotations

import asyncio
import queue
import threading
import time

from .errors import RequestError

__all__ = ["ScoringPool"]


class ScoringPool:
    """``max_concurrent`` scoring threads, ``max_queued`` requests waiting at most; jobs of
    `run_job` batched up to ``batch_max_rows`` rows (0: never), a thread waiting up to
    ``batch_wait_seconds`` for more (module docstring)."""

    def __init__(self, max_concurrent, max_queued, batch_max_rows=0, batch_wait_seconds=0.0):
        self.capacity = int(max_concurrent) + int(max_queued)
        self.batch_max_rows = int(batch_max_rows)
        self.batch_wait_seconds = float(batch_wait_seconds)
        self._admitted = 0   # touched only on the event loop thread: no lock needed
        self._work = queue.SimpleQueue()
        self._n_threads = int(max_concurrent)
        self._threads = []   # started by the first request

    async def run(self, function, *args):
        """``function(*args)`` on a scoring thread; 503 when the pool and queue are full."""
        return await self._submit(function, args)

    async def run_job(self, job):
        """The outcome of a batchable ``job`` (``prepare()``, ``key``, ``rows``,
        ``run_batch(jobs)``: see `widedeep.server.batching.RankJob`), run on a scoring
        thread, possibly in one batch with others; 503 when the pool and queue are full."""
        return await self._submit(None, job)

    async def _submit(self, function, args):
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
        next_item = None
        while True:
            item = next_item if next_item is not None else self._work.get()
            next_item = None
            if item is None:
                return
            loop, future, function, args = item
            if function is not None:
                try:
                    outcome, value = _set_result, function(*args)
                except BaseException as error:   # handed to the awaiting request, never lost
                    outcome, value = _set_exception, error
                _deliver(loop, future, outcome, value)
                continue
            if not _prepared(item):
                continue
            batch, next_item = self._collect(item)
            try:
                outcomes = item[3].run_batch([job for _, _, _, job in batch])
            except BaseException as error:   # run_batch answers each job; this is a bug
                outcomes = [(False, error)] * len(batch)
            for (loop, future, _, _), (ok, value) in zip(batch, outcomes):
                _deliver(loop, future, _set_result if ok else _set_exception, value)
            if next_item is _STOP:
                return

    def _collect(self, first):
        """``(batch, next item)``: ``first`` (a prepared job) and the jobs queued behind it
        that join its batch; the next item is the first one that did not join (None: the
        queue ran empty; `_STOP`: the pool is closing)."""
        batch, key, rows = [first], first[3].key, first[3].rows
        deadline = time.monotonic() + self.batch_wait_seconds
        while rows < self.batch_max_rows:
            try:
                wait = deadline - time.monotonic()
                item = self._work.get(timeout=wait) if wait > 0 else self._work.get_nowait()
            except queue.Empty:
                return batch, None
            if item is None:
                return batch, _STOP
            if item[2] is not None:
                return batch, item
            if not _prepared(item):
                continue
            job = item[3]
            if job.key != key or rows + job.rows > self.batch_max_rows:
                return batch, item
            batch.append(item)
            rows += job.rows
        return batch, None

    def close(self):
        """Stop the threads once the work already queued is done."""
        for _ in self._threads:
            self._work.put(None)
        for thread in self._threads:
            thread.join()


_STOP = (None, None, None, None)   # the stop request, met while collecting a batch


def _prepared(item):
    """Prepare the job of a queued ``item``; False (its error delivered) if that fails."""
    loop, future, _, job = item
    try:
        job.prepare()
        return True
    except BaseException as error:
        _deliver(loop, future, _set_exception, error)
        return False


def _deliver(loop, future, outcome, value):
    try:
        loop.call_soon_threadsafe(outcome, future, value)
    except RuntimeError:   # the loop was closed meanwhile: nobody awaits it
        pass


def _set_result(future, value):
    if not future.done():   # a cancelled request leaves its future done
        future.set_result(value)


def _set_exception(future, error):
    if not future.done():
        future.set_exception(error)
