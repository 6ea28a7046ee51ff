"""eval_metric: a built-in name or a (callable, direction) pair, recorded and watched."""
import numpy as np
import pytest

from widedeep import WideEstimator
from widedeep.metrics import logloss

from estimator_world import model_params


def wide(world, **kw):
    kw.setdefault("random_state", 0)
    return WideEstimator(model_params(world)["wide_fields"], **kw)


def wide_X(X):
    return {k: v for k, v in X.items() if k != "context"}


def brier(y, p, sample_weight):
    return float(np.average((p - y) ** 2, weights=sample_weight))


def test_custom_metric_is_recorded_per_set_with_its_value(world, small_data):
    (X, y), (X_test, y_test) = small_data
    model = wide(world, epochs=2, eval_metric=(brier, "min"), early_stopping=False).fit(
        wide_X(X), y, eval_set={"valid": (wide_X(X_test), y_test)})
    p = model.predict_proba(wide_X(X_test))
    assert model.history_[-1]["valid_brier"] == pytest.approx(brier(y_test, p, None),
                                                              rel=1e-12)


def test_early_stopping_follows_the_custom_metrics_direction(world, small_data):
    (X, y), (X_test, y_test) = small_data

    def negative_logloss(y, p, sample_weight):   # larger is better
        return -logloss(y, p, sample_weight)

    model = wide(world, epochs=8, n_iter_no_change=2,
                 eval_metric=(negative_logloss, "max")).fit(
        wide_X(X), y, eval_set=(wide_X(X_test), y_test))
    values = [h["eval_negative_logloss"] for h in model.history_]
    assert model.best_epoch_ == int(np.argmax(values)) + 1
    assert values == pytest.approx([-h["eval_logloss"] for h in model.history_], rel=1e-9)


@pytest.mark.parametrize("eval_metric, message", [
    ("f1", "eval_metric must be one of"),
    (brier, r"give a custom metric with its direction, \(fn, 'max'\)"),
    ((brier, "up"), "eval_metric must be a metric name or a pair"),
])
def test_bad_eval_metric_raises_naming_it(world, small_data, eval_metric, message):
    (X, y), _ = small_data
    with pytest.raises(ValueError, match=message):
        wide(world, eval_metric=eval_metric).fit(wide_X(X), y)
