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

__all__ = ["epoch_rng", "shuffle_buffer"]

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
