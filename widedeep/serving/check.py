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
3. **quality against the current model** on the same holdout, with the metrics of the
   objective (`widedeep.losses`: each loss names and computes its own):

   ============  ==========================================================================
   binary        AUC at most ``max_auc_drop`` below the current model's, log-loss at most
                 ``max_logloss_increase`` above
   regression    RMSE at most ``max_rmse_increase`` (a fraction: 0.01 = 1 %) above the
                 current model's
   multiclass    log-loss at most ``max_logloss_increase`` above the current model's,
                 accuracy at most ``max_accuracy_drop`` below
   ============  ==========================================================================

   A current model of another objective (or number of classes) cannot be compared: that is
   a reason too (serve such a model on purpose, e.g. by pinning it). With ``current=None``
   (the first model) only the absolute limits apply, when given: ``min_auc`` (binary),
   ``max_logloss`` (binary, multiclass), ``min_accuracy`` (multiclass), ``max_rmse``
   (regression).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..estimators.batching import check_labels, n_examples, slice_rows
from ..losses import get_loss
from .finite import describe_non_finite, non_finite_parameters
from .ranker import Ranker
from .request import is_feature_dict

__all__ = ["ServingCheck", "check_before_serving"]


@dataclass
class ServingCheck:
    """Outcome of `check_before_serving`: ``accepted`` iff ``reasons`` is empty.

    ``candidate_metrics`` / ``current_metrics``: the objective's metrics on the holdout
    (binary ``{"logloss", "auc", "accuracy"}``, regression ``{"rmse", "mae"}``, multiclass
    ``{"logloss", "accuracy"}``; ``current_metrics`` None for a first model);
    ``latency_p50_ms`` / ``latency_p99_ms`` over ``n_timed`` dry-run calls;
    ``non_finite_scores``: holdout logits plus dry-run scores that are NaN or infinite;
    ``non_finite_parameters``: ``{state key: (count, first index)}`` of the candidate's
    arrays holding NaN or inf.
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
                         max_logloss_increase=0.01, max_rmse_increase=0.01,
                         max_accuracy_drop=0.005, min_auc=None, max_logloss=None,
                         min_accuracy=None, max_rmse=None, n_threads=1, warmup=5,
                         request_size=100):
    """Dry-run ``candidate`` and compare it with ``current`` (or None); a `ServingCheck`.

    ``holdout_features``: a feature dict, or raw columns with ``spec`` (the current model's
    ``current_spec``, default ``spec``, transforms them for the current model);
    ``holdout_labels`` [n]: what the candidate's objective trains on (0/1, numbers, or class
    numbers). ``sample_requests``: requests as `Ranker.rank` takes them (a multiclass model
    is dry-run ranking by class 0). The tolerances are in the module docstring.
    """
    reasons = []
    bad_parameters = non_finite_parameters(candidate)
    if bad_parameters:
        reasons.append(f"non-finite parameters: {describe_non_finite(bad_parameters)}")
    loss = _loss(candidate)
    y = check_labels(holdout_labels, len(np.asarray(holdout_labels)), np.float64, loss)
    candidate_features = _features(holdout_features, spec)
    if n_examples(candidate_features) != y.shape[0]:
        raise ValueError(f"holdout has {n_examples(candidate_features)} examples but "
                         f"{y.shape[0]} labels")
    candidate_logits = candidate.predict_logit(candidate_features)
    bad_holdout = int(np.count_nonzero(~np.isfinite(candidate_logits)))
    if bad_holdout:
        reasons.append(f"non-finite scores: {bad_holdout} of {np.size(candidate_logits)} "
                       f"holdout logits are NaN or infinite")

    latencies, bad_dry_run, n_scored = _dry_run(candidate, spec, sample_requests,
                                                candidate_features, n_threads, warmup,
                                                request_size, loss)
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

    candidate_metrics = _metrics(loss, y, candidate_logits)
    current_metrics = None
    if current is not None:
        current_loss = _loss(current)
        if current_loss.get_config() != loss.get_config():
            reasons.append(f"the current model's objective {current_loss.get_config()} is not "
                           f"the candidate's {loss.get_config()}: quality cannot be compared "
                           f"(pin the version to serve it anyway)")
        else:
            current_features = _features(holdout_features, current_spec or spec)
            current_metrics = _metrics(loss, y, current.predict_logit(current_features))
    if not bad_holdout:
        reasons += _quality_reasons(
            loss.name, candidate_metrics, current_metrics,
            drops={"auc": max_auc_drop, "accuracy": max_accuracy_drop},
            increases={"logloss": max_logloss_increase},
            relative_increases={"rmse": max_rmse_increase},
            minimums={"auc": min_auc, "accuracy": min_accuracy},
            maximums={"logloss": max_logloss, "rmse": max_rmse})
    return ServingCheck(not reasons, reasons, candidate_metrics, current_metrics, p50, p99,
                        len(latencies), bad_holdout + bad_dry_run, bad_parameters)


# The metrics each objective is gated on (the others are reported only).
_GATED = {"binary": ("auc", "logloss"), "regression": ("rmse",),
          "multiclass": ("logloss", "accuracy")}


def _loss(estimator):
    """The fitted loss object (estimators that predate objectives are binary)."""
    return getattr(estimator, "loss_", None) or get_loss("binary")


def _features(data, spec):
    return data if is_feature_dict(data, spec) else spec.transform(data)


def _metrics(loss, y, logits):
    """The objective's metrics (`Loss.metrics`) of the logits; NaN when one is not finite."""
    if not np.all(np.isfinite(logits)):
        return dict.fromkeys(loss.metric_names, float("nan"))
    return loss.metrics(y, loss.link(np.asarray(logits, dtype=np.float64)))


