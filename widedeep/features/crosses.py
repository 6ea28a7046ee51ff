"""Crossed columns: the cross product of two or more categorical columns, hashed.

The paper's cross-product transformation ``phi_k(x) = prod_i x_i^{c_ki}`` is 1 exactly when
an example has every value of the combination, e.g. ``AND(gender=female, language=en)``.
For each example, a crossed column emits one id per combination of one value from each
component (all pairs, triples, ... for multi-valued components; no id if any component's
bag is empty), with weight 1::

    key(value)  = stable_hash(raw token)        categorical and hashed components
                = stable_hash(str(bucket id))   bucketized components
    cross key   = combine(combine(key_1, key_2), key_3) ...   (order matters)
    id          = cross key mod hash_buckets

Keys come from raw tokens, not vocabulary ids, so a cross does not depend on vocabulary
pruning, and everything is stable across processes (`widedeep.features.hashing`).

Vectorized: for components with bag lengths ``a_i`` and ``b_i`` in row ``i``, output
position ``k`` of row ``i`` (``0 <= k < a_i b_i``) pairs value ``k // b_i`` of the first with
value ``k mod b_i`` of the second; there is no loop over rows.
"""
from __future__ import annotations

import numpy as np

from ..inputs import SparseInput
from ..limits import get_limits
from .columns import FeatureColumn
from .cross_origins import CrossOrigins
from .hashing import _check_buckets, combine_hashes

__all__ = ["CrossedColumn", "cross_keys", "cross_entries"]


