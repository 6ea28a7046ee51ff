"""`ReadAhead`: iterate a source on a background thread, a bounded number of items ahead
of the caller.

The one implementation of "make the next item while the caller uses this one", used by
the readers (the arrow CSV engine: pyarrow parses block k + 1 on one `ReadAhead` while
block k is converted on another) and by training (``fit(..., prefetch=True)`` reads and
featurizes batch s + 1 while step s trains). It sits below both stages and imports
neither. The work overlaps only where both sides run outside the GIL (pyarrow's parser,
NumPy kernels) and a core is free; Python code on both sides takes turns.

Contract:

- the items arrive in the source's order, each exactly once; at most ``depth`` items
  are made ahead of the one the caller holds (made or being made: the thread takes a
  slot before it asks the source, the caller frees it by taking the item), so memory is
  ``depth + 1`` items;
- the source is iterated on the thread only (``iter(source)`` is called there too), one
  item at a time, never concurrently;
- an exception raised by the source reaches the caller as the same object (type, message,
  and the source's own traceback frames, which name its file and line), at the position
  where it happened: every item before it is delivered first;
- `close` (also on ``with`` exit, on exhaustion, on the source's error, and when an
  instance is dropped) tells the thread to stop, lets it finish the item it is making,
  closes the source iterator (a reader's file is closed) on the thread and joins the
  thread; no thread outlives the ``with`` block, whatever ends it (the end of the data,
  the caller stopping early, an exception in the caller, ``KeyboardInterrupt``).

>>> with ReadAhead(range(4)) as items:
...     [item * 10 for item in items]
[0, 10, 20, 30]
"""
from __future__ import annotations

import queue
import threading

__all__ = ["ReadAhead"]

_ITEM, _END, _ERROR = "item", "end", "error"


class ReadAhead:
    """Iterate ``source`` with up to ``depth`` (an int >= 1) items made ahead on a daemon
    thread named ``name``; use it in a ``with`` block (or call `close`)."""

    def __init__(self, source, depth=1, name="widedeep-read-ahead"):
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"read-ahead depth must be an int >= 1, got {depth!r}")
        self._queue = queue.SimpleQueue()
        self._slots = threading.Semaphore(depth)
        self._stop = threading.Event()
        self._done = False
        # the thread holds the queue, slots and flag, not this object: dropping it without
        # `close` still reaches `__del__`, which stops the thread
        self._thread = threading.Thread(target=_make_items, name=name, daemon=True,
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
        """Stop reading ahead and join the thread (waits for the item being made)."""
        self._done = True
        self._stop.set()
        self._slots.release()   # a thread waiting for a slot wakes up and sees the stop
        if threading.current_thread() is not self._thread:   # (a collection run there)
            self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def __del__(self):   # an instance dropped without close: do not leave its thread
        if getattr(self, "_thread", None) is not None and self._thread.is_alive():
            self.close()


def _make_items(source, items, slots, stop):
    """The thread: each item of ``source`` once a slot is free, then the end or the
    source's exception, into ``items``; the source iterator is closed here."""
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
