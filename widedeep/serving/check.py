"""`check_before_serving`: dry-run and quality gate a candidate model must pass to serve.

Paper section 4.2: before a newly trained model replaces the serving one it is dry-run and
sanity-checked. The checks, each adding a reason when it fails:

0. **finite parameters**: every parameter and every optimizer state array holds only finite
   numbers (`non_finite_parameters`): a NaN embedding row that the holdout never touches
   would still score NaN for the requests that do;
1. **finite scores**: every holdout logit and every score of the dry run is finite;
2. **latency**: the dry run ranks the sample requests (after ``warmup`` untimed ones) with
   a `Ranker`; the p99 latency must be within ``latency_budget_ms`` (and the p50 within
   ``p50_budget_ms`` when given). Without sample requests the holdout is scored in slices of
   ``request_size`` rows instead;
3. **quality against the current model** on the same holdout: the candidate's AUC may be at
   most ``max_auc_drop`` below the current model's, its log-loss at most
   ``max_logloss_increase`` above. With ``current=None`` (the first model) only the absolute
   limits ``min_auc`` / ``max_logloss`` apply, when given.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..estimators.batching import check_labels, n_examples, slice_rows
from ..losses import sigmoid
from ..metrics import auc, logloss
from .finite import describe_non_finite, non_finite_parameters
from .ranker import Ranker
from .request import is_feature_dict

__all__ = ["ServingCheck", "check_before_serving"]


@dataclass
class ServingCheck:
    """Outcome of `check_before_serving`: ``accepted`` iff ``reasons`` is empty.

    ``candidate_metrics`` / ``current_metrics``: ``{"auc", "logloss"}`` on the holdout
    (``current_metrics`` None for a first model); ``latency_p50_ms`` / ``latency_p99_ms``
    over ``n_timed`` dry-run calls; ``non_finite_scores``: holdout logits plus dry-run scores
    that are NaN or infinite; ``non_finite_parameters``: ``{state key: (count, first
    index)}`` of the candidate's arrays holding NaN or inf.
    """
    accepted: bool
    reasons: list = field(default_factory=list)
    candidate_metrics: dict = field(default_factory=dict)
    current_metrics: dict | None = None
    latency_p50_ms: float = float("nan")
    latency_p99_ms: float = float("nan")
    n_timed: int = 0
    non_finite_scores: int = 0
    non_finite_parameters: dict = field(default_factory=dict)

    def __str__(self):
        verdict = "ACCEPTED" if self.accepted else "REJECTED"
        lines = [f"{verdict}: latency p50 {self.latency_p50_ms:.2f} ms, p99 "
                 f"{self.latency_p99_ms:.2f} ms over {self.n_timed} calls; candidate "
                 f"{_metrics_text(self.candidate_metrics)}"
                 + (f"; current {_metrics_text(self.current_metrics)}"
                    if self.current_metrics is not None else "")]
        lines += [f"  - {reason}" for reason in self.reasons]
        return "\n".join(lines)


def check_before_serving(candidate, current, holdout_features, holdout_labels,
                         sample_requests=None, *, spec=None, current_spec=None,
                         latency_budget_ms=10.0, p50_budget_ms=None, max_auc_drop=0.005,
                         max_logloss_increase=0.01, min_auc=None, max_logloss=None,
                         n_threads=1, warmup=5, request_size=100):
    """Dry-run ``candidate`` and compare it with ``current`` (or None); a `ServingCheck`.

    ``holdout_features``: a feature dict, or raw columns with ``spec`` (the current model's
    ``current_spec``, default ``spec``, transforms them for the current model);
    ``holdout_labels``: 0/1 [n]. ``sample_requests``: requests as `Ranker.rank` takes them.
    """
    reasons = []
    bad_parameters = non_finite_parameters(candidate)
    if bad_parameters:
        reasons.append(f"non-finite parameters: {describe_non_finite(bad_parameters)}")
    y = check_labels(holdout_labels, len(np.asarray(holdout_labels)), np.float64)
    candidate_features = _features(holdout_features, spec)
    if n_examples(candidate_features) != y.shape[0]:
        raise ValueError(f"holdout has {n_examples(candidate_features)} examples but "
                         f"{y.shape[0]} labels")
    candidate_logits = candidate.predict_logit(candidate_features)
    bad_holdout = int(np.count_nonzero(~np.isfinite(candidate_logits)))
    if bad_holdout:
        reasons.append(f"non-finite scores: {bad_holdout} of {y.shape[0]} holdout logits "
                       f"are NaN or infinite")

    latencies, bad_dry_run, n_scored = _dry_run(candidate, spec, sample_requests,
                                                candidate_features, n_threads, warmup,
                                                request_size)
    if bad_dry_run:
        reasons.append(f"non-finite scores: {bad_dry_run} of {n_scored} dry-run scores are "
                       f"NaN or infinite")
    p50, p99 = (np.percentile(latencies, [50, 99]) * 1e3).tolist() if latencies \
        else (float("nan"), float("nan"))
    if latencies and p99 > latency_budget_ms:
        reasons.append(f"latency p99 {p99:.3f} ms exceeds the budget of "
                       f"{latency_budget_ms} ms")
    if latencies and p50_budget_ms is not None and p50 > p50_budget_ms:
        reasons.append(f"latency p50 {p50:.3f} ms exceeds the budget of {p50_budget_ms} ms")

    candidate_metrics = _metrics(y, candidate_logits) if not bad_holdout \
        else {"auc": float("nan"), "logloss": float("nan")}
    current_metrics = None
    if current is not None:
        current_features = _features(holdout_features, current_spec or spec)
        current_metrics = _metrics(y, current.predict_logit(current_features))
    if not bad_holdout:
        reasons += _quality_reasons(candidate_metrics, current_metrics, max_auc_drop,
                                    max_logloss_increase, min_auc, max_logloss)
    return ServingCheck(not reasons, reasons, candidate_metrics, current_metrics, p50, p99,
                        len(latencies), bad_holdout + bad_dry_run, bad_parameters)


def _features(data, spec):
    return data if is_feature_dict(data, spec) else spec.transform(data)


def _metrics(y, logits):
    if not np.all(np.isfinite(logits)):
        return {"auc": float("nan"), "logloss": float("nan")}
    p = sigmoid(np.asarray(logits, dtype=np.float64))
    both_classes = 0 < y.sum() < y.shape[0]
    return {"auc": auc(y, p) if both_classes else float("nan"), "logloss": logloss(y, p)}


def _dry_run(model, spec, sample_requests, holdout, n_threads, warmup, request_size):
    """``(latencies in s, non-finite scores, scores checked)`` of the timed calls."""
    if sample_requests:
        ranker = Ranker(model, spec=spec, n_threads=n_threads)
        calls = [lambda r=r: ranker.score(r) for r in sample_requests]
    else:
        ranker = None
        n = n_examples(holdout)
        calls = [lambda s=s: model.predict_logit(slice_rows(holdout, s, min(s + request_size, n)))
                 for s in range(0, n, request_size)]
    try:
        for call in calls[:warmup]:
            call()
        latencies, bad, scored = [], 0, 0
        for call in calls:
            start = time.perf_counter()
            scores = call()
            latencies.append(time.perf_counter() - start)
            bad += int(np.count_nonzero(~np.isfinite(scores)))
            scored += int(np.shape(scores)[0])
    finally:
        if ranker is not None:
            ranker.close()
    return latencies, bad, scored


def _quality_reasons(candidate, current, max_auc_drop, max_logloss_increase, min_auc,
                     max_logloss):
    reasons = []
    if current is not None:
        if np.isfinite(current["auc"]) and not candidate["auc"] >= current["auc"] - max_auc_drop:
            reasons.append(f"AUC {candidate['auc']:.4f} is {current['auc'] - candidate['auc']:.4f} "
                           f"below the current model's {current['auc']:.4f} (tolerated drop "
                           f"{max_auc_drop})")
        if np.isfinite(current["logloss"]) \
                and not candidate["logloss"] <= current["logloss"] + max_logloss_increase:
            reasons.append(f"logloss {candidate['logloss']:.4f} is "
                           f"{candidate['logloss'] - current['logloss']:.4f} above the current "
                           f"model's {current['logloss']:.4f} (tolerated increase "
                           f"{max_logloss_increase})")
    if min_auc is not None and not candidate["auc"] >= min_auc:
        reasons.append(f"AUC {candidate['auc']:.4f} is below the minimum {min_auc}")
    if max_logloss is not None and not candidate["logloss"] <= max_logloss:
        reasons.append(f"logloss {candidate['logloss']:.4f} is above the maximum {max_logloss}")
    return reasons


def _metrics_text(metrics):
    return f"AUC {metrics.get('auc', float('nan')):.4f}, logloss " \
           f"{metrics.get('logloss', float('nan')):.4f}"
