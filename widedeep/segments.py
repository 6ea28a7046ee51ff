"""Vectorized grouping of rows by id, shared by the layers and the optimizers.

`sum_duplicates(ids, values)` returns the distinct ids (ascending) and, for each, the sum
of the rows of ``values`` given with it: one stable sort plus one ``np.add.reduceat``,
O(m log m + m d) for m rows of width d, independent of the vocabulary size.

>>> import numpy as np
>>> ids, sums = sum_duplicates(np.array([5, 2, 5]), np.array([[1.0], [2.0], [3.0]]))
>>> ids.tolist(), sums.tolist()
([2, 5], [[2.0], [4.0]])
"""
from __future__ import annotations

import numpy as np

__all__ = ["sum_duplicates"]


def sum_duplicates(ids, values):
    """``(unique_ids, summed_values)`` with ``summed_values[k] = sum of values[j]`` over
    ``ids[j] == unique_ids[k]``; ``values`` has shape [m, ...] (any trailing shape)."""
    if ids.shape[0] == 0:
        return ids.astype(np.int64, copy=False), values[:0]
    order = np.argsort(ids)   # introsort: ~4x faster than a stable sort here
    sorted_ids = ids[order]
    is_start = np.empty(sorted_ids.shape[0], dtype=bool)
    is_start[0] = True
    np.not_equal(sorted_ids[1:], sorted_ids[:-1], out=is_start[1:])
    ordered = values[order]
    if is_start.all():
        return sorted_ids, ordered
    starts = np.flatnonzero(is_start)
    return sorted_ids[starts], np.add.reduceat(ordered, starts, axis=0)
