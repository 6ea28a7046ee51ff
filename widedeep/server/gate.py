"""The gate a new version passes before it serves: weights, dry run, quality.

A version folder ``MODEL_BASE/{name}/{version}/`` holds what `save_model` writes, and
optionally (written by `store_gate_data`, like TensorFlow Serving's ``assets.extra``)::

    assets.extra/warmup.json     {"requests": [<:rank body>, ...]}   replayed on load
    assets.extra/holdout.json    {"columns": {column: [...]}, "labels": [y, ...]}
                                 (0/1, numbers or class numbers: the model's objective)

The gate, each failed check adding a reason:

1. **finite weights**: every array of the loaded model is finite (NaN weights are named);
2. **dry run and quality** (`widedeep.serving.check_before_serving`): the warm-up requests
   (the version's own, else the last requests recorded from live traffic) are ranked, their
   scores must be finite and their p99 latency within ``latency_budget_ms``; on the holdout
   (the version's own, else the serving version's) the new version's quality is compared
   with the serving version's by the metrics of its objective: AUC and log-loss (binary:
   ``max_auc_drop``, ``max_logloss_increase``), RMSE (regression: ``max_rmse_increase``, a
   fraction of the serving version's), log-loss and accuracy (multiclass:
   ``max_logloss_increase``, ``max_accuracy_drop``). A version whose objective differs from
   the serving version's is refused (pin it to serve it anyway).
   Without a holdout the warm-up requests are still ranked and checked for finite scores and
   latency; with neither, only the weights are checked (said so in the status).

A pinned version (a rollback) skips the quality comparison: it is chosen on purpose.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ..records import Ragged
from ..serving import Ranker, check_before_serving
from .errors import RequestError
from .json_columns import check_column_names, columns_from_json
from .limits import ServerLimits
from .request_body import parse_rank

__all__ = ["GateSettings", "GateResult", "store_gate_data", "read_gate_data", "run_gate",
           "ASSETS_DIR", "WARMUP_FILE", "HOLDOUT_FILE"]

ASSETS_DIR = "assets.extra"
WARMUP_FILE = "warmup.json"
HOLDOUT_FILE = "holdout.json"
_MAX_ASSET_BYTES = 256 << 20
# stored by the model's owner, not sent by clients: only the file size is bounded
_ASSET_LIMITS = ServerLimits(max_candidates=10 ** 6, max_bag_length=1 << 24,
                             max_string_length=1 << 20, max_top_k=10 ** 6)


@dataclass(frozen=True)
class GateSettings:
    """``latency_budget_ms``: p99 of the warm-up requests (generous by default: the gate runs
    while the server serves); ``max_auc_drop`` / ``max_logloss_increase`` /
    ``max_rmse_increase`` (a fraction) / ``max_accuracy_drop``: tolerated quality loss
    against the serving version on the holdout (`check_before_serving`); ``warmup``:
    untimed calls first."""
    latency_budget_ms: float = 250.0
    max_auc_drop: float = 0.005
    max_logloss_increase: float = 0.01
    max_rmse_increase: float = 0.01
    max_accuracy_drop: float = 0.005
    warmup: int = 2


@dataclass
class GateResult:
    """``accepted`` iff ``reasons`` is empty; ``notes`` say what could not be checked;
    ``details``: the numbers (latencies, metrics) for the status endpoint."""
    accepted: bool
    reasons: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    details: dict = field(default_factory=dict)


def store_gate_data(version_dir, warmup_requests=None, holdout_columns=None,
                    holdout_labels=None):
    """Write the warm-up requests (``:rank`` bodies, JSON-able dicts) and/or a holdout (a
    raw column batch and its labels: 0/1, numbers or class numbers, as the model's
    objective) next to a saved model, for the server's gate."""
    assets = os.path.join(os.fspath(version_dir), ASSETS_DIR)
    os.makedirs(assets, exist_ok=True)
    if warmup_requests is not None:
        _write_json(os.path.join(assets, WARMUP_FILE),
                    {"requests": [_jsonable(r) for r in warmup_requests]})
    if holdout_columns is not None:
        labels = np.asarray(holdout_labels, dtype=np.float64).tolist()
        _write_json(os.path.join(assets, HOLDOUT_FILE),
                    {"columns": _jsonable(holdout_columns), "labels": labels})


