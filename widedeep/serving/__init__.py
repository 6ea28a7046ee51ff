"""Serving: rank one request's candidates, explain a prediction, check a model before it
serves.

- `Ranker` (``ranker.py``): scores N candidates sharing one query, the query's part of the
  model computed once (``shared_scoring.py``), sub-batches on a thread pool.
- `explain`, `strongest_rules`, `sparsity_report` (``explain.py``): the wide part's
  contribution of every feature that fired, the largest memorized rules, the L1 sparsity.
- `check_before_serving` (``check.py``): finite parameters, dry run (finite scores,
  latency) and quality against the current model; accept or reject with reasons.
- `non_finite_parameters` (``finite.py``): every NaN/inf in a model's arrays.
"""
from .check import ServingCheck, check_before_serving
from .explain import (Contribution, Explanation, SparsityReport, WideRule, explain,
                      sparsity_report, strongest_rules)
from .finite import non_finite_parameters
from .ranker import NonFiniteScoreError, Ranker, RankingResult, sub_batch_bounds
from .request import request_features, split_request
from .shared_scoring import RequestScorer

__all__ = ["Ranker", "RankingResult", "RequestScorer", "sub_batch_bounds", "request_features",
           "split_request", "explain", "strongest_rules", "sparsity_report", "Explanation",
           "Contribution", "WideRule", "SparsityReport", "check_before_serving",
           "ServingCheck", "NonFiniteScoreError", "non_finite_parameters"]