def _dry_run(model, spec, sample_requests, holdout, n_threads, warmup, request_size, loss):
    """``(latencies in s, non-finite scores, scores checked)`` of the timed calls."""
    if sample_requests:
        ranker = Ranker(model, spec=spec, n_threads=n_threads,
                        target_class=0 if loss.name == "multiclass" else None)
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
            scored += int(np.size(scores))
    finally:
        if ranker is not None:
            ranker.close()
    return latencies, bad, scored


def _quality_reasons(objective, candidate, current, drops, increases, relative_increases,
                     minimums, maximums):
    """Reasons the candidate's gated metrics are worse than the current model's beyond the
    tolerances (skipped where the current value is NaN, e.g. AUC on one class), or beyond
    the absolute limits (None: no limit)."""
    reasons = []
    for name in _GATED[objective]:
        value = candidate[name]
        if current is not None and np.isfinite(current[name]):
            reference = current[name]
            if name in drops and not value >= reference - drops[name]:
                reasons.append(f"{_LABEL[name]} {value:.4f} is {reference - value:.4f} below the "
                               f"current model's {reference:.4f} (tolerated drop "
                               f"{drops[name]})")
            if name in increases and not value <= reference + increases[name]:
                reasons.append(f"{_LABEL[name]} {value:.4f} is {value - reference:.4f} above the "
                               f"current model's {reference:.4f} (tolerated increase "
                               f"{increases[name]})")
            if name in relative_increases \
                    and not value <= reference * (1.0 + relative_increases[name]):
                reasons.append(f"{_LABEL[name]} {value:.4f} is "
                               f"{100 * (value / reference - 1):.2f}% above the current "
                               f"model's {reference:.4f} (tolerated increase "
                               f"{100 * relative_increases[name]:g}%)")
        if minimums.get(name) is not None and not value >= minimums[name]:
            reasons.append(f"{_LABEL[name]} {value:.4f} is below the minimum {minimums[name]}")
        if maximums.get(name) is not None and not value <= maximums[name]:
            reasons.append(f"{_LABEL[name]} {value:.4f} is above the maximum {maximums[name]}")
    return reasons


_LABEL = {"auc": "AUC", "logloss": "logloss", "accuracy": "accuracy", "rmse": "RMSE",
          "mae": "MAE"}


def _metrics_text(metrics):
    return ", ".join(f"{_LABEL.get(name, name)} {value:.4f}"
                     for name, value in metrics.items()) or "no metrics"
