"""Several raw-column ranking requests as one: queries stacked, candidates concatenated.

B requests ``(q_b, c_b)`` (each ``q_b`` one row, ``c_b`` ``n_b`` rows) become

    query       the B query rows, one column batch (row b = request b's query)
    candidates  the N = n_1 + ... + n_B candidate rows, request after request
    query_rows  int64 [N]: ``b`` for each of request b's candidates

which `request_features` and `RequestScorer.prepare` take as one batch (``query_rows``): one
featurization and one pass through the model for all B requests instead of B of each
(`Ranker.rank_many`). Every transform and every layer is row-wise, so a request's
candidates get the features they get alone, and scores equal to float rounding.

Only requests with the same **signature** are stacked (`signature`): the same query column
names, the same candidate column names, and for each column the same kind of values (the
array's dtype kind, or a bag's). A column of integers in one request and of strings in
another is not stacked, since concatenating them would change its values' type.
"""
from __future__ import annotations

import numpy as np

from ..records import Ragged, n_rows

__all__ = ["signature", "stack_requests", "stack_columns"]


def signature(query, candidates):
    """What must agree for two raw requests to be stacked: a hashable tuple."""
    return (tuple((name, _kind(column)) for name, column in query.items()),
            tuple((name, _kind(column)) for name, column in candidates.items()))


def _kind(column):
    if isinstance(column, Ragged):
        return ("bag", column.values.dtype.kind, column.weights is not None)
    return np.asarray(column).dtype.kind


def stack_requests(requests):
    """``(query, candidates, query_rows, counts)`` of ``[(query, candidates), ...]`` raw
    requests of one `signature` (see the module docstring); ``counts`` int64 [B] the
    candidates of each request."""
    queries = [query for query, _ in requests]
    candidate_batches = [candidates for _, candidates in requests]
    for query in queries:
        if n_rows(query) != 1:
            raise ValueError(f"the query must be one row, got {n_rows(query)}")
    counts = np.fromiter(map(n_rows, candidate_batches), dtype=np.int64, count=len(requests))
    if not counts.all():
        raise ValueError("the request has no candidates")
    query_rows = np.repeat(np.arange(len(requests), dtype=np.int64), counts)
    return stack_columns(queries), stack_columns(candidate_batches), query_rows, counts


def stack_columns(batches):
    """Column batches with the same column names, one after the other (arrays concatenated,
    bags as one `Ragged`)."""
    names = list(batches[0])
    for batch in batches[1:]:
        if list(batch) != names:
            raise ValueError(f"column batches to stack have different columns: {names} vs "
                             f"{list(batch)}")
    return {name: _stack([batch[name] for batch in batches]) for name in names}


def _stack(columns):
    if isinstance(columns[0], Ragged):
        weights = None if columns[0].weights is None else \
            np.concatenate([column.weights for column in columns])
        return Ragged(np.concatenate([column.values for column in columns]),
                      np.concatenate([column.lengths for column in columns]), weights)
    return np.concatenate([np.asarray(column) for column in columns])
