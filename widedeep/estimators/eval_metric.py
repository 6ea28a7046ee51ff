"""``eval_metric``: the metric early stopping (and ``ReduceOnPlateau``) watches.

Either a name of a metric the objective reports (`DIRECTIONS`: ``"logloss"``, ``"auc"``,
``"accuracy"``, ``"rmse"``, ``"mae"``), or a pair ``(fn, "max" | "min")`` with
``fn(y, p, sample_weight) -> float`` called on an evaluation set (``p``: what
``predict_proba`` returns for a classifier, ``predict`` for a regression) and its
direction. ``None`` is the objective's first metric (logloss, or RMSE for a regression).
A custom metric is recorded in ``history_`` under ``fn.__name__``.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

__all__ = ["EvalMetric", "DIRECTIONS", "resolve_eval_metric"]

DIRECTIONS = {"logloss": False, "auc": True, "accuracy": True, "rmse": False, "mae": False}


class EvalMetric(NamedTuple):
    """A resolved metric: its record name, the function (None: a built-in metric the
    estimator's evaluation computes) and whether larger values are better."""

    name: str
    fn: Optional[Callable]
    greater_is_better: bool

    def score(self, value):
        """``value`` turned so that larger is better."""
        return value if self.greater_is_better else -value


def resolve_eval_metric(eval_metric, default="logloss", available=None):
    """An `EvalMetric` for the ``eval_metric`` parameter; ``ValueError`` naming it.
    ``available``: the names the objective reports (default all of `DIRECTIONS`)."""
    if eval_metric is None:
        eval_metric = default
    names = sorted(DIRECTIONS if available is None else available)
    if isinstance(eval_metric, str):
        if eval_metric not in names:
            raise ValueError(f"eval_metric must be one of {names} or a pair "
                             f"(fn, 'max' | 'min'), got {eval_metric!r}")
        return EvalMetric(eval_metric, None, DIRECTIONS[eval_metric])
    if isinstance(eval_metric, (tuple, list)) and len(eval_metric) == 2 \
            and callable(eval_metric[0]) and eval_metric[1] in ("max", "min"):
        fn = eval_metric[0]
        name = getattr(fn, "__name__", "custom_metric")
        if name == "<lambda>":
            name = "custom_metric"
        return EvalMetric(name, fn, eval_metric[1] == "max")
    if callable(eval_metric):
        raise ValueError("eval_metric: give a custom metric with its direction, "
                         "(fn, 'max') if larger is better or (fn, 'min') if smaller is")
    raise ValueError(f"eval_metric must be a metric name or a pair (fn, 'max' | 'min'), got "
                     f"{eval_metric!r}")
