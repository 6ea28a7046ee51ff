"""Vectorized grouping of rows by id, shared by the layers and the optimizers.

`sum_duplicates(ids, values)` returns the distinct ids (ascending) and, for each, the sum
of the rows of ``values`` given with it, **added in their input order** (a stable grouping),
so the result does not depend on how the grouping was found:

- small id spaces (``n_ids <= COUNTING_MAX_IDS``, e.g. Adult's 121 embedding rows): a
  counting pass (``np.bincount``) gives the distinct ids and the group sizes, and a stable
  radix argsort of the ids as uint16 gives the order — O(m + n_ids), no comparison sort;
- otherwise one in-place sort of the keys ``id * 2^b + position`` (``2^b >= m``; stable by
  construction, and as fast as an unstable ``argsort``), O(m log m) independent of the
  vocabulary size.

Then one ``np.take`` of the rows in that order and one ``np.add.reduceat``. Both paths
give bit-identical results (tests/test_segments.py). With a workspace
(`widedeep.workspace.Workspace`) every array is one of its buffers, and the gather and
the group sums are split over its row threads (rows, then whole groups).

>>> import numpy as np
>>> ids, sums = sum_duplicates(np.array([5, 2, 5]), np.array([[1.0], [2.0], [3.0]]))
>>> ids.tolist(), sums.tolist()
([2, 5], [[2.0], [4.0]])
"""
from __future__ import annotations

import numpy as np

from .workspace import empty, run_rows

__all__ = ["sum_duplicates", "COUNTING_MAX_IDS"]

# Measured (2-vCPU EPYC, m = 2.3k-27k entries): the counting path is faster up to a few
# thousand ids and slower from ~60k on; uint16 bounds it at 65,536 anyway.
COUNTING_MAX_IDS = 4096


def sum_duplicates(ids, values, n_ids=None, workspace=None, key="sum_duplicates", runs=None):
    """``(unique_ids, summed_values)`` with ``summed_values[k] = sum of values[j]`` over
    ``ids[j] == unique_ids[k]`` in increasing ``j``; ``values`` has shape [m, ...] (any
    trailing shape). ``n_ids``: ids are known to lie in ``[0, n_ids)`` (enables the
    counting path for small id spaces).

    ``runs`` (a hint for the sorting path; any value gives the same result): how the ids
    fall into pieces with ranges of their own, e.g. the fields of a batch, each field's ids
    an offset range of its own. An int ``F``: the ids are an [m / F, F] matrix (example
    by field) and each column is a piece; a list of boundaries ``[0, b_1, ..., m]``:
    contiguous pieces. Each piece's keys are sorted on their own (shorter sorts), then one
    stable sort merges them, a single pass when the pieces' ranges come in order."""
    m = ids.shape[0]
    if m == 0:
        return ids.astype(np.int64, copy=False), values[:0]
    if n_ids is not None and n_ids <= COUNTING_MAX_IDS:
        order, unique_ids, starts = _group_by_counting(ids, n_ids, workspace, key)
    else:
        order, unique_ids, starts = _group_by_sorting(ids, n_ids, workspace, key, runs)
    ordered = empty(workspace, key + "/ordered", values.shape, values.dtype)
    row_size = values[:1].size
    # the gather and the group sums treat each row / each group on its own: split over
    # the workspace's threads (each group summed whole, in order, by one thread)
    run_rows(workspace, lambda start, stop: np.take(
        values, order[start:stop], axis=0, mode="clip", out=ordered[start:stop]),
        m, row_size)
    k = unique_ids.shape[0]
    if k == m:
        return unique_ids, ordered
    summed = empty(workspace, key + "/summed", (k,) + values.shape[1:], values.dtype)

    def group_sums(first, last):
        if first < last:
            end = m if last == k else int(starts[last])
            np.add.reduceat(ordered[:end], starts[first:last], axis=0,
                            out=summed[first:last])
    run_rows(workspace, group_sums, k, m * row_size // k)
    return unique_ids, summed


def _group_by_counting(ids, n_ids, workspace, key):
    """Stable order, distinct ids and group starts for ids in a small range."""
    counts = np.bincount(ids, minlength=n_ids)
    unique_ids = np.flatnonzero(counts)
    sizes = counts[unique_ids]
    starts = np.cumsum(sizes)
    starts -= sizes
    small = ids.astype(np.uint16) if n_ids <= 65536 else ids
    order = np.argsort(small, kind="stable")   # radix sort for 16-bit keys: O(m)
    return order, unique_ids, starts


def _group_by_sorting(ids, n_ids, workspace, key, runs=None):
    """Stable order, distinct ids and group starts by one in-place sort of
    ``(id << b) | position`` (``b`` the bits of ``m - 1``)."""
    m = ids.shape[0]
    largest = n_ids if n_ids is not None else int(ids.max()) + 1
    # the position takes the key's low ``shift`` bits: shifts and masks instead of an
    # integer multiply, remainder and division (the same order as id * m + position)
    shift = max(int(m - 1).bit_length(), 1)
    if largest > 2 ** (62 - shift):   # keys would overflow int64: comparison argsort instead
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order].astype(np.int64, copy=False)
    else:
        keys = empty(workspace, key + "/keys", m, np.int64)
        keys[...] = ids
        keys <<= shift
        keys |= _arange(workspace, m)
        _sort_keys(keys, runs, workspace, key)
        order = np.bitwise_and(keys, (1 << shift) - 1,
                               out=empty(workspace, key + "/order", m, np.int64))
        sorted_ids = np.right_shift(keys, shift, out=keys)
    # group number of every sorted entry: a running count of the positions where the id
    # changes (int64 flags, so the running sum needs no cast buffer the size of the batch)
    group = empty(workspace, key + "/group", m, np.int64)
    group[0] = 0
    np.not_equal(sorted_ids[1:], sorted_ids[:-1], out=group[1:], casting="unsafe")
    np.cumsum(group, out=group)
    k = int(group[-1]) + 1
    # the last write to a slot wins (np.put writes in order): each group's last position
    ends = empty(workspace, key + "/ends", k, np.int64)
    np.put(ends, group, _arange(workspace, m), mode="clip")
    starts = empty(workspace, key + "/starts", k, np.int64)
    starts[0] = 0
    np.add(ends[:-1], 1, out=starts[1:])
    unique_ids = np.take(sorted_ids, starts, mode="clip",
                         out=empty(workspace, key + "/unique", k, np.int64))
    return order, unique_ids, starts


def _sort_keys(keys, runs, workspace, key):
    """Sort ``keys`` in place, piece by piece first when ``runs`` says how (see
    `sum_duplicates`): the same sorted array whatever ``runs`` is."""
    m = keys.shape[0]
    if isinstance(runs, (int, np.integer)) and runs > 1 and m % runs == 0:
        by_piece = empty(workspace, key + "/pieces", (int(runs), m // int(runs)), np.int64)
        by_piece[...] = keys.reshape(-1, int(runs)).T
        by_piece.sort(axis=1)
        keys[...] = by_piece.reshape(-1)
    elif runs is not None and not isinstance(runs, (int, np.integer)) and len(runs) > 2:
        for start, stop in zip(runs[:-1], runs[1:]):   # a loop over pieces (fields)
            keys[start:stop].sort()
    else:
        keys.sort()
        return
    keys.sort(kind="stable")   # merges the sorted pieces (one pass if already in order)


def _arange(workspace, m):
    """``np.arange(m)`` (int64); with a workspace a kept buffer, filled when it grows."""
    if workspace is None:
        return np.arange(m, dtype=np.int64)
    return workspace.arange(m)
