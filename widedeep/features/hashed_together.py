"""The hashed columns of a small batch hashed together: one `stable_hash` call for all.

A ranking request's query is one row of ~30 hashed columns, its candidates ~100 rows of a
few. Column by column (`HashedColumn.transform`), each column costs a token bag, a sort to
deduplicate, a hash and a `SparseInput`: ~100 µs of Python and NumPy call overhead per
column, most of a request's featurization. Here the tokens of every eligible column are
concatenated and hashed in one vectorized call (no deduplication: the hash of a token does
not depend on its column or on the other tokens), taken modulo each column's bucket count,
and cut back into one `SparseInput` per column. The arrays are exactly those of
`HashedColumn.transform`:

- a single-valued column (``U`` array, one token per row): ``example_indices = arange(n)``,
  the empty token ``""`` (missing) hashed like any other;
- a `Ragged` bag of ``U`` tokens without weights: empty tokens dropped, the others in their
  order, ``example_indices`` the row of each.

Anything else (integer or object columns, weights, a ``separator``, a ``HashedColumn``
subclass, tokens that may be longer than ``max_token_chars``) is left to the column's own
`transform`, which also raises the errors: the columns handled here cannot fail, so a
batch raises the same error either way. Used by `FeatureSpec.transform` for batches of at
most `MAX_TOKENS_TOGETHER` tokens; larger batches deduplicate per column, which hashes
fewer tokens when values repeat.
"""
from __future__ import annotations

import numpy as np

from ..inputs import SparseInput
from ..limits import get_limits
from ..records import Ragged
from .columns import HashedColumn
from .hashing import stable_hash

__all__ = ["hash_columns_together", "MAX_TOKENS_TOGETHER"]

MAX_TOKENS_TOGETHER = 4096
"""Most tokens hashed together (without deduplication) in one batch."""


def hash_columns_together(columns, parsed, wanted=None):
    """``{field: SparseInput}`` of the eligible hashed ``columns`` (module docstring) of
    the `ParsedBatch` ``parsed``; ``wanted``: the fields to compute (None: all). Columns
    not in the result are for their own ``transform``."""
    limit = get_limits().max_token_chars
    chosen, token_arrays, bag_rows = [], [], []
    total = 0
    for column in columns:
        if type(column) is not HashedColumn or column.separator is not None \
                or not (column.wide or column.deep) \
                or (wanted is not None and column.name not in wanted):
            continue
        raw = parsed.raw(column.source)
        if isinstance(raw, Ragged):
            if raw.weights is not None:
                continue
            tokens, rows = raw.values, raw.row_ids
        elif isinstance(raw, np.ndarray) and raw.ndim == 1:
            tokens, rows = raw, None
        else:
            continue
        if tokens.dtype.kind != "U" or tokens.dtype.itemsize // 4 > limit:
            continue
        total += tokens.shape[0]
        if total > MAX_TOKENS_TOGETHER:
            break
        chosen.append(column)
        token_arrays.append(tokens)
        bag_rows.append(rows)
    if not chosen:
        return {}
    counts = np.fromiter(map(len, token_arrays), dtype=np.int64, count=len(token_arrays))
    tokens = np.concatenate(token_arrays)
    buckets = np.repeat(np.array([c.hash_buckets for c in chosen], dtype=np.uint64), counts)
    ids = (stable_hash(tokens) % buckets).astype(np.int64)
    # bags drop their empty tokens (a missing value in a bag is no value); singles keep them
    in_bag = np.repeat(np.array([rows is not None for rows in bag_rows]), counts)
    keep = ~in_bag | (tokens != "")
    ends = np.cumsum(counts).tolist()
    starts = [0] + ends[:-1]
    n = parsed.n_rows
    features = {}
    for column, rows, start, end in zip(chosen, bag_rows, starts, ends):
        column_ids, column_keep = ids[start:end], keep[start:end]
        if rows is None:
            rows = np.arange(n, dtype=np.int64)
        elif not column_keep.all():
            column_ids, rows = column_ids[column_keep], rows[column_keep]
        features[column.name] = SparseInput(rows, column_ids, None, n_examples=n,
                                            field=column.name, validate=False)
    return features
