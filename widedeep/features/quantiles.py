"""Quantile boundaries from a bounded-memory summary, quantile normalization, bucketizing.

Summary
    `QuantileSummary` keeps a uniform random sample ("reservoir", Vitter's Algorithm R) of
    at most ``capacity`` values of a stream, with a seeded ``numpy.random.Generator``.
    Memory is ``8 * capacity`` bytes whatever the stream length. Each value after the
    first ``capacity`` draws exactly one ``rng.random()``, so the sample depends only on the
    stream and the seed, never on how the stream was cut into batches.

    Accuracy: while the stream has at most ``capacity`` values the summary holds all of them
    and boundaries are exact. Beyond, the rank of a boundary chosen at level ``q`` is off by
    a random amount with standard deviation ``sqrt(q (1 - q) / capacity)`` of the stream
    length (at most ``0.5 / sqrt(capacity)``: 0.16% of the rows for the default 100,000).

Boundaries
    For ``n_quantiles`` quantiles of a sorted sample ``s`` of length ``m``, boundary
    ``j = 1 .. n_quantiles-1`` is ``s[floor(j * m / n_quantiles)]``, the smallest value
    with at least a fraction ``j / n_quantiles`` of the sample strictly before it in sorted
    order. Repeated boundaries (many ties) are merged, so the learned boundaries are
    strictly increasing and there may be fewer than ``n_quantiles - 1``; a boundary equal to
    the sample minimum is dropped too, so the training minimum always maps to 0.

Quantile normalization (Cheng et al. 2016, section 4.1)
    With ``B`` = the ``n_b`` learned boundaries, value ``x`` falls in quantile
    ``i = 1 + #{b in B : b <= x}`` (``1 .. n_b + 1``) and maps to
    ``(i - 1) / n_b`` — the paper's ``(i - 1) / (n_q - 1)`` with ``n_q = n_b + 1`` the number
    of distinct quantiles actually learned. Consequences:

    - ties: equal values always fall in the same quantile, and a value equal to a boundary
      belongs to the quantile that starts at it;
    - out of range: anything below the smallest boundary (including below the training
      minimum) maps to 0, anything at or above the largest boundary (including above the
      training maximum) maps to 1;
    - a constant column has no boundary and maps to 0.

>>> s = QuantileSummary(capacity=100, seed=0)
>>> s.update(np.array([1, 2, 2, 2, 2, 2, 3, 4], dtype=float))
>>> boundaries = s.boundaries(4)
>>> boundaries.tolist()
[2.0, 3.0]
>>> quantile_normalize(np.array([0.0, 1.0, 2.0, 2.5, 3.0, 99.0]), boundaries).tolist()
[0.0, 0.0, 0.5, 0.5, 1.0, 1.0]
"""
from __future__ import annotations

import numpy as np

__all__ = ["QuantileSummary", "quantile_boundaries", "quantile_normalize", "bucketize"]


