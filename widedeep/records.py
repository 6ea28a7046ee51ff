"""Raw record batches: the format readers and generators produce and feature specs consume.

A *column batch* is a ``dict[str, column]`` whose columns all have the same number of rows
``n``. A column is one of

- a 1-d NumPy array (numbers, strings, or objects) of length ``n``: one raw value per row;
  missing values are ``None``/``""`` (strings) or ``NaN`` (numbers);
- a `Ragged` column: a multi-valued (bag) field, ``values`` flattened row after row with
  ``lengths[i]`` values for row ``i`` and optional per-value ``weights``;
- a 1-d object array whose items are lists (converted with `Ragged.from_lists`), or a
  string array of separator-joined values (``"a|b|c"``, split by the feature column).
"""
from __future__ import annotations

import numpy as np

__all__ = ["Ragged", "n_rows", "column_array"]


class Ragged:
    """A multi-valued column of ``n`` rows stored flat.

    ``values`` [total], ``lengths`` int64 [n] (``lengths.sum() == total``), ``weights``
    float [total] or None. Row ``i`` holds ``values[offsets[i]:offsets[i+1]]``.

    >>> r = Ragged.from_lists([["a", "b"], [], ["c"]])
    >>> r.lengths.tolist(), r.offsets.tolist(), len(r)
    ([2, 0, 1], [0, 2, 2, 3], 3)
    >>> r.take([2, 0]).to_lists()
    [['c'], ['a', 'b']]
    """

    __slots__ = ("values", "lengths", "weights")

    def __init__(self, values, lengths, weights=None):
        self.values = np.asarray(values)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if self.values.ndim != 1 or self.lengths.ndim != 1:
            raise ValueError("Ragged: values and lengths must be 1-d")
        if np.any(self.lengths < 0):
            raise ValueError("Ragged: lengths must be >= 0")
        if int(self.lengths.sum()) != self.values.shape[0]:
            raise ValueError(f"Ragged: lengths sum to {int(self.lengths.sum())} but there are "
                             f"{self.values.shape[0]} values")
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        if self.weights is not None and self.weights.shape != self.values.shape:
            raise ValueError(f"Ragged: {self.weights.shape[0]} weights for "
                             f"{self.values.shape[0]} values")

    @classmethod
    def from_lists(cls, lists, weights=None):
        lists = list(lists)
        lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        flat = [v for x in lists for v in x]
        values = column_array(flat)
        w = None
        if weights is not None:
            w = np.asarray([v for x in weights for v in x], dtype=np.float64)
        return cls(values, lengths, w)

    @property
    def offsets(self):
        out = np.zeros(self.lengths.shape[0] + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=out[1:])
        return out

    @property
    def row_ids(self):
        """Row of each flat value, int64 [total]."""
        return np.repeat(np.arange(self.lengths.shape[0], dtype=np.int64), self.lengths)

    def take(self, rows):
        rows = np.asarray(rows, dtype=np.int64)
        offsets = self.offsets
        starts, lengths = offsets[rows], self.lengths[rows]
        new_offsets = np.zeros(rows.shape[0] + 1, dtype=np.int64)
        np.cumsum(lengths, out=new_offsets[1:])
        row_of = np.repeat(np.arange(rows.shape[0], dtype=np.int64), lengths)
        src = starts[row_of] + np.arange(int(lengths.sum()), dtype=np.int64) - new_offsets[row_of]
        return Ragged(self.values[src], lengths,
                      None if self.weights is None else self.weights[src])

    def to_lists(self):
        o = self.offsets.tolist()
        v = self.values.tolist()
        return [v[o[i]:o[i + 1]] for i in range(len(self))]

    def __len__(self):
        return int(self.lengths.shape[0])

    def __repr__(self):
        return f"Ragged(n_rows={len(self)}, total={self.values.shape[0]})"


_MAX_FIXED_WIDTH_BYTES = 1 << 26


def column_array(flat):
    """A list of raw values as a 1-d array; strings that would make a fixed-width array over 64 MB (every
    item as wide as the longest) stay Python objects."""
    if not flat:
        return np.asarray([], dtype=object)
    lengths = [len(v) for v in flat if isinstance(v, (str, bytes))]
    if lengths and max(lengths) * 4 * len(flat) > _MAX_FIXED_WIDTH_BYTES:
        values = np.empty(len(flat), dtype=object)
        values[:] = flat
        return values
    return np.asarray(flat)


def n_rows(columns):
    """Number of rows of a column batch; raises ``ValueError`` naming the column whose
    length differs from the others."""
    n = None
    first = None
    for name, col in columns.items():
        m = col.n_examples if hasattr(col, "n_examples") else len(col)   # SparseInput too
        if n is None:
            n, first = m, name
        elif m != n:
            raise ValueError(f"column {name!r} has {m} rows but column {first!r} has {n}")
    return 0 if n is None else n
