"""Scoring N candidates that share one query: the query's part of the model is computed once.

A ranking request is one query (user and context: a feature dict of **one** example) and
``N`` candidates (a feature dict of ``N`` examples holding the per-candidate fields, crosses
of user and item fields included). Scoring the fully expanded batch (the query repeated N
times) would pool the user's ``installed_apps`` bag N times and multiply the same user
columns by the first layer N times. Here every model field is computed on the side that
holds it:

wide part
    ``logit_i = b + sum_f c_f(i)`` in the wide layer's field order, where ``c_f`` is the
    query's contribution (one float64 scalar, computed once) for a query field and the
    candidate's ``sum_k v_k w_f[id_k]`` for a candidate field. The sum runs in the same order
    and precision as `WideLayer.forward`, so the wide logits are **bit-identical** to those
    of the expanded batch.

deep part
    The deep input is ``a_0 = concat(dense fields, pooled embeddings)`` laid out as
    `DeepNetwork.input_layout` says; query blocks (`DeepNetwork.input_block`: pooled
    embeddings and dense values) are computed for one row. Then either

    - ``first_layer="tiled"``: the query blocks are broadcast into ``a_0 [n, d_0]`` next to
      the candidate blocks and ``DeepNetwork.layers`` run unchanged. Same inputs, same
      operations: bit-identical to `predict_logit` on the expanded batch as long as BLAS
      returns the same row for the same ``[n, d_0] @ W`` (it does for equal ``n``).
    - ``first_layer="factorized"`` (default): ``a_0 W_1 + b_1 = (q W_1[q rows] + b_1) +
      c W_1[c rows]``: the query's share of the first layer is a single ``[1, d_q] @ W``
      product, and each candidate multiplies only its own columns (`DenseLayer.product` for
      a range of input columns, then `DenseLayer.add_bias`). This removes most of
      the largest matrix product when the query holds most of the input; the result equals
      the expanded batch up to float rounding of a re-associated sum (relative error of the
      first pre-activation about ``d_0 * eps``, e.g. 1e-5 in float32).

Sub-batches. Every operation is row-wise, so a candidate's score is mathematically the
same whichever sub-batch scores it. Bit for bit, OpenBLAS's sgemm accumulates a row in an
order that depends on the height of the matrix it is in (measured: a row of ``X @ W`` can
differ in the last bit between a 25-row and a 100-row call), so scores of different splits
agree to float rounding (about 1e-7 relative in float32). With ``block_rows=B`` every matrix
product runs on blocks of exactly ``B`` rows (the last one zero-padded), so the scores are
bit-identical for every split whose slices start at multiples of ``B`` (`Ranker` aligns
them), at the cost of one product call per block.

The model is read when a request is prepared, never when the scorer is built: the
`PreparedRequest` holds the layers it was prepared against, so every sub-batch of one request
scores the same weights, and a request after a re-fit (which replaces the estimator's
layers) or a `partial_fit` (which updates them in place) scores the new weights. All
arithmetic is the layers' own (`WideLayer.field_logits`, `DenseLayer.product`,
`DenseLayer.add_bias`, `DeepNetwork.input_block`, each layer's ``forward``).

Several requests at once (``query_rows``): the queries of B requests are a feature dict of
B examples and their candidates one of N = n_1 + ... + n_B examples, ``query_rows[i]`` the
request (query row) of candidate ``i``. The query part is computed for the B rows together
(one ``[B, d_q] @ W`` product, one gather per wide field) and each candidate adds its own
query's row; everything after the first layer runs once over all N rows (a server batching
concurrent requests, `widedeep.server.batching`). A candidate's wide logit is bit-identical
to scoring its request alone (the same sums in the same order); its deep logit agrees to
float rounding (the products have other heights, as with sub-batches).

Nothing is written into the model: every intermediate is local to the call, so one
`RequestScorer` may score many requests from many threads at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..estimators.batching import n_examples, slice_rows
from ..input_checks import validate_fields
from ..inputs import SparseInput
from ..layers.dense import DenseLayer
from ..layers.wide_gather import field_terms, logits_with_query

__all__ = ["RequestScorer", "PreparedRequest", "ModelView", "FIRST_LAYER_MODES"]

FIRST_LAYER_MODES = ("factorized", "tiled")


@dataclass(frozen=True)
class ModelView:
    """The estimator's layers as they are at one moment: what one request is scored with.

    ``wide``: the `WideLayer` or None; ``deep``: the `DeepNetwork` or None; ``layout``: its
    `input_layout()`; ``fields``: every model field (wide fields first, in their order).
    """
    wide: object
    deep: object
    layout: tuple
    fields: tuple

    @classmethod
    def of(cls, estimator):
        estimator.check_is_fitted()
        wide = getattr(estimator, "wide_", None)
        deep = getattr(estimator, "deep_", None)
        layout = tuple(deep.input_layout()) if deep is not None else ()
        fields = list(wide.field_sizes) if wide is not None else []
        fields += [block.field for block in layout if block.field not in fields]
        return cls(wide, deep, layout, tuple(fields))

    def block(self, field):
        for block in self.layout:
            if block.field == field:
                return block
        raise KeyError(field)


@dataclass(frozen=True)
class PreparedRequest:
    """A request whose query part is computed: what every sub-batch of candidates reads.

    ``model`` is the `ModelView` it was prepared against; ``candidates`` holds the
    per-candidate fields (N examples); ``query_wide`` the query's float64 term of each query
    wide field; ``query_blocks`` the query's deep input blocks ([1, width] each);
    ``query_first_layer`` ``q W_1[q rows] + b_1`` ([1, units]) in factorized mode;
    ``candidate_fields`` the names of the fields read per candidate and ``candidate_runs``
    their adjacent column ranges of ``a_0``; ``query_rows`` int64 [N] the query row of each
    candidate when several requests are prepared together (the query parts then have one row
    per query: ``query_wide`` values [B] or [B, K], ``query_blocks`` [B, width],
    ``query_first_layer`` [B, units]), None for one request. Immutable once built, so
    sub-batches on several threads share it safely.
    """
    model: ModelView
    n_candidates: int
    candidates: dict
    candidate_fields: frozenset
    query_wide: dict
    query_blocks: dict
    query_first_layer: np.ndarray | None
    candidate_runs: tuple
    query_rows: np.ndarray | None = None

    def per_candidate(self, query_part, start, stop):
        """``query_part`` (one row per query) as the rows of candidates ``start:stop``: the
        one-query part itself (it broadcasts), else each candidate's query's row."""
        if self.query_rows is None:
            return query_part
        return query_part[self.query_rows[start:stop]]


class RequestScorer:
    """Computes the logits of one request's candidates, sharing the query part.

    Parameters
    ----------
    estimator : fitted `WideDeepEstimator`, `WideEstimator` or `DeepEstimator`
        Read at each `prepare` (never captured), so re-fitting it is seen by the next request.
    first_layer : {"factorized", "tiled"}
        How the query's deep input meets the first dense layer (see the module docstring).
    block_rows : int, optional
        Run every matrix product on blocks of exactly this many rows (split-invariant bits).
    """

    def __init__(self, estimator, first_layer="factorized", block_rows=None):
        if first_layer not in FIRST_LAYER_MODES:
            raise ValueError(f"first_layer must be one of {FIRST_LAYER_MODES}, got "
                             f"{first_layer!r}")
        if block_rows is not None and int(block_rows) < 1:
            raise ValueError(f"block_rows must be >= 1 or None, got {block_rows}")
        estimator.check_is_fitted()
        self.estimator = estimator
        self.first_layer = first_layer
        self.block_rows = None if block_rows is None else int(block_rows)

    # ------------------------------------------------------------------ query part
    def prepare(self, query, candidates, query_rows=None):
        """Validate the request and compute its query part once, with the current model.

        ``query``: feature dict of one example; ``candidates``: feature dict of N examples.
        A model field is read from ``candidates`` when present there (per candidate), else
        from ``query`` (shared). ``query_rows`` (several requests at once, see the module
        docstring): int [N], the query row (of B) of each candidate. Raises ``ValueError``
        naming a field that is in neither, a query that is not one example (B examples), or
        a malformed field.
        """
        model = ModelView.of(self.estimator)
        n = n_examples(candidates)
        n_queries = 1
        if query_rows is not None:
            query_rows = np.asarray(query_rows, dtype=np.int64)
            if query_rows.shape != (n,):
                raise ValueError(f"query_rows: expected one query row per candidate ({n}), "
                                 f"got shape {query_rows.shape}")
            n_queries = int(query_rows.max()) + 1 if n else 0
        candidate_fields = frozenset(f for f in model.fields if f in candidates)
        query_fields = [f for f in model.fields if f not in candidate_fields]
        missing = [f for f in query_fields if f not in query]
        if missing:
            raise ValueError(f"request lacks model field(s) {missing}: give each field in "
                             f"the query (shared) or in the candidates (per candidate)")
        if query_fields:
            query = {f: query[f] for f in query_fields}
            if query_rows is not None:
                n_queries = n_examples(query)
                if n and (query_rows.min() < 0 or query_rows.max() >= n_queries):
                    raise ValueError(f"query_rows: a query row outside 0 .. {n_queries - 1}")
            elif n_examples(query) != 1:
                raise ValueError(f"the query must be one example, got {n_examples(query)} "
                                 f"(fields {query_fields})")
        _check_fields(model, query, query_fields, n_queries)
        _check_fields(model, candidates, sorted(candidate_fields), n)
        query_wide = {}
        if model.wide is not None:
            shared = [f for f in model.wide.field_sizes if f not in candidate_fields]
            if model.wide.n_outputs == 1 and shared:   # in one gather (`field_terms`)
                terms = field_terms(model.wide, query, shared, n_queries)   # [S, B]
                query_wide = dict(zip(shared, terms[:, 0] if query_rows is None else terms))
            for f in shared if model.wide.n_outputs > 1 else ():
                logits = model.wide.field_logits(f, query[f])   # [B, K]
                query_wide[f] = logits[0] if query_rows is None else logits
        query_blocks = _query_blocks(model, query, candidate_fields)
        query_first_layer = None
        if model.deep is not None and self.first_layer == "factorized" \
                and isinstance(model.deep.layers[0], DenseLayer):
            query_first_layer = _query_first_layer(model, query_blocks, n_queries)
        return PreparedRequest(model, n, candidates, candidate_fields, query_wide,
                               query_blocks, query_first_layer,
                               tuple(_runs(model.layout, candidate_fields)), query_rows)

    # ------------------------------------------------------------------ candidates
    def score_rows(self, prepared, start, stop):
        """Logits [stop - start] (or [stop - start, K] for a multiclass model) of candidates
        ``start:stop`` of a prepared request.

        Every operation is row-wise, so the value of a candidate does not depend on which
        sub-batch it is scored in (up to BLAS returning the same row for different batch
        heights, which OpenBLAS does; the tests check it).
        """
        model = prepared.model
        n = stop - start
        rows = prepared.candidates
        if (start, stop) != (0, prepared.n_candidates):
            rows = slice_rows({f: rows[f] for f in prepared.candidate_fields}, start, stop)
        logits = None
        if model.wide is not None:
            if model.wide.n_outputs == 1:   # candidate fields in one gather (`wide_gather`)
                query_wide = prepared.query_wide if prepared.query_rows is None else {
                    f: prepared.per_candidate(v, start, stop)
                    for f, v in prepared.query_wide.items()}
                wide = logits_with_query(model.wide, rows, query_wide, n)
            else:
                wide = np.empty((n, model.wide.n_outputs), dtype=np.float64)
                wide[...] = model.wide.params["bias"]
                for f in model.wide.field_sizes:
                    if f in prepared.candidate_fields:
                        model.wide.field_logits(f, rows[f], out=wide)
                    else:
                        wide += prepared.per_candidate(prepared.query_wide[f], start, stop)
            logits = wide.astype(model.wide.dtype)
        if model.deep is not None:
            deep = self._deep_rows(prepared, rows, start, stop)
            logits = deep if logits is None else logits + deep
        return logits

    def _deep_rows(self, prepared, rows, start, stop):
        model, n = prepared.model, stop - start
        layers = model.deep.layers
        if prepared.query_first_layer is not None:
            a = None
            for begin, end, fields in prepared.candidate_runs:
                values = model.deep.input_columns([model.block(f) for f in fields], rows)
                product = layers[0].product(values, slice(begin, end), self.block_rows)
                a = product if a is None else np.add(a, product, out=a)
            query_part = prepared.per_candidate(prepared.query_first_layer, start, stop)
            if a is None:
                a = np.repeat(query_part, n, axis=0) if prepared.query_rows is None \
                    else query_part
            else:
                a += query_part
            remaining = layers[1:]
        else:
            a = _tiled_input(prepared, rows, start, stop)
            remaining = layers
        for layer in remaining:
            if isinstance(layer, DenseLayer):
                a = layer.add_bias(layer.product(a, block_rows=self.block_rows))
            else:
                a, _ = layer.forward(a)
        return a[:, 0] if a.shape[1] == 1 else a


def _check_fields(model, features, fields, n):
    for f in fields:
        value = features[f]
        rows = value.n_examples if isinstance(value, SparseInput) else np.shape(value)[0]
        if rows != n:
            raise ValueError(f"field {f!r} has {rows} examples, expected {n}")
        if model.wide is not None and f in model.wide.field_sizes:
            if not isinstance(value, SparseInput):
                raise TypeError(f"wide field {f!r}: expected a SparseInput, got "
                                f"{type(value).__name__}")
    # the wide fields' ids and values all at once (each field's own error on a failure);
    # deep fields are checked where they are read (`EmbeddingCombineLayer.forward_fields`,
    # DenseInputLayer.field_array), with the same messages
    wide = [f for f in fields if model.wide is not None and f in model.wide.field_sizes]
    if wide:
        validate_fields([features[f] for f in wide],
                        [model.wide.field_sizes[f] for f in wide], wide)


def _query_blocks(model, query, candidate_fields):
    """``{field: [1, width]}``: the query's deep input blocks, pooled together
    (`DeepNetwork.input_columns`) and cut into the blocks' columns."""
    blocks = [block for block in model.layout if block.field not in candidate_fields]
    if not blocks:
        return {}
    columns = model.deep.input_columns(blocks, query)
    out, start = {}, 0
    for block in blocks:
        width = block.stop - block.start
        out[block.field] = columns[:, start:start + width]
        start += width
    return out


