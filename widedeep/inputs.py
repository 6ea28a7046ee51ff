"""`SparseInput`: one sparse (categorical, possibly multi-valued) field of one batch.

A batch of ``n_examples`` bags is stored as three parallel arrays (a COO/CSR hybrid)::

    example_indices  int64   [nnz]   which example each entry belongs to, sorted ascending
    feature_ids      int64   [nnz]   the id (row of the vocabulary) of each entry
    feature_values   float   [nnz]   the weight of each entry (1.0 for plain one-hot)

Entry ``k`` says "example ``example_indices[k]`` contains id ``feature_ids[k]`` with
weight ``feature_values[k]``". An id may repeat inside one bag; an example with no entry
has an empty bag, which is legal (it contributes nothing). Because ``example_indices`` is
sorted, the CSR row pointer ``indptr`` (``[n_examples + 1]``) is derived from it in
``O(nnz)`` and every layer can pool bags with vectorized segment sums.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["SparseInput"]


class SparseInput:
    """One sparse field of one batch of examples.

    Parameters
    ----------
    example_indices : array-like of int, shape [nnz]
        Example (row) of each entry, sorted ascending, each in ``[0, n_examples)``.
    feature_ids : array-like of int, shape [nnz]
        Vocabulary id of each entry, ``>= 0`` (and ``< vocab_size`` when given).
    feature_values : array-like of float, shape [nnz], optional
        Weight of each entry; default all ones. Must be finite.
    n_examples : int
        Number of examples in the batch (the number of bags, including empty ones).
    field : str, optional
        Name used in error messages.
    vocab_size : int, optional
        If given, ids are checked to be ``< vocab_size``.
    dtype : numpy float dtype
        dtype of ``feature_values`` (float32 by default).

    Examples
    --------
    >>> x = SparseInput.from_lists([[3, 1], [], [2, 2]], weights=[[1.0, 0.5], [], [1.0, 1.0]], field="apps")
    >>> x.n_examples, x.nnz
    (3, 4)
    >>> x.indptr.tolist()
    [0, 2, 2, 4]
    >>> x.take([2, 0]).to_lists()
    [[2, 2], [3, 1]]
    """

    __slots__ = ("example_indices", "feature_ids", "feature_values", "n_examples", "field",
                 "_indptr", "_one_per_example")

    def __init__(self, example_indices, feature_ids, feature_values=None, *, n_examples,
                 field=None, vocab_size=None, dtype=np.float32, validate=True):
        self.field = field
        self.example_indices = _int64_array(example_indices, field, "example_indices")
        self.feature_ids = _int64_array(feature_ids, field, "feature_ids")
        if feature_values is None:
            self.feature_values = np.ones(self.feature_ids.shape[0], dtype=dtype)
        elif type(feature_values) is np.ndarray and feature_values.ndim == 1 \
                and feature_values.dtype == dtype:   # as given (no cast, no copy)
            self.feature_values = feature_values
        else:
            if np.ndim(feature_values) > 1:
                _raise_ndim(field, "feature_values")
            try:
                with np.errstate(over="ignore"):   # an overflow to inf is caught by validate
                    self.feature_values = np.asarray(feature_values, dtype=dtype).reshape(-1)
            except (TypeError, ValueError):
                raise TypeError(f"{_where(field)}: feature_values must be numbers, got "
                                f"{np.asarray(feature_values).dtype}") from None
        if isinstance(n_examples, (bool, np.bool_)) or int(n_examples) != n_examples \
                or n_examples < 0:
            raise ValueError(f"{self._where()}: n_examples must be a non-negative integer, "
                             f"got {n_examples!r}")
        self.n_examples = int(n_examples)
        self._indptr = None
        self._one_per_example = None
        if validate:
            self.validate(vocab_size)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_lists(cls, id_lists, weights=None, *, field=None, vocab_size=None,
                   dtype=np.float32):
        """Build from one list of ids per example (``[[3, 1], [], [2]]``), optional weights
        with the same nesting."""
        id_lists = list(id_lists)
        lengths = np.fromiter((len(ids) for ids in id_lists), dtype=np.int64,
                              count=len(id_lists))
        example_indices = np.repeat(np.arange(len(id_lists), dtype=np.int64), lengths)
        flat_ids = [i for ids in id_lists for i in ids]
        try:
            feature_ids = np.asarray(flat_ids, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{_where(field)}: feature ids must be integers, got "
                            f"{flat_ids[:5]!r}...") from None
        if feature_ids.size and not np.all(feature_ids == np.round(feature_ids)):
            raise TypeError(f"{_where(field)}: feature ids must be integers")
        values = None
        if weights is not None:
            weights = list(weights)
            if len(weights) != len(id_lists):
                raise ValueError(f"{_where(field)}: {len(weights)} weight lists for "
                                 f"{len(id_lists)} examples")
            w_lengths = np.fromiter((len(w) for w in weights), dtype=np.int64,
                                    count=len(weights))
            bad = np.flatnonzero(w_lengths != lengths)
            if bad.size:
                r = int(bad[0])
                raise ValueError(f"{_where(field)}: example {r} has {lengths[r]} ids but "
                                 f"{w_lengths[r]} weights")
            values = np.asarray([v for w in weights for v in w], dtype=dtype)
        return cls(example_indices, feature_ids.astype(np.int64), values,
                   n_examples=len(id_lists), field=field, vocab_size=vocab_size, dtype=dtype)

    @classmethod
    def from_ids(cls, ids, *, field=None, vocab_size=None, dtype=np.float32):
        """One id per example (a single-valued field), ``ids`` of shape [n_examples]."""
        ids = np.asarray(ids)
        if ids.ndim != 1:
            raise ValueError(f"{_where(field)}: expected a 1-d array of ids, got shape "
                             f"{ids.shape}")
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"{_where(field)}: ids must be integers, got dtype {ids.dtype}")
        n = ids.shape[0]
        # one entry per example, unit values: sorted and finite by construction, so only
        # the id range is checked (the generic validation costs several passes)
        x = cls(np.arange(n, dtype=np.int64), ids, None, n_examples=n, field=field,
                dtype=dtype, validate=False)
        if n:
            low, high = int(x.feature_ids.min()), int(x.feature_ids.max())
            if low < 0 or (vocab_size is not None and high >= vocab_size):
                x.validate(vocab_size)   # raises with the offending example named
        x._one_per_example = True
        return x

    @classmethod
    def from_id_columns(cls, ids, fields, *, vocab_sizes=None, dtype=np.float32):
        """Several single-valued fields at once: ``ids`` int [n_examples, len(fields)],
        column ``j`` the ids of ``fields[j]``; returns ``{field: SparseInput}``, each as
        `from_ids` of its column would build it (same ids, values 1, same errors).

        ``vocab_sizes``: None, or one size (or None) per field. Built in a few calls for
        all fields (one int64 copy of the ids, one minimum and maximum per column), which
        matters for the small batches of serving. The fields share one read-only
        ``example_indices`` (``0 .. n-1``) and one read-only ``feature_values`` (ones)."""
        ids = np.asarray(ids)
        fields = list(fields)
        if ids.ndim != 2 or ids.shape[1] != len(fields):
            raise ValueError(f"from_id_columns: expected ids of shape [n, {len(fields)}] "
                             f"(one column per field), got shape {ids.shape}")
        sizes = [None] * len(fields) if vocab_sizes is None else list(vocab_sizes)
        if len(sizes) != len(fields):
            raise ValueError(f"from_id_columns: {len(sizes)} vocab_sizes for "
                             f"{len(fields)} fields")
        n = ids.shape[0]
        if ids.dtype.kind not in "iu" or ids.size == 0:
            # anything unusual (floats, objects, no rows): each column's own constructor
            return {f: cls.from_ids(ids[:, j], field=f, vocab_size=sizes[j], dtype=dtype)
                    for j, f in enumerate(fields)}
        by_field = np.ascontiguousarray(ids.T, dtype=np.int64)   # one copy, [F, n]
        # 0 <= id < size per column in one reduction: read as unsigned a negative id (or a
        # uint64 above the int64 range) exceeds every size
        limits = np.array([_INT64_MAX if s is None else s for s in sizes], dtype=np.uint64)
        top = np.maximum.reduce(by_field.view(np.uint64) if ids.dtype.kind == "i" else
                                ids.T.astype(np.uint64), axis=1)
        for j in np.flatnonzero(top >= limits).tolist():
            # the first failing column's own error (field, example, value); a column at
            # exactly the int64 maximum without a size passes its check and is kept
            cls.from_ids(ids[:, j], field=fields[j], vocab_size=sizes[j], dtype=dtype)
        rows = np.arange(n, dtype=np.int64)
        ones = np.ones(n, dtype=dtype)
        rows.flags.writeable = ones.flags.writeable = False   # shared by every field
        out = {}
        for j, field in enumerate(fields):
            x = cls.__new__(cls)
            x.example_indices, x.feature_ids, x.feature_values = rows, by_field[j], ones
            x.n_examples, x.field, x._indptr, x._one_per_example = n, field, None, True
            out[field] = x
        return out

    @classmethod
    def from_csr(cls, indptr, indices, values=None, *, field=None, vocab_size=None,
                 dtype=np.float32):
        """From CSR arrays (``indptr`` [n+1], ``indices`` [nnz], ``values`` [nnz])."""
        indptr = np.asarray(indptr, dtype=np.int64)
        if indptr.ndim != 1 or indptr.size == 0 or indptr[0] != 0 \
                or np.any(np.diff(indptr) < 0):
            raise ValueError(f"{_where(field)}: indptr must be 1-d, start at 0 and be "
                             f"non-decreasing")
        n = indptr.shape[0] - 1
        if indptr[-1] != np.shape(indices)[0]:
            raise ValueError(f"{_where(field)}: indptr ends at {indptr[-1]} but there are "
                             f"{np.shape(indices)[0]} indices")
        example_indices = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
        x = cls(example_indices, indices, values, n_examples=n, field=field,
                vocab_size=vocab_size, dtype=dtype)
        x._indptr = indptr
        return x

    @classmethod
    def from_scipy(cls, matrix, *, field=None, dtype=np.float32, keep_zeros=False):
        """From a ``scipy.sparse`` matrix of shape [n_examples, vocab_size]; stored entries
        become (example, id, value) triplets (explicit zeros dropped unless ``keep_zeros``)."""
        if not sp.issparse(matrix):
            raise TypeError(f"{_where(field)}: expected a scipy.sparse matrix, got "
                            f"{type(matrix).__name__}")
        csr = sp.csr_matrix(matrix)
        csr.sum_duplicates()
        if not keep_zeros:
            csr.eliminate_zeros()
        csr.sort_indices()
        return cls.from_csr(csr.indptr, csr.indices, csr.data, field=field,
                            vocab_size=csr.shape[1], dtype=dtype)

    # ------------------------------------------------------------------ validation
    def validate(self, vocab_size=None, field=None):
        """Raise ``ValueError`` naming the field (``field``, default ``self.field``) if the
        triplet is malformed: lengths differ, an example index outside ``[0, n_examples)``
        or out of order, a negative id or one ``>= vocab_size``, a non-finite value.
        Returns self. This is everything the layers rely on; the estimators call it on
        every sparse field they read (`check_input` of the layers), so a `SparseInput`
        built with ``validate=False`` cannot reach a model unchecked."""
        if field is not None and field != self.field:
            return _renamed(self, field).validate(vocab_size)
        nnz = self.feature_ids.shape[0]
        if self.example_indices.shape[0] != nnz or self.feature_values.shape[0] != nnz:
            raise ValueError(
                f"{self._where()}: example_indices, feature_ids and feature_values must have "
                f"the same length, got {self.example_indices.shape[0]}, {nnz} and "
                f"{self.feature_values.shape[0]}")
        if nnz:
            ex = self.example_indices
            # a field known to hold one entry per example (`one_per_example`, set by
            # `from_ids` or computed once) has example_indices == arange(n): sorted, in range
            known = self._one_per_example and nnz == self.n_examples
            descending = None if known else ex[1:] < ex[:-1]
            if descending is not None and descending.any():
                bad = int(np.flatnonzero(descending)[0]) + 1
                raise ValueError(f"{self._where()}: example_indices must be sorted; entry "
                                 f"{bad} (example {ex[bad]}) follows example {ex[bad - 1]}")
            if ex[0] < 0 or ex[-1] >= self.n_examples:   # sorted: the ends bound the rest
                bad = 0 if ex[0] < 0 else nnz - 1
                raise ValueError(f"{self._where()}: entry {bad} has example index {ex[bad]}, "
                                 f"outside [0, {self.n_examples})")
            # the ufuncs' reductions directly (ndarray.min/max add a Python-level wrapper,
            # which is most of the cost for the small batches of serving)
            if np.minimum.reduce(self.feature_ids) < 0:
                bad = int(np.argmin(self.feature_ids))
                raise ValueError(f"{self._where()}: negative feature id "
                                 f"{self.feature_ids[bad]} in example {ex[bad]}")
            if vocab_size is not None and np.maximum.reduce(self.feature_ids) >= vocab_size:
                bad = int(np.argmax(self.feature_ids))
                raise ValueError(f"{self._where()}: feature id {self.feature_ids[bad]} in "
                                 f"example {ex[bad]} is out of range for a vocabulary of "
                                 f"size {vocab_size}")
            # one pass without a temporary: the float64 sum is finite iff every value is
            # (barring an overflow of the sum itself, which the exact check then clears)
            if not np.isfinite(np.add.reduce(self.feature_values, dtype=np.float64)) \
                    and not np.all(np.isfinite(self.feature_values)):
                bad = int(np.flatnonzero(~np.isfinite(self.feature_values))[0])
                raise ValueError(f"{self._where()}: non-finite feature value "
                                 f"{self.feature_values[bad]} in example {ex[bad]}")
        return self

    # ------------------------------------------------------------------ views
    @property
    def nnz(self):
        return int(self.feature_ids.shape[0])

    @property
    def indptr(self):
        """CSR row pointer, int64 [n_examples + 1]: bag ``i`` is entries
        ``indptr[i]:indptr[i+1]``."""
        if self._indptr is None:
            self._indptr = np.searchsorted(
                self.example_indices, np.arange(self.n_examples + 1), side="left"
            ).astype(np.int64)
        return self._indptr

    @property
    def one_per_example(self):
        """True when every bag holds exactly one entry (entry i belongs to example i), so
        layers can skip segment sums. Computed once and cached."""
        if self._one_per_example is None:
            self._one_per_example = bool(
                self.nnz == self.n_examples
                and np.array_equal(self.example_indices, np.arange(self.n_examples)))
        return self._one_per_example

    @property
    def bag_lengths(self):
        """Number of entries of each example, int64 [n_examples]."""
        return np.diff(self.indptr)

    def to_scipy(self, vocab_size=None):
        """The batch as a ``scipy.sparse.csr_matrix`` [n_examples, vocab_size] (duplicate
        ids inside a bag are summed)."""
        n_cols = vocab_size if vocab_size is not None else (
            int(self.feature_ids.max()) + 1 if self.nnz else 0)
        return sp.csr_matrix((self.feature_values, self.feature_ids, self.indptr),
                             shape=(self.n_examples, n_cols))

    def to_lists(self):
        """Ids of each bag as Python lists (for debugging and tests)."""
        ids = self.feature_ids.tolist()
        p = self.indptr.tolist()
        return [ids[p[i]:p[i + 1]] for i in range(self.n_examples)]

    def take(self, rows):
        """The bags of ``rows`` (int array, any order, repeats allowed) as a new batch whose
        example ``j`` is this batch's example ``rows[j]``."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_examples):
            raise IndexError(f"{self._where()}: row index out of range [0, {self.n_examples})")
        indptr = self.indptr
        starts = indptr[rows]
        lengths = indptr[rows + 1] - starts
        total = int(lengths.sum())
        new_indptr = np.zeros(rows.shape[0] + 1, dtype=np.int64)
        np.cumsum(lengths, out=new_indptr[1:])
        # position k of the output reads entry starts[row_of_k] + (k - new_indptr[row_of_k])
        row_of_entry = np.repeat(np.arange(rows.shape[0], dtype=np.int64), lengths)
        src = starts[row_of_entry] + (np.arange(total, dtype=np.int64)
                                      - new_indptr[row_of_entry])
        out = SparseInput(row_of_entry, self.feature_ids[src], self.feature_values[src],
                          n_examples=rows.shape[0], field=self.field,
                          dtype=self.feature_values.dtype, validate=False)
        out._indptr = new_indptr
        if self._one_per_example:
            out._one_per_example = True
        return out

    def slice(self, start, stop):
        """Examples ``start:stop`` as a new batch (a cheap view of contiguous rows)."""
        start, stop, _ = slice(start, stop).indices(self.n_examples)
        stop = max(stop, start)
        p = self.indptr
        a, b = int(p[start]), int(p[stop])
        out = SparseInput(self.example_indices[a:b] - start, self.feature_ids[a:b],
                          self.feature_values[a:b], n_examples=stop - start,
                          field=self.field, dtype=self.feature_values.dtype, validate=False)
        out._indptr = p[start:stop + 1] - a
        if self._one_per_example:
            out._one_per_example = True
        return out

    def astype(self, dtype):
        """Same batch with feature values of ``dtype``."""
        if self.feature_values.dtype == dtype:
            return self
        out = SparseInput(self.example_indices, self.feature_ids,
                          self.feature_values.astype(dtype), n_examples=self.n_examples,
                          field=self.field, dtype=dtype, validate=False)
        out._indptr = self._indptr
        out._one_per_example = self._one_per_example
        return out

    def __repr__(self):
        name = f"{self.field!r}, " if self.field is not None else ""
        return f"SparseInput({name}n_examples={self.n_examples}, nnz={self.nnz})"

    def _where(self):
        return _where(self.field)