def read_gate_data(version_dir, kinds, limits):
    """``(warmup_requests, holdout)`` stored with a version: a list of raw-column ranking
    requests and ``(columns, labels)`` or None; ``ValueError`` naming the file when one is
    malformed or does not fit the model."""
    assets = os.path.join(version_dir, ASSETS_DIR)
    warmup, holdout = [], None
    warmup_file = os.path.join(assets, WARMUP_FILE)
    if os.path.isfile(warmup_file):
        data = _read_json(warmup_file)
        if not isinstance(data, dict) or not isinstance(data.get("requests"), list):
            raise ValueError(f"{warmup_file}: expected {{\"requests\": [...]}}")
        for number, body in enumerate(data["requests"]):
            try:
                parsed = parse_rank(body, kinds, _ASSET_LIMITS) if isinstance(body, dict) else None
            except RequestError as error:
                raise ValueError(f"{warmup_file}: request {number}: {error.message}") from None
            if parsed is None:
                raise ValueError(f"{warmup_file}: request {number} is not an object")
            warmup.append(parsed)
    holdout_file = os.path.join(assets, HOLDOUT_FILE)
    if os.path.isfile(holdout_file):
        data = _read_json(holdout_file)
        if not isinstance(data, dict) or not {"columns", "labels"} <= set(data):
            raise ValueError(f"{holdout_file}: expected {{\"columns\": ..., \"labels\": ...}}")
        if not isinstance(data["columns"], dict):
            raise ValueError(f"{holdout_file}: 'columns' must be an object of columns")
        # a holdout may carry more columns than the model reads (e.g. a whole day's log)
        relevant = {name: cells for name, cells in data["columns"].items() if name in kinds}
        try:
            columns, n = columns_from_json(relevant, kinds, "columns", _ASSET_LIMITS,
                                           10 ** 7, "holdout rows")
            check_column_names(columns, kinds, "columns")
        except RequestError as error:
            raise ValueError(f"{holdout_file}: {error.message}") from None
        labels = np.asarray(data["labels"], dtype=np.float64)
        if labels.shape != (n,):
            raise ValueError(f"{holdout_file}: {labels.shape[0]} labels for {n} rows")
        holdout = (columns, labels)
    return warmup, holdout


def run_gate(candidate, current, warmup, holdout, settings, n_threads=1, compare=True):
    """Check the loaded version ``candidate`` (a `LoadedVersion`) against ``current`` (or
    None); ``warmup``: parsed ranking requests; ``holdout``: ``(columns, labels)`` or None.
    ``compare=False`` (a pinned rollback) skips the quality comparison."""
    result = GateResult(True)
    for key, array in _parameters(candidate.estimator):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            result.reasons.append(f"non-finite weights: {bad} values of {key!r} are NaN or "
                                  f"infinite")
    if result.reasons:
        result.accepted = False
        return result
    requests = [{"query": r.query, "candidates": r.candidates} for r in warmup]
    if holdout is not None:
        columns, labels = holdout
        check = check_before_serving(
            candidate.estimator, current.estimator if (current is not None and compare)
            else None, columns, labels, requests or None, spec=candidate.spec,
            current_spec=current.spec if current is not None else None,
            latency_budget_ms=settings.latency_budget_ms, max_auc_drop=settings.max_auc_drop,
            max_logloss_increase=settings.max_logloss_increase,
            max_rmse_increase=settings.max_rmse_increase,
            max_accuracy_drop=settings.max_accuracy_drop, n_threads=n_threads,
            warmup=settings.warmup)
        result.reasons += check.reasons
        result.details = {"latency_p50_ms": check.latency_p50_ms,
                          "latency_p99_ms": check.latency_p99_ms, "n_timed": check.n_timed,
                          "candidate_metrics": check.candidate_metrics,
                          "current_metrics": check.current_metrics}
        if not requests:
            result.notes.append("no warm-up requests: the dry run scored holdout slices")
    elif requests:
        result.notes.append("no holdout: quality not compared")
        result.reasons += _dry_run(candidate, requests, settings, n_threads, result.details)
    else:
        result.notes.append("no warm-up requests and no holdout: only the weights were checked")
    result.accepted = not result.reasons
    return result


def _parameters(estimator):
    """``(name, array)`` of every parameter the model scores with (not optimizer state)."""
    wide = getattr(estimator, "wide_", None)
    deep = getattr(estimator, "deep_", None)
    if wide is not None:
        yield from ((f"wide/{name}", value) for name, value in wide.params.items())
    if deep is not None:
        yield from ((f"deep/{name}", value) for name, value in deep.params.items())
        # batch normalization's running statistics are used to score too
        yield from ((f"deep_statistics/{name}", value)
                    for name, value in deep.statistics.items())


def _dry_run(candidate, requests, settings, n_threads, details):
    """Rank the warm-up requests; reasons for non-finite scores or a blown p99 budget."""
    reasons, latencies, bad = [], [], 0
    # any class will do to time a multiclass model's ranking: the scores are computed alike
    with Ranker(candidate.estimator, spec=candidate.spec, n_threads=n_threads,
                target_class=0 if candidate.n_classes is not None else None) as ranker:
        for request in requests[:settings.warmup]:
            ranker.score(request)
        for request in requests:
            start = time.perf_counter()
            scores = ranker.score(request)
            latencies.append(time.perf_counter() - start)
            bad += int(np.count_nonzero(~np.isfinite(scores)))
    p50, p99 = (np.percentile(latencies, [50, 99]) * 1e3).tolist()
    details.update(latency_p50_ms=p50, latency_p99_ms=p99, n_timed=len(latencies))
    if bad:
        reasons.append(f"non-finite scores: {bad} warm-up scores are NaN or infinite")
    if p99 > settings.latency_budget_ms:
        reasons.append(f"latency p99 {p99:.3f} ms exceeds the budget of "
                       f"{settings.latency_budget_ms} ms")
    return reasons


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Ragged):
        return [list(map(_jsonable, row)) for row in value.to_lists()]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _write_json(filename, data):
    temporary = f"{filename}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temporary, filename)


def _read_json(filename):
    if os.path.getsize(filename) > _MAX_ASSET_BYTES:
        raise ValueError(f"{filename}: larger than {_MAX_ASSET_BYTES} bytes")
    try:
        with open(filename, encoding="utf-8") as handle:
            return json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{filename}: not valid JSON ({error})") from None