def _query_first_layer(model, query_blocks, n_queries=1):
    """``q W_1[q rows] + b_1`` [B, units]: the queries' share of the first dense layer."""
    layer = model.deep.layers[0]
    out = np.zeros((n_queries, layer.output_dim), dtype=layer.params["W"].dtype)
    for start, stop, fields in _runs(model.layout, query_blocks.keys()):
        values = np.concatenate([query_blocks[f] for f in fields], axis=1) \
            if len(fields) > 1 else query_blocks[fields[0]]
        out += layer.product(values, slice(start, stop))
    return layer.add_bias(out)


def _tiled_input(prepared, rows, start, stop):
    parts = []
    for block in prepared.model.layout:
        if block.field in prepared.candidate_fields:
            parts.append(prepared.model.deep.input_block(block, rows))
        else:
            query_part = prepared.per_candidate(prepared.query_blocks[block.field], start, stop)
            parts.append(np.broadcast_to(query_part, (stop - start, block.stop - block.start)))
    return np.concatenate(parts, axis=1)


def _runs(layout, fields):
    """Maximal runs of adjacent blocks whose field is in ``fields``:
    ``[(start, stop, [field, ...]), ...]`` (one product per run instead of per field)."""
    fields = set(fields)
    runs = []
    for block in layout:
        if block.field not in fields:
            continue
        if runs and runs[-1][1] == block.start:
            runs[-1] = (runs[-1][0], block.stop, runs[-1][2] + [block.field])
        else:
            runs.append((block.start, block.stop, [block.field]))
    return runs