def _where(field):
    return f"field {field!r}" if field is not None else "SparseInput"


def _raise_ndim(field, what):
    raise ValueError(f"{_where(field)}: {what} must be 1-d")


_INT64_MAX = np.iinfo(np.int64).max


def _int64_array(values, field, what):
    """``values`` as a 1-d int64 array: integers as they are (uint64 above the int64 range
    is an error), integral floats converted, anything else (1.7, strings, objects) a
    ``TypeError`` naming the field; never truncated."""
    if type(values) is np.ndarray and values.dtype == np.int64 and values.ndim == 1:
        return values   # the common case, without the generic checks' calls
    if np.ndim(values) > 1:
        _raise_ndim(field, what)
    array = np.asarray(values)
    kind = array.dtype.kind
    if kind == "i":
        return array.astype(np.int64, copy=False).reshape(-1)
    if kind == "u":
        if array.size and array.max() > _INT64_MAX:
            bad = int(np.argmax(array))
            raise ValueError(f"{_where(field)}: {what}[{bad}] = {array[bad]} does not fit in "
                             f"int64")
        return array.astype(np.int64).reshape(-1)
    if kind == "f" or (kind == "O" and array.size == 0):
        as_float = array.astype(np.float64).reshape(-1)
        integral = np.isfinite(as_float) & (as_float == np.round(as_float)) \
            & (np.abs(as_float) < 2.0 ** 63)
        if not integral.all():
            bad = int(np.flatnonzero(~integral)[0])
            raise TypeError(f"{_where(field)}: {what} must be integers; {what}[{bad}] is "
                            f"{float(as_float[bad])!r}")
        return as_float.astype(np.int64)
    if kind == "O":
        items = array.reshape(-1).tolist()
        if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            if all(-_INT64_MAX - 1 <= v <= _INT64_MAX for v in items):
                return np.array(items, dtype=np.int64)
            bad = next(k for k, v in enumerate(items) if not -_INT64_MAX - 1 <= v <= _INT64_MAX)
            raise ValueError(f"{_where(field)}: {what}[{bad}] = {items[bad]} does not fit in "
                             f"int64")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items):
            return _int64_array(np.array(items, dtype=np.float64), field, what)
    raise TypeError(f"{_where(field)}: {what} must be integers, got dtype {array.dtype}"
                    + (f" (e.g. {array.reshape(-1)[:1].tolist()[0]!r})" if array.size else ""))


def _renamed(x, field):
    """The same arrays under another field name (for error messages)."""
    out = SparseInput.__new__(SparseInput)
    for name in SparseInput.__slots__:
        setattr(out, name, getattr(x, name))
    out.field = field
    return out
