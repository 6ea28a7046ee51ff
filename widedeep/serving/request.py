"""A ranking request and its two feature dicts: the shared query and the candidates.

A request is ``{"query": q, "candidates": c}`` (the format of
`widedeep.datasets.app_store.make_requests`; other keys are ignored) or a pair ``(q, c)``:

- ``q``: the user and context of the request, **one** example;
- ``c``: the ``N`` candidates, ``N`` examples.

Both are either feature dicts (``SparseInput`` / dense arrays, what estimators take) or raw
column batches (`widedeep.records`) turned into features by a `FeatureSpec`.

With a spec, each model field is computed on one side, decided by the raw columns it reads
(`field_sources`): a field whose sources are all query columns (``installed_apps``,
``user_country``) is transformed from the query's single row; any other field (the
candidate's ``impression_app``, the cross ``installed_apps_x_impression_app``, a dense field
mixing user and item numbers) from the candidates joined with the query columns it reads,
repeated N times. Neither side computes the other's fields (`FeatureSpec.transform`'s
``fields``), so a user's 30 columns are transformed once per request, not once per
candidate.

Several requests at once (``query_rows``, `widedeep.serving.request_batch`): the query is
a column batch of B rows (one per request) and ``query_rows[i]`` says which of them
candidate ``i`` belongs to; a query column is then repeated per candidate from its
candidate's own query row.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..inputs import SparseInput
from ..limits import get_limits
from ..records import Ragged, n_rows

__all__ = ["split_request", "request_features", "field_sources", "is_feature_dict",
           "expand_columns"]


def split_request(request):
    """``(query, candidates)`` of a request mapping or pair; ``TypeError`` otherwise."""
    if isinstance(request, Mapping):
        if "query" not in request or "candidates" not in request:
            raise TypeError(f"a request mapping needs the keys 'query' and 'candidates', got "
                            f"{sorted(request)}")
        return request["query"], request["candidates"]
    if isinstance(request, (tuple, list)) and len(request) == 2:
        return request[0], request[1]
    raise TypeError(f"a request is {{'query': ..., 'candidates': ...}} or a pair "
                    f"(query, candidates), got {type(request).__name__}")


def is_feature_dict(data, spec):
    """True if ``data`` is already features: always without a spec; with a spec, when some
    value is a `SparseInput` (raw column batches never hold one)."""
    if spec is None:
        return True
    return any(isinstance(value, SparseInput) for value in data.values())


def field_sources(spec):
    """``{field: set of raw columns}`` for every field `FeatureSpec.transform` produces
    (`FeatureSpec.field_sources`)."""
    return {field: set(names) for field, names in spec.field_sources().items()}


def expand_columns(query, candidates, rows=None, query_rows=None):
    """The column batch of the candidates (``rows`` of them, default all) with every query
    column repeated for each (``query_rows`` int [N]: candidate ``i`` takes query row
    ``query_rows[i]``; default the one query row); candidate columns win when a name is in
    both."""
    n = n_rows(candidates)
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    repeat = np.zeros(rows.shape[0], dtype=np.int64) if query_rows is None \
        else np.asarray(query_rows, dtype=np.int64)[rows]
    _check_expansion(query, candidates, repeat)
    columns = {name: (col.take(repeat) if isinstance(col, Ragged) else np.asarray(col)[repeat])
               for name, col in query.items() if name not in candidates}
    columns.update({name: (col.take(rows) if isinstance(col, Ragged) else np.asarray(col)[rows])
                    for name, col in candidates.items()})
    return columns


def _check_expansion(query, candidates, repeat):
    """Raise ``ValueError`` before the query's columns, repeated for the candidates (query
    row ``repeat[i]`` for candidate ``i``), would hold more than ``max_request_values``
    values (`widedeep.limits`): a 20k-value query bag and 10k candidates would otherwise
    make 2e8."""
    limit = get_limits().max_request_values
    total, n = 0, repeat.shape[0]
    for name, column in query.items():
        if name in candidates:
            continue
        if not isinstance(column, Ragged):
            values = n
        elif len(column) == 1:
            values = column.values.shape[0] * n
        else:
            values = int(column.lengths[repeat].sum())
        per_row = values // max(n, 1)
        total += values
        if total > limit:
            raise ValueError(f"request: query column {name!r} ({per_row} values) repeated "
                             f"for {n} candidates makes more than max_request_values={limit} "
                             f"values (see widedeep.limits)")


def request_features(request, spec=None, query_rows=None):
    """``(query_features, candidate_features)`` of a request.

    Feature-dict requests are returned as they are. Raw requests go through ``spec``: the
    query-only fields are transformed from one row and returned in ``query_features``; the
    others from the candidates (see the module docstring) in ``candidate_features``.
    ``query_rows``: several requests at once (module docstring; raw requests only).
    """
    query, candidates = split_request(request)
    if not isinstance(query, Mapping) or not isinstance(candidates, Mapping):
        raise TypeError("the query and the candidates must be dicts (features or columns)")
    if spec is None:
        raw = [name for part in (query, candidates) for name, value in part.items()
               if isinstance(value, Ragged)
               or (not isinstance(value, SparseInput) and np.asarray(value).dtype.kind in "OUS")]
        if raw:
            raise TypeError(f"column(s) {raw[:5]} are raw values, not features: raw column "
                            f"requests need a FeatureSpec (Ranker(..., spec=spec))")
        return query, candidates
    if is_feature_dict(query, spec) and is_feature_dict(candidates, spec):
        if query_rows is not None:
            raise TypeError("several requests at once (query_rows) need raw columns")
        return query, candidates
    if query_rows is None and n_rows(query) != 1:
        raise ValueError(f"the query must be one row, got {n_rows(query)}")
    if n_rows(candidates) == 0:
        raise ValueError("the request has no candidates")
    query_columns = set(query) - set(candidates)
    sources = spec.field_sources()
    query_fields = [f for f, names in sources.items() if query_columns.issuperset(names)]
    candidate_fields = [f for f in sources if f not in query_fields]
    # Each side transforms only its own fields (FeatureSpec.transform(fields=...)): the
    # query's from its one row, the candidates' from the candidate columns joined with the
    # query columns they read (e.g. the installed apps of a cross), repeated N times.
    query_features = spec.transform(query, fields=query_fields) if query_fields else {}
    if not candidate_fields:
        return query_features, {}
    needed = {name for f in candidate_fields for name in sources[f]}
    expanded = expand_columns({name: column for name, column in query.items()
                               if name in needed and name not in candidates}, candidates,
                              query_rows=query_rows)
    return query_features, spec.transform(expanded, fields=candidate_fields)
