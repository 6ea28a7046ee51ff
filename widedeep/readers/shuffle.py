"""Reproducible shuffling for streams: per-epoch random generators and a bounded
shuffle buffer.

Seeding contract (used by every reader in `widedeep.readers`):

- ``random_state=None``: fresh operating-system entropy every epoch (not reproducible);
- ``random_state=<int>``: epoch ``e`` (0 for the first ``iter()`` of a reader, 1 for the
  second, ...) draws from ``np.random.default_rng([random_state, e])``. The order of an
  epoch therefore depends only on the seed and the epoch number: re-running a script gives
  the same sequence of epochs, and consecutive epochs differ;
- ``random_state=<np.random.Generator>``: that generator is used as is and advanced, so
  epochs differ and the sequence repeats only if the generator is re-seeded.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["epoch_rng", "shuffle_buffer", "shuffle_rows"]

_DRAW_CHUNK = 4096


def epoch_rng(random_state, epoch):
    """The generator that shuffles epoch ``epoch`` under ``random_state`` (see module
    docstring)."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, (numbers.Integral, np.integer)) \
            and not isinstance(random_state, bool) and random_state >= 0:
        return np.random.default_rng([int(random_state), int(epoch)])
    raise TypeError(f"random_state must be None, a non-negative int or a "
                    f"numpy.random.Generator, got {random_state!r}")


def shuffle_buffer(items, buffer_size, rng):
    """Yield ``items`` in a shuffled order using at most ``buffer_size`` items of memory.

    The first ``buffer_size`` items fill the buffer; then each arriving item replaces a
    uniformly chosen buffered item, which is emitted; at the end of the stream the
    remaining buffer is emitted in a random permutation. Every item is emitted exactly
    once. An item can move at most ``buffer_size - 1`` positions earlier than where it
    arrived, so the buffer should be large compared with any ordering in the file (a
    buffer at least as long as the stream gives a uniform permutation).
    ``buffer_size <= 1`` keeps the original order.
    """
    if buffer_size <= 1:
        yield from items
        return
    iterator = iter(items)
    buffer = []
    for item in iterator:
        buffer.append(item)
        if len(buffer) == buffer_size:
            break
    draws, k = [], 0
    for item in iterator:
        if k == len(draws):
            # drawing slots in chunks keeps the per-item cost to a list lookup
            draws, k = rng.integers(0, buffer_size, size=_DRAW_CHUNK).tolist(), 0
        slot = draws[k]
        k += 1
        out = buffer[slot]
        buffer[slot] = item
        yield out
    for slot in rng.permutation(len(buffer)).tolist():
        yield buffer[slot]


class _SlotDraws:
    """The slot draws of `shuffle_buffer`, in the same ``_DRAW_CHUNK`` blocks, so that
    `shuffle_rows` consumes ``rng`` exactly as `shuffle_buffer` does."""

    def __init__(self, rng, buffer_size):
        self.rng, self.buffer_size = rng, buffer_size
        self.draws, self.used = np.zeros(0, dtype=np.int64), 0

    def take(self, count):
        pieces = []
        while count:
            if self.used == self.draws.size:
                self.draws = self.rng.integers(0, self.buffer_size, size=_DRAW_CHUNK)
                self.used = 0
            piece = self.draws[self.used:self.used + count]
            self.used += piece.size
            count -= piece.size
            pieces.append(piece)
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)


def _take(batch, rows):
    return {name: column[rows] for name, column in batch.items()}


def _concat(batches):
    return {name: np.concatenate([batch[name] for batch in batches]) for name in batches[0]}


def _replace_rows(buffer, slots, batch, rows):
    """``buffer[slots] = batch[rows]`` column by column, widening a string column whose
    new values are longer than its width."""
    for name, column in batch.items():
        held = buffer[name]
        wider = np.result_type(held, column)
        if wider != held.dtype:
            held = buffer[name] = held.astype(wider)
        held[slots] = column[rows]


def _swap_through(buffer, arriving, slots):
    """Rows emitted as the rows of ``arriving`` enter the full ``buffer`` (updated in
    place) at ``slots``, one after the other."""
    order = np.argsort(slots, kind="stable")
    sorted_slots = slots[order]
    same_slot = sorted_slots[1:] == sorted_slots[:-1]
    # previous[j]: the latest earlier arriving row that drew the same slot as row j
    previous = np.full(slots.size, -1, dtype=np.int64)
    previous[order[1:][same_slot]] = order[:-1][same_slot]
    from_buffer = previous < 0
    out = {}
    for name, column in arriving.items():
        held = buffer[name]
        values = np.empty(slots.size, dtype=np.result_type(held, column))
        values[from_buffer] = held[slots[from_buffer]]
        values[~from_buffer] = column[previous[~from_buffer]]
        out[name] = values
    last = np.ones(slots.size, dtype=bool)
    last[:-1] = ~same_slot
    _replace_rows(buffer, sorted_slots[last], arriving, order[last])
    return out


def shuffle_rows(batches, buffer_size, rng):
    """`shuffle_buffer` for a stream of column batches (``dict`` of 1-d arrays):
    yields batches whose concatenated rows are exactly the rows ``shuffle_buffer`` would
    emit for the concatenated input rows with the same ``rng`` state, computed a batch
    at a time with array operations instead of one Python step per row.

    Within a batch of ``m`` arriving rows with slot draws ``s_1..s_m``, arriving row
    ``j`` emits the row most recently put in slot ``s_j``: an earlier row of the same
    batch if one drew ``s_j``, else the buffer's row; afterwards each drawn slot holds
    the last row that drew it. Memory: ``buffer_size`` rows plus one batch.
    """
    if buffer_size <= 1:
        yield from batches
        return
    filling, n_held, buffer = [], 0, None
    draws = _SlotDraws(rng, buffer_size)
    for batch in batches:
        n = len(next(iter(batch.values()))) if batch else 0
        start = 0
        if n_held < buffer_size:  # still filling the buffer
            start = min(buffer_size - n_held, n)
            filling.append(_take(batch, slice(0, start)))
            n_held += start
            if n_held < buffer_size:
                continue
            buffer = _concat(filling)
        if start == n:
            continue
        yield _swap_through(buffer, _take(batch, slice(start, n)), draws.take(n - start))
    if n_held:
        if buffer is None:
            buffer = _concat(filling)
        yield _take(buffer, rng.permutation(n_held))
