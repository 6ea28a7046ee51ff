"""`Prefetched`: the next item of an iterable read on a background thread while the caller
works on the current one.

A streamed ``fit(..., prefetch=True)`` reads batch ``s + 1`` (parse CSV, featurize,
build the `SparseInput`s) while step ``s`` trains. The two overlap only where both run
outside the GIL (NumPy kernels, the arrow CSV parser) and a second core is free; the
Python parts of both take turns. Measured on a shared, loaded 2-core machine it was not
faster (README, "Bounded memory on one machine"), so `fit` leaves it off by default.

Contract:

- the items arrive in the source's order, each exactly once; at most ``depth`` items
  are read ahead of the one the caller holds (built or being built: the thread takes a
  slot before it asks the source, the caller frees it by taking the item), so memory is
  ``depth + 1`` items;
- the source is iterated on the thread only (``iter(source)`` is called there too), one
  item at a time, never concurrently;
- an exception raised by the source reaches the caller as the same object (type, message,
  and the source's own traceback frames, which name its file and line), at the position
  where it happened: every item before it is delivered first;
- `close` (also on ``with`` exit and on exhaustion) tells the thread to stop, lets it finish
  the item it is building, closes the source iterator (a reader's file is closed) and joins
  the thread; no thread outlives the ``with`` block, whatever ends it (the end of the
  data, early stopping, an exception in the caller's step, ``KeyboardInterrupt``).

>>> with Prefetched(range(4)) as items:
...     [item * 10 for item in items]
[0, 10, 20, 30]
"""
from __future__ import annotations

import queue
import threading

__all__ = ["Prefetched"]

_ITEM, _END, _ERROR = "item", "end", "error"


class Prefetched:
    """Iterate ``source`` with up to ``depth`` (>= 1) items read ahead on a daemon thread
    named ``name``; use it in a ``with`` block (or call `close`)."""

    def __init__(self, source, depth=1, name="widedeep-prefetch"):
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"prefetch depth must be an int >= 1, got {depth!r}")
        self._queue = queue.SimpleQueue()
        self._slots = threading.Semaphore(depth)
        self._stop = threading.Event()
        self._done = False
        # the thread holds the queue, slots and flag, not this object: dropping it without
        # `close` still reaches `__del__`, which stops the thread
        self._thread = threading.Thread(target=_read, name=name, daemon=True,
                                        args=(source, self._queue, self._slots, self._stop))
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == _ITEM:
            self._slots.release()
            return value
        self.close()
        if kind == _END:
            raise StopIteration
        raise value

    def close(self):
        """Stop reading ahead and join the thread (waits for the item being built)."""
        self._done = True
        self._stop.set()
        self._slots.release()   # a thread waiting for a slot wakes up and sees the stop
        self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def __del__(self):   # an instance dropped without close: do not leave its thread
        if getattr(self, "_thread", None) is not None and self._thread.is_alive():
            self.close()


def _read(source, items, slots, stop):
    """The thread: each item of ``source`` once a slot is free, then the end or the
    source's exception, into ``items``."""
    iterator = None
    try:
        iterator = iter(source)
        while True:
            slots.acquire()
            if stop.is_set():
                return
            try:
                item = next(iterator)
            except StopIteration:
                items.put((_END, None))
                return
            items.put((_ITEM, item))
    except BaseException as error:   # handed to the caller, re-raised there unchanged
        items.put((_ERROR, error))
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