class CrossedColumn(FeatureColumn):
    """Hashed cross product of categorical/bucketized columns of the same spec.

    Parameters
    ----------
    columns : sequence of str or FeatureColumn
        Two or more component columns (by name; each must be a column of the spec: add it
        with ``wide=False`` and no embedding if it should only feed the cross).
    hash_buckets : int
        Number of ids of the cross.
    name : str, optional
        Field name; default the component names joined by ``"_x_"``
        (``"education_x_occupation"``).
    wide, embedding_dim, combiner
        As for `CategoricalColumn` (crosses usually feed only the wide part).
    max_origins : int
        While the spec is fitted, remember for up to this many cross ids the token
        combination that produced them, so rules and explanations can print
        ``a=x AND b=y`` instead of a hash id (`widedeep.features.cross_origins`; 0 turns
        it off). Crosses over bucketized columns whose boundaries are learned in the same
        fit are not named (their buckets are known only at the end of the fit).
    """

    type_name = "crossed"

    def __init__(self, columns, hash_buckets, *, name=None, wide=True, embedding_dim=None,
                 combiner="sum", max_origins=100_000):
        if isinstance(columns, (str, FeatureColumn)) or not hasattr(columns, "__iter__"):
            raise TypeError(f"a crossed column needs a sequence of column names, got "
                            f"{columns!r}")
        names = []
        for component in columns:
            if isinstance(component, FeatureColumn):
                names.append(component.name)
            elif isinstance(component, str):
                names.append(component)
            else:
                raise TypeError(f"crossed column components must be column names or "
                                f"columns, got {component!r}")
        if len(names) < 2:
            raise ValueError(f"a crossed column needs at least 2 components, got {names}")
        if len(set(names)) != len(names):
            raise ValueError(f"crossed column components must be distinct, got {names}")
        super().__init__("_x_".join(names) if name is None else name, wide=wide,
                         embedding_dim=embedding_dim, combiner=combiner)
        try:
            self.hash_buckets = _check_buckets(hash_buckets)
        except (TypeError, ValueError) as error:
            raise type(error)(f"column {self.name!r}: {error}") from None
        self.component_names = tuple(names)
        self.components = None
        if isinstance(max_origins, bool) or not isinstance(max_origins, (int, np.integer)) \
                or max_origins < 0:
            raise ValueError(f"column {self.name!r}: max_origins must be an int >= 0, got "
                             f"{max_origins!r}")
        self.max_origins = int(max_origins)
        self.origins_ = CrossOrigins(self.max_origins)
        self._recording = False

    def bind(self, columns_by_name):
        """Resolve component names to the spec's columns (called by `FeatureSpec`)."""
        components = []
        for component in self.component_names:
            column = columns_by_name.get(component)
            if column is None:
                raise ValueError(f"crossed column {self.name!r}: component {component!r} is "
                                 f"not a column of the spec; add it (wide=False and no "
                                 f"embedding if it should only feed the cross)")
            if not hasattr(column, "cross_keys"):
                raise TypeError(f"crossed column {self.name!r}: component {component!r} is a "
                                f"{type(column).__name__}; only categorical, hashed and "
                                f"bucketized columns can be crossed (bucketize numbers first)")
            components.append(column)
        self.components = components

    @property
    def sources(self):
        return tuple(s for column in self.components for s in column.sources)

    @property
    def n_ids(self):
        return self.hash_buckets

    def transform(self, batch):
        parts = [column.cross_keys(batch) for column in self.components]
        check_cross_size(self.name, batch.n_rows, [rows for rows, _ in parts])
        rows, keys = cross_keys(batch.n_rows, parts)
        ids = (keys % np.uint64(self.hash_buckets)).astype(np.int64)
        return SparseInput(rows, ids, None, n_examples=batch.n_rows, field=self.name,
                           validate=False)

    # ------------------------------------------------------------------ origins
    def start_fit(self, summary_start=0):
        self.origins_ = CrossOrigins(self.max_origins)
        # learned bucket boundaries are only known after the fit: no labels for those
        self._recording = self.max_origins > 0 and all(
            getattr(c, "given_boundaries", True) for c in self.components)

    def observe(self, batch):
        if not self._recording:
            return
        parts = [column.cross_keys(batch) for column in self.components]
        check_cross_size(self.name, batch.n_rows, [rows for rows, _ in parts])
        _, keys = cross_keys(batch.n_rows, parts)
        _, entries = cross_entries(batch.n_rows, [rows for rows, _ in parts])
        ids = (keys % np.uint64(self.hash_buckets)).astype(np.int64)

        def labels_of(positions):
            label = None
            for column, index in zip(self.components, entries):
                part = column.entry_labels(batch, index[positions])
                label = part if label is None else np.char.add(np.char.add(label, " AND "),
                                                               part)
            return label

        self.origins_.observe(ids, keys, labels_of)

    def finish_fit(self):
        self._recording = False

    def fit_state(self):
        return self.origins_.to_state() if self._recording else None

    def merge_fit_state(self, state):
        if state is not None and self._recording:
            self.origins_.merge(state)

    def id_labels(self, ids):
        """The token combination of each cross id (``"a=x AND b=y"``) recorded while
        fitting, or ``None`` for an id not seen (or not recorded)."""
        return self.origins_.lookup(ids)

    def state(self):
        return {"origins": self.origins_.to_state()} if len(self.origins_) else {}

    def set_state(self, state):
        origins = state.get("origins")
        self.origins_ = CrossOrigins(self.max_origins) if origins is None else \
            CrossOrigins.from_state(origins, self.max_origins, f"column {self.name!r}")

    def id_tokens(self):
        return [f"<{self.name}:hash:{k}>" for k in range(self.hash_buckets)]

    def report(self):
        out = super().report()
        out.update(components=list(self.component_names), n_ids=self.hash_buckets)
        return out

    def config(self):
        return {"columns": list(self.component_names), "hash_buckets": self.hash_buckets,
                "name": self.name, "wide": self.wide, "embedding_dim": self.embedding_dim,
                "combiner": self.combiner, "max_origins": self.max_origins}


