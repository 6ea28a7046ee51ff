"""`read_ahead`: run an iterator on a background thread, a bounded number of items ahead.

The arrow CSV engine chains two of them (pyarrow parsing the next block; converting the
block before it), so that on an idle second core the parse, the conversion and the
caller's own work overlap, much as a deep-learning data loader works ahead of the
training step. The heavy parts (pyarrow's C++ parser, NumPy's array operations) release
the GIL. Order, values and exceptions are those of the plain iterator: items arrive in
order, an exception raised by the iterator is raised to the caller at the point it
occurred, and memory is bounded by ``depth`` items in the queue plus one being made.
"""
from __future__ import annotations

import queue
import threading

__all__ = ["read_ahead"]

_ITEM, _END, _ERROR = "item", "end", "error"
_POLL_SECONDS = 0.05


def read_ahead(items, depth=2, name="widedeep-read-ahead"):
    """Yield what iterating ``items`` yields, computed on a daemon thread at most
    ``depth`` items ahead of the caller.

    Closing the generator (the caller stops early, or an exception passes through it)
    stops the thread after the item it is making, closes ``items`` on that thread and
    waits for it, so no thread outlives the iteration.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    slots = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(message):
        """Put ``message`` in the queue unless the caller has gone; False if it has."""
        while not stop.is_set():
            try:
                slots.put(message, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def work():
        iterator = iter(items)
        try:
            for item in iterator:
                if not offer((_ITEM, item)):
                    return
            offer((_END, None))
        except BaseException as error:       # handed to the caller, raised there
            offer((_ERROR, error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == _ITEM:
                yield value
            elif kind == _ERROR:
                raise value
            else:
                return
    finally:
        stop.set()
        thread.join()