class QuantileSummary:
    """Bounded-memory uniform sample of a stream of floats (see module docstring).

    Parameters
    ----------
    capacity : int
        Maximum number of values kept.
    seed : int
        Seed of the sampling generator.
    start : int
        Stream position of this summary's first value (default 0). A summary of a later
        part of the stream (a data partition whose values come after ``start`` others)
        skips the generator ahead by the draws of the values before it, so the parts'
        summaries `merge` into exactly the summary of the whole stream.

    Merging: ``whole.merge(part.merge_state())`` with parts in stream order, each starting
    where the previous ended, writes the slots the part's values won (the later value
    wins, as in the sequential loop). The sample, and so every boundary, is bit-identical
    to one summary updated with the whole stream. A part's ``merge_state`` holds only the
    slots it wrote: at most ``min(its values, capacity)``, and about
    ``capacity * ln(end / start)`` for a part far into the stream.
    """

    def __init__(self, capacity=100_000, seed=0, start=0):
        if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) \
                or capacity < 1:
            raise ValueError(f"summary capacity must be a positive int, got {capacity!r}")
        if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or start < 0:
            raise ValueError(f"summary start must be an int >= 0, got {start!r}")
        self.capacity = int(capacity)
        self.seed = seed
        self.start = int(start)
        self._rng = np.random.default_rng(seed)
        # one generator output per value past the capacity (Generator.random uses one
        # 64-bit output per double): skip those of the values before ``start``
        self._rng.bit_generator.advance(max(self.start - self.capacity, 0))
        self._sample = np.empty(self.capacity, dtype=np.float64)
        self._written = np.zeros(self.capacity, dtype=bool)
        self.n_seen = self.start   # stream position after the last value added

    def update(self, values):
        """Add a batch of finite float values (1-d)."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        free = max(self.capacity - self.n_seen, 0)
        head = values[:free]
        self._sample[self.n_seen:self.n_seen + head.shape[0]] = head
        self._written[self.n_seen:self.n_seen + head.shape[0]] = True
        self.n_seen += head.shape[0]
        rest = values[head.shape[0]:]
        if rest.shape[0] == 0:
            return
        # Algorithm R: the value at (0-based) stream position t replaces a uniform slot
        # with probability capacity / (t + 1).
        positions = self.n_seen + np.arange(rest.shape[0], dtype=np.float64)
        slots = np.floor(self._rng.random(rest.shape[0]) * (positions + 1)).astype(np.int64)
        accepted = np.flatnonzero(slots < self.capacity)
        if accepted.size:
            # The later of two values sent to the same slot wins, as in the sequential loop.
            reversed_slots = slots[accepted][::-1]
            _, last = np.unique(reversed_slots, return_index=True)
            winners = accepted[::-1][last]
            self._sample[slots[winners]] = rest[winners]
            self._written[slots[winners]] = True
        self.n_seen += rest.shape[0]

    def merge_state(self):
        """What `merge` needs of this summary: ``{"start", "end", "slots", "values"}`` (the
        slots this summary wrote and their values), plain data."""
        slots = np.flatnonzero(self._written)
        return {"start": self.start, "end": self.n_seen, "slots": slots,
                "values": self._sample[slots].copy()}

    def merge(self, state):
        """Append the summary of the next part of the stream (its ``merge_state``)."""
        if int(state["start"]) != self.n_seen:
            raise ValueError(f"QuantileSummary.merge: the part starts at stream position "
                             f"{state['start']} but this summary ends at {self.n_seen}; "
                             f"merge the parts in stream order")
        slots = np.asarray(state["slots"], dtype=np.int64)
        self._sample[slots] = state["values"]
        self._written[slots] = True
        self._rng = np.random.default_rng(self.seed)
        self._rng.bit_generator.advance(max(int(state["end"]) - self.capacity, 0))
        self.n_seen = int(state["end"])

    def sorted_sample(self):
        """The kept values, sorted, float64 [min(n_seen, capacity)]."""
        return np.sort(self._sample[:min(self.n_seen, self.capacity)])

    def boundaries(self, n_quantiles):
        """Strictly increasing quantile boundaries (at most ``n_quantiles - 1``)."""
        return quantile_boundaries(self.sorted_sample(), n_quantiles)


def quantile_boundaries(sorted_values, n_quantiles):
    """Boundaries ``sorted_values[floor(j * m / n_quantiles)]`` for
    ``j = 1 .. n_quantiles - 1``, duplicates merged; float64 [<= n_quantiles - 1]."""
    if isinstance(n_quantiles, bool) or not isinstance(n_quantiles, (int, np.integer)) \
            or n_quantiles < 2:
        raise ValueError(f"n_quantiles must be an int >= 2, got {n_quantiles!r}")
    sorted_values = np.asarray(sorted_values, dtype=np.float64)
    m = sorted_values.shape[0]
    if m == 0:
        return np.zeros(0, dtype=np.float64)
    ranks = (np.arange(1, n_quantiles, dtype=np.int64) * m) // n_quantiles
    candidates = np.unique(sorted_values[ranks])
    # A boundary equal to the minimum would leave the first quantile empty.
    return candidates[candidates > sorted_values[0]]


def bucketize(values, boundaries):
    """Bucket ``#{b in boundaries : b <= x}`` of each value, int64 [n] in
    ``[0, len(boundaries)]``: bucket 0 is ``x < b_0``, bucket k is ``b_{k-1} <= x < b_k``."""
    return np.searchsorted(np.asarray(boundaries, dtype=np.float64), values,
                           side="right").astype(np.int64)


def quantile_normalize(values, boundaries):
    """Paper's quantile normalization ``(i - 1) / (n_q - 1)`` in [0, 1], float64 [n]."""
    n_boundaries = len(boundaries)
    if n_boundaries == 0:
        return np.zeros(np.shape(values)[0], dtype=np.float64)
    return bucketize(values, boundaries) / float(n_boundaries)