def check_cross_size(name, n_rows, part_rows):
    """Raise ``ValueError`` naming the column and row before a cross would produce more
    than ``max_cross_ids_per_row`` ids in one row or ``max_cross_ids`` in the batch
    (`widedeep.limits`): two 20k-value bags would otherwise make 4e8 ids (3 GB).
    ``part_rows``: the sorted row of each value of each component."""
    limits = get_limits()
    ids_per_row = np.ones(n_rows, dtype=np.float64)   # float: a product cannot overflow
    for rows in part_rows:
        ids_per_row *= np.bincount(rows, minlength=n_rows)
    if n_rows == 0:
        return
    worst = int(np.argmax(ids_per_row))
    if ids_per_row[worst] > limits.max_cross_ids_per_row:
        sizes = " x ".join(str(int(np.count_nonzero(rows == worst))) for rows in part_rows)
        raise ValueError(f"column {name!r} row {worst}: crossing bags of {sizes} values "
                         f"gives {int(ids_per_row[worst])} ids, more than "
                         f"max_cross_ids_per_row={limits.max_cross_ids_per_row} (see "
                         f"widedeep.limits)")
    total = float(ids_per_row.sum())
    if total > limits.max_cross_ids:
        raise ValueError(f"column {name!r}: the batch's crosses give {int(total)} ids, more "
                         f"than max_cross_ids={limits.max_cross_ids}; use smaller batches "
                         f"(or see widedeep.limits)")


def cross_keys(n_rows, parts):
    """Cross product of bags of 64-bit keys.

    ``parts``: list of ``(row_ids int64 [t_j] sorted, keys uint64 [t_j])``. Returns
    ``(row_ids, keys)`` with, for every row, one combined key per combination of one key of
    each part, in row-major order (last part fastest).
    """
    rows, keys = parts[0]
    for next_rows, next_keys in parts[1:]:
        rows, index_a, index_b = _pair_indices(n_rows, rows, next_rows)
        keys = combine_hashes(keys if index_a is None else keys[index_a],
                              next_keys if index_b is None else next_keys[index_b])
    return rows, keys


def cross_entries(n_rows, part_rows):
    """The combinations of `cross_keys` as positions: ``(row_ids, [index_j])`` where
    ``index_j[k]`` is the entry of part ``j`` in output entry ``k`` (same order)."""
    rows = part_rows[0]
    indices = [np.arange(rows.shape[0], dtype=np.int64)]
    for next_rows in part_rows[1:]:
        rows, index_a, index_b = _pair_indices(n_rows, rows, next_rows)
        if index_a is not None:
            indices = [index[index_a] for index in indices]
        indices.append(np.arange(next_rows.shape[0], dtype=np.int64) if index_b is None
                       else index_b)
    return rows, indices


def _pair_indices(n_rows, rows_a, rows_b):
    """``(rows_out, index_a, index_b)`` of the pairs of entries of two bags, row by row
    (``None`` indices: the identity, when both parts have one entry per row)."""
    if rows_a.shape[0] == n_rows and rows_b.shape[0] == n_rows \
            and _is_one_per_row(rows_a) and _is_one_per_row(rows_b):
        return rows_a, None, None
    lengths_a = np.bincount(rows_a, minlength=n_rows)
    lengths_b = np.bincount(rows_b, minlength=n_rows)
    starts_a = np.concatenate(([0], np.cumsum(lengths_a)[:-1]))
    starts_b = np.concatenate(([0], np.cumsum(lengths_b)[:-1]))
    lengths_out = lengths_a * lengths_b
    total = int(lengths_out.sum())
    rows_out = np.repeat(np.arange(n_rows, dtype=np.int64), lengths_out)
    starts_out = np.concatenate(([0], np.cumsum(lengths_out)[:-1]))
    within = np.arange(total, dtype=np.int64) - starts_out[rows_out]
    width_b = lengths_b[rows_out]
    index_a = starts_a[rows_out] + within // width_b
    index_b = starts_b[rows_out] + within % width_b
    return rows_out, index_a, index_b


def _is_one_per_row(rows):
    # rows is sorted and has n_rows entries: one per row iff it is 0, 1, ..., n-1
    return rows.shape[0] == 0 or (rows[0] == 0 and rows[-1] == rows.shape[0] - 1
                                  and np.all(np.diff(rows) == 1))
