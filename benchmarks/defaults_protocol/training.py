"""Fit widedeep's `WideDeepEstimator` on a task's split, early stopping on its validation rows.

The one place that touches the estimator API (so that an API change is one edit here).
Early stopping watches the validation loss (log-loss, or RMSE for regression): a
configuration's score is then what the protocol compares — validation AUC (RMSE) of the
restored best epoch.
"""
from __future__ import annotations

import inspect
import time

import numpy as np

from widedeep import FtrlProximal, WideDeepEstimator, WideEstimator

from .space import estimator_kwargs

__all__ = ["fit_widedeep", "fit_wide_only", "MAX_EPOCHS", "PATIENCE", "supports_objective"]

MAX_EPOCHS = 15       # the search's cap; early stopping ends nearly every run before it
PATIENCE = 2          # epochs without a better validation loss before stopping


def supports_objective(objective):
    """Whether the estimators can train ``objective`` (regression landed with issue 8)."""
    if objective == "binary":
        return True
    return "objective" in inspect.signature(WideDeepEstimator.__init__).parameters


def _scores(model, split, objective):
    metrics = model.evaluate(split.features, split.y)
    if objective == "binary":
        return {"auc": float(metrics["auc"]), "logloss": float(metrics["logloss"])}
    return {"rmse": float(metrics["rmse"])}


def build_model(params, objective, config=None, *, seed=0, max_epochs=MAX_EPOCHS,
                patience=PATIENCE):
    """The estimator with ``config`` (None: the library's defaults for every tuned
    setting) and the task's spec-derived ``params``; the epoch cap and the early-stopping
    patience are always passed, so that every run compared stops by the same rule."""
    kwargs = dict(params)
    wide_fields = kwargs.pop("wide_fields")
    names = inspect.signature(WideDeepEstimator.__init__).parameters
    if config is not None:
        kwargs.update(estimator_kwargs(config))
    kwargs["epochs"] = max_epochs
    kwargs["n_iter_no_change" if "n_iter_no_change" in names
           else "early_stopping_rounds"] = patience
    if objective != "binary":
        kwargs["objective"] = objective
        if _library_stops_on("rmse"):
            kwargs["eval_metric"] = "rmse"
        else:   # `fit_widedeep` runs the early stopping itself, an epoch per fit call
            kwargs.pop("early_stopping_rounds", None)
            kwargs.update(epochs=1, warm_start=True)
    return WideDeepEstimator(wide_fields, random_state=seed, **kwargs)


def _library_stops_on(metric):
    """Whether the estimators' early stopping can watch ``metric``."""
    try:
        from widedeep.estimators.eval_metric import DIRECTIONS
    except ImportError:
        from widedeep.estimators.base import EVAL_METRICS as DIRECTIONS
    return metric in DIRECTIONS


def _fit_epochwise(model, train, valid, max_epochs, patience):
    """Early stopping on validation RMSE by hand, for an engine whose early stopping
    cannot watch RMSE: one epoch per warm-started `fit`, the best state restored (the
    epoch shuffles are the same as one long `fit`'s: seeded by the epoch number)."""
    best = None
    for _ in range(max_epochs):
        model.fit(train.features, train.y, eval_set=(valid.features, valid.y))
        score = model.history_[-1]["eval_rmse"]
        if best is None or score < best[0]:
            best = (score, model.epochs_trained_, model.get_state(copy=True))
        elif model.epochs_trained_ - best[1] >= patience:
            break
    model.set_state(best[2])
    model.best_epoch_ = best[1]


def fit_widedeep(train, valid, params, objective, config=None, *, seed=0,
                 max_epochs=MAX_EPOCHS, patience=PATIENCE, evaluate=None):
    """Train on ``train`` with early stopping on ``valid``; score the restored model.

    Returns ``{"best_epoch", "epochs", "seconds", "valid": {...}, "history": [...]}`` and
    one entry per split of ``evaluate`` (``{name: Split}``).
    """
    model = build_model(params, objective, config, seed=seed, max_epochs=max_epochs,
                        patience=patience)
    start = time.perf_counter()
    if objective != "binary" and not _library_stops_on("rmse"):
        _fit_epochwise(model, train, valid, max_epochs, patience)
    else:
        model.fit(train.features, train.y, eval_set=(valid.features, valid.y))
    seconds = time.perf_counter() - start
    history = [{key[len("eval_"):]: float(value) for key, value in record.items()
                if key.startswith("eval_")} for record in model.history_]
    result = {"best_epoch": int(getattr(model, "best_epoch_", len(history))),
              "epochs": len(history), "seconds": seconds,
              "valid": _scores(model, valid, objective), "history": history}
    for name, split in (evaluate or {}).items():
        result[name] = _scores(model, split, objective)
    if not all(np.isfinite(v) for v in result["valid"].values()):
        result["diverged"] = True
    return result


def fit_wide_only(train, valid, params, config, *, seed=0, max_epochs=MAX_EPOCHS,
                  patience=PATIENCE):
    """`WideEstimator` (logistic regression by FTRL) with the FTRL settings of ``config``,
    early stopping on ``valid``: how a shared FTRL default serves the wide model alone."""
    names = inspect.signature(WideEstimator.__init__).parameters
    stopping = "n_iter_no_change" if "n_iter_no_change" in names else "early_stopping_rounds"
    model = WideEstimator(params["wide_fields"], random_state=seed, epochs=max_epochs,
                          ftrl=FtrlProximal(alpha=config["ftrl_alpha"],
                                            beta=config["ftrl_beta"], l1=config["ftrl_l1"],
                                            l2=config["ftrl_l2"]),
                          **{stopping: patience})
    model.fit(train.features, train.y, eval_set=(valid.features, valid.y))
    return {"best_epoch": int(getattr(model, "best_epoch_", len(model.history_))),
            "valid": _scores(model, valid, "binary")}
