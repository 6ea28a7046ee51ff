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
    The deep input is ``a_0 = concat(dense fields, pooled embeddings)``; query blocks (their
    pooled embeddings and dense values) are computed for one row. Then either

    - ``first_layer="tiled"``: the query blocks are broadcast into ``a_0 [n, d_0]`` next to
      the candidate blocks and ``DeepNetwork.layers`` run unchanged. Same inputs, same
      operations: bit-identical to `predict_logit` on the expanded batch as long as BLAS
      returns the same row for the same ``[n, d_0] @ W`` (it does for equal ``n``).
    - ``first_layer="factorized"`` (default): ``a_0 W_1 + b_1 = (q W_1[q rows] + b_1) +
      c W_1[c rows]``: the query's share of the first layer is a single ``[1, d_q] @ W``
      product, and each candidate multiplies only its own columns. This removes most of
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

Nothing is written into the model: every intermediate is local to the call, so one
`RequestScorer` may score many requests from many threads at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..estimators.batching import n_examples, slice_rows
from ..inputs import SparseInput
from ..layers.dense import DenseLayer

__all__ = ["RequestScorer", "PreparedRequest", "FIRST_LAYER_MODES"]

FIRST_LAYER_MODES = ("factorized", "tiled")


@dataclass(frozen=True)
class _Block:
    """One field's columns ``start:stop`` of the deep input ``a_0``."""
    field: str
    kind: str          # "dense" | "embedding"
    start: int
    stop: int


@dataclass(frozen=True)
class PreparedRequest:
    """A request whose query part is computed: what every sub-batch of candidates reads.

    ``candidates`` holds the per-candidate fields (N examples); ``query_wide`` the query's
    float64 contribution of each query wide field; ``query_blocks`` the query's deep input
    blocks ([1, width] each); ``query_first_layer`` ``q W_1[q rows] + b_1`` ([1, units]) in
    factorized mode; ``candidate_fields`` the names of the fields read per candidate and
    ``candidate_runs`` their adjacent column ranges of ``a_0``. Immutable once built, so
    sub-batches on several threads share it safely.
    """
    n_candidates: int
    candidates: dict
    candidate_fields: frozenset
    query_wide: dict
    query_blocks: dict
    query_first_layer: np.ndarray | None
    candidate_runs: tuple


