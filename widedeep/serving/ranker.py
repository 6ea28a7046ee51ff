"""`Ranker`: scores one request's candidates and returns them best first (paper section 4.3).

    score_i = wide logit_i + deep logit_i        (the model's logit of candidate i)

The query part shared by every candidate is computed once (`RequestScorer`); the
candidates can be cut into ``sub_batches`` contiguous slices scored on a thread pool — NumPy
releases the GIL inside matrix products, so slices run in parallel. Every operation is
row-wise, so a candidate's score does not depend on the split up to float rounding (OpenBLAS
rounds a row differently in matrices of different heights, about 1e-7 relative); with
``block_rows`` set, scores are bit-identical for every split (slices are aligned to blocks).

Thread safety: `rank` writes nothing shared (the estimator's parameters are only read, the
prepared request is immutable and the thread pool is thread-safe), so many threads may call
it at once. `rank_many` ranks several raw-column requests in one featurization and one pass
through the model (a server batching concurrent requests), each getting the `RankingResult`
it gets alone up to float rounding (`widedeep.serving.request_batch`). The model is read
when each request is prepared, so after a re-fit the ranker
scores the new weights; training while a request is being scored is still unsafe (the
request could see weights of two steps), so swap fitted models instead (`widedeep.server`).

>>> import numpy as np
>>> from widedeep import SparseInput, WideEstimator
>>> X = {"app": SparseInput.from_ids(np.array([0, 1, 2, 3] * 20))}
>>> model = WideEstimator({"app": 4}, epochs=5, random_state=0).fit(X, np.array([1, 0, 0, 1] * 20))
>>> candidates = {"app": SparseInput.from_ids(np.arange(4))}
>>> result = Ranker(model).rank({"query": {}, "candidates": candidates})
>>> sorted(result.order[:2].tolist())
[0, 3]
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..losses import sigmoid, softmax
from ..threads import limit_blas_threads
from .finite import describe_non_finite, non_finite_parameters
from .request import is_feature_dict, request_features, split_request
from .request_batch import signature, stack_requests
from .shared_scoring import RequestScorer

__all__ = ["Ranker", "RankingResult", "NonFiniteScoreError", "sub_batch_bounds"]

logger = logging.getLogger("widedeep")


class NonFiniteScoreError(ValueError):
    """`Ranker.rank` met a NaN or infinite score (the model has non-finite parameters)."""


@dataclass(frozen=True)
class RankingResult:
    """Scores of one request's candidates.

    ``scores`` float [N]: the ranking score of each candidate, in the request's order: the
    model's logit ("binary": ranks as the positive-class probability), its predicted value
    ("regression") or the chosen class's probability ("multiclass"); ``kind`` says which
    (``"logit"``, ``"value"`` or ``"probability"``).
    ``order`` int64 [N]: candidate indices by decreasing score (ties: lower index first).
    ``top_k``: the first ``k`` of ``order`` (all of them when no ``k`` was asked).
    ``non_finite`` int64 [m]: candidates whose score is NaN or infinite (a broken model);
    with ``non_finite="isolate"`` they are left out of ``order`` and ``top_k``.
    """
    scores: np.ndarray
    order: np.ndarray
    top_k: np.ndarray
    non_finite: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    kind: str = "logit"

    @property
    def probabilities(self):
        """P(install) (or of the chosen class) of each candidate, in the request's order."""
        if self.kind == "value":
            raise AttributeError("a regression model's scores are predicted values, not "
                                 "probabilities")
        return self.scores if self.kind == "probability" else sigmoid(self.scores)

    @property
    def top_scores(self):
        return self.scores[self.top_k]

    def __len__(self):
        return int(self.scores.shape[0])


def _check_rank_options(top_k, non_finite):
    if top_k is not None and int(top_k) < 0:
        raise ValueError(f"top_k must be >= 0, got {top_k}")
    if non_finite not in ("isolate", "raise"):
        raise ValueError(f"non_finite must be 'isolate' or 'raise', got {non_finite!r}")