class RequestScorer:
    """Computes the logits of one request's candidates, sharing the query part.

    Parameters
    ----------
    estimator : fitted `WideDeepEstimator`, `WideEstimator` or `DeepEstimator`
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
        self.wide = getattr(estimator, "wide_", None)
        self.deep = getattr(estimator, "deep_", None)
        self.blocks = _deep_input_blocks(self.deep) if self.deep is not None else []
        self._block_of = {block.field: block for block in self.blocks}
        fields = list(self.wide.field_sizes) if self.wide is not None else []
        fields += [b.field for b in self.blocks if b.field not in fields]
        self.model_fields = fields

    # ------------------------------------------------------------------ query part
    def prepare(self, query, candidates):
        """Validate the request and compute its query part once.

        ``query``: feature dict of one example; ``candidates``: feature dict of N examples.
        A model field is read from ``candidates`` when present there (per candidate), else
        from ``query`` (shared). Raises ``ValueError`` naming a field that is in neither, a
        query that is not one example, or a malformed field.
        """
        n = n_examples(candidates)
        candidate_fields = frozenset(f for f in self.model_fields if f in candidates)
        query_fields = [f for f in self.model_fields if f not in candidate_fields]
        missing = [f for f in query_fields if f not in query]
        if missing:
            raise ValueError(f"request lacks model field(s) {missing}: give each field in "
                             f"the query (shared) or in the candidates (per candidate)")
        if query_fields:
            query = {f: query[f] for f in query_fields}
            if n_examples(query) != 1:
                raise ValueError(f"the query must be one example, got {n_examples(query)} "
                                 f"(fields {query_fields})")
        self._check_fields(query, query_fields, 1)
        self._check_fields(candidates, sorted(candidate_fields), n)
        query_wide = {}
        if self.wide is not None:
            for f in self.wide.field_sizes:
                if f not in candidate_fields:
                    query_wide[f] = float(self._wide_field_sums(f, query[f], 1)[0])
        query_blocks = {}
        for block in self.blocks:
            if block.field not in candidate_fields:
                query_blocks[block.field] = self._block_values(block, query)
        query_first_layer = None
        if self.deep is not None and self.first_layer == "factorized" \
                and isinstance(self.deep.layers[0], DenseLayer):
            query_first_layer = self._query_first_layer(query_blocks)
        return PreparedRequest(n, candidates, candidate_fields, query_wide, query_blocks,
                               query_first_layer, tuple(_runs(self.blocks, candidate_fields)))

    def _check_fields(self, features, fields, n):
        for f in fields:
            value = features[f]
            rows = value.n_examples if isinstance(value, SparseInput) else np.shape(value)[0]
            if rows != n:
                raise ValueError(f"field {f!r} has {rows} examples, expected {n}")
            if self.wide is not None and f in self.wide.field_sizes:
                if not isinstance(value, SparseInput):
                    raise TypeError(f"wide field {f!r}: expected a SparseInput, got "
                                    f"{type(value).__name__}")
                size = self.wide.field_sizes[f]
                if value.nnz and value.feature_ids.max() >= size:
                    bad = int(np.argmax(value.feature_ids))
                    raise ValueError(f"wide field {f!r}: feature id {value.feature_ids[bad]} "
                                     f"in example {value.example_indices[bad]} is out of "
                                     f"range for {size} coordinates")
        # deep fields are checked where they are read (EmbeddingLayer.forward,
        # DenseInputLayer.field_array), with the same messages

    def _wide_field_sums(self, field, x, n):
        # the exact arithmetic of WideLayer.forward for one field
        contrib = self.wide.params[field][x.feature_ids] * x.feature_values
        return np.bincount(x.example_indices, weights=contrib, minlength=n)

    def _block_values(self, block, features):
        if block.kind == "dense":
            return self.deep.dense_input.field_array(features, block.field)
        return self.deep.embeddings.fields[block.field].forward(features[block.field])[0]

    def _query_first_layer(self, query_blocks):
        layer = self.deep.layers[0]
        weights = layer.params["W"]
        out = np.zeros((1, weights.shape[1]), dtype=weights.dtype)
        for start, stop, fields in _runs(self.blocks, query_blocks.keys()):
            values = np.concatenate([query_blocks[f] for f in fields], axis=1) \
                if len(fields) > 1 else query_blocks[fields[0]]
            out += values @ weights[start:stop]
        if "b" in layer.params:
            out += layer.params["b"]
        return out

    # ------------------------------------------------------------------ candidates
    def score_rows(self, prepared, start, stop):
        """Logits [stop - start] of candidates ``start:stop`` of a prepared request.

        Every operation is row-wise, so the value of a candidate does not depend on which
        sub-batch it is scored in (up to BLAS returning the same row for different batch
        heights, which OpenBLAS does; the tests check it).
        """
        n = stop - start
        rows = prepared.candidates
        if (start, stop) != (0, prepared.n_candidates):
            rows = slice_rows({f: rows[f] for f in prepared.candidate_fields}, start, stop)
        logits = None
        if self.wide is not None:
            wide = np.full(n, self.wide.params["bias"][0], dtype=np.float64)
            for f in self.wide.field_sizes:
                if f in prepared.candidate_fields:
                    wide += self._wide_field_sums(f, rows[f], n)
                else:
                    wide += prepared.query_wide[f]
            logits = wide.astype(self.wide.dtype)
        if self.deep is not None:
            deep = self._deep_rows(prepared, rows, n)
            logits = deep if logits is None else logits + deep
        return logits

    def _deep_rows(self, prepared, rows, n):
        layers = self.deep.layers
        if prepared.query_first_layer is not None:
            weights = layers[0].params["W"]
            a = None
            for begin, end, fields in prepared.candidate_runs:
                values = [self._block_values(self._block_of[f], rows) for f in fields]
                values = values[0] if len(values) == 1 else np.concatenate(values, axis=1)
                product = self._product(values, weights[begin:end])
                a = product if a is None else np.add(a, product, out=a)
            if a is None:
                a = np.repeat(prepared.query_first_layer, n, axis=0)
            else:
                a += prepared.query_first_layer
            remaining = layers[1:]
        else:
            a = self._tiled_input(prepared, rows, n)
            remaining = layers
        for layer in remaining:
            if isinstance(layer, DenseLayer):
                # DenseLayer.forward's arithmetic, with the product optionally in blocks
                a = self._product(a, layer.params["W"])
                if "b" in layer.params:
                    a += layer.params["b"]
            else:
                a, _ = layer.forward(a)
        return a[:, 0]

    def _product(self, x, weights):
        block = self.block_rows
        n = x.shape[0]
        if block is None or n == block:
            return x @ weights
        out = np.empty((n, weights.shape[1]), dtype=np.result_type(x, weights))
        for start in range(0, n, block):
            rows = x[start:start + block]
            if rows.shape[0] < block:
                rows = np.concatenate([rows, np.zeros((block - rows.shape[0], x.shape[1]),
                                                      dtype=x.dtype)])
                out[start:] = (rows @ weights)[:n - start]
            else:
                out[start:start + block] = rows @ weights
        return out

    def _tiled_input(self, prepared, rows, n):
        parts = []
        for block in self.blocks:
            if block.field in prepared.candidate_fields:
                parts.append(self._block_values(block, rows))
            else:
                parts.append(np.broadcast_to(prepared.query_blocks[block.field],
                                             (n, block.stop - block.start)))
        return np.concatenate(parts, axis=1)


def _deep_input_blocks(deep):
    """The column range of every field in ``a_0``, in `DeepNetwork.forward`'s order."""
    blocks, start = [], 0
    for field, width in deep.dense_input.field_widths.items():
        blocks.append(_Block(field, "dense", start, start + width))
        start += width
    for field, layer in deep.embeddings.fields.items():
        blocks.append(_Block(field, "embedding", start, start + layer.output_dim))
        start += layer.output_dim
    return blocks


def _runs(blocks, fields):
    """Maximal runs of adjacent blocks whose field is in ``fields``:
    ``[(start, stop, [field, ...]), ...]`` (one product per run instead of per field)."""
    fields = set(fields)
    runs = []
    for block in blocks:
        if block.field not in fields:
            continue
        if runs and runs[-1][1] == block.start:
            runs[-1] = (runs[-1][0], block.stop, runs[-1][2] + [block.field])
        else:
            runs.append((block.start, block.stop, [block.field]))
    return runs