def sub_batch_bounds(n, sub_batches, align=1):
    """``[(start, stop), ...]``: ``n`` rows cut into at most ``sub_batches`` contiguous
    slices of near-equal size, every start a multiple of ``align``."""
    blocks = -(-n // align)
    k = max(1, min(int(sub_batches), blocks))
    edges = np.minimum(np.linspace(0, blocks, k + 1).round().astype(int) * align, n)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


class Ranker:
    """Rank candidates for one query with a fitted estimator.

    Parameters
    ----------
    estimator : fitted `WideDeepEstimator` (or `WideEstimator` / `DeepEstimator`)
    spec : FeatureSpec, optional
        Turns raw column requests into features; without it requests are feature dicts.
    n_threads : int
        Worker threads scoring sub-batches (1: everything on the calling thread). The
        BLAS pool is limited to one thread during `score` / `rank` (and restored after):
        the parallelism is these workers' (`widedeep.threads`).
    sub_batches : int, optional
        Slices each request's candidates are cut into (default ``n_threads``).
    first_layer : {"factorized", "tiled"}
        ``"factorized"`` (default) multiplies the query's deep input by the first layer
        once; ``"tiled"`` repeats it per candidate and is bit-identical to `predict_logit` on
        the expanded batch. See `widedeep.serving.shared_scoring`.
    block_rows : int, optional
        Multiply in blocks of exactly this many rows and align sub-batches to them: scores
        bit-identical for every split (default None: one product per sub-batch, splits agree
        to float rounding).

    target_class : int, optional
        For a multiclass model (required there): rank by the probability of this class.
        A binary model ranks by the positive-class probability (its logit), a regression
        model by the predicted value.

    Use as a context manager (or call `close`) to stop the worker threads.
    """

    def __init__(self, estimator, spec=None, n_threads=1, sub_batches=None,
                 first_layer="factorized", block_rows=None, target_class=None):
        if int(n_threads) < 1:
            raise ValueError(f"n_threads must be >= 1, got {n_threads}")
        if sub_batches is not None and int(sub_batches) < 1:
            raise ValueError(f"sub_batches must be >= 1, got {sub_batches}")
        objective = estimator.loss_.name if hasattr(estimator, "loss_") else "binary"
        if objective == "multiclass":
            n_classes = estimator.loss_.n_classes
            if target_class is None or not 0 <= int(target_class) < n_classes:
                raise ValueError(f"a multiclass model ranks by one class's probability: give "
                                 f"target_class in 0 .. {n_classes - 1}, got {target_class!r}")
        elif target_class is not None:
            raise ValueError(f"target_class is for multiclass models; this one is "
                             f"{objective!r}")
        self.target_class = None if target_class is None else int(target_class)
        self.kind = {"binary": "logit", "regression": "value"}.get(objective, "probability")
        self.estimator = estimator
        self.spec = spec
        self.n_threads = int(n_threads)
        self.sub_batches = self.n_threads if sub_batches is None else int(sub_batches)
        self.scorer = RequestScorer(estimator, first_layer=first_layer, block_rows=block_rows)
        self._pool = ThreadPoolExecutor(self.n_threads, thread_name_prefix="widedeep-ranker") \
            if self.n_threads > 1 else None

    def features(self, request):
        """``(query_features, candidate_features)`` of a request (through the spec)."""
        return request_features(request, self.spec)

    def score(self, request, sub_batches=None):
        """The ranking score of every candidate, float [N], in the request's order: the
        logit, the predicted value, or the ``target_class`` probability (`RankingResult`).

        Runs with the BLAS pool limited to one thread: the ranker's parallelism is its own
        ``n_threads`` workers (see `widedeep.threads`)."""
        query, candidates = self.features(request)
        return self._scores(query, candidates, sub_batches)

    def _scores(self, query, candidates, sub_batches, query_rows=None):
        with limit_blas_threads(1):
            logits = self._logits(query, candidates, sub_batches, query_rows)
        if self.target_class is None or logits.shape[0] == 0:
            return logits
        return softmax(logits)[:, self.target_class].astype(logits.dtype, copy=False)

    def _logits(self, query, candidates, sub_batches, query_rows):
        prepared = self.scorer.prepare(query, candidates, query_rows)
        n = prepared.n_candidates
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        bounds = sub_batch_bounds(n, self.sub_batches if sub_batches is None else sub_batches,
                                  self.scorer.block_rows or 1)
        if len(bounds) == 1:
            return self.scorer.score_rows(prepared, 0, n)
        if self._pool is None:
            parts = [self.scorer.score_rows(prepared, a, b) for a, b in bounds]
        else:
            futures = [self._pool.submit(self.scorer.score_rows, prepared, a, b)
                       for a, b in bounds]
            parts = [future.result() for future in futures]
        return np.concatenate(parts)

    def rank(self, request, top_k=None, sub_batches=None, non_finite="isolate"):
        """Score a request's candidates and sort them: a `RankingResult`.

        ``request``: ``{"query": ..., "candidates": ...}`` or ``(query, candidates)``; the
        query is one example, the candidates N (feature dicts, or raw columns with a spec).
        ``top_k``: how many of the best to put in ``result.top_k`` (default all).
        ``sub_batches``: override the ranker's split for this call.
        ``non_finite``: what to do with a NaN or infinite score (only a model with
        non-finite parameters gives one): ``"isolate"`` (default) leaves those candidates
        out of ``order`` and ``top_k``, lists them in ``result.non_finite`` and logs a
        warning; ``"raise"`` raises `NonFiniteScoreError` naming them and the broken
        parameters. A non-finite score is never ranked.
        """
        _check_rank_options(top_k, non_finite)
        return self._result(self.score(request, sub_batches), top_k, non_finite)

    def rank_many(self, requests, top_k=None, non_finite="isolate"):
        """`rank` of several requests: ``[RankingResult, ...]`` in their order, each equal
        to ``rank(request)`` up to float rounding (the wide part bit for bit).

        Raw-column requests of the same columns (`request_batch.signature`) are featurized
        together and scored in one pass: their queries as B rows, their candidates as one
        batch (`widedeep.serving.request_batch`), cut into the ranker's sub-batches.
        Feature-dict requests are ranked one by one. ``top_k``: one for all, or a list (one
        per request). An error in any request raises (nothing is returned); rank the
        requests alone to tell which one failed.
        """
        requests = [split_request(request) for request in requests]
        top_ks = list(top_k) if isinstance(top_k, (list, tuple)) else [top_k] * len(requests)
        if len(top_ks) != len(requests):
            raise ValueError(f"top_k: {len(top_ks)} values for {len(requests)} requests")
        for k in top_ks:
            _check_rank_options(k, non_finite)
        groups = {}
        for index, (query, candidates) in enumerate(requests):
            raw = self.spec is not None and isinstance(query, Mapping) \
                and isinstance(candidates, Mapping) and not is_feature_dict(query, self.spec) \
                and not is_feature_dict(candidates, self.spec)
            key = ("raw", signature(query, candidates)) if raw else ("alone", index)
            groups.setdefault(key, []).append(index)
        results = [None] * len(requests)
        for key, members in groups.items():
            if key[0] == "alone" or len(members) == 1:
                for index in members:
                    results[index] = self._result(self.score(requests[index]),
                                                  top_ks[index], non_finite)
                continue
            query, candidates, query_rows, counts = stack_requests(
                [requests[index] for index in members])
            features = request_features((query, candidates), self.spec, query_rows)
            scores = self._scores(*features, None, query_rows)
            for index, part in zip(members, np.split(scores, np.cumsum(counts)[:-1])):
                results[index] = self._result(part, top_ks[index], non_finite)
        return results

    def _result(self, scores, top_k, non_finite):
        """The `RankingResult` of one request's scores (see `rank`)."""
        finite = np.isfinite(scores)
        bad = np.flatnonzero(~finite)
        if bad.size:
            message = (f"{bad.size} of {scores.shape[0]} candidate scores are NaN or infinite "
                       f"(candidates {bad[:10].tolist()}); the model's non-finite "
                       f"parameters: {describe_non_finite(non_finite_parameters(self.estimator))}")
            if non_finite == "raise":
                raise NonFiniteScoreError(message)
            logger.warning("Ranker.rank: %s; those candidates are left out of the ranking",
                           message)
            good = np.flatnonzero(finite)
            order = good[np.argsort(-scores[good], kind="stable")]
        else:
            order = np.argsort(-scores, kind="stable")
        k = order.shape[0] if top_k is None else min(int(top_k), order.shape[0])
        return RankingResult(scores, order, order[:k], bad.astype(np.int64), self.kind)

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        return (f"Ranker({type(self.estimator).__name__}, n_threads={self.n_threads}, "
                f"sub_batches={self.sub_batches}, first_layer={self.scorer.first_layer!r})")
